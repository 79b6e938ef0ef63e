package sim

import (
	"errors"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

func readCluster(t *testing.T, nodes int, checkQuorum bool) *Cluster {
	t.Helper()
	rc := baseRaft()
	rc.CheckQuorum = checkQuorum
	c, err := New(Config{Seed: 5, Nodes: nodes, Raft: rc, Check: true,
		Network: Network{Delay: Uniform{time.Millisecond, 2 * time.Millisecond}},
		Disk:    Uniform{100 * time.Microsecond, time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	c.Campaign(1)
	if ok, err := c.RunUntil(time.Second, func() bool {
		l := c.Node(1)
		return l.Role() == raft.Leader && l.Status().Commit == l.LastIndex()
	}); !ok || err != nil {
		t.Fatalf("node 1 did not lead: %v", err)
	}
	return c
}

func TestReadIndexOnLeaderAndFollower(t *testing.T) {
	c := readCluster(t, 3, false)
	var got = map[uint64]raft.ReadState{}
	c.OnReadState = func(id uint64, rs raft.ReadState) { got[id] = rs }
	_, last, err := c.Propose(1, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.RunUntil(c.Now()+100*time.Millisecond, func() bool { return c.Node(1).Status().Commit >= last }); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{1, 2} {
		if err := c.ReadIndex(id); err != nil {
			t.Fatalf("ReadIndex on %d: %v", id, err)
		}
	}
	start := c.Now()
	if _, err := c.RunUntil(start+time.Second, func() bool { return len(got) == 2 }); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{1, 2} {
		rs, ok := got[id]
		if !ok || rs.Index < last {
			t.Errorf("node %d: read state %+v (answered %t), want index >= %d", id, rs, ok, last)
		}
	}
	// One heartbeat round trip, not a heartbeat interval: the round starts
	// at the request.
	if took := c.Now() - start; took > 20*time.Millisecond {
		t.Errorf("reads took %v, want about one round trip", took)
	}
}

// A leader cut off from the majority can neither commit nor confirm a read;
// once it learns of the new term, its read fails instead of hanging.
func TestPartitionedLeaderCannotRead(t *testing.T) {
	c := readCluster(t, 5, false)
	var answers []raft.ReadState
	c.OnReadState = func(id uint64, rs raft.ReadState) {
		if id == 1 {
			answers = append(answers, rs)
		}
	}
	c.Partition([]uint64{1}, []uint64{2, 3, 4, 5})
	if err := c.ReadIndex(1); err != nil {
		t.Fatal(err)
	}
	_, last, err := c.Propose(1, []byte("lost"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RunFor(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if len(answers) != 0 {
		t.Fatalf("partitioned leader answered reads: %+v", answers)
	}
	if c.Node(1).Status().Commit >= last {
		t.Fatalf("partitioned leader committed index %d", last)
	}
	if l := c.Leader(); l == 1 || l == raft.None {
		t.Fatalf("leader of the majority = %d, want one of 2-5", l)
	}
	c.Heal()
	if _, err := c.RunUntil(c.Now()+time.Second, func() bool { return len(answers) > 0 }); err != nil {
		t.Fatal(err)
	}
	if len(answers) != 1 || answers[0].Index != 0 {
		t.Fatalf("after the heal the old leader answered %+v, want one failed read (index 0)", answers)
	}
}

func TestLeaseRead(t *testing.T) {
	c := readCluster(t, 3, true)
	if err := c.RunFor(200 * time.Millisecond); err != nil { // heartbeat rounds answered
		t.Fatal(err)
	}
	idx, ok := c.LeaseRead(1)
	if !ok || idx != c.Node(1).Status().Commit {
		t.Fatalf("healthy leader: LeaseRead = %d, %t; want commit %d, true", idx, ok, c.Node(1).Status().Commit)
	}
	if _, ok := c.LeaseRead(2); ok {
		t.Fatalf("a follower granted a lease read")
	}
	var newLeaderAt time.Duration = -1
	c.OnRoleChange = func(rc raft.RoleChange) {
		if rc.To == raft.Leader && rc.ID != 1 && newLeaderAt < 0 {
			newLeaderAt = rc.At
		}
	}
	c.Partition([]uint64{1}, []uint64{2, 3})
	cut := c.Now()
	// The lease runs out within ElectionTimeoutMin of the last answered
	// round, and strictly before the majority can elect a leader.
	var expired time.Duration
	for expired == 0 {
		if err := c.RunFor(time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if _, ok := c.LeaseRead(1); !ok {
			expired = c.Now()
		}
	}
	if expired-cut > 150*time.Millisecond {
		t.Errorf("lease lasted %v after the partition, want < ElectionTimeoutMin (150ms)", expired-cut)
	}
	if _, err := c.RunUntil(c.Now()+2*time.Second, func() bool { l := c.Leader(); return l != 1 && l != raft.None }); err != nil {
		t.Fatal(err)
	}
	if newLeaderAt < 0 || newLeaderAt <= expired {
		t.Errorf("new leader at %v, before the old lease expired at %v", newLeaderAt, expired)
	}

	// Without CheckQuorum there is no lease.
	c2 := readCluster(t, 3, false)
	if err := c2.RunFor(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, ok := c2.LeaseRead(1); ok {
		t.Errorf("LeaseRead granted without CheckQuorum")
	}
}

func TestReadIndexWithoutLeader(t *testing.T) {
	c, err := New(Config{Seed: 1, Nodes: 3, Raft: baseRaft()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReadIndex(2); !errors.Is(err, raft.ErrNotLeader) {
		t.Fatalf("ReadIndex with no leader known = %v, want ErrNotLeader", err)
	}
}

// With CheckQuorum a node in lease refuses to campaign: its vote for itself
// would help elect a second leader while the first may serve lease reads.
func TestCampaignRefusedInLease(t *testing.T) {
	c := readCluster(t, 5, true)
	if err := c.RunFor(200 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	term := c.Node(1).Term()
	c.Campaign(2)
	if err := c.RunFor(50 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r := c.Node(2); r.Role() != raft.Follower || r.Term() != term {
		t.Fatalf("node 2 in lease after Campaign: role %v term %d, want follower in term %d", r.Role(), r.Term(), term)
	}
	if _, ok := c.LeaseRead(1); !ok {
		t.Fatalf("leader lost its lease")
	}
}
