package raft

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The follower checks prevLogIndex/prevLogTerm and rejects with a hint, or
// accepts, acknowledging the last entry the message covers.
func TestFollowerAppendConsistencyCheck(t *testing.T) {
	st := State{HardState: HardState{Term: 3, Commit: 1}, Entries: entsOfTerms(1, 2, 2)}
	tests := []struct {
		name                   string
		prevIndex, prevTerm    uint64
		ents                   []Entry
		commit                 uint64
		wantReject             bool
		wantIndex              uint64
		wantHintTerm, wantHint uint64
		wantTerms              []uint64
		wantCommit             uint64
	}{
		{"match at the end", 3, 2, []Entry{{Index: 4, Term: 3}}, 4, false, 4, 0, 0, []uint64{1, 2, 2, 3}, 4},
		{"wrong term at prev", 3, 3, []Entry{{Index: 4, Term: 3}}, 4, true, 3, 2, 2, []uint64{1, 2, 2}, 1},
		{"prev beyond the end", 5, 3, []Entry{{Index: 6, Term: 3}}, 6, true, 5, 0, 4, []uint64{1, 2, 2}, 1},
		{"conflict replaced", 1, 1, []Entry{{Index: 2, Term: 3}}, 2, false, 2, 0, 0, []uint64{1, 3}, 2},
		{"commit capped at what the message covers", 2, 2, nil, 3, false, 2, 0, 0, []uint64{1, 2, 2}, 2},
		{"prev below commit: answer with commit", 0, 0, []Entry{{Index: 1, Term: 1}}, 1, false, 1, 0, 0, []uint64{1, 2, 2}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, testConfig(1, ids(3)), st)
			step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 3, Index: tt.prevIndex, LogTerm: tt.prevTerm, Entries: tt.ents, Commit: tt.commit})
			rd := r.Ready()
			if len(rd.Messages) != 0 {
				t.Errorf("Messages = %v, want the answer to wait for persistence", rd.Messages)
			}
			if len(rd.MessagesAfterPersist) != 1 {
				t.Fatalf("MessagesAfterPersist = %v, want one MsgAppResp", rd.MessagesAfterPersist)
			}
			m := rd.MessagesAfterPersist[0]
			if m.Type != MsgAppResp || m.To != 2 || m.Reject != tt.wantReject || m.Index != tt.wantIndex {
				t.Errorf("answer %v, want MsgAppResp to 2 reject=%t index=%d", m, tt.wantReject, tt.wantIndex)
			}
			if m.HintTerm != tt.wantHintTerm || m.HintIndex != tt.wantHint {
				t.Errorf("hint = (%d, %d), want (%d, %d)", m.HintTerm, m.HintIndex, tt.wantHintTerm, tt.wantHint)
			}
			if got := logTerms(r); !slices.Equal(got, tt.wantTerms) {
				t.Errorf("log terms = %v, want %v", got, tt.wantTerms)
			}
			if got := r.Status().Commit; got != tt.wantCommit {
				t.Errorf("commit = %d, want %d", got, tt.wantCommit)
			}
		})
	}
}

// Figure 7 of the Raft paper: a leader of term 8 brings followers with
// missing, extra and conflicting entries to exactly its log, skipping one
// conflicting term per round trip.
func TestFigure7LogInconsistencies(t *testing.T) {
	leaderTerms := []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}
	tests := []struct {
		name      string
		terms     []uint64
		hardTerm  uint64
		wantVoted bool // whether the follower grants the leader its vote
	}{
		{"a", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6}, 6, true},
		{"b", []uint64{1, 1, 1, 4}, 4, true},
		{"c", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6}, 6, false},
		{"d", []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7}, 7, false},
		{"e", []uint64{1, 1, 1, 4, 4, 4, 4}, 4, true},
		{"f", []uint64{1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3}, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Node 1 is the leader, 2 the follower of the figure, 3 an empty
			// node that votes for the leader so that it wins even against
			// (c) and (d).
			states := map[uint64]State{
				1: {HardState: HardState{Term: 7}, Entries: entsOfTerms(leaderTerms...)},
				2: {HardState: HardState{Term: tt.hardTerm}, Entries: entsOfTerms(tt.terms...)},
			}
			h := newHarness(t, 3, nil, states)
			h.elect(1)
			leader, follower := h.node(1), h.node(2)
			if leader.Term() != 8 {
				t.Fatalf("leader term %d, want 8", leader.Term())
			}
			voted := h.countMsgs(func(m Message) bool { return m.Type == MsgVoteResp && m.From == 2 && !m.Reject }) > 0
			if voted != tt.wantVoted {
				t.Errorf("follower granted its vote = %t, want %t", voted, tt.wantVoted)
			}

			want := append(slices.Clone(leaderTerms), 8) // the leader's no-op
			if got := logTerms(leader); !slices.Equal(got, want) {
				t.Fatalf("leader log %v, want %v", got, want)
			}
			if got := logTerms(follower); !slices.Equal(got, want) {
				t.Errorf("follower log %v, want the leader's %v", got, want)
			}
			if got := termsOf(h.nodes[2].disk.entries); !slices.Equal(got, want) {
				t.Errorf("follower's durable log %v, want the leader's %v", got, want)
			}
			if got := follower.Status().Commit; got != uint64(len(want)) {
				// The commit index reaches the follower with the leader's
				// next message; force one.
				h.advance(h.now + testTimeoutMin/2)
				if got = follower.Status().Commit; got != uint64(len(want)) {
					t.Errorf("follower commit %d, want %d", got, len(want))
				}
			}
			if pr := leader.Progress(2); pr.Match != uint64(len(want)) || pr.State != StateReplicate {
				t.Errorf("leader's progress of 2: %v, want replicate with match %d", pr, len(want))
			}

			// Each rejection must skip at least one of the follower's
			// conflicting terms, not one entry.
			common := 0
			for common < len(tt.terms) && common < len(leaderTerms) && tt.terms[common] == leaderTerms[common] {
				common++
			}
			conflicting := map[uint64]bool{}
			for _, term := range tt.terms[common:] {
				conflicting[term] = true
			}
			rejections := h.countMsgs(func(m Message) bool { return m.Type == MsgAppResp && m.From == 2 && m.Reject })
			if limit := len(conflicting) + 1; rejections > limit {
				t.Errorf("%d rejections, want at most %d (distinct conflicting terms %d + 1)", rejections, limit, len(conflicting))
			}
		})
	}
}

// Figure 8 of the Raft paper: an entry of an earlier term stored on a
// majority is not committed by counting replicas, because a later leader
// may still overwrite it.
func TestFigure8(t *testing.T) {
	// State (c) of the figure: S1 (term 2 entry at index 2) restarts with
	// term 3 known; S2 holds the same log; S3, S4 voted for S5 in term 3 and
	// hold only index 1; S5 wrote a term-3 entry at index 2 and crashed.
	states := map[uint64]State{
		1: {HardState: HardState{Term: 3, Commit: 1}, Entries: entsOfTerms(1, 2)},
		2: {HardState: HardState{Term: 2, Commit: 1}, Entries: entsOfTerms(1, 2)},
		3: {HardState: HardState{Term: 3, Vote: 5, Commit: 1}, Entries: entsOfTerms(1)},
		4: {HardState: HardState{Term: 3, Vote: 5, Commit: 1}, Entries: entsOfTerms(1)},
		5: {HardState: HardState{Term: 3, Vote: 5, Commit: 1}, Entries: entsOfTerms(1, 3)},
	}
	// One entry per message so that index 2 can reach S3 without the
	// leader's term-4 entry.
	oneEntry := func(c *Config) { c.MaxEntriesPerMsg = 1 }
	setup := func(t *testing.T) *harness {
		h := newHarness(t, 5, oneEntry, states)
		h.isolate(4)
		h.isolate(5)
		h.filter = func(m Message) bool {
			// The leader's term-4 entry (index 3) does not reach S3: drop
			// every append that S3 would accept with it. (Appends S3
			// rejects carry nothing to it and go through.)
			if m.Type != MsgApp || m.To != 3 || !slices.ContainsFunc(m.Entries, func(e Entry) bool { return e.Index == 3 }) {
				return true
			}
			prevTerm, ok := h.node(3).LogTerm(m.Index)
			return !(ok && prevTerm == m.LogTerm)
		}
		h.elect(1)
		s1 := h.node(1)
		if s1.Term() != 4 {
			t.Fatalf("S1 term %d, want 4", s1.Term())
		}
		// The dangerous step: index 2 (term 2) is now on S1, S2 and S3, a
		// majority, and the leader knows it.
		for _, id := range []uint64{1, 2, 3} {
			if got, _ := h.node(id).LogTerm(2); got != 2 {
				t.Fatalf("S%d term at index 2 = %d, want 2", id, got)
			}
		}
		if got := s1.Progress(3).Match; got != 2 {
			t.Fatalf("S1's match for S3 = %d, want 2", got)
		}
		if got := s1.Status().Commit; got != 1 {
			t.Fatalf("S1 commit = %d with index 2 (term 2) on a majority, want 1: replicas of an earlier term must not be counted", got)
		}
		return h
	}

	t.Run("a later leader may overwrite it", func(t *testing.T) {
		h := setup(t)
		// S1 crashes; S5 comes back and wins with S3 and S4.
		h.isolate(1)
		h.heal(4)
		h.heal(5)
		h.filter = nil
		for range 3 {
			if h.node(5).Role() == Leader {
				break
			}
			h.campaign(5)
		}
		if h.node(5).Role() != Leader {
			t.Fatalf("S5 role %v, want leader", h.node(5).Role())
		}
		if got, _ := h.node(3).LogTerm(2); got != 3 {
			t.Errorf("S3 term at index 2 = %d, want 3 (overwritten by S5)", got)
		}
		for _, id := range []uint64{2, 3, 4, 5} {
			if got := h.node(id).Status().Commit; got < 2 {
				continue
			}
			if term, _ := h.node(id).LogTerm(2); term != 3 {
				t.Errorf("S%d committed index 2 with term %d, want 3", id, term)
			}
		}
	})

	t.Run("committed with an entry of the current term", func(t *testing.T) {
		h := setup(t)
		h.filter = nil
		first, _ := h.propose(1, []byte("x"))
		s1 := h.node(1)
		if got := s1.Status().Commit; got != first {
			t.Errorf("S1 commit = %d, want %d once a term-4 entry is on a majority", got, first)
		}
		if got, _ := h.node(3).LogTerm(3); got != 4 {
			t.Errorf("S3 term at index 3 = %d, want 4", got)
		}
	})
}

// Direct check of the rule in maybeCommit: acknowledgements of entries of an
// earlier term do not move the commit index; an acknowledgement of an entry
// of the current term commits everything before it.
func TestLeaderCommitsOnlyCurrentTermByCounting(t *testing.T) {
	st := State{HardState: HardState{Term: 1}, Entries: entsOfTerms(1, 1)}
	r := newTestRaft(t, testConfig(1, ids(3)), st)
	makeLeader(t, r, 0) // term 2, no-op at index 3, own write durable
	if r.Status().Persisted != 3 {
		t.Fatalf("leader persisted %d, want 3", r.Status().Persisted)
	}
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 2, Index: 2})
	if got := r.Status().Commit; got != 0 {
		t.Errorf("commit %d after a majority acked index 2 of term 1, want 0", got)
	}
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 2, Index: 3})
	if got := r.Status().Commit; got != 3 {
		t.Errorf("commit %d after a majority acked the term-2 no-op, want 3", got)
	}
}

func TestLeaderAppendsNoop(t *testing.T) {
	st := State{HardState: HardState{Term: 4}, Entries: entsOfTerms(1, 2, 4)}
	r := newTestRaft(t, testConfig(1, ids(3)), st)
	r.Campaign(0)
	drain(r, 0)
	step(t, r, 0, Message{Type: MsgVoteResp, From: 2, Term: 5})
	if r.Role() != Leader {
		t.Fatalf("role %v, want leader", r.Role())
	}
	rd := r.Ready()
	if len(rd.Entries) != 1 {
		t.Fatalf("new leader's Ready.Entries = %v, want one no-op", rd.Entries)
	}
	e := rd.Entries[0]
	if e.Type != EntryNoop || e.Term != 5 || e.Index != 4 || e.Data != nil {
		t.Errorf("first entry of the term = %+v, want a no-op at index 4 term 5", e)
	}
	apps := filterMsgs(rd.Messages, MsgApp)
	if len(apps) != 2 {
		t.Fatalf("new leader sent %d MsgApp, want 2", len(apps))
	}
	for _, m := range apps {
		if m.Index != 3 || m.LogTerm != 4 || len(m.Entries) != 1 || m.Entries[0].Index != 4 {
			t.Errorf("first append %v, want prev (3, 4) carrying the no-op", m)
		}
	}
}

// The leader's own entries count toward a quorum only once its own write is
// durable; it applies them only then, too.
func TestLeaderOwnWriteCountsOnlyAfterPersisted(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	h.isolate(3)
	leader := h.node(1)
	base := leader.Status().Commit

	h.nodes[1].holdPersist = true
	first, last := h.propose(1, []byte("a"), []byte("b"))
	if got := leader.Progress(2).Match; got != last {
		t.Fatalf("follower 2 match %d, want %d (it acknowledged)", got, last)
	}
	if st := leader.Status(); st.Commit != base || st.Persisted >= first {
		t.Errorf("leader before its write is durable: commit=%d persisted=%d, want commit %d (one ack of two needed)",
			st.Commit, st.Persisted, base)
	}
	h.release(1)
	if got := leader.Status().Commit; got != last {
		t.Errorf("leader after its write is durable: commit=%d, want %d", got, last)
	}
	if got := h.nodes[1].applied; len(got) == 0 || got[len(got)-1].Index != last {
		t.Errorf("leader applied %v, want through %d", got, last)
	}
}

// A leader may commit through its followers before its own write is
// durable, and hand the entries for applying then: they are durable on a
// quorum. Its own fsync stays off the path to the client's answer.
func TestLeaderCommitsAndAppliesBeforeOwnWrite(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	leader := h.node(1)
	h.nodes[1].holdPersist = true
	_, last := h.propose(1, []byte("a"))
	if got := leader.Status().Commit; got != last {
		t.Fatalf("commit = %d with both followers acked, want %d", got, last)
	}
	if st := leader.Status(); st.Persisted >= last {
		t.Fatalf("leader persisted %d while its writes are held", st.Persisted)
	}
	handed := false
	for _, rd := range h.nodes[1].pending {
		for _, e := range rd.CommittedEntries {
			handed = handed || e.Index == last
		}
	}
	if !handed {
		t.Errorf("committed entry %d not handed for applying while the leader's write is in flight", last)
	}
	h.release(1)
	if got := h.nodes[1].applied; got[len(got)-1].Index != last {
		t.Errorf("applied through %d after release, want %d", got[len(got)-1].Index, last)
	}
}

// Heartbeats carry min(follower match, commit): a lagging follower is never
// told to commit entries it may hold in a stale form.
func TestHeartbeatCommit(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	leader := h.node(1)
	lagging := leader.Progress(3).Match
	h.isolate(3)
	_, last := h.propose(1, []byte("a"), []byte("b"))
	if got := leader.Status().Commit; got != last {
		t.Fatalf("commit %d, want %d", got, last)
	}
	leader.Tick(leader.NextDeadline())
	rd := leader.Ready()
	hb := filterMsgs(rd.Messages, MsgHeartbeat)
	if len(hb) != 2 {
		t.Fatalf("heartbeats %v, want 2", hb)
	}
	for _, m := range hb {
		want := last
		if m.To == 3 {
			want = lagging
		}
		if m.Commit != want {
			t.Errorf("heartbeat to %d carries commit %d, want %d", m.To, m.Commit, want)
		}
	}
	if len(rd.MessagesAfterPersist) != 0 {
		t.Errorf("heartbeats wait for persistence: %v", rd.MessagesAfterPersist)
	}
}

func TestFollowerHeartbeatCommit(t *testing.T) {
	tests := []struct {
		commit     uint64
		wantCommit uint64
	}{
		{2, 2},
		{3, 3},
		{9, 3}, // capped at the last index
		{1, 2}, // never goes back
	}
	for _, tt := range tests {
		r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 2, Commit: 2}, Entries: entsOfTerms(1, 1, 2)})
		step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 2, Commit: tt.commit, Context: []byte("ctx")})
		if got := r.Status().Commit; got != tt.wantCommit {
			t.Errorf("heartbeat with commit %d: commit = %d, want %d", tt.commit, got, tt.wantCommit)
		}
		rd := r.Ready()
		resps := filterMsgs(rd.Messages, MsgHeartbeatResp)
		if len(resps) != 1 || string(resps[0].Context) != "ctx" {
			t.Errorf("heartbeat answers %v, want one echoing the context", rd.Messages)
		}
	}
}

// A follower whose appends were lost while it was in the replicate state is
// brought up to date by the heartbeat round trip, without new proposals.
func TestLostAppendsResentAfterHeartbeat(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	leader := h.node(1)
	if st := leader.Progress(3).State; st != StateReplicate {
		t.Fatalf("progress of 3: %v, want replicate", st)
	}
	drop := true
	h.filter = func(m Message) bool { return !(drop && m.To == 3 && m.Type == MsgApp) }
	_, last := h.propose(1, []byte("a"), []byte("b"), []byte("c"))
	if got := h.node(3).LastIndex(); got >= last {
		t.Fatalf("follower 3 last index %d, want the appends lost", got)
	}
	drop = false
	h.advance(h.now + 2*testTimeoutMin)
	if got := h.node(3).LastIndex(); got != last {
		t.Errorf("follower 3 last index %d after heartbeats, want %d", got, last)
	}
	if got := leader.Progress(3).Match; got != last {
		t.Errorf("leader's match for 3 = %d, want %d", got, last)
	}
	if got := h.node(3).Status().Commit; got != last {
		t.Errorf("follower 3 commit %d, want %d", got, last)
	}
}

// replicatingLeader returns leader 1 of a 3-node cluster whose followers are
// in the replicate state with nothing in flight; the cores are driven by
// hand from here on.
func replicatingLeader(t *testing.T, opt func(*Config)) *Raft {
	t.Helper()
	h := newHarness(t, 3, opt, nil)
	h.elect(1)
	r := h.node(1)
	for _, id := range []uint64{2, 3} {
		if pr := r.Progress(id); pr.State != StateReplicate || pr.Inflights.Count() != 0 {
			t.Fatalf("progress %v, want replicate with nothing in flight", pr)
		}
	}
	return r
}

func appsTo(msgs []Message, to uint64) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == MsgApp && m.To == to {
			out = append(out, m)
		}
	}
	return out
}

func datas(n, size int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, size)
	}
	return out
}

func TestPipeliningWindow(t *testing.T) {
	r := replicatingLeader(t, func(c *Config) { c.MaxInflightMsgs, c.MaxEntriesPerMsg = 4, 2 })
	first, last, err := r.Propose(0, datas(20, 1)...)
	if err != nil {
		t.Fatal(err)
	}
	msgs := drain(r, 0)
	apps := appsTo(msgs, 2)
	if len(apps) != 4 {
		t.Fatalf("%d MsgApp to 2 for 20 entries, want 4 (the window)", len(apps))
	}
	next := first
	for _, m := range apps {
		if n := len(m.Entries); n == 0 || n > 2 {
			t.Errorf("MsgApp with %d entries, want 1..2", n)
		}
		if m.Index != next-1 || m.Entries[0].Index != next {
			t.Errorf("MsgApp prev=%d first=%d, want prev=%d first=%d (contiguous stream)", m.Index, m.Entries[0].Index, next-1, next)
		}
		next = m.Entries[len(m.Entries)-1].Index + 1
	}
	pr := r.Progress(2)
	if !pr.IsPaused() || pr.Inflights.Count() != 4 {
		t.Errorf("progress %v, want a full window (paused)", pr)
	}
	// More proposals while the window is full send nothing.
	r.Propose(0, []byte("x"))
	if got := appsTo(drain(r, 0), 2); len(got) != 0 {
		t.Errorf("full window sent %v, want nothing", got)
	}

	// Acknowledging the first two messages frees two slots.
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: r.Term(), Index: apps[1].Entries[1].Index})
	got := appsTo(drain(r, 0), 2)
	if len(got) != 2 {
		t.Fatalf("after acking 2 messages: %d MsgApp, want 2", len(got))
	}
	if got[0].Entries[0].Index != next {
		t.Errorf("resumed at %d, want %d", got[0].Entries[0].Index, next)
	}
	// Acknowledging everything drains the rest of the log.
	for pr.Match < r.LastIndex() {
		step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: r.Term(), Index: pr.Next - 1})
		drain(r, 0)
	}
	if pr.Inflights.Count() != 0 || pr.Match != last+1 {
		t.Errorf("progress %v after acking everything, want match %d with nothing in flight", pr, last+1)
	}
}

func TestBatchingBytesLimit(t *testing.T) {
	r := replicatingLeader(t, func(c *Config) { c.MaxBytesPerMsg = 250 })
	data := [][]byte{make([]byte, 100), make([]byte, 100), make([]byte, 100), make([]byte, 1000), make([]byte, 10)}
	first, _, err := r.Propose(0, data...)
	if err != nil {
		t.Fatal(err)
	}
	apps := appsTo(drain(r, 0), 2)
	var got [][]uint64
	for _, m := range apps {
		var idx []uint64
		var size int
		for _, e := range m.Entries {
			idx = append(idx, e.Index-first)
			size += len(e.Data)
		}
		if size > 250 && len(m.Entries) > 1 {
			t.Errorf("MsgApp of %d bytes in %d entries, want at most 250 bytes unless one entry", size, len(m.Entries))
		}
		got = append(got, idx)
	}
	want := [][]uint64{{0, 1}, {2}, {3}, {4}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("batches (offsets from the first index) %v, want %v", got, want)
	}
}

// In the probe state the leader sends one append and waits for its answer.
func TestProbeSendsOneAtATime(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	r.Campaign(0)
	drain(r, 0)
	step(t, r, 0, Message{Type: MsgVoteResp, From: 2, Term: 1})
	if got := appsTo(drain(r, 0), 2); len(got) != 1 {
		t.Fatalf("new leader sent %d appends to 2, want 1 probe", len(got))
	}
	pr := r.Progress(2)
	if pr.State != StateProbe || !pr.IsPaused() {
		t.Fatalf("progress %v, want probe waiting for an answer", pr)
	}
	for i := range 3 {
		r.Propose(0, []byte{byte(i)})
		if got := appsTo(drain(r, 0), 2); len(got) != 0 {
			t.Errorf("proposal %d sent %v to a probing follower, want nothing", i, got)
		}
	}
	// A heartbeat answer allows another probe.
	step(t, r, 0, Message{Type: MsgHeartbeatResp, From: 2, Term: 1})
	if got := appsTo(drain(r, 0), 2); len(got) != 1 {
		t.Errorf("after a heartbeat answer: %d appends, want 1 probe", len(got))
	}
	// The answer to the probe moves to replicate and streams the rest.
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 1, Index: r.LastIndex()})
	if pr.State != StateReplicate {
		t.Errorf("progress %v after an accepted probe, want replicate", pr)
	}
}

// A rejection in the replicate state sends the follower back to probing at
// the hinted index; a stale rejection is ignored.
func TestRejectionInReplicate(t *testing.T) {
	r := replicatingLeader(t, nil)
	pr := r.Progress(2)
	match := pr.Match
	r.Propose(0, []byte("a"), []byte("b"))
	drain(r, 0)

	// Stale: a rejection at or below match.
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: r.Term(), Index: match, Reject: true, HintIndex: 1})
	if pr.State != StateReplicate || pr.Match != match {
		t.Errorf("stale rejection changed progress to %v", pr)
	}
	if got := appsTo(drain(r, 0), 2); len(got) != 0 {
		t.Errorf("stale rejection sent %v, want nothing", got)
	}

	// Current: the follower lost the append of match+1.
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: r.Term(), Index: match + 1, Reject: true, HintIndex: match + 1})
	if pr.State != StateProbe || pr.Next != match+1 {
		t.Errorf("progress %v after a rejection, want probe at %d", pr, match+1)
	}
	got := appsTo(drain(r, 0), 2)
	if len(got) != 1 || got[0].Index != match {
		t.Errorf("after the rejection sent %v, want one probe with prev %d", got, match)
	}
}

// Messages from a node the leader does not know are ignored.
func TestLeaderIgnoresUnknownPeer(t *testing.T) {
	r := replicatingLeader(t, nil)
	step(t, r, 0, Message{Type: MsgAppResp, From: 9, Term: r.Term(), Index: 100})
	step(t, r, 0, Message{Type: MsgHeartbeatResp, From: 9, Term: r.Term()})
	if msgs := drain(r, time.Duration(0)); len(msgs) != 0 {
		t.Errorf("answers from a stranger produced %v", msgs)
	}
}

// The leader turns a rejection's hint into the next index to probe: after
// its own last entry of the follower's conflicting term if it has one, else
// at the first index of that term in the follower's log, skipping a whole
// term per round trip.
func TestLeaderUsesConflictHint(t *testing.T) {
	leaderTerms := []uint64{1, 1, 1, 4, 4, 5, 5, 6, 6, 6}
	tests := []struct {
		name                string
		rejected            uint64
		hintTerm, hintIndex uint64
		wantNext            uint64 // 0: the rejection is ignored
		wantPrevTerm        uint64
	}{
		{"follower too short", 10, 0, 5, 5, 4},
		{"leader holds the conflicting term: resume after its last", 10, 4, 4, 6, 4},
		{"leader lacks the conflicting term: resume at its first index", 10, 3, 7, 7, 5},
		{"leader lacks the conflicting term, earlier", 10, 2, 4, 4, 1},
		{"hint beyond the rejected index is capped", 10, 0, 30, 10, 6},
		{"stale rejection (not the last probe)", 9, 2, 4, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 7}, Entries: entsOfTerms(leaderTerms...)})
			makeLeader(t, r, 0)
			pr := r.Progress(2)
			if pr.Next != 11 || !pr.IsPaused() {
				t.Fatalf("progress %v, want a probe out from next 11", pr)
			}
			step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 8, Index: tt.rejected, Reject: true, HintTerm: tt.hintTerm, HintIndex: tt.hintIndex})
			apps := appsTo(drain(r, 0), 2)
			if tt.wantNext == 0 {
				if pr.Next != 11 || len(apps) != 0 {
					t.Errorf("stale rejection: next %d, sent %v; want next 11 and nothing sent", pr.Next, apps)
				}
				return
			}
			if pr.Next != tt.wantNext {
				t.Errorf("next = %d, want %d", pr.Next, tt.wantNext)
			}
			if len(apps) != 1 || apps[0].Index != tt.wantNext-1 || apps[0].LogTerm != tt.wantPrevTerm {
				t.Errorf("probes %v, want one with prev (%d, %d)", apps, tt.wantNext-1, tt.wantPrevTerm)
			}
		})
	}
}

// A new commit index reaches the followers without waiting for the next
// heartbeat.
func TestCommitReachesFollowersPromptly(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	_, last := h.propose(1, []byte("a"))
	for _, id := range h.ids {
		if got := h.node(id).Status().Commit; got != last {
			t.Errorf("node %d commit %d right after the proposal, want %d", id, got, last)
		}
	}
}

// commitOnly reports whether m is an AppendEntries that carries nothing but
// a commit index.
func commitOnly(m Message) bool { return m.Type == MsgApp && len(m.Entries) == 0 }

// With CommitNotifyDelay, a commit reaches followers that have every entry
// only when the delay is up: no commit-only message before, one per
// follower then, and NextDeadline asks for the tick that sends it.
func TestCommitNotifyDelayHoldsCommitOnlyMessages(t *testing.T) {
	const delay = 5 * time.Millisecond
	h := newHarness(t, 3, func(c *Config) { c.CommitNotifyDelay = delay }, nil)
	h.elect(1)
	h.advance(h.now + delay) // the no-op's commit goes out
	h.delivered = nil
	_, last := h.propose(1, []byte("a"))
	start := h.now
	if n := h.countMsgs(commitOnly); n != 0 {
		t.Errorf("%d commit-only messages before the delay is up, want 0", n)
	}
	for _, id := range []uint64{2, 3} {
		if got := h.node(id).Status().Commit; got >= last {
			t.Errorf("node %d commit %d before the delay is up, want < %d", id, got, last)
		}
	}
	if d := h.node(1).NextDeadline(); d != start+delay {
		t.Errorf("leader's next deadline %v, want %v (the held commit)", d, start+delay)
	}
	h.advance(start + delay)
	for _, id := range h.ids {
		if got := h.node(id).Status().Commit; got != last {
			t.Errorf("node %d commit %d after the delay, want %d", id, got, last)
		}
	}
	if n := h.countMsgs(commitOnly); n != 2 {
		t.Errorf("%d commit-only messages after the delay, want 2 (one per follower)", n)
	}
}

// A held commit rides on the next AppendEntries with entries: followers
// learn it without a commit-only message.
func TestCommitNotifyDelayRidesOnNextAppend(t *testing.T) {
	const delay = 5 * time.Millisecond
	h := newHarness(t, 3, func(c *Config) { c.CommitNotifyDelay = delay }, nil)
	h.elect(1)
	h.advance(h.now + delay)
	h.delivered = nil
	_, a := h.propose(1, []byte("a"))
	h.now += time.Millisecond
	h.propose(1, []byte("b"))
	if n := h.countMsgs(commitOnly); n != 0 {
		t.Errorf("%d commit-only messages, want 0: the append of b carries a's commit", n)
	}
	for _, id := range []uint64{2, 3} {
		if got := h.node(id).Status().Commit; got != a {
			t.Errorf("node %d commit %d, want %d (from the append of b)", id, got, a)
		}
	}
}

// A follower read is answered with the leader's commit index, and the
// follower serves it once it has applied that far: the heartbeat round that
// confirms the read carries the commit, so the read does not wait for the
// delay.
func TestCommitNotifyDelaySkippedForFollowerReads(t *testing.T) {
	const delay = time.Second
	h := newHarness(t, 3, func(c *Config) { c.CommitNotifyDelay = delay }, nil)
	h.elect(1)
	_, last := h.propose(1, []byte("a"))
	if got := h.node(2).Status().Commit; got >= last {
		t.Fatalf("follower commit %d before the read, want < %d", got, last)
	}
	if err := h.node(2).ReadIndex(h.now, []byte("f")); err != nil {
		t.Fatalf("ReadIndex on a follower: %v", err)
	}
	h.stabilize()
	got := readStatesOf(h, 2)
	if len(got) != 1 || got[0].Index != last {
		t.Fatalf("follower read states %v, want one at %d", got, last)
	}
	if c := h.node(2).Status().Commit; c != last {
		t.Errorf("reading follower's commit %d, want %d without waiting for the delay", c, last)
	}
}

// A leader that steps down forgets its held commit: no tick is asked for it.
func TestCommitNotifyDelayDroppedOnStepDown(t *testing.T) {
	const delay = 5 * time.Millisecond
	h := newHarness(t, 3, func(c *Config) { c.CommitNotifyDelay = delay }, nil)
	h.elect(1)
	h.advance(h.now + delay)
	h.propose(1, []byte("a"))
	h.node(1).Step(h.now, Message{Type: MsgHeartbeat, From: 2, To: 1, Term: h.node(1).Term() + 1})
	if r := h.node(1); r.Role() != Follower || r.commitNotifyAt != 0 {
		t.Errorf("after stepping down: role %v, held commit at %v; want follower, none", r.Role(), r.commitNotifyAt)
	}
}
