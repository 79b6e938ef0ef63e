package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

// BenchmarkLoad runs the load generator end to end against e, with the
// cluster and load every engine's benchmark uses, so that their figures
// compare: 3 nodes, TCP on loopback, fsync, 128-byte values, 512
// closed-loop clients, 3 s measured after 0.5 s of warm-up, readRatio of
// the requests reads through ReadIndex. It reports the throughput the
// clients saw.
func BenchmarkLoad(b *testing.B, e bench.Engine, readRatio float64) {
	const measure = 3 * time.Second
	b.ReportAllocs()
	for range b.N {
		c, err := e.Start(context.Background(), bench.ClusterConfig{Nodes: 3, Transport: "tcp", Fsync: true, Seed: 1,
			ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond,
			PreVote: true, CheckQuorum: true, MaxInflight: 256, MaxBatchBytes: 1 << 20, SnapshotEntries: 100_000,
			CommitNotifyDelay: time.Millisecond, ProposalDelay: time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		WaitLeader(b, c)
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
		b.ReportMetric(float64(rec.measured)/measure.Seconds(), "ops/s")
		if len(rec.errs) > 0 {
			b.Logf("errors: %v", rec.errs)
		}
	}
}
