package raft

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// grantVotes answers r's current campaign with granted votes from the
// voters in from, in order, and drains r's output.
func grantVotes(t testing.TB, r *Raft, now time.Duration, from ...uint64) {
	t.Helper()
	for _, id := range from {
		m := Message{Type: MsgVoteResp, From: id, To: r.ID(), Term: r.Term()}
		if r.Role() == PreCandidate {
			m.Type, m.Term = MsgPreVoteResp, r.Term()+1
		}
		if err := r.Step(now, m); err != nil {
			t.Fatalf("Step(%v): %v", m, err)
		}
	}
	drain(r, now)
}

// makeLeader campaigns on r and grants it every other vote; r's output is
// drained.
func makeLeader(t testing.TB, r *Raft, now time.Duration) {
	t.Helper()
	r.Campaign(now)
	drain(r, now)
	for _, id := range r.Voters().IDs() {
		if r.Role() == Leader {
			break
		}
		if id != r.ID() {
			grantVotes(t, r, now, id)
		}
	}
	if r.Role() != Leader {
		t.Fatalf("node %d: role %v after all votes, want leader", r.ID(), r.Role())
	}
	drain(r, now)
}

func step(t testing.TB, r *Raft, now time.Duration, m Message) {
	t.Helper()
	if m.To == 0 {
		m.To = r.ID()
	}
	if err := r.Step(now, m); err != nil {
		t.Fatalf("Step(%v): %v", m, err)
	}
}

func checkDeadline(t testing.TB, what string, r *Raft, now time.Duration) {
	t.Helper()
	d := r.NextDeadline() - now
	if d < testTimeoutMin || d > testTimeoutMax {
		t.Errorf("%s: election timeout %v, want within [%v, %v]", what, d, testTimeoutMin, testTimeoutMax)
	}
}

func TestElectionTimeoutFires(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	checkDeadline(t, "after New", r, 0)
	deadline := r.NextDeadline()
	r.Tick(deadline - 1)
	if r.Role() != Follower || r.Term() != 0 {
		t.Fatalf("1ns before the deadline: role=%v term=%d, want follower term 0", r.Role(), r.Term())
	}
	r.Tick(deadline)
	if r.Role() != Candidate || r.Term() != 1 {
		t.Fatalf("at the deadline: role=%v term=%d, want candidate term 1", r.Role(), r.Term())
	}
	checkDeadline(t, "after starting a campaign", r, deadline)
	// An unanswered candidate times out again and starts a new term.
	next := r.NextDeadline()
	r.Tick(next)
	if r.Role() != Candidate || r.Term() != 2 {
		t.Fatalf("candidate at its deadline: role=%v term=%d, want candidate term 2", r.Role(), r.Term())
	}
}

// Every reset of the election timer draws a new timeout in [min, max].
func TestElectionTimeoutRedrawnOnEveryReset(t *testing.T) {
	for _, preVote := range []bool{false, true} {
		t.Run(fmt.Sprintf("prevote=%t", preVote), func(t *testing.T) {
			cfg := testConfig(1, ids(3))
			cfg.PreVote = preVote
			r := newTestRaft(t, cfg, State{})
			now := time.Duration(0)
			resets := []struct {
				name string
				do   func()
			}{
				{"heartbeat from the leader", func() { step(t, r, now, Message{Type: MsgHeartbeat, From: 2, Term: 1}) }},
				{"append from the leader", func() { step(t, r, now, Message{Type: MsgApp, From: 2, Term: 1}) }},
				{"heartbeat again", func() { step(t, r, now, Message{Type: MsgHeartbeat, From: 2, Term: 1}) }},
				{"vote granted in a new term", func() { step(t, r, now, Message{Type: MsgVote, From: 3, Term: 2}) }},
				{"campaign", func() { r.Campaign(now) }},
				{"pre-vote won, election started", func() {
					if r.Role() == PreCandidate {
						step(t, r, now, Message{Type: MsgPreVoteResp, From: 2, Term: r.Term() + 1})
					} else {
						r.Campaign(now) // another election right away
					}
				}},
				{"timeout as candidate", func() { now = r.NextDeadline(); r.Tick(now) }},
				{"higher-term append", func() { step(t, r, now, Message{Type: MsgApp, From: 2, Term: 9}) }},
			}
			for i, rs := range resets {
				prev := r.NextDeadline()
				now += time.Duration(i+1) * time.Millisecond
				rs.do()
				drain(r, now)
				checkDeadline(t, rs.name, r, now)
				if r.NextDeadline() == prev {
					t.Errorf("%s: deadline %v not redrawn, want a fresh one", rs.name, prev)
				}
			}
			if r.Role() != Follower || r.Term() != 9 {
				t.Errorf("role=%v term=%d at the end, want follower in term 9", r.Role(), r.Term())
			}
		})
	}
}

// Timeouts are drawn continuously from [min, max]: spread over the range,
// not rounded to milliseconds.
func TestElectionTimeoutDistribution(t *testing.T) {
	r := newTestRaft(t, testConfig(7, ids(7)), State{})
	const draws = 2000
	now := time.Duration(0)
	seen := map[time.Duration]bool{}
	var lo, hi, sum time.Duration = 1 << 62, 0, 0
	subMillisecond := 0
	for range draws {
		now += time.Millisecond
		step(t, r, now, Message{Type: MsgHeartbeat, From: 2, Term: 1})
		drain(r, now)
		d := r.NextDeadline() - now
		if d < testTimeoutMin || d > testTimeoutMax {
			t.Fatalf("timeout %v outside [%v, %v]", d, testTimeoutMin, testTimeoutMax)
		}
		seen[d] = true
		lo, hi, sum = min(lo, d), max(hi, d), sum+d
		if d%time.Millisecond != 0 {
			subMillisecond++
		}
	}
	span := testTimeoutMax - testTimeoutMin
	if len(seen) < draws*99/100 {
		t.Errorf("%d distinct timeouts in %d draws, want nearly all distinct", len(seen), draws)
	}
	if subMillisecond < draws*99/100 {
		t.Errorf("%d of %d timeouts have sub-millisecond parts, want nearly all (not quantized)", subMillisecond, draws)
	}
	if lo > testTimeoutMin+span/20 || hi < testTimeoutMax-span/20 {
		t.Errorf("timeouts span [%v, %v], want close to [%v, %v]", lo, hi, testTimeoutMin, testTimeoutMax)
	}
	if mean := sum / draws; mean < testTimeoutMin+span*4/10 || mean > testTimeoutMin+span*6/10 {
		t.Errorf("mean timeout %v, want near the middle %v", mean, testTimeoutMin+span/2)
	}
}

func TestElectionTimeoutFixed(t *testing.T) {
	cfg := testConfig(1, ids(3))
	cfg.ElectionTimeoutMax = cfg.ElectionTimeoutMin
	r := newTestRaft(t, cfg, State{})
	for i := range 10 {
		now := time.Duration(i) * time.Second
		step(t, r, now, Message{Type: MsgHeartbeat, From: 2, Term: 1})
		if got := r.NextDeadline() - now; got != cfg.ElectionTimeoutMin {
			t.Fatalf("timeout %v with min == max, want %v", got, cfg.ElectionTimeoutMin)
		}
	}
}

func TestCandidateNeedsMajority(t *testing.T) {
	type answer struct {
		from     uint64
		granted  bool
		wantRole Role
	}
	tests := []struct {
		name    string
		voters  int
		answers []answer
	}{
		{"3 nodes: one grant wins", 3, []answer{{2, true, Leader}}},
		{"3 nodes: reject then grant", 3, []answer{{2, false, Candidate}, {3, true, Leader}}},
		{"3 nodes: two rejections lose", 3, []answer{{2, false, Candidate}, {3, false, Follower}}},
		{"5 nodes: two grants needed", 5, []answer{{2, true, Candidate}, {3, true, Leader}}},
		{"5 nodes: a repeated grant counts once", 5, []answer{{2, true, Candidate}, {2, true, Candidate}, {4, true, Leader}}},
		{"5 nodes: a grant cannot be turned into a rejection", 5, []answer{{2, true, Candidate}, {2, false, Candidate}, {3, true, Leader}}},
		{"5 nodes: three rejections lose", 5, []answer{{2, false, Candidate}, {3, true, Candidate}, {4, false, Candidate}, {5, false, Follower}}},
		{"grant from a non-voter does not count", 3, []answer{{9, true, Candidate}, {2, true, Leader}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, testConfig(1, ids(tt.voters)), State{})
			r.Campaign(0)
			msgs := drain(r, 0)
			if got := len(filterMsgs(msgs, MsgVote)); got != tt.voters-1 {
				t.Errorf("campaign sent %d MsgVote, want %d", got, tt.voters-1)
			}
			for _, a := range tt.answers {
				step(t, r, 0, Message{Type: MsgVoteResp, From: a.from, Term: 1, Reject: !a.granted})
				if r.Role() != a.wantRole {
					t.Fatalf("after answer %+v: role %v, want %v", a, r.Role(), a.wantRole)
				}
			}
			if r.Term() != 1 {
				t.Errorf("term %d, want 1", r.Term())
			}
		})
	}
}

func TestSingleNodeElectsItself(t *testing.T) {
	for _, preVote := range []bool{false, true} {
		cfg := testConfig(1, []uint64{1})
		cfg.PreVote = preVote
		r := newTestRaft(t, cfg, State{})
		r.Tick(r.NextDeadline())
		if r.Role() != Leader || r.Term() != 1 {
			t.Errorf("prevote=%t: role=%v term=%d after timeout, want leader term 1", preVote, r.Role(), r.Term())
		}
	}
}

func TestOneVotePerTerm(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	vote := func(from uint64, term uint64) (granted bool) {
		t.Helper()
		step(t, r, 0, Message{Type: MsgVote, From: from, Term: term})
		resps := filterMsgs(drain(r, 0), MsgVoteResp)
		if len(resps) != 1 || resps[0].To != from {
			t.Fatalf("vote request from %d: answers %v, want one to %d", from, resps, from)
		}
		return !resps[0].Reject
	}
	if !vote(2, 5) {
		t.Fatalf("first vote request of term 5 (from 2) rejected, want granted")
	}
	if r.Status().Vote != 2 || r.Term() != 5 {
		t.Fatalf("vote=%d term=%d, want vote 2 in term 5", r.Status().Vote, r.Term())
	}
	if vote(3, 5) {
		t.Errorf("request from 3 in term 5 after voting for 2: granted, want rejected")
	}
	if !vote(2, 5) {
		t.Errorf("repeated request from 2 in term 5: rejected, want granted again")
	}
	if r.Status().Vote != 2 {
		t.Errorf("vote = %d, want still 2", r.Status().Vote)
	}
	if !vote(3, 6) {
		t.Errorf("request from 3 in the new term 6: rejected, want granted")
	}
	if r.Status().Vote != 3 || r.Term() != 6 {
		t.Errorf("vote=%d term=%d, want vote 3 in term 6", r.Status().Vote, r.Term())
	}
}

// A node that follows a leader in this term votes for nobody else in it.
func TestNoVoteWhileLeaderKnownInTerm(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 3})
	drain(r, 0)
	step(t, r, 0, Message{Type: MsgVote, From: 3, Term: 3})
	resps := filterMsgs(drain(r, 0), MsgVoteResp)
	if len(resps) != 1 || !resps[0].Reject {
		t.Fatalf("vote request in the leader's term: answers %v, want one rejection", resps)
	}
	if r.Status().Vote != None {
		t.Errorf("vote = %d, want none", r.Status().Vote)
	}
}

// §5.4.1: a voter refuses a candidate whose log is less up to date.
func TestElectionRestriction(t *testing.T) {
	st := State{HardState: HardState{Term: 2}, Entries: entsOfTerms(1, 2, 2)} // last (3, 2)
	tests := []struct {
		name               string
		lastIndex, lastTrm uint64
		wantGrant          bool
	}{
		{"same last entry", 3, 2, true},
		{"longer log, same last term", 5, 2, true},
		{"higher last term, shorter log", 1, 3, true},
		{"shorter log, same last term", 2, 2, false},
		{"lower last term, longer log", 9, 1, false},
		{"empty log", 0, 0, false},
	}
	for _, tt := range tests {
		for _, typ := range []MessageType{MsgVote, MsgPreVote} {
			t.Run(fmt.Sprintf("%s/%v", tt.name, typ), func(t *testing.T) {
				r := newTestRaft(t, testConfig(1, ids(3)), st)
				step(t, r, 0, Message{Type: typ, From: 2, Term: 3, Index: tt.lastIndex, LogTerm: tt.lastTrm})
				msgs := drain(r, 0)
				want := MsgVoteResp
				if typ == MsgPreVote {
					want = MsgPreVoteResp
				}
				resps := filterMsgs(msgs, want)
				if len(resps) != 1 {
					t.Fatalf("answers %v, want one %v", msgs, want)
				}
				if granted := !resps[0].Reject; granted != tt.wantGrant {
					t.Errorf("candidate last (%d, %d): granted = %t, want %t", tt.lastIndex, tt.lastTrm, granted, tt.wantGrant)
				}
				if typ == MsgVote && tt.wantGrant && r.Status().Vote != 2 {
					t.Errorf("vote = %d after granting, want 2", r.Status().Vote)
				}
				if typ == MsgVote && !tt.wantGrant && r.Status().Vote != None {
					t.Errorf("vote = %d after refusing, want none", r.Status().Vote)
				}
			})
		}
	}
}

// Any message of a higher term makes a leader or candidate step down to
// follower in that term; a pre-vote request or a granted pre-vote does not.
func TestStepDownOnHigherTerm(t *testing.T) {
	msgs := []struct {
		m            Message
		wantStepDown bool
		wantLeader   uint64
	}{
		{Message{Type: MsgApp, From: 3, Term: 10}, true, 3},
		{Message{Type: MsgHeartbeat, From: 3, Term: 10}, true, 3},
		{Message{Type: MsgSnap, From: 3, Term: 10, Snapshot: &Snapshot{Meta: SnapshotMeta{Index: 1, Term: 1, Voters: ids(3)}}}, true, 3},
		{Message{Type: MsgVote, From: 3, Term: 10}, true, None},
		{Message{Type: MsgVoteResp, From: 3, Term: 10, Reject: true}, true, None},
		{Message{Type: MsgAppResp, From: 3, Term: 10}, true, None},
		{Message{Type: MsgAppResp, From: 3, Term: 10, Reject: true}, true, None},
		{Message{Type: MsgHeartbeatResp, From: 3, Term: 10}, true, None},
		{Message{Type: MsgPreVoteResp, From: 3, Term: 10, Reject: true}, true, None},
		{Message{Type: MsgPreVote, From: 3, Term: 10}, false, 0},
	}
	roles := []struct {
		name string
		make func(t *testing.T) *Raft
	}{
		{"leader", func(t *testing.T) *Raft {
			r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 4}})
			makeLeader(t, r, 0)
			return r
		}},
		{"candidate", func(t *testing.T) *Raft {
			r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 4}})
			r.Campaign(0)
			drain(r, 0)
			return r
		}},
		{"pre-candidate", func(t *testing.T) *Raft {
			cfg := testConfig(1, ids(3))
			cfg.PreVote = true
			r := newTestRaft(t, cfg, State{HardState: HardState{Term: 4}})
			r.Campaign(0)
			drain(r, 0)
			return r
		}},
		{"follower", func(t *testing.T) *Raft {
			r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 4}})
			step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 4})
			drain(r, 0)
			return r
		}},
	}
	for _, role := range roles {
		for _, tt := range msgs {
			t.Run(fmt.Sprintf("%s/%v", role.name, tt.m.Type), func(t *testing.T) {
				r := role.make(t)
				role0, term0 := r.Role(), r.Term()
				step(t, r, 0, tt.m)
				if !tt.wantStepDown {
					// The pre-vote leader and pre-candidate states are
					// unaffected; a follower without a lease may answer it.
					if r.Term() != term0 || r.Role() != role0 {
						t.Errorf("role=%v term=%d, want unchanged %v term %d", r.Role(), r.Term(), role0, term0)
					}
					return
				}
				if r.Role() != Follower || r.Term() != 10 {
					t.Errorf("role=%v term=%d, want follower in term 10", r.Role(), r.Term())
				}
				if r.Leader() != tt.wantLeader {
					t.Errorf("leader = %d, want %d", r.Leader(), tt.wantLeader)
				}
				rd := r.Ready()
				if rd.HardState.Term != 10 {
					t.Errorf("Ready.HardState = %+v, want term 10 to persist", rd.HardState)
				}
			})
		}
	}
}

// A candidate that hears from a leader of its own term becomes its follower.
func TestCandidateFollowsLeaderOfItsTerm(t *testing.T) {
	for _, typ := range []MessageType{MsgApp, MsgHeartbeat, MsgSnap} {
		for _, preVote := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/prevote=%t", typ, preVote), func(t *testing.T) {
				cfg := testConfig(1, ids(3))
				cfg.PreVote = preVote
				r := newTestRaft(t, cfg, State{HardState: HardState{Term: 2}})
				r.Campaign(0)
				drain(r, 0)
				term := r.Term() // 3 as candidate, 2 as pre-candidate
				m := Message{Type: typ, From: 3, Term: term}
				if typ == MsgSnap {
					m.Snapshot = &Snapshot{Meta: SnapshotMeta{Index: 1, Term: 1, Voters: ids(3)}}
				}
				step(t, r, time.Millisecond, m)
				if r.Role() != Follower || r.Term() != term || r.Leader() != 3 {
					t.Errorf("role=%v term=%d leader=%d, want follower of 3 in term %d", r.Role(), r.Term(), r.Leader(), term)
				}
				if !preVote && r.Status().Vote != 1 {
					t.Errorf("vote = %d, want its own vote kept (1)", r.Status().Vote)
				}
				checkDeadline(t, "after hearing from the leader", r, time.Millisecond)
			})
		}
	}
}

func TestLowerTermMessagesIgnored(t *testing.T) {
	for _, typ := range []MessageType{MsgApp, MsgHeartbeat, MsgVote, MsgVoteResp, MsgAppResp, MsgHeartbeatResp, MsgSnap} {
		r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 5}})
		r.Campaign(0) // candidate in term 6
		drain(r, 0)
		m := Message{Type: typ, From: 2, Term: 5, Index: 100, LogTerm: 4}
		if typ == MsgSnap {
			m.Snapshot = &Snapshot{Meta: SnapshotMeta{Index: 10, Term: 5}}
		}
		step(t, r, 0, m)
		if r.Role() != Candidate || r.Term() != 6 || r.Leader() != None {
			t.Errorf("%v of term 5: role=%v term=%d leader=%d, want candidate term 6", typ, r.Role(), r.Term(), r.Leader())
		}
		if msgs := drain(r, 0); len(msgs) != 0 {
			t.Errorf("%v of term 5: answered %v, want nothing", typ, msgs)
		}
	}
}

// With PreVote or CheckQuorum a leader cut off from the cluster may never
// learn the new term from vote requests; a stale append is answered with
// the current term instead.
func TestStaleLeaderToldNewTerm(t *testing.T) {
	tests := []struct {
		preVote, checkQuorum bool
		wantAnswer           bool
	}{
		{false, false, false},
		{true, false, true},
		{false, true, true},
		{true, true, true},
	}
	for _, tt := range tests {
		for _, typ := range []MessageType{MsgApp, MsgHeartbeat} {
			cfg := testConfig(1, ids(3))
			cfg.PreVote, cfg.CheckQuorum = tt.preVote, tt.checkQuorum
			r := newTestRaft(t, cfg, State{HardState: HardState{Term: 5}})
			step(t, r, 0, Message{Type: typ, From: 2, Term: 3})
			rd := r.Ready()
			resps := filterMsgs(rd.MessagesAfterPersist, MsgAppResp)
			if got := len(resps) == 1; got != tt.wantAnswer {
				t.Errorf("prevote=%t checkquorum=%t %v of term 3: answered=%t (%v), want %t",
					tt.preVote, tt.checkQuorum, typ, got, rd.MessagesAfterPersist, tt.wantAnswer)
				continue
			}
			if tt.wantAnswer && (resps[0].Term != 5 || resps[0].To != 2) {
				t.Errorf("answer %v, want term 5 to 2", resps[0])
			}
		}
	}

	// The stale leader steps down on that answer.
	cfg := testConfig(1, ids(3))
	cfg.CheckQuorum = true
	leader := newTestRaft(t, cfg, State{HardState: HardState{Term: 2}})
	at := cfg.ElectionTimeoutMin // past the boot lease, which refuses Campaign
	makeLeader(t, leader, at)
	step(t, leader, at, Message{Type: MsgAppResp, From: 2, Term: 5})
	if leader.Role() != Follower || leader.Term() != 5 {
		t.Errorf("stale leader after the answer: role=%v term=%d, want follower term 5", leader.Role(), leader.Term())
	}
}

func TestOnRoleChange(t *testing.T) {
	var got []RoleChange
	cfg := testConfig(1, ids(3))
	cfg.OnRoleChange = func(rc RoleChange) { got = append(got, rc) }
	r := newTestRaft(t, cfg, State{HardState: HardState{Term: 3}})
	if len(got) != 0 {
		t.Fatalf("New reported %v, want nothing", got)
	}

	deadline := r.NextDeadline()
	r.Tick(deadline)
	drain(r, deadline)
	at := deadline + 7*time.Millisecond
	step(t, r, at, Message{Type: MsgVoteResp, From: 3, Term: 4})
	drain(r, at)
	// Steady state reports nothing.
	r.Tick(at + time.Millisecond)
	drain(r, at+time.Millisecond)
	later := at + 30*time.Millisecond
	step(t, r, later, Message{Type: MsgApp, From: 2, Term: 6})
	drain(r, later)
	step(t, r, later+time.Millisecond, Message{Type: MsgHeartbeat, From: 2, Term: 6})

	want := []RoleChange{
		{ID: 1, At: deadline, From: Follower, To: Candidate, Term: 4, Leader: None},
		{ID: 1, At: at, From: Candidate, To: Leader, Term: 4, Leader: 1},
		{ID: 1, At: later, From: Leader, To: Follower, Term: 6, Leader: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("role changes:\n got %+v\nwant %+v", got, want)
	}
}

func TestOnRoleChangePreVote(t *testing.T) {
	var got []RoleChange
	cfg := testConfig(1, ids(3))
	cfg.PreVote = true
	cfg.OnRoleChange = func(rc RoleChange) { got = append(got, rc) }
	r := newTestRaft(t, cfg, State{})
	r.Campaign(5 * time.Millisecond)
	drain(r, 5*time.Millisecond)
	step(t, r, 6*time.Millisecond, Message{Type: MsgPreVoteResp, From: 2, Term: 1})
	drain(r, 6*time.Millisecond)
	step(t, r, 8*time.Millisecond, Message{Type: MsgVoteResp, From: 2, Term: 1})
	want := []RoleChange{
		{ID: 1, At: 5 * time.Millisecond, From: Follower, To: PreCandidate, Term: 0},
		{ID: 1, At: 6 * time.Millisecond, From: PreCandidate, To: Candidate, Term: 1},
		{ID: 1, At: 8 * time.Millisecond, From: Candidate, To: Leader, Term: 1, Leader: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("role changes:\n got %+v\nwant %+v", got, want)
	}
}

func TestCampaignIgnoredByLeaderAndNonVoter(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	makeLeader(t, r, 0)
	term := r.Term()
	r.Campaign(time.Millisecond)
	if r.Role() != Leader || r.Term() != term {
		t.Errorf("leader after Campaign: role=%v term=%d, want leader term %d", r.Role(), r.Term(), term)
	}

	// A node whose snapshot membership excludes it never campaigns.
	cfg := testConfig(4, []uint64{4})
	nv := newTestRaft(t, cfg, State{Snapshot: SnapshotMeta{Index: 5, Term: 1, Voters: ids(3)}})
	nv.Campaign(0)
	nv.Tick(nv.NextDeadline())
	if nv.Role() != Follower || nv.Term() != 0 {
		t.Errorf("non-voter: role=%v term=%d, want follower term 0", nv.Role(), nv.Term())
	}
}

// With a candidate timeout range, a candidate (and a pre-candidate) waits
// a timeout from that range before retrying; followers keep the election
// timeout range.
func TestCandidateTimeoutRange(t *testing.T) {
	const cmin, cmax = 10 * time.Millisecond, 20 * time.Millisecond
	for _, prevote := range []bool{false, true} {
		cfg := testConfig(1, ids(3))
		cfg.PreVote = prevote
		cfg.CandidateTimeoutMin, cfg.CandidateTimeoutMax = cmin, cmax
		r := newTestRaft(t, cfg, State{})
		checkDeadline(t, "follower", r, 0)
		now := time.Duration(0)
		for i := range 50 {
			now = r.NextDeadline()
			r.Tick(now)
			drain(r, now)
			if want := Candidate; !prevote && r.Role() != want {
				t.Fatalf("round %d: role %v, want %v", i, r.Role(), want)
			}
			if d := r.NextDeadline() - now; d < cmin || d > cmax {
				t.Fatalf("prevote=%v round %d (%v): retry timeout %v, want within [%v, %v]", prevote, i, r.Role(), d, cmin, cmax)
			}
		}
		// A candidate that hears of a leader follows it and is back on the
		// election timeout range.
		step(t, r, now, Message{Type: MsgHeartbeat, From: 2, Term: r.Term() + 1})
		drain(r, now)
		if r.Role() != Follower {
			t.Fatalf("role %v after a leader's heartbeat, want follower", r.Role())
		}
		checkDeadline(t, "follower again", r, now)
	}
}

func TestCandidateTimeoutRangeValidated(t *testing.T) {
	for _, c := range [][2]time.Duration{{0, 10 * time.Millisecond}, {20 * time.Millisecond, 10 * time.Millisecond}, {10 * time.Millisecond, 0}} {
		cfg := testConfig(1, ids(3))
		cfg.CandidateTimeoutMin, cfg.CandidateTimeoutMax = c[0], c[1]
		if _, err := New(cfg, State{}, 0); err == nil {
			t.Errorf("candidate timeout %v-%v accepted, want an error", c[0], c[1])
		}
	}
}
