package enginetest

import (
	"context"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

// DiskStats checks an engine that reports its group commits
// (bench.DiskReporter): with fsync on, every write is written on every node
// and synced before it commits, each sync is timed, and a reset starts the
// counts afresh.
func DiskStats(t *testing.T, e bench.Engine) {
	ctx := context.Background()
	cfg := Config("mem", 3)
	cfg.Fsync = true
	c, err := e.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leader := WaitLeader(t, c)
	disk, ok := c.(bench.DiskReporter)
	if !ok {
		t.Fatalf("%s: the cluster is no DiskReporter", e.Name())
	}
	disk.ResetDiskStats()
	if st := disk.DiskStats(); st.Syncs != 0 || st.Entries != 0 || st.SyncUS.TotalCount() != 0 {
		t.Fatalf("after a reset: %d syncs, %d entries, %d times", st.Syncs, st.Entries, st.SyncUS.TotalCount())
	}
	const writes = 20
	for i := range writes {
		if _, err := c.Write(ctx, leader, workloads.EncodePut(0, 0, []byte{byte(i)}, []byte("v"))); err != nil {
			t.Fatal(err)
		}
	}
	// The followers' last writes may still be on their way to disk.
	deadline := time.Now().Add(5 * time.Second)
	for disk.DiskStats().Entries < 3*writes && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	st := disk.DiskStats()
	if st.Entries < 3*writes {
		t.Errorf("%d entries written: want at least %d (every write on all three nodes)", st.Entries, 3*writes)
	}
	// One write at a time, each synced before it commits: at least one
	// fdatasync per write on the leader.
	if st.Syncs < writes || st.SyncUS.TotalCount() != st.Syncs {
		t.Errorf("%d syncs with %d times: want at least %d, one time each", st.Syncs, st.SyncUS.TotalCount(), writes)
	}
	if st.SyncUS.Max() <= 0 {
		t.Errorf("longest fdatasync %d µs: want a real time", st.SyncUS.Max())
	}
	// The copy is the caller's: later syncs leave it alone.
	before := st.SyncUS.TotalCount()
	if _, err := c.Write(ctx, leader, workloads.EncodePut(0, 0, []byte("k"), []byte("v"))); err != nil {
		t.Fatal(err)
	}
	if st.SyncUS.TotalCount() != before {
		t.Error("DiskStats returned a histogram that later syncs change")
	}
}
