package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/report"
)

// cpuTime is the process's user plus system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the process's peak resident set size so far, in bytes.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss // bytes there
	}
	return ru.Maxrss << 10 // KiB on Linux and the BSDs
}

// resources returns what the process used: cpu is the CPU time of the
// measured phase, ops its successful operations.
func resources(cpu time.Duration, ops int64) *report.Resources {
	r := &report.Resources{CPUSeconds: cpu.Seconds(), MaxRSSBytes: maxRSS()}
	if ops > 0 {
		r.CPUSecondsPer100kOps = r.CPUSeconds * 1e5 / float64(ops)
	}
	return r
}

// diskReport summarises the nodes' group commits over a measured phase of
// secs seconds.
func diskReport(st bench.DiskStats, secs float64) *report.Disk {
	d := &report.Disk{Fsyncs: st.Syncs, FsyncUS: report.LatencyOf(st.SyncUS)}
	if secs > 0 {
		d.FsyncsPerSec = float64(st.Syncs) / secs
	}
	if st.Syncs > 0 {
		d.EntriesPerFsync = float64(st.Entries) / float64(st.Syncs)
	}
	return d
}

// runtimeProcs returns the Ps (GOMAXPROCS) a run uses: flag if set, the
// environment's GOMAXPROCS if set, else the runtime's default (the CPUs
// the process may use), doubled when the nodes fsync.
//
// The doubling is for in-process clusters on small machines. A goroutine
// in a blocking system call keeps its P until sysmon takes it back, and
// each node's disk goroutine spends most of a durable run in fdatasync
// (three nodes on one virtual disk: 1.8 Ps on average, in an execution
// trace at 50k writes/s on 2 cores). The cluster's other goroutines then
// wait for a P although a core is free. Measured on 2 cores, 3 nodes, tcp,
// fsync, 5 alternating pairs at an open-loop 50k writes/s: p50 1.0 ms
// against 1.6, p99 16.6 ms against 25.6 (medians), for 38% more CPU time;
// closed loop at saturation: 192k against 186k ops/s. One extra P instead
// (3 on 2 cores) is not better: against 4 it gave a lower p99 at 75k
// writes/s (22.5 ms against 28, 4 pairs) and a higher one at 89k (43 ms
// against 29, 3 pairs), for 10% less CPU.
func runtimeProcs(flag int, fsync bool) int {
	def := runtime.GOMAXPROCS(0)
	switch {
	case flag > 0:
		return flag
	case os.Getenv("GOMAXPROCS") != "":
		return def
	case fsync:
		return 2 * def
	}
	return def
}

// runtimeSettings describes the Go runtime a run used, for its report.
func runtimeSettings() map[string]any {
	gogc := debug.SetGCPercent(100) // reads the setting ...
	debug.SetGCPercent(gogc)        // ... and puts it back
	return map[string]any{"go_version": runtime.Version(), "gomaxprocs": runtime.GOMAXPROCS(0), "num_cpu": runtime.NumCPU(), "gogc": gogc}
}
