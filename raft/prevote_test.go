package raft

import (
	"testing"
	"time"
)

func preVoteConfig(c *Config) { c.PreVote = true }

// A pre-candidate asks with term+1 but keeps its term (nothing to persist)
// until a majority says it would vote.
func TestPreVoteDoesNotBumpTermUntilMajority(t *testing.T) {
	cfg := testConfig(1, ids(5))
	cfg.PreVote = true
	r := newTestRaft(t, cfg, State{HardState: HardState{Term: 3}})
	r.Campaign(0)
	if r.Role() != PreCandidate || r.Term() != 3 {
		t.Fatalf("after Campaign: role=%v term=%d, want pre-candidate term 3", r.Role(), r.Term())
	}
	rd := r.Ready()
	if rd.HardState != (HardState{}) || rd.MustPersist() {
		t.Errorf("pre-campaign Ready asks to persist %+v, want nothing", rd.HardState)
	}
	if len(rd.MessagesAfterPersist) != 0 {
		t.Errorf("pre-votes wait for persistence: %v, want them in Messages", rd.MessagesAfterPersist)
	}
	pre := filterMsgs(rd.Messages, MsgPreVote)
	if len(pre) != 4 {
		t.Fatalf("sent %d MsgPreVote, want 4", len(pre))
	}
	for _, m := range pre {
		if m.Term != 4 {
			t.Errorf("MsgPreVote to %d with term %d, want 4 (term+1)", m.To, m.Term)
		}
	}
	r.Persisted(0, rd.Mark)

	step(t, r, 0, Message{Type: MsgPreVoteResp, From: 2, Term: 4})
	if r.Role() != PreCandidate || r.Term() != 3 {
		t.Fatalf("after 1 of 2 needed grants: role=%v term=%d, want pre-candidate term 3", r.Role(), r.Term())
	}
	step(t, r, 0, Message{Type: MsgPreVoteResp, From: 3, Term: 4})
	if r.Role() != Candidate || r.Term() != 4 || r.Status().Vote != 1 {
		t.Fatalf("after a majority of pre-votes: role=%v term=%d vote=%d, want candidate term 4 voting for itself",
			r.Role(), r.Term(), r.Status().Vote)
	}
	rd = r.Ready()
	if rd.HardState.Term != 4 || rd.HardState.Vote != 1 {
		t.Errorf("HardState = %+v, want term 4 vote 1", rd.HardState)
	}
	if got := len(filterMsgs(rd.MessagesAfterPersist, MsgVote)); got != 4 {
		t.Errorf("%d MsgVote after persist, want 4", got)
	}
}

func TestPreVoteLost(t *testing.T) {
	cfg := testConfig(1, ids(3))
	cfg.PreVote = true
	r := newTestRaft(t, cfg, State{HardState: HardState{Term: 3}})
	r.Campaign(0)
	drain(r, 0)
	step(t, r, 0, Message{Type: MsgPreVoteResp, From: 2, Term: 3, Reject: true})
	step(t, r, 0, Message{Type: MsgPreVoteResp, From: 3, Term: 3, Reject: true})
	if r.Role() != Follower || r.Term() != 3 {
		t.Errorf("after losing the pre-vote: role=%v term=%d, want follower term 3", r.Role(), r.Term())
	}
	if rd := r.Ready(); rd.HardState != (HardState{}) {
		t.Errorf("lost pre-vote persists %+v, want nothing", rd.HardState)
	}
}

// A granted pre-vote binds nothing: the voter keeps its term and vote.
func TestPreVoteGrantBindsNothing(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 3, Vote: 3}})
	step(t, r, 0, Message{Type: MsgPreVote, From: 2, Term: 4})
	rd := r.Ready()
	resps := filterMsgs(rd.Messages, MsgPreVoteResp)
	if len(resps) != 1 || resps[0].Reject || resps[0].Term != 4 {
		t.Fatalf("answers %v, want one grant carrying term 4", rd.Messages)
	}
	if r.Term() != 3 || r.Status().Vote != 3 || rd.HardState != (HardState{}) {
		t.Errorf("term=%d vote=%d hardstate=%+v, want term 3 vote 3 and nothing to persist", r.Term(), r.Status().Vote, rd.HardState)
	}
}

// A voter that heard from a live leader within ElectionTimeoutMin refuses
// pre-votes; once the leader has been silent that long, it grants them.
func TestPreVoteRefusedWhileLeaderAlive(t *testing.T) {
	h := newHarness(t, 3, preVoteConfig, nil)
	h.elect(1)
	term := h.node(1).Term()

	h.now += testTimeoutMin / 2
	h.delivered = nil
	h.campaign(3)
	if r := h.node(3); r.Role() != PreCandidate || r.Term() != term {
		t.Fatalf("node 3: role=%v term=%d, want pre-candidate in term %d", r.Role(), r.Term(), term)
	}
	if n := h.countMsgs(func(m Message) bool { return m.Type == MsgPreVote }); n != 2 {
		t.Errorf("%d pre-votes delivered, want 2", n)
	}
	if n := h.countMsgs(func(m Message) bool { return m.Type == MsgPreVoteResp && !m.Reject }); n != 0 {
		t.Errorf("%d pre-votes granted while the leader is alive, want 0", n)
	}
	if got := h.leaders(); len(got) != 1 || got[0] != 1 || h.node(1).Term() != term {
		t.Errorf("leaders %v in term %d, want [1] in term %d", got, h.node(1).Term(), term)
	}

	// The leader goes silent; node 2 last heard from it at time 0.
	h.isolate(1)
	h.now = testTimeoutMin - 1
	h.campaign(3)
	if r := h.node(3); r.Role() == Candidate || r.Term() != term {
		t.Errorf("1ns before the lease ends: node 3 role=%v term=%d, want no election (term %d)", r.Role(), r.Term(), term)
	}
	h.now = testTimeoutMin
	h.campaign(3)
	if r := h.node(3); r.Role() != Leader || r.Term() != term+1 {
		t.Errorf("after the lease: node 3 role=%v term=%d, want leader in term %d", r.Role(), r.Term(), term+1)
	}
}

// A node partitioned away keeps campaigning, but with PreVote it never bumps
// its term, so when it returns the leader is not disturbed.
func TestPreVotePartitionedNodeRejoins(t *testing.T) {
	for _, tt := range []struct {
		preVote       bool
		wantUndisturb bool
	}{{true, true}, {false, false}} {
		h := newHarness(t, 3, func(c *Config) { c.PreVote = tt.preVote }, nil)
		h.elect(1)
		term := h.node(1).Term()

		h.isolate(3)
		h.advance(h.now + 10*testTimeoutMax)
		if tt.preVote {
			if r := h.node(3); r.Term() != term || r.Role() != PreCandidate {
				t.Errorf("prevote: isolated node 3 role=%v term=%d, want pre-candidate in term %d", r.Role(), r.Term(), term)
			}
		} else if h.node(3).Term() <= term {
			t.Fatalf("no prevote: isolated node 3 term %d, want it to have campaigned past %d", h.node(3).Term(), term)
		}
		h.heal(3)
		h.advance(h.now + 10*testTimeoutMax)

		undisturbed := h.node(1).Role() == Leader && h.node(1).Term() == term
		if undisturbed != tt.wantUndisturb {
			t.Errorf("prevote=%t: leader 1 role=%v term=%d (started in %d): undisturbed=%t, want %t",
				tt.preVote, h.node(1).Role(), h.node(1).Term(), term, undisturbed, tt.wantUndisturb)
		}
		if tt.preVote {
			for _, id := range h.ids {
				if r := h.node(id); r.Term() != term || r.Leader() != 1 {
					t.Errorf("prevote: node %d term=%d leader=%d, want term %d leader 1", id, r.Term(), r.Leader(), term)
				}
			}
		}
	}
}

func checkQuorumConfig(c *Config) { c.CheckQuorum = true }

// A leader that hears from no quorum within ElectionTimeoutMin steps down.
func TestCheckQuorumLeaderStepsDown(t *testing.T) {
	h := newHarness(t, 3, checkQuorumConfig, nil)
	h.elect(1)
	leader := h.node(1)
	start := h.now
	if got := leader.NextDeadline(); got > start+testTimeoutMin {
		t.Fatalf("leader's next deadline %v is after its first quorum check at %v", got, start+testTimeoutMin)
	}
	h.isolate(1)
	// Freeze the followers' clocks: only the leader is ticked, every
	// millisecond (more often than its deadlines, which is harmless).
	downAt := time.Duration(-1)
	for now := start + time.Millisecond; now <= start+2*testTimeoutMin && downAt < 0; now += time.Millisecond {
		h.now = now
		leader.Tick(now)
		h.stabilize()
		if leader.Role() != Leader {
			downAt = now
		}
	}
	// The followers answered the election's append, so the round ending at
	// start+min passes; the next one, with no answer at all, fails.
	if downAt <= start+testTimeoutMin || downAt > start+2*testTimeoutMin {
		t.Errorf("isolated leader stepped down at %v, want in (%v, %v]", downAt, start+testTimeoutMin, start+2*testTimeoutMin)
	}
	if leader.Role() != Follower || leader.Leader() != None {
		t.Errorf("isolated leader by %v: role=%v leader=%d, want follower with no leader", h.now, leader.Role(), leader.Leader())
	}
	if leader.Term() != 1 {
		t.Errorf("term %d after stepping down, want unchanged 1", leader.Term())
	}
}

func TestCheckQuorumLeaderStaysWithQuorum(t *testing.T) {
	h := newHarness(t, 3, checkQuorumConfig, nil)
	h.elect(1)
	h.isolate(3) // one follower is enough for a quorum of 3
	h.advance(h.now + 20*testTimeoutMax)
	if r := h.node(1); r.Role() != Leader || r.Term() != 1 {
		t.Errorf("leader with a quorum: role=%v term=%d, want leader term 1", r.Role(), r.Term())
	}
	if r := h.node(2); r.Leader() != 1 || r.Term() != 1 {
		t.Errorf("follower 2: leader=%d term=%d, want leader 1 term 1", r.Leader(), r.Term())
	}
}

// With CheckQuorum a follower in contact with the leader ignores vote
// requests (it neither answers nor adopts the term); once the lease expires
// it votes.
func TestCheckQuorumVoterInLeaseIgnoresVote(t *testing.T) {
	cfg := testConfig(1, ids(3))
	cfg.CheckQuorum = true
	r := newTestRaft(t, cfg, State{HardState: HardState{Term: 2}})
	step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 2})
	drain(r, 0)

	vote := Message{Type: MsgVote, From: 3, Term: 3}
	step(t, r, testTimeoutMin-1, vote)
	if msgs := drain(r, testTimeoutMin-1); len(msgs) != 0 || r.Term() != 2 || r.Leader() != 2 {
		t.Errorf("in lease: answered %v, term=%d leader=%d; want silence, term 2, leader 2", msgs, r.Term(), r.Leader())
	}

	step(t, r, testTimeoutMin, vote)
	resps := filterMsgs(drain(r, testTimeoutMin), MsgVoteResp)
	if len(resps) != 1 || resps[0].Reject || r.Term() != 3 || r.Status().Vote != 3 {
		t.Errorf("after the lease: answers %v term=%d vote=%d, want a grant in term 3", resps, r.Term(), r.Status().Vote)
	}

	// Without CheckQuorum the same request is answered within the lease.
	cfg = testConfig(1, ids(3))
	r = newTestRaft(t, cfg, State{HardState: HardState{Term: 2}})
	step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 2})
	drain(r, 0)
	step(t, r, time.Millisecond, vote)
	if resps := filterMsgs(drain(r, time.Millisecond), MsgVoteResp); len(resps) != 1 || r.Term() != 3 {
		t.Errorf("no CheckQuorum: answers %v term=%d, want one answer in term 3", resps, r.Term())
	}
}
