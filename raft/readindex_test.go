package raft

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// readStatesOf collects the ReadStates of every Ready node id handed out.
func readStatesOf(h *harness, id uint64) []ReadState {
	var out []ReadState
	for _, rd := range h.nodes[id].readies {
		out = append(out, rd.ReadStates...)
	}
	return out
}

func TestReadIndexOnLeaderNeedsQuorumRound(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	leader := h.node(1)
	commit := leader.Status().Commit

	// Hold the heartbeat answers: the read must wait for them.
	hold := true
	h.filter = func(m Message) bool { return !(hold && m.Type == MsgHeartbeatResp) }
	h.delivered = nil
	if err := leader.ReadIndex(h.now, []byte("r1")); err != nil {
		t.Fatalf("ReadIndex on the leader: %v", err)
	}
	h.stabilize()
	if n := h.countMsgs(func(m Message) bool { return m.Type == MsgHeartbeat && len(m.Context) == 8 }); n != 2 {
		t.Errorf("read started %d heartbeats with a round number, want 2", n)
	}
	if got := readStatesOf(h, 1); len(got) != 0 {
		t.Fatalf("read answered %v before any follower confirmed the leadership", got)
	}

	hold = false
	leader.ReadIndex(h.now, []byte("r2"))
	h.stabilize()
	// The answered newer round confirms the older read too.
	got := readStatesOf(h, 1)
	if len(got) != 2 || got[0].Index != commit || string(got[0].Context) != "r1" || got[1].Index != commit || string(got[1].Context) != "r2" {
		t.Errorf("read states %v, want r1 and r2 at %d", got, commit)
	}
}

// A new leader does not know the full commit index until its no-op commits:
// reads wait for that (without starting a round), and then read at least
// there.
func TestReadIndexWaitsForCommitInTerm(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	h.propose(1, []byte("a"))

	// Node 2 becomes leader, but its no-op reaches nobody yet.
	h.isolate(1)
	h.filter = func(m Message) bool { return !(m.From == 2 && m.Type == MsgApp) }
	h.campaign(2)
	leader := h.node(2)
	if leader.Role() != Leader {
		t.Fatalf("node 2 role %v, want leader", leader.Role())
	}
	noop := leader.LastIndex()
	if got := leader.Status().Commit; got >= noop {
		t.Fatalf("commit %d, want below the no-op %d", got, noop)
	}
	h.delivered = nil
	leader.ReadIndex(h.now, []byte("r"))
	h.stabilize()
	if got := readStatesOf(h, 2); len(got) != 0 {
		t.Fatalf("read answered %v before the leader committed in its term", got)
	}
	if n := h.countMsgs(func(m Message) bool { return m.Type == MsgHeartbeat }); n != 0 {
		t.Errorf("read started a heartbeat round (%d heartbeats) before the leader knows its commit index", n)
	}
	h.filter = nil
	h.advance(h.now + testTimeoutMin)
	if got := leader.Status().Commit; got < noop {
		t.Fatalf("commit %d, want the no-op %d committed", got, noop)
	}
	got := readStatesOf(h, 2)
	if len(got) != 1 || got[0].Index < noop || string(got[0].Context) != "r" {
		t.Errorf("read states %v, want one at index >= %d", got, noop)
	}
}

func TestReadIndexForwardedByFollower(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	_, last := h.propose(1, []byte("a"))
	if err := h.node(2).ReadIndex(h.now, []byte("f")); err != nil {
		t.Fatalf("ReadIndex on a follower: %v", err)
	}
	h.stabilize()
	got := readStatesOf(h, 2)
	if len(got) != 1 || got[0].Index != last || string(got[0].Context) != "f" {
		t.Errorf("follower read states %v, want one at %d", got, last)
	}
	if n := h.countMsgs(func(m Message) bool { return m.Type == MsgReadIndex && m.From == 2 && m.To == 1 }); n != 1 {
		t.Errorf("%d MsgReadIndex from 2 to the leader, want 1", n)
	}
}

func TestReadIndexWithoutLeader(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	err := r.ReadIndex(0, []byte("x"))
	var nle *NotLeaderError
	if !errors.As(err, &nle) || nle.Leader != None || !errors.Is(err, ErrNotLeader) {
		t.Errorf("ReadIndex with no leader = %v, want *NotLeaderError with no leader", err)
	}
	// A node that is not the leader refuses a forwarded request.
	step(t, r, 0, Message{Type: MsgReadIndex, From: 2, Term: 1, Context: []byte("y")})
	resps := filterMsgs(drain(r, 0), MsgReadIndexResp)
	if len(resps) != 1 || !resps[0].Reject || string(resps[0].Context) != "y" {
		t.Errorf("answers %v, want one refusal echoing the context", resps)
	}
}

// Reads pending when the leader steps down fail (index 0) instead of being
// answered by a node that may no longer lead.
func TestReadIndexFailsOnStepDown(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	h.isolate(2)
	h.isolate(3)
	leader := h.node(1)
	leader.ReadIndex(h.now, []byte("lost"))
	h.stabilize()
	step(t, leader, h.now, Message{Type: MsgAppResp, From: 2, Term: leader.Term() + 1})
	h.stabilize()
	got := readStatesOf(h, 1)
	if len(got) != 1 || got[0].Index != 0 || string(got[0].Context) != "lost" {
		t.Errorf("read states %v, want one failure (index 0)", got)
	}
}

// An answer to an older heartbeat round does not confirm a read started in
// a newer one.
func TestReadIndexIgnoresOlderRound(t *testing.T) {
	r := replicatingLeader(t, nil)
	t1 := r.NextDeadline()
	r.Tick(t1) // an ordinary heartbeat round
	old := filterMsgs(drain(r, t1), MsgHeartbeat)
	if len(old) != 2 {
		t.Fatalf("heartbeats %v, want 2", old)
	}
	now := t1 + time.Millisecond
	r.ReadIndex(now, []byte("r"))
	rd := r.Ready()
	hb := filterMsgs(rd.Messages, MsgHeartbeat)
	if len(hb) != 2 || slices.Equal(hb[0].Context, old[0].Context) {
		t.Fatalf("read heartbeats %v, want 2 of a new round", hb)
	}
	step(t, r, now, Message{Type: MsgHeartbeatResp, From: 2, Term: r.Term(), Context: old[0].Context})
	if rd := r.Ready(); len(rd.ReadStates) != 0 {
		t.Errorf("older round answer confirmed the read: %v", rd.ReadStates)
	}
	step(t, r, now, Message{Type: MsgHeartbeatResp, From: 2, Term: r.Term(), Context: hb[0].Context})
	if rd := r.Ready(); len(rd.ReadStates) != 1 || string(rd.ReadStates[0].Context) != "r" {
		t.Errorf("read states %v after the round's answer, want the read", rd.ReadStates)
	}
}

func TestReadIndexSingleNode(t *testing.T) {
	r := newTestRaft(t, testConfig(1, []uint64{1}), State{})
	r.Campaign(0)
	drain(r, 0)
	if err := r.ReadIndex(0, []byte("s")); err != nil {
		t.Fatal(err)
	}
	rd := r.Ready()
	if len(rd.ReadStates) != 1 || rd.ReadStates[0].Index != r.Status().Commit || rd.ReadStates[0].Index == 0 {
		t.Errorf("single-node read states %v, want one at commit %d", rd.ReadStates, r.Status().Commit)
	}
}

func TestLeaseRead(t *testing.T) {
	h := newHarness(t, 3, checkQuorumConfig, nil)
	h.elect(1)
	leader := h.node(1)
	lease := time.Duration(float64(testTimeoutMin) * (1 - 0.01))

	// The lease starts with a heartbeat round a quorum answered.
	if _, ok := leader.LeaseRead(h.now); ok {
		t.Errorf("lease valid before any heartbeat round was answered")
	}
	sent := leader.NextDeadline()
	h.advance(sent)
	idx, ok := leader.LeaseRead(h.now)
	if !ok || idx != leader.Status().Commit {
		t.Fatalf("LeaseRead after an answered round = %d, %t; want %d, true", idx, ok, leader.Status().Commit)
	}

	// Cut the leader off: the lease runs out lease after the last answered
	// round was sent, whatever the leader does meanwhile.
	h.isolate(1)
	for _, at := range []time.Duration{sent + lease - 1, sent + lease} {
		for leader.NextDeadline() <= at {
			now := leader.NextDeadline()
			h.now = now
			leader.Tick(now)
			h.stabilize()
		}
		h.now = at
		_, ok := leader.LeaseRead(at)
		if want := at < sent+lease; ok != want || leader.Role() != Leader {
			t.Errorf("LeaseRead at sent+%v: ok=%t role=%v, want ok=%t as leader", at-sent, ok, leader.Role(), want)
		}
	}

	// Without CheckQuorum there are no leases.
	h2 := newHarness(t, 3, nil, nil)
	h2.elect(1)
	h2.advance(h2.node(1).NextDeadline())
	if _, ok := h2.node(1).LeaseRead(h2.now); ok {
		t.Errorf("lease read granted without CheckQuorum")
	}
	if _, ok := h2.node(2).LeaseRead(h2.now); ok {
		t.Errorf("lease read granted on a follower")
	}
}

// Under CheckQuorum a node that (re)starts refuses votes for one election
// timeout: it may have answered a leader's heartbeat just before a crash,
// and that leader's lease must hold.
func TestBootLease(t *testing.T) {
	for _, checkQuorum := range []bool{true, false} {
		cfg := testConfig(1, ids(3))
		cfg.CheckQuorum = checkQuorum
		boot := 5 * time.Second
		r, err := New(cfg, State{HardState: HardState{Term: 2}}, boot)
		if err != nil {
			t.Fatal(err)
		}
		vote := Message{Type: MsgVote, From: 3, Term: 3}
		step(t, r, boot+testTimeoutMin-1, vote)
		granted := len(filterMsgs(drain(r, boot+testTimeoutMin-1), MsgVoteResp)) == 1
		if granted == checkQuorum {
			t.Errorf("checkquorum=%t: vote answered just after boot = %t, want %t", checkQuorum, granted, !checkQuorum)
		}
		if checkQuorum {
			step(t, r, boot+testTimeoutMin, vote)
			resps := filterMsgs(drain(r, boot+testTimeoutMin), MsgVoteResp)
			if len(resps) != 1 || resps[0].Reject {
				t.Errorf("vote after the boot lease: answers %v, want a grant", resps)
			}
		}
	}
}

// While a leader's lease is valid no other leader is elected, even with the
// leader cut off and the nodes that never heard from it campaigning.
func TestLeaseHoldsUntilNewLeader(t *testing.T) {
	h := newHarness(t, 5, checkQuorumConfig, nil)
	// 4 and 5 never reach 1; 1 leads with 2 and 3.
	h.filter = func(m Message) bool {
		far := func(id uint64) bool { return id == 4 || id == 5 }
		return !(m.From == 1 && far(m.To) || m.To == 1 && far(m.From))
	}
	h.elect(1)
	old := h.node(1)
	h.advance(old.NextDeadline()) // a heartbeat round that 2 and 3 answer
	if _, ok := old.LeaseRead(h.now); !ok {
		t.Fatalf("no lease after an answered round")
	}
	h.isolate(1)
	var leaseEnd, newLeaderAt time.Duration = -1, -1
	for end := h.now + 10*testTimeoutMax; h.now < end && newLeaderAt < 0; {
		h.advance(h.now + time.Millisecond)
		_, ok := old.LeaseRead(h.now)
		if !ok && leaseEnd < 0 {
			leaseEnd = h.now
		}
		for _, id := range h.ids[1:] {
			if h.node(id).Role() == Leader {
				newLeaderAt = h.now
				if ok {
					t.Fatalf("at %v node %d leads in term %d while node 1 still holds a lease", h.now, id, h.node(id).Term())
				}
			}
		}
	}
	if newLeaderAt < 0 {
		t.Fatalf("no new leader within %v", 10*testTimeoutMax)
	}
	if leaseEnd < 0 || leaseEnd > newLeaderAt {
		t.Errorf("lease ended at %v, new leader at %v: want the lease to end first", leaseEnd, newLeaderAt)
	}
}
