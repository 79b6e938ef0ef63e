package bench

import (
	"context"
	"testing"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// BenchmarkLoadWrites runs the load generator end to end: 3 nodes, TCP on
// loopback, fsync, 128-byte writes from 512 closed-loop clients for 3 s.
// It reports the throughput the clients saw.
func BenchmarkLoadWrites(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c, err := RaftEngine{}.Start(context.Background(), ClusterConfig{Nodes: 3, Transport: "tcp", Fsync: true, Seed: 1,
			ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond,
			PreVote: true, CheckQuorum: true, MaxInflight: 256, MaxBatchBytes: 1 << 20, SnapshotEntries: 100_000})
		if err != nil {
			b.Fatal(err)
		}
		for c.Leader() == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		var recs []*countRecorder
		_, err = RunLoad(context.Background(), c, LoadConfig{Clients: 512, Duration: 3 * time.Second, Warmup: 500 * time.Millisecond,
			Workload: workloads.GeneratorConfig{Seed: 1, Keys: workloads.KeyConfig{Keys: 100_000}, ValueBytesMin: 128, ValueBytesMax: 128}},
			func(time.Time) Recorder {
				r := &countRecorder{errs: map[string]int{}}
				recs = append(recs, r)
				return r
			}, nil)
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		ops := 0
		for _, r := range recs {
			ops += r.ok
		}
		b.ReportMetric(float64(ops)/3, "ops/s")
	}
}
