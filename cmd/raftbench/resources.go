package main

import (
	"runtime"
	"syscall"
	"time"

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
