package cpusplit

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

func TestClassifyFunc(t *testing.T) {
	for name, want := range map[string]Part{
		mod + "raft.(*Raft).Step":                                          Engine,
		mod + "raft/node.(*Node).run":                                      Engine,
		mod + "raft/transport/tcp.(*peer).writeQueued":                     Engine,
		mod + "bench.(*raftCluster).ReadAsync.func2":                       Engine,
		mod + "bench.(*DiskRecorder).Add":                                  Engine,
		mod + "bench/baseline/etcd.(*node).appendLoop":                     Engine,
		"go.etcd.io/raft/v3.(*raft).Step":                                  Engine,
		"github.com/hashicorp/raft.(*Raft).runLeader":                      Engine,
		mod + "raft/wal.(*WAL).Sync":                                       LogStorage,
		"github.com/hashicorp/raft-wal.(*WAL).StoreLogs":                   LogStorage,
		mod + "workloads.(*KV).Apply":                                      StateMachine,
		mod + "workloads.(*sessions).get":                                  StateMachine,
		mod + "workloads.(*snapshotView).WriteTo.func2":                    StateMachine,
		mod + "workloads.DecodeCommand":                                    StateMachine,
		mod + "workloads.(*Generator).Next":                                Load,
		mod + "workloads.EncodePut":                                        Load,
		mod + "workloads.(*uniformKeys).Next":                              Load,
		mod + "bench.(*worker).handle":                                     Load,
		mod + "bench/report.(*Recorder).Record":                            Load,
		"github.com/HdrHistogram/hdrhistogram-go.(*Histogram).RecordValue": Load,
		"main.(*countingRecorders).wrap.func1":                             Load,
		"runtime.gcBgMarkWorker":                                           GC,
		"runtime.bgsweep":                                                  GC,
		"runtime.mallocgc":                                                 none,
		"syscall.Syscall6":                                                 none,
		"github.com/tidwall/btree.(*BTreeG[...]).bsearch":                  none,
	} {
		if got := classifyFunc(name); got != want {
			t.Errorf("classifyFunc(%q) = %q, want %q", name, got, want)
		}
	}
}

// cpuProfile builds a CPU profile whose samples have the given stacks
// (function names, leaf first) and CPU times.
func cpuProfile(stacks [][]string, nanos []int64) *profile.Profile {
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "samples", Unit: "count"}, {Type: "cpu", Unit: "nanoseconds"}},
		PeriodType: &profile.ValueType{Type: "cpu", Unit: "nanoseconds"},
		Period:     10_000_000,
	}
	funcs := map[string]*profile.Function{}
	locs := map[string]*profile.Location{}
	for i, stack := range stacks {
		var sample []*profile.Location
		for _, name := range stack {
			loc, ok := locs[name]
			if !ok {
				f := &profile.Function{ID: uint64(len(funcs) + 1), Name: name}
				funcs[name] = f
				p.Function = append(p.Function, f)
				// Two inlined frames in one location: the outer one names
				// the part when the inner one (a library) does not.
				lines := []profile.Line{{Function: f}}
				if strings.Contains(name, "KV") {
					lib := &profile.Function{ID: uint64(1000 + len(funcs)), Name: "github.com/tidwall/btree.get"}
					p.Function = append(p.Function, lib)
					lines = append([]profile.Line{{Function: lib}}, lines...)
				}
				loc = &profile.Location{ID: uint64(len(locs) + 1), Line: lines}
				locs[name] = loc
				p.Location = append(p.Location, loc)
			}
			sample = append(sample, loc)
		}
		p.Sample = append(p.Sample, &profile.Sample{Location: sample, Value: []int64{1, nanos[i]}})
	}
	return p
}

func TestClassify(t *testing.T) {
	p := cpuProfile([][]string{
		// The engine's submit path, called from the load generator.
		{"runtime.chansend", mod + "raft/node.(*Node).submitProposal", mod + "bench.(*raftCluster).WriteAsync", mod + "bench.(*worker).attempt", mod + "bench.(*worker).run"},
		// A lookup of the state machine, called back by the engine.
		{mod + "workloads.(*KV).GetInApply", mod + "bench.(*raftCluster).ReadAsync.func2", mod + "raft/node.(*Node).applyLoop"},
		// The WAL's fdatasync on the engine's disk goroutine.
		{"syscall.Syscall6", mod + "raft/wal.(*WAL).Sync", mod + "raft/node.(*Node).diskLoop"},
		// An allocation of the load generator.
		{"runtime.mallocgc", mod + "workloads.EncodePut", mod + "bench.(*worker).start"},
		{"runtime.scanobject", "runtime.gcDrain", "runtime.gcBgMarkWorker"},
		{"runtime.findRunnable", "runtime.schedule", "runtime.mcall"},
		{}, // no stack at all
	}, []int64{3e9, 2e9, 1.5e9, 1e9, 0.5e9, 0.25e9, 0.25e9})
	s, err := Classify(p)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Part]float64{Engine: 3, StateMachine: 2, LogStorage: 1.5, Load: 1, GC: 0.5, Runtime: 0.5}
	for _, part := range Parts {
		if math.Abs(s.Seconds[part]-want[part]) > 1e-9 {
			t.Errorf("%s: %v s, want %v", part, s.Seconds[part], want[part])
		}
	}
	if math.Abs(s.Total-8.5) > 1e-9 {
		t.Errorf("total %v, want 8.5", s.Total)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "cpu.pprof")
	var buf bytes.Buffer
	if err := cpuProfile([][]string{{mod + "raft.(*Raft).Step"}}, []int64{2e9}).Write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := ReadFile(good); err != nil || s.Seconds[Engine] != 2 {
		t.Errorf("ReadFile = %+v, %v; want 2 s of engine", s, err)
	}

	// Not a profile, no file, not a CPU profile: errors, no panic.
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("not a profile"), 0o644)
	if _, err := ReadFile(junk); err == nil || !strings.Contains(err.Error(), "junk") {
		t.Errorf("junk: %v, want an error naming the file", err)
	}
	if _, err := ReadFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file gave no error")
	}
	heap := cpuProfile(nil, nil)
	heap.SampleType = []*profile.ValueType{{Type: "inuse_space", Unit: "bytes"}}
	if _, err := Classify(heap); err == nil || !strings.Contains(err.Error(), "not a CPU profile") {
		t.Errorf("heap profile: %v, want 'not a CPU profile'", err)
	}
}
