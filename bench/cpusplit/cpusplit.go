package cpusplit

import (
	"fmt"
	"os"
	"strings"

	"github.com/google/pprof/profile"
)

// Part is a share of the process's CPU time.
type Part string

// The parts, in the order reports list them.
const (
	Engine       Part = "engine"
	StateMachine Part = "state_machine"
	LogStorage   Part = "log_storage"
	Load         Part = "load"
	GC           Part = "gc"
	Runtime      Part = "runtime"
)

// Parts lists every Part in report order.
var Parts = []Part{Engine, StateMachine, LogStorage, Load, GC, Runtime}

// Split is a CPU profile's time by part.
type Split struct {
	// Seconds is the CPU time of each part; the parts add up to Total.
	Seconds map[Part]float64
	Total   float64
}

// ReadFile parses the CPU profile at path and splits it.
func ReadFile(path string) (Split, error) {
	f, err := os.Open(path)
	if err != nil {
		return Split{}, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return Split{}, fmt.Errorf("%s: %w", path, err)
	}
	return Classify(p)
}

// Classify splits p, a CPU profile, by part.
func Classify(p *profile.Profile) (Split, error) {
	col := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			col = i
		}
	}
	if col < 0 {
		return Split{}, fmt.Errorf("not a CPU profile: no cpu/nanoseconds sample type")
	}
	s := Split{Seconds: make(map[Part]float64, len(Parts))}
	cache := map[uint64]Part{} // by location id: the part its frames name, if any
	for _, sm := range p.Sample {
		if col >= len(sm.Value) {
			return Split{}, fmt.Errorf("malformed CPU profile: a sample has %d values, want %d", len(sm.Value), len(p.SampleType))
		}
		secs := float64(sm.Value[col]) / 1e9
		s.Seconds[classifyStack(sm.Location, cache)] += secs
		s.Total += secs
	}
	return s, nil
}

// none marks a location whose frames name no part.
const none Part = ""

func classifyStack(stack []*profile.Location, cache map[uint64]Part) Part {
	gc := false
	for _, loc := range stack { // leaf first
		part, ok := cache[loc.ID]
		if !ok {
			part = classifyLocation(loc)
			cache[loc.ID] = part
		}
		switch part {
		case none:
		case GC:
			gc = true
		default:
			return part
		}
	}
	if gc {
		return GC
	}
	return Runtime
}

// classifyLocation returns the part of a location's innermost frame that
// has one (a location holds a function and the ones inlined into it,
// innermost first).
func classifyLocation(loc *profile.Location) Part {
	for _, l := range loc.Line {
		if l.Function != nil {
			if p := classifyFunc(l.Function.Name); p != none {
				return p
			}
		}
	}
	return none
}

const mod = "github.com/raftbench/raftbench/"

// classifyFunc maps a function's full name to its part, or none for code
// that serves its caller (the runtime, the standard library, libraries
// such as the B-tree).
func classifyFunc(name string) Part {
	switch {
	case strings.HasPrefix(name, "runtime.gcBgMarkWorker"), strings.HasPrefix(name, "runtime.bgsweep"),
		strings.HasPrefix(name, "runtime.bgscavenge"):
		return GC
	case strings.HasPrefix(name, mod+"raft/wal."), strings.HasPrefix(name, "github.com/hashicorp/raft-wal"):
		return LogStorage
	case strings.HasPrefix(name, mod+"workloads."):
		return workloadsPart(strings.TrimPrefix(name, mod+"workloads."))
	case strings.HasPrefix(name, mod+"bench/report."), strings.HasPrefix(name, mod+"bench/metrics."),
		strings.HasPrefix(name, "github.com/HdrHistogram/"), strings.HasPrefix(name, "main."):
		return Load
	case strings.HasPrefix(name, mod+"bench."):
		return benchPart(strings.TrimPrefix(name, mod+"bench."))
	case strings.HasPrefix(name, mod+"raft"), strings.HasPrefix(name, mod+"bench/baseline"),
		strings.HasPrefix(name, "go.etcd.io/raft"), strings.HasPrefix(name, "github.com/hashicorp/raft"):
		return Engine
	}
	return none
}

// workloadsPart: the generator and the client's command encoding are the
// load; everything else in workloads is the state machine.
func workloadsPart(fn string) Part {
	for _, p := range []string{"(*Generator)", "NewGenerator", "Encode", "AppendKey", "AppendCommand",
		"NewKeyChooser", "(*uniformKeys)", "zipfKeys", "(*sequentialKeys)", "(*hotspotKeys)"} {
		if strings.HasPrefix(fn, p) {
			return Load
		}
	}
	return StateMachine
}

// benchPart: package bench holds the load generator and the adapter of
// the project's own engine (raftCluster, its disk metrics, the helpers
// engines call).
func benchPart(fn string) Part {
	for _, p := range []string{"(*raftCluster)", "RaftEngine", "(*DiskRecorder)",
		"diskMetrics", "(*diskMetrics)", "noMetrics", "mapErr", "ReadThroughLog"} {
		if strings.HasPrefix(fn, p) {
			return Engine
		}
	}
	return Load
}
