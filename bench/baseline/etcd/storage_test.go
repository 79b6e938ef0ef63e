package etcd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/enginetest"
	"github.com/raftbench/raftbench/workloads"
	"go.etcd.io/raft/v3/raftpb"
)

func entries(term, from, to uint64) []raftpb.Entry {
	var ents []raftpb.Entry
	for i := from; i <= to; i++ {
		ents = append(ents, raftpb.Entry{Term: term, Index: i, Data: fmt.Appendf(nil, "e%d.%d", term, i)})
	}
	return ents
}

func persist(t *testing.T, s *storage, hs raftpb.HardState, ents []raftpb.Entry, snap *raftpb.Snapshot) {
	t.Helper()
	if err := s.save(hs, ents, snap); err != nil {
		t.Fatal(err)
	}
	if err := s.sync(); err != nil {
		t.Fatal(err)
	}
	if err := s.install(hs, ents, snap); err != nil {
		t.Fatal(err)
	}
}

func checkLog(t *testing.T, s *storage, first, last uint64, terms map[uint64]uint64) {
	t.Helper()
	fi, _ := s.mem.FirstIndex()
	li, _ := s.mem.LastIndex()
	if fi != first || li != last {
		t.Fatalf("log [%d, %d], want [%d, %d]", fi, li, first, last)
	}
	ents, err := s.mem.Entries(first, last+1, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if want := fmt.Sprintf("e%d.%d", terms[e.Index], e.Index); string(e.Data) != want {
			t.Errorf("entry %d: %q, want %q", e.Index, e.Data, want)
		}
	}
}

// TestStorageRecovery writes a log the way the raft loop does (appends, a
// conflicting suffix replaced, hard states, a local snapshot and a
// received one) and checks what a reopen rebuilds at each step.
func TestStorageRecovery(t *testing.T) {
	dir := t.TempDir()
	voters := []uint64{1, 2, 3}
	s, rc, err := openStorage(dir, voters, true)
	if err != nil {
		t.Fatal(err)
	}
	if md := rc.snapshot.Metadata; md.Index != bootstrapIndex || md.Term != bootstrapTerm || len(md.ConfState.Voters) != 3 {
		t.Fatalf("new node starts from %+v, want the bootstrap snapshot", md)
	}
	terms := map[uint64]uint64{}
	for i := uint64(2); i <= 10; i++ {
		terms[i] = 2
	}
	persist(t, s, raftpb.HardState{Term: 2, Vote: 1, Commit: 5}, entries(2, 2, 10), nil)
	// A new leader of term 3 replaces entries from 8 on.
	for i := uint64(8); i <= 12; i++ {
		terms[i] = 3
	}
	persist(t, s, raftpb.HardState{Term: 3, Vote: 2, Commit: 7}, entries(3, 8, 12), nil)
	// A commit-only change is not written on its own...
	persist(t, s, raftpb.HardState{Term: 3, Vote: 2, Commit: 12}, nil, nil)
	s.close()

	reopen := func() {
		t.Helper()
		var err error
		if s, rc, err = openStorage(dir, voters, true); err != nil {
			t.Fatal(err)
		}
	}
	reopen()
	checkLog(t, s, 2, 12, terms)
	if rc.hs != (raftpb.HardState{Term: 3, Vote: 2, Commit: 7}) {
		t.Errorf("hard state %+v, want term 3 vote 2 commit 7 (the commit-only change is not durable)", rc.hs)
	}

	// A local snapshot at 10 compacts the in-memory log to 10-catchUp and
	// the WAL behind 10; a reopen starts from the snapshot.
	kv := workloads.NewKV(workloads.KVConfig{})
	kv.Apply(2, workloads.EncodePut(0, 0, []byte("k"), []byte("v")))
	view, _ := kv.Snapshot()
	var buf bytes.Buffer
	view.WriteTo(&buf)
	view.Release()
	data := buf.Bytes()
	if err := s.saveSnapshotFile(&raftpb.Snapshot{Data: data, Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 3, ConfState: s.conf}}); err != nil {
		t.Fatal(err)
	}
	if err := s.saveLocalSnapshot(10, 3, data, 4); err != nil {
		t.Fatal(err)
	}
	checkLog(t, s, 7, 12, terms)
	persist(t, s, raftpb.HardState{Term: 3, Vote: 2, Commit: 13}, entries(3, 13, 13), nil)
	terms[13] = 3
	s.close()
	reopen()
	checkLog(t, s, 11, 13, terms)
	if md := rc.snapshot.Metadata; md.Index != 10 || md.Term != 3 || !bytes.Equal(rc.snapshot.Data, data) {
		t.Errorf("restarted from snapshot %+v (%d bytes), want index 10 term 3 (%d bytes)", md, len(rc.snapshot.Data), len(data))
	}
	if rc.hs.Commit != 13 {
		t.Errorf("commit %d, want 13", rc.hs.Commit)
	}

	// A snapshot from the leader at 20 replaces the whole log.
	snap := &raftpb.Snapshot{Data: data, Metadata: raftpb.SnapshotMetadata{Index: 20, Term: 5, ConfState: s.conf}}
	persist(t, s, raftpb.HardState{Term: 5, Vote: 0, Commit: 20}, nil, snap)
	for i := uint64(21); i <= 22; i++ {
		terms[i] = 5
	}
	persist(t, s, raftpb.HardState{}, entries(5, 21, 22), nil)
	s.close()
	reopen()
	defer s.close()
	checkLog(t, s, 21, 22, terms)
	if md := rc.snapshot.Metadata; md.Index != 20 || md.Term != 5 {
		t.Errorf("restarted from snapshot %+v, want index 20 term 5", md)
	}
	if rc.hs != (raftpb.HardState{Term: 5, Commit: 20}) {
		t.Errorf("hard state %+v, want term 5 commit 20", rc.hs)
	}
}

// TestSnapshotCatchUp takes snapshots every few entries, keeps a follower
// down while the leader compacts past it, and checks that it catches up
// (through MsgSnap) and then restarts from its own snapshot.
func TestSnapshotCatchUp(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{false, true} {
		t.Run(Engine{AsyncStorageWrites: async}.Name(), func(t *testing.T) {
			t.Parallel()
			testSnapshotCatchUp(t, async)
		})
	}
}

func testSnapshotCatchUp(t *testing.T, async bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := enginetest.Config("tcp", 5)
	cfg.SnapshotEntries = 20
	bc, err := Engine{AsyncStorageWrites: async}.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close()
	c := bc.(*cluster)
	seq := uint64(0)
	write := func(key, val string) {
		t.Helper()
		seq++
		cmd := workloads.EncodePut(1, seq, []byte(key), []byte(val))
		for {
			_, err := c.Write(ctx, enginetest.WaitLeader(t, c), cmd)
			if err == nil {
				return
			}
			if ctx.Err() != nil || !(errors.Is(err, bench.ErrNotLeader) || errors.Is(err, bench.ErrNodeDown)) {
				t.Fatalf("write %s: %v", key, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write("k0", "v0")
	lead := enginetest.WaitLeader(t, c)
	var follower uint64
	for _, id := range c.Nodes() {
		if id != lead {
			follower = id
		}
	}
	if err := c.Crash(follower); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 120; i++ {
		write(fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	// Snapshots are written in the background, and the next one is taken
	// on an apply after the last one finished: keep writing until every
	// running node's log starts past what the follower has, or it could
	// catch up from the log alone.
	pad := 0
	for _, id := range c.Nodes() {
		if id == follower {
			continue
		}
		for {
			n, err := c.node(id)
			if err != nil {
				t.Fatal(err)
			}
			if fi, _ := n.st.mem.FirstIndex(); fi > 50 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("node %d never compacted its log past index 50", id)
			}
			pad++
			write(fmt.Sprintf("pad%d", pad), "x")
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err := c.Restart(follower); err != nil {
		t.Fatal(err)
	}
	waitValue := func(key, want string) {
		t.Helper()
		for {
			v, ok, err := c.Read(ctx, follower, bench.ReadFollower, []byte(key))
			if err == nil && ok && string(v) == want {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("node %d never read %s=%s: %q %t %v", follower, key, want, v, ok, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitValue("k120", "v120")
	n, _ := c.node(follower)
	meta, ok, err := n.st.snaps.Latest()
	if err != nil || !ok || meta.Index < 100 {
		t.Fatalf("follower's latest snapshot %+v, %t, %v; want one received from the leader", meta, ok, err)
	}
	// It restarts from its snapshot and its WAL.
	if err := c.Crash(follower); err != nil {
		t.Fatal(err)
	}
	if n.ap.restored == 0 {
		t.Error("the follower caught up without a snapshot from the leader")
	}
	if err := c.Restart(follower); err != nil {
		t.Fatal(err)
	}
	n, _ = c.node(follower)
	if got := n.kv.Applied(); got < meta.Index {
		t.Errorf("restarted follower's KV at %d, want at least its snapshot %d", got, meta.Index)
	}
	if v, ok := n.kv.Get([]byte("k0")); !ok || string(v) != "v0" {
		t.Errorf("restarted follower: k0 = %q, %t; want v0", v, ok)
	}
	write("k121", "v121")
	waitValue("k121", "v121")
}
