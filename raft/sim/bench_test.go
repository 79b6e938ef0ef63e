package sim

import (
	"runtime"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// BenchmarkCommit measures the core's cost per committed entry: a 3-node
// cluster with zero network and disk latency, 128-byte payloads proposed in
// batches of 64. One op is one entry, committed on the leader and applied on
// every node.
func BenchmarkCommit(b *testing.B) {
	const batch = 64
	c, err := New(Config{Seed: 1, Nodes: 3, SnapshotEvery: 1 << 16,
		Raft: raft.Config{ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond,
			MaxInflightMsgs: 256, MaxEntriesPerMsg: batch}})
	if err != nil {
		b.Fatal(err)
	}
	c.Campaign(1)
	if ok, err := c.RunUntil(time.Second, func() bool { return c.Leader() == 1 }); !ok || err != nil {
		b.Fatalf("no leader: %v", err)
	}
	data := make([][]byte, batch)
	for i := range data {
		data[i] = make([]byte, 128)
		data[i][0] = byte(i)
	}
	start := c.Node(1).Status().Commit
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		if _, _, err := c.Propose(1, data...); err != nil {
			b.Fatal(err)
		}
		// Zero latency: every event of this batch happens now.
		if _, err := c.RunUntil(c.Now(), nil); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	committed := c.Node(1).Status().Commit - start
	if committed < uint64(b.N) {
		b.Fatalf("committed %d entries, want >= %d", committed, b.N)
	}
	for _, id := range c.IDs() {
		if c.Applied(id) < start+uint64(b.N) {
			b.Fatalf("node %d applied %d, want >= %d", id, c.Applied(id), start+uint64(b.N))
		}
	}
	b.ReportMetric(float64(committed)/b.Elapsed().Seconds(), "entries/s")
	// allocs/op rounds to an integer; this is the exact amortized figure.
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/entry")
}

// BenchmarkElectionTrial measures Figure 16 trials per second: 5 nodes,
// 150-300 ms timeouts, the paper's procedure (see RunElectionTrial).
func BenchmarkElectionTrial(b *testing.B) {
	cfg := paperTrial(150*time.Millisecond, 300*time.Millisecond)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := RunElectionTrial(cfg, uint64(i+1))
		if err != nil || r.TimedOut {
			b.Fatalf("trial %d: %+v %v", i+1, r, err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "trials/s")
}
