package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/cpusplit"
	"github.com/raftbench/raftbench/bench/report"
)

// phaseProfiler writes a CPU profile of the measured phase (cpu.pprof) and
// a heap profile at its end (heap.pprof) into a directory, for
// `go tool pprof`.
type phaseProfiler struct {
	dir string

	mu  sync.Mutex
	cpu *os.File
	err error
}

func newPhaseProfiler(dir string) (*phaseProfiler, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--pprof-dir: %w", err)
	}
	return &phaseProfiler{dir: dir}, nil
}

// onPhase starts the CPU profile when the measured phase starts. It is a
// bench.RunLoad phase callback (nil-safe).
func (p *phaseProfiler) onPhase(ph bench.Phase) {
	if p == nil || ph != bench.PhaseMeasure {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	f, err := os.Create(filepath.Join(p.dir, "cpu.pprof"))
	if err == nil {
		if err = pprof.StartCPUProfile(f); err != nil {
			f.Close()
		} else {
			p.cpu = f
		}
	}
	p.err = err
}

// finish stops the CPU profile and writes the heap profile.
func (p *phaseProfiler) finish() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := []error{p.err}
	if p.cpu != nil {
		pprof.StopCPUProfile()
		errs = append(errs, p.cpu.Close())
		p.cpu = nil
	}
	f, err := os.Create(filepath.Join(p.dir, "heap.pprof"))
	if err == nil {
		runtime.GC() // the heap profile shows what is live at the end
		err = errors.Join(pprof.WriteHeapProfile(f), f.Close())
	}
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profiles: %w", err)
	}
	return nil
}

// cpuProfileReport splits the CPU profile at path among the parts of the
// process (bench/cpusplit), per operation too.
func cpuProfileReport(path string, ops int64) (*report.CPUProfile, error) {
	split, err := cpusplit.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c := &report.CPUProfile{ProfiledSec: split.Total, Sec: map[string]float64{}, USPerOp: map[string]float64{}}
	for _, p := range cpusplit.Parts {
		secs := split.Seconds[p]
		c.Sec[string(p)] = secs
		if ops > 0 {
			c.USPerOp[string(p)] = secs * 1e6 / float64(ops)
		}
	}
	return c, nil
}
