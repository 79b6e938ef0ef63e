package bench

import (
	"context"
	"testing"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// The raft engine counts every node's group commits, and a reset starts
// the counts afresh.
func TestRaftEngineDiskStats(t *testing.T) {
	ctx := context.Background()
	c, err := RaftEngine{}.Start(ctx, ClusterConfig{Nodes: 3, Transport: "mem", Fsync: true,
		ElectionTimeoutMin: 50 * time.Millisecond, ElectionTimeoutMax: 100 * time.Millisecond, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	leader := waitLeader(t, c)
	disk := c.(DiskReporter)
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
	// Each write is one entry, synced before it commits: at least one
	// fdatasync per write on the leader.
	if st.Syncs < writes || st.SyncUS.TotalCount() != st.Syncs {
		t.Errorf("%d syncs with %d times: want at least %d, one time each", st.Syncs, st.SyncUS.TotalCount(), writes)
	}
	if st.SyncUS.Max() <= 0 {
		t.Errorf("longest fdatasync %d µs: want a real time", st.SyncUS.Max())
	}
	// The copy is the caller's: recording more leaves it alone.
	before := st.SyncUS.TotalCount()
	if _, err := c.Write(ctx, leader, workloads.EncodePut(0, 0, []byte("k"), []byte("v"))); err != nil {
		t.Fatal(err)
	}
	if st.SyncUS.TotalCount() != before {
		t.Error("DiskStats returned a histogram that later syncs change")
	}
}

func TestDiskRecorderClamps(t *testing.T) {
	r := newDiskRecorder()
	r.add(3, time.Hour) // beyond the histogram's range
	r.add(0, 0)
	st := r.DiskStats()
	if st.Syncs != 2 || st.Entries != 3 || st.SyncUS.TotalCount() != 2 || st.SyncUS.Max() < diskMaxUS*99/100 {
		t.Errorf("stats %+v, max %d: want 2 syncs, 3 entries, the hour clamped to %d µs", st, st.SyncUS.Max(), diskMaxUS)
	}
}
