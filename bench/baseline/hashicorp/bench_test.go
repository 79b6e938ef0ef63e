package hashicorp_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/baseline/hashicorp"
	"github.com/raftbench/raftbench/workloads"
)

// The benchmarks run the load generator end to end, with the cluster and
// load of bench.BenchmarkLoadWrites and the other baselines' benchmarks,
// so the figures compare: 3 nodes, TCP on loopback, fsync, 128-byte
// values, 512 closed-loop clients (each with one request in flight through
// WriteAsync or ReadAsync), 3 s measured after 0.5 s of warm-up. They
// report the throughput the clients saw.

func BenchmarkWriteTCP(b *testing.B) { benchLoad(b, 0, bench.ReadIndex) }
func BenchmarkMixedTCP(b *testing.B) { benchLoad(b, 0.5, bench.ReadIndex) }

func benchLoad(b *testing.B, readRatio float64, mode bench.ReadMode) {
	const measure = 3 * time.Second
	b.ReportAllocs()
	for range b.N {
		c, err := hashicorp.Engine{}.Start(context.Background(), bench.ClusterConfig{Nodes: 3, Transport: "tcp", Fsync: true, Seed: 1,
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
			ReadMode: mode,
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

// counter counts the measured phase's answers (every worker records into
// this one, so it locks).
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
