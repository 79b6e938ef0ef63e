package etcd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/baseline/etcd"
	"github.com/raftbench/raftbench/workloads"
)

// The benchmarks run the load generator end to end, as
// bench.BenchmarkLoadWrites does for the raft library, so the figures
// compare: 3 nodes, TCP on loopback, fsync, 128-byte values, 512
// closed-loop clients, 3 s measured after 0.5 s of warm-up. They report
// the throughput the clients saw.

func BenchmarkWriteTCP(b *testing.B)      { benchLoad(b, etcd.Engine{}, 0) }
func BenchmarkWriteTCPAsync(b *testing.B) { benchLoad(b, etcd.Engine{AsyncStorageWrites: true}, 0) }
func BenchmarkMixedTCP(b *testing.B)      { benchLoad(b, etcd.Engine{}, 0.5) }
func BenchmarkMixedTCPAsync(b *testing.B) { benchLoad(b, etcd.Engine{AsyncStorageWrites: true}, 0.5) }

func benchLoad(b *testing.B, e bench.Engine, readRatio float64) {
	const measure = 3 * time.Second
	for range b.N {
		c, err := e.Start(context.Background(), bench.ClusterConfig{Nodes: 3, Transport: "tcp", Fsync: true, Seed: 1,
			ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond,
			PreVote: true, CheckQuorum: true, MaxInflight: 256, MaxBatchBytes: 1 << 20, SnapshotEntries: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		for c.Leader() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		rec := &counter{errs: map[string]int{}}
		_, err = bench.RunLoad(context.Background(), c, bench.LoadConfig{Clients: 512, Duration: measure, Warmup: 500 * time.Millisecond,
			ReadMode: bench.ReadIndex,
			Workload: workloads.GeneratorConfig{Seed: 1, Keys: workloads.KeyConfig{Keys: 100_000},
				ValueBytesMin: 128, ValueBytesMax: 128, ReadRatio: readRatio}},
			func(start time.Time) bench.Recorder { rec.start = start; return rec }, nil)
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(rec.ok)/measure.Seconds(), "ops/s")
		if len(rec.errs) > 0 {
			b.Logf("errors: %v", rec.errs)
		}
	}
}

// counter counts the measured phase's answers (the recorders of all
// workers are this one, so it locks).
type counter struct {
	mu    sync.Mutex
	start time.Time
	ok    int
	errs  map[string]int
}

func (r *counter) Record(intended time.Time, _ time.Duration) {
	r.mu.Lock()
	if !intended.Before(r.start) {
		r.ok++
	}
	r.mu.Unlock()
}

func (r *counter) Error(intended time.Time, kind string) {
	r.mu.Lock()
	if !intended.Before(r.start) {
		r.errs[kind]++
	}
	r.mu.Unlock()
}
