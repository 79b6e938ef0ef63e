package raft

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// --- proposals ----------------------------------------------------------------

func TestProposeBatch(t *testing.T) {
	r := replicatingLeader(t, nil)
	before := r.LastIndex()
	data := make([][]byte, 100)
	for i := range data {
		data[i] = []byte(fmt.Sprintf("cmd-%d", i))
	}
	first, last, err := r.Propose(0, data...)
	if err != nil {
		t.Fatal(err)
	}
	if first != before+1 || last != before+100 {
		t.Fatalf("Propose = [%d, %d], want [%d, %d]", first, last, before+1, before+100)
	}
	if !r.HasReady() {
		t.Fatalf("HasReady = false after a proposal")
	}
	rd := r.Ready()
	if len(rd.Entries) != 100 {
		t.Fatalf("Ready.Entries has %d entries, want the whole batch of 100", len(rd.Entries))
	}
	for i, e := range rd.Entries {
		if e.Index != first+uint64(i) || e.Term != r.Term() || e.Type != EntryNormal {
			t.Errorf("entry %d = index %d term %d type %v, want index %d term %d normal", i, e.Index, e.Term, e.Type, first+uint64(i), r.Term())
		}
		if &e.Data[0] != &data[i][0] {
			t.Errorf("entry %d data was copied, want the proposer's bytes", i)
		}
	}
	if rd.Mark != (PersistMark{Index: last, Term: r.Term()}) {
		t.Errorf("Mark = %+v, want {%d %d}", rd.Mark, last, r.Term())
	}
	// A second Ready does not hand the same entries again.
	r.Persisted(0, rd.Mark)
	if rd2 := r.Ready(); len(rd2.Entries) != 0 {
		t.Errorf("second Ready has entries %v, want none", rd2.Entries)
	}
}

func TestProposeNothing(t *testing.T) {
	r := replicatingLeader(t, nil)
	last := r.LastIndex()
	first, l, err := r.Propose(0)
	if err != nil || first != 0 || l != 0 {
		t.Errorf("Propose() = %d, %d, %v; want 0, 0, nil", first, l, err)
	}
	if r.LastIndex() != last || r.HasReady() {
		t.Errorf("empty proposal changed the log or produced work")
	}
}

func TestProposeNotLeader(t *testing.T) {
	tests := []struct {
		name       string
		prepare    func(r *Raft)
		wantLeader uint64
	}{
		{"follower of a known leader", func(r *Raft) { step(t, r, 0, Message{Type: MsgHeartbeat, From: 3, Term: 1}) }, 3},
		{"leader unknown", func(r *Raft) {}, None},
		{"candidate", func(r *Raft) { r.Campaign(0) }, None},
		{"pre-candidate", func(r *Raft) { r.cfg.PreVote = true; r.Campaign(0) }, None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			tt.prepare(r)
			last := r.LastIndex()
			first, l, err := r.Propose(0, []byte("x"))
			if !errors.Is(err, ErrNotLeader) {
				t.Fatalf("Propose error %v, want ErrNotLeader", err)
			}
			var nle *NotLeaderError
			if !errors.As(err, &nle) || nle.Leader != tt.wantLeader {
				t.Errorf("error %#v, want *NotLeaderError{Leader: %d}", err, tt.wantLeader)
			}
			if first != 0 || l != 0 || r.LastIndex() != last {
				t.Errorf("refused proposal returned [%d, %d] or changed the log", first, l)
			}
			if tt.wantLeader == None && !strings.Contains(err.Error(), "unknown") {
				t.Errorf("error %q does not say the leader is unknown", err)
			}
			if tt.wantLeader != None && !strings.Contains(err.Error(), fmt.Sprint(tt.wantLeader)) {
				t.Errorf("error %q does not name leader %d", err, tt.wantLeader)
			}
		})
	}
}

// Proposals through a cluster are committed and applied in order on every
// node, exactly once.
func TestProposalsAppliedEverywhere(t *testing.T) {
	h := newHarness(t, 5, nil, nil)
	h.elect(1)
	var want []string
	for i := range 20 {
		var batch [][]byte
		for j := range i%3 + 1 {
			s := fmt.Sprintf("%d.%d", i, j)
			batch = append(batch, []byte(s))
			want = append(want, s)
		}
		h.propose(1, batch...)
	}
	h.advance(h.now + testTimeoutMin)
	for _, id := range h.ids {
		var got []string
		for _, e := range h.nodes[id].applied {
			if e.Type == EntryNormal && len(e.Data) > 0 {
				got = append(got, string(e.Data))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("node %d applied %v, want %v", id, got, want)
		}
	}
}

// --- durability contract -----------------------------------------------------

func TestReadyMessageClasses(t *testing.T) {
	tests := []struct {
		name      string
		run       func(t *testing.T) Ready
		now       []MessageType // must be in Messages
		afterward []MessageType // must be in MessagesAfterPersist
	}{
		{"candidate's vote requests wait for its term and vote", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			r.Campaign(0)
			return r.Ready()
		}, nil, []MessageType{MsgVote, MsgVote}},
		{"pre-votes leave at once", func(t *testing.T) Ready {
			cfg := testConfig(1, ids(3))
			cfg.PreVote = true
			r := newTestRaft(t, cfg, State{})
			r.Campaign(0)
			return r.Ready()
		}, []MessageType{MsgPreVote, MsgPreVote}, nil},
		{"a vote waits", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			step(t, r, 0, Message{Type: MsgVote, From: 2, Term: 1})
			return r.Ready()
		}, nil, []MessageType{MsgVoteResp}},
		{"a refused vote waits too", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1, Vote: 3}})
			step(t, r, 0, Message{Type: MsgVote, From: 2, Term: 1})
			return r.Ready()
		}, nil, []MessageType{MsgVoteResp}},
		{"a pre-vote answer leaves at once", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			step(t, r, 0, Message{Type: MsgPreVote, From: 2, Term: 1})
			return r.Ready()
		}, []MessageType{MsgPreVoteResp}, nil},
		{"an append's acknowledgement waits", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Entries: entsOfTerms(1)})
			return r.Ready()
		}, nil, []MessageType{MsgAppResp}},
		{"a rejection waits", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Index: 5, LogTerm: 1})
			return r.Ready()
		}, nil, []MessageType{MsgAppResp}},
		{"a heartbeat answer leaves at once", func(t *testing.T) Ready {
			r := newTestRaft(t, testConfig(1, ids(3)), State{})
			step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 1})
			return r.Ready()
		}, []MessageType{MsgHeartbeatResp}, nil},
		{"leader's appends leave at once", func(t *testing.T) Ready {
			r := replicatingLeader(t, nil)
			r.Propose(0, []byte("x"))
			return r.Ready()
		}, []MessageType{MsgApp, MsgApp}, nil},
		{"leader's heartbeats leave at once", func(t *testing.T) Ready {
			r := replicatingLeader(t, nil)
			r.Tick(r.NextDeadline())
			return r.Ready()
		}, []MessageType{MsgHeartbeat, MsgHeartbeat}, nil},
	}
	types := func(ms []Message) []MessageType {
		var out []MessageType
		for _, m := range ms {
			out = append(out, m.Type)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := tt.run(t)
			if got := types(rd.Messages); !slices.Equal(got, tt.now) {
				t.Errorf("Messages = %v, want %v", got, tt.now)
			}
			if got := types(rd.MessagesAfterPersist); !slices.Equal(got, tt.afterward) {
				t.Errorf("MessagesAfterPersist = %v, want %v", got, tt.afterward)
			}
		})
	}
}

func TestReadyHardState(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 2, Vote: 1, Commit: 0}})
	if r.HasReady() {
		t.Fatalf("fresh core HasReady = true, want false")
	}
	step(t, r, 0, Message{Type: MsgHeartbeat, From: 2, Term: 2})
	if rd := r.Ready(); rd.HardState != (HardState{}) {
		t.Errorf("heartbeat of the same term: HardState %+v, want zero", rd.HardState)
	}
	// A new term.
	step(t, r, 0, Message{Type: MsgHeartbeat, From: 3, Term: 3})
	rd := r.Ready()
	if rd.HardState != (HardState{Term: 3, Vote: None, Commit: 0}) || !rd.MustPersist() {
		t.Errorf("new term: HardState %+v (must persist %t), want term 3 no vote", rd.HardState, rd.MustPersist())
	}
	// A vote in a new term.
	step(t, r, 0, Message{Type: MsgVote, From: 2, Term: 4})
	rd = r.Ready()
	if rd.HardState != (HardState{Term: 4, Vote: 2}) {
		t.Errorf("vote: HardState %+v, want term 4 vote 2", rd.HardState)
	}
	// Only the commit index changes: not a reason to write.
	step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 4, Entries: entsOfTerms(4), Commit: 1})
	rd = r.Ready()
	if rd.HardState != (HardState{}) {
		t.Errorf("commit change only: HardState %+v, want zero", rd.HardState)
	}
	if len(rd.Entries) != 1 {
		t.Errorf("Entries %v, want the appended entry", rd.Entries)
	}
	// Nothing new: the HardState is not handed out again.
	r.Persisted(0, rd.Mark)
	rd = r.Ready()
	if rd.HardState != (HardState{}) || rd.MustPersist() {
		t.Errorf("repeat Ready: HardState %+v must persist %t, want nothing", rd.HardState, rd.MustPersist())
	}
}

// Entries are handed for applying only once committed and durable here.
func TestCommittedEntriesWaitForPersistence(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1}})
	step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Entries: entsOfTerms(1, 1, 1), Commit: 3})
	if got := r.Status().Commit; got != 3 {
		t.Fatalf("commit %d, want 3", got)
	}
	rd := r.Ready()
	if len(rd.Entries) != 3 {
		t.Fatalf("Entries %v, want 3", rd.Entries)
	}
	// Committed means durable on a quorum: they may be applied before this
	// node's own write completes.
	if len(rd.CommittedEntries) != 3 || rd.CommittedEntries[2].Index != 3 {
		t.Errorf("CommittedEntries %v, want entries 1..3 in the same Ready", rd.CommittedEntries)
	}
	if st := r.Status(); st.Applied != 3 || st.Persisted != 0 {
		t.Errorf("applied=%d persisted=%d, want 3 and 0", st.Applied, st.Persisted)
	}
	r.Persisted(0, rd.Mark)
	if st := r.Status(); st.Persisted != 3 {
		t.Errorf("persisted=%d after Persisted, want 3", st.Persisted)
	}
}

// A Ready marked persisted before earlier ones still covers them (writes
// complete in order), and persisting out-of-date marks changes nothing.
func TestPersistedMarks(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1}})
	step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Entries: entsOfTerms(1, 1), Commit: 0})
	rd1 := r.Ready()
	step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Index: 2, LogTerm: 1, Entries: []Entry{{Index: 3, Term: 1}}, Commit: 3})
	rd2 := r.Ready()
	if rd1.Mark.Index != 2 || rd2.Mark.Index != 3 {
		t.Fatalf("marks %+v %+v, want indexes 2 and 3", rd1.Mark, rd2.Mark)
	}
	r.Persisted(0, rd2.Mark)
	if got := r.Status().Persisted; got != 3 {
		t.Errorf("persisted %d after the later mark, want 3", got)
	}
	r.Persisted(0, rd1.Mark)
	if got := r.Status().Persisted; got != 3 {
		t.Errorf("persisted %d after an older mark, want still 3", got)
	}
}

// A write whose entries a new leader replaced while it was in flight does
// not make the replacement durable.
func TestPersistedTruncatedWrite(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1}})
	step(t, r, 0, Message{Type: MsgApp, From: 2, Term: 1, Entries: entsOfTerms(1, 1, 1)})
	rd1 := r.Ready() // 1..3 of term 1
	step(t, r, 0, Message{Type: MsgApp, From: 3, Term: 2, Index: 1, LogTerm: 1, Entries: []Entry{{Index: 2, Term: 2}}})
	rd2 := r.Ready()
	if len(rd2.Entries) != 1 || rd2.Entries[0].Index != 2 || rd2.Entries[0].Term != 2 {
		t.Fatalf("second write %v, want entry 2 of term 2 (truncating)", rd2.Entries)
	}
	r.Persisted(0, rd1.Mark)
	if got := r.Status().Persisted; got != 0 {
		t.Errorf("persisted %d after the truncated write's mark, want 0", got)
	}
	r.Persisted(0, rd2.Mark)
	if got := r.Status().Persisted; got != 2 {
		t.Errorf("persisted %d after the replacing write's mark, want 2", got)
	}
	// The first write's entries were not changed by the truncation.
	if got := termsOf(rd1.Entries); !slices.Equal(got, []uint64{1, 1, 1}) {
		t.Errorf("first Ready's entries now have terms %v, want [1 1 1]", got)
	}
}

func TestTimeMustNotGoBackwards(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{})
	r.Tick(time.Second)
	defer func() {
		if recover() == nil {
			t.Errorf("Tick with an earlier time did not panic")
		}
	}()
	r.Tick(time.Second - 1)
}

func TestStepRejectsMalformed(t *testing.T) {
	tests := []struct {
		name string
		m    Message
	}{
		{"unknown type", Message{Type: 0, From: 2, To: 1, Term: 1}},
		{"type beyond the last", Message{Type: msgTypeEnd, From: 2, To: 1, Term: 1}},
		{"no term", Message{Type: MsgApp, From: 2, To: 1}},
		{"wrong recipient", Message{Type: MsgApp, From: 2, To: 3, Term: 1}},
		{"snapshot message without snapshot", Message{Type: MsgSnap, From: 2, To: 1, Term: 1}},
	}
	for _, tt := range tests {
		r := newTestRaft(t, testConfig(1, ids(3)), State{})
		if err := r.Step(0, tt.m); err == nil {
			t.Errorf("%s: Step(%v) = nil, want an error", tt.name, tt.m)
		}
		if r.Term() != 0 || r.HasReady() {
			t.Errorf("%s: malformed message changed the core (term %d)", tt.name, r.Term())
		}
	}
}

// --- restart -------------------------------------------------------------------

func TestRestartFromState(t *testing.T) {
	st := State{
		HardState: HardState{Term: 5, Vote: 2, Commit: 3},
		Entries:   entsOfTerms(1, 2, 2, 5),
	}
	r := newTestRaft(t, testConfig(1, ids(3)), st)
	s := r.Status()
	if s.Role != Follower || s.Term != 5 || s.Vote != 2 || s.Leader != None {
		t.Errorf("status %+v, want follower in term 5 voting for 2", s)
	}
	if s.Commit != 3 || s.LastIndex != 4 || s.Persisted != 4 || s.Applied != 0 {
		t.Errorf("status %+v, want commit 3, last 4, all persisted, nothing applied", s)
	}
	if got := logTerms(r); !slices.Equal(got, []uint64{1, 2, 2, 5}) {
		t.Errorf("log terms %v, want [1 2 2 5]", got)
	}
	rd := r.Ready()
	if len(rd.Entries) != 0 || rd.HardState != (HardState{}) {
		t.Errorf("restart Ready writes entries %v / hard state %+v, want nothing (already durable)", rd.Entries, rd.HardState)
	}
	if len(rd.CommittedEntries) != 3 {
		t.Errorf("restart Ready applies %v, want entries 1..3", rd.CommittedEntries)
	}
	// The vote of term 5 binds: another candidate of term 5 is refused, the
	// one voted for is granted again.
	step(t, r, 0, Message{Type: MsgVote, From: 3, Term: 5, Index: 10, LogTerm: 5})
	step(t, r, 0, Message{Type: MsgVote, From: 2, Term: 5, Index: 10, LogTerm: 5})
	resps := filterMsgs(drain(r, 0), MsgVoteResp)
	if len(resps) != 2 || !resps[0].Reject || resps[1].Reject {
		t.Errorf("answers %v, want 3 refused and 2 granted", resps)
	}
}

func TestRestartFromSnapshot(t *testing.T) {
	cfg := testConfig(1, []uint64{1, 9})
	st := State{
		HardState: HardState{Term: 4, Commit: 2}, // hint below the snapshot
		Snapshot:  SnapshotMeta{Index: 10, Term: 3, Voters: ids(3)},
		Entries:   []Entry{{Index: 11, Term: 3}, {Index: 12, Term: 4}},
	}
	r := newTestRaft(t, cfg, st)
	if got := r.Voters().IDs(); !slices.Equal(got, ids(3)) {
		t.Errorf("voters %v, want the snapshot's %v", got, ids(3))
	}
	if r.FirstIndex() != 11 || r.LastIndex() != 12 {
		t.Errorf("log [%d, %d], want [11, 12]", r.FirstIndex(), r.LastIndex())
	}
	if term, ok := r.LogTerm(10); !ok || term != 3 {
		t.Errorf("LogTerm(10) = %d, %t; want 3, true", term, ok)
	}
	if idx, term := r.SnapshotIndex(); idx != 10 || term != 3 {
		t.Errorf("SnapshotIndex = (%d, %d), want (10, 3)", idx, term)
	}
	if s := r.Status(); s.Commit != 10 || s.Applied != 10 {
		t.Errorf("commit=%d applied=%d, want both 10 (the snapshot)", s.Commit, s.Applied)
	}
	if got := r.Entries(11, 13); len(got) != 2 || got[1].Term != 4 {
		t.Errorf("Entries(11, 13) = %v, want entries 11..12", got)
	}
}

func TestRestartClampsCommitHint(t *testing.T) {
	tests := []struct {
		name string
		st   State
		want uint64
	}{
		{"hint beyond the log", State{HardState: HardState{Term: 1, Commit: 9}, Entries: entsOfTerms(1, 1)}, 2},
		{"hint within the log", State{HardState: HardState{Term: 1, Commit: 1}, Entries: entsOfTerms(1, 1)}, 1},
		{"hint below the snapshot", State{HardState: HardState{Term: 1, Commit: 1}, Snapshot: SnapshotMeta{Index: 5, Term: 1}}, 5},
		{"no hint", State{HardState: HardState{Term: 1}, Entries: entsOfTerms(1, 1)}, 0},
	}
	for _, tt := range tests {
		r := newTestRaft(t, testConfig(1, ids(3)), tt.st)
		if got := r.Status().Commit; got != tt.want {
			t.Errorf("%s: commit %d, want %d", tt.name, got, tt.want)
		}
	}
}

// A node restarted from what it made durable has the term, vote and log it
// had, and rejoins the cluster.
func TestRestartInCluster(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	h.propose(1, []byte("a"), []byte("b"))
	h.advance(h.now + testTimeoutMin)
	before := h.node(2).Status()
	terms := logTerms(h.node(2))
	h.restart(2)
	after := h.node(2).Status()
	if after.Term != before.Term || after.Vote != before.Vote || after.LastIndex != before.LastIndex {
		t.Errorf("after restart %+v, want term/vote/last of %+v", after, before)
	}
	if got := logTerms(h.node(2)); !slices.Equal(got, terms) {
		t.Errorf("log after restart %v, want %v", got, terms)
	}
	_, last := h.propose(1, []byte("c"))
	h.advance(h.now + testTimeoutMin)
	if got := h.node(2).Status().Commit; got != last {
		t.Errorf("restarted follower commit %d, want %d", got, last)
	}

	// Writes not yet durable at the crash are lost and fetched again.
	h.nodes[3].holdPersist = true
	_, last = h.propose(1, []byte("d"))
	h.restart(3)
	if got := h.node(3).LastIndex(); got >= last {
		t.Fatalf("node 3 kept entry %d that was never durable", got)
	}
	h.advance(h.now + testTimeoutMin)
	if got := h.node(3).LastIndex(); got != last {
		t.Errorf("node 3 last index %d after rejoining, want %d", got, last)
	}
}

func TestNewRejectsBadState(t *testing.T) {
	_, err := New(testConfig(1, ids(3)), State{Snapshot: SnapshotMeta{Index: 5, Term: 1}, Entries: []Entry{{Index: 7, Term: 1}}}, 0)
	if err == nil {
		t.Errorf("New with a gap after the snapshot: nil error, want one")
	}
	_, err = New(testConfig(1, nil), State{}, 0)
	if !errors.Is(err, ErrInvalidConfig) {
		t.Errorf("New with no voters anywhere: %v, want ErrInvalidConfig", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"zero id", func(c *Config) { c.ID = 0 }},
		{"zero min timeout", func(c *Config) { c.ElectionTimeoutMin = 0 }},
		{"max below min", func(c *Config) { c.ElectionTimeoutMax = c.ElectionTimeoutMin - 1 }},
		{"negative heartbeat", func(c *Config) { c.HeartbeatInterval = -1 }},
		{"heartbeat not below the election timeout", func(c *Config) { c.HeartbeatInterval = c.ElectionTimeoutMin }},
		{"no random source", func(c *Config) { c.Rand = nil }},
		{"negative inflight limit", func(c *Config) { c.MaxInflightMsgs = -1 }},
		{"negative entries limit", func(c *Config) { c.MaxEntriesPerMsg = -1 }},
		{"voter id 0", func(c *Config) { c.Voters = []uint64{1, 0} }},
		{"voters without self", func(c *Config) { c.Voters = []uint64{2, 3} }},
	}
	for _, tt := range tests {
		cfg := testConfig(1, ids(3))
		tt.change(&cfg)
		if _, err := New(cfg, State{}, 0); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: New error %v, want ErrInvalidConfig", tt.name, err)
		}
	}

	cfg := testConfig(1, ids(3))
	if err := cfg.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	if cfg.HeartbeatInterval != testTimeoutMin/2 || cfg.MaxInflightMsgs != 64 || cfg.MaxEntriesPerMsg != 1024 ||
		cfg.MaxBytesPerMsg != 1<<20 || cfg.Logger == nil {
		t.Errorf("defaults: heartbeat %v inflight %d entries %d bytes %d logger %v; want %v 64 1024 1MiB non-nil",
			cfg.HeartbeatInterval, cfg.MaxInflightMsgs, cfg.MaxEntriesPerMsg, cfg.MaxBytesPerMsg, cfg.Logger, testTimeoutMin/2)
	}
}

// --- observation and determinism ------------------------------------------------

func TestStatusDoesNotAllocate(t *testing.T) {
	r := replicatingLeader(t, nil)
	if n := testing.AllocsPerRun(100, func() { _ = r.Status() }); n != 0 {
		t.Errorf("Status allocates %v times, want 0", n)
	}
}

func TestStringers(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{Follower.String(), "follower"},
		{PreCandidate.String(), "pre-candidate"},
		{Candidate.String(), "candidate"},
		{Leader.String(), "leader"},
		{Role(9).String(), "Role(9)"},
		{EntryNormal.String(), "normal"},
		{EntryNoop.String(), "noop"},
		{EntryType(9).String(), "EntryType(9)"},
		{MsgApp.String(), "MsgApp"},
		{MsgSnap.String(), "MsgSnap"},
		{MessageType(0).String(), "MessageType(0)"},
		{msgTypeEnd.String(), fmt.Sprintf("MessageType(%d)", uint8(msgTypeEnd))},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("String() = %q, want %q", tt.got, tt.want)
		}
	}
	for typ := MsgApp; typ < msgTypeEnd; typ++ {
		if !typ.Valid() || strings.HasPrefix(typ.String(), "MessageType(") {
			t.Errorf("message type %d: valid=%t name=%q, want a valid named type", typ, typ.Valid(), typ.String())
		}
	}
}

// trace runs a small scenario with leader elections by timeout and returns
// every delivered message, for comparing runs.
func trace(t *testing.T, seed uint64) []string {
	h := newHarness(t, 5, func(c *Config) {
		c.PreVote, c.CheckQuorum = true, true
		c.Rand = rand.New(rand.NewPCG(seed, c.ID))
	}, nil)
	h.advance(time.Second)
	for _, id := range h.leaders() {
		h.propose(id, []byte("x"))
		h.isolate(id)
	}
	h.advance(3 * time.Second)
	var out []string
	for _, m := range h.delivered {
		out = append(out, m.String())
	}
	return out
}

// The same seed replays the same run; a different seed gives another.
func TestDeterministicReplay(t *testing.T) {
	a, b := trace(t, 1), trace(t, 1)
	if !slices.Equal(a, b) {
		t.Errorf("two runs with seed 1 differ (%d vs %d messages)", len(a), len(b))
	}
	if len(a) == 0 {
		t.Fatalf("empty trace")
	}
	if c := trace(t, 2); slices.Equal(a, c) {
		t.Errorf("runs with seeds 1 and 2 are identical, want the seed to matter")
	}
}
