package raft

import (
	"slices"
	"testing"
)

// A follower that lags behind the leader's compaction point is sent a
// snapshot, restores it, answers, and is then replicated to as usual.
func TestSnapshotToLaggingFollower(t *testing.T) {
	h := newHarness(t, 3, nil, nil)
	h.elect(1)
	leader := h.node(1)
	h.isolate(3)
	for i := range 10 {
		h.propose(1, []byte{byte(i)})
	}
	commit := leader.Status().Commit
	if st := leader.Status(); st.Applied != commit || commit != leader.LastIndex() {
		t.Fatalf("leader status %+v, want everything committed and applied", st)
	}
	if err := leader.Compact(commit); err != nil {
		t.Fatalf("Compact(%d): %v", commit, err)
	}
	snapTerm, _ := leader.LogTerm(commit)
	_, last := h.propose(1, []byte("after"), []byte("compaction"))

	var snaps []Message
	h.filter = func(m Message) bool {
		if m.Type == MsgSnap {
			snaps = append(snaps, m)
			if pr := leader.Progress(3); pr.State != StateSnapshot || pr.PendingSnapshot != commit {
				t.Errorf("progress of 3 while its snapshot is on the way: %v, want snapshot state pending %d", pr, commit)
			}
		}
		return true
	}
	h.heal(3)
	h.advance(h.now + 2*testTimeoutMin)

	if len(snaps) != 1 {
		t.Fatalf("%d MsgSnap sent, want 1", len(snaps))
	}
	m := snaps[0]
	wantMeta := SnapshotMeta{Index: commit, Term: snapTerm, Voters: ids(3)}
	if m.To != 3 || m.Snapshot == nil || m.Snapshot.Data != nil || m.Snapshot.Meta.Index != wantMeta.Index ||
		m.Snapshot.Meta.Term != wantMeta.Term || !slices.Equal(m.Snapshot.Meta.Voters, wantMeta.Voters) {
		t.Errorf("MsgSnap %v meta %+v, want to 3 with meta %+v and no data", m, m.Snapshot, wantMeta)
	}

	f := h.nodes[3]
	if len(f.snaps) != 1 || f.snaps[0].Index != commit {
		t.Errorf("follower restored snapshots %+v, want one at %d", f.snaps, commit)
	}
	if f.disk.snap.Index != commit {
		t.Errorf("follower's durable snapshot at %d, want %d", f.disk.snap.Index, commit)
	}
	if idx, term := f.r.SnapshotIndex(); idx != commit || term != snapTerm {
		t.Errorf("follower compaction point (%d, %d), want (%d, %d)", idx, term, commit, snapTerm)
	}
	if got := f.r.LastIndex(); got != last {
		t.Errorf("follower last index %d, want %d", got, last)
	}
	for i := commit + 1; i <= last; i++ {
		ft, _ := f.r.LogTerm(i)
		lt, _ := leader.LogTerm(i)
		if ft != lt {
			t.Errorf("follower term at %d = %d, want the leader's %d", i, ft, lt)
		}
	}
	if pr := leader.Progress(3); pr.State != StateReplicate || pr.Match != last {
		t.Errorf("progress of 3: %v, want replicate with match %d", pr, last)
	}
	// The follower applied only what followed the snapshot.
	for _, e := range f.applied {
		if e.Index > 1 && e.Index <= commit {
			t.Errorf("follower applied entry %d, which the snapshot covers", e.Index)
		}
	}
}

func TestFollowerHandlesSnapshot(t *testing.T) {
	snap := func(index, term uint64) *Snapshot {
		return &Snapshot{Meta: SnapshotMeta{Index: index, Term: term, Voters: ids(3)}, Data: []byte("state")}
	}
	tests := []struct {
		name        string
		st          State
		snap        *Snapshot
		wantRestore bool
		wantAnswer  uint64
		wantCommit  uint64
		wantLast    uint64
		wantFirst   uint64
	}{
		{"restore over a short log",
			State{HardState: HardState{Term: 2, Commit: 1}, Entries: entsOfTerms(1, 1, 1)},
			snap(10, 2), true, 10, 10, 10, 11},
		{"restore over a conflicting entry",
			State{HardState: HardState{Term: 2, Commit: 1}, Entries: entsOfTerms(1, 1, 1, 1, 1)},
			snap(3, 2), true, 3, 3, 3, 4},
		{"older than commit is ignored",
			State{HardState: HardState{Term: 2, Commit: 5}, Entries: entsOfTerms(1, 1, 2, 2, 2)},
			snap(3, 2), false, 5, 5, 5, 1},
		{"equal to commit is ignored",
			State{HardState: HardState{Term: 2, Commit: 3}, Entries: entsOfTerms(1, 1, 2, 2, 2)},
			snap(3, 2), false, 3, 3, 5, 1},
		{"log holds the snapshot's last entry: commit, keep the log",
			State{HardState: HardState{Term: 2, Commit: 1}, Entries: entsOfTerms(1, 1, 2, 2, 2)},
			snap(3, 2), false, 3, 3, 5, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newTestRaft(t, testConfig(1, ids(3)), tt.st)
			drain(r, 0) // apply what restart re-hands
			step(t, r, 0, Message{Type: MsgSnap, From: 2, Term: 2, Snapshot: tt.snap})
			rd := r.Ready()
			if got := rd.Snapshot != nil; got != tt.wantRestore {
				t.Fatalf("Ready.Snapshot = %v, want restore=%t", rd.Snapshot, tt.wantRestore)
			}
			if tt.wantRestore {
				if rd.Snapshot != tt.snap {
					t.Errorf("Ready.Snapshot is not the received snapshot")
				}
				if !rd.MustPersist() {
					t.Errorf("MustPersist = false with a snapshot to write")
				}
				if rd.Mark != (PersistMark{Index: tt.snap.Meta.Index, Term: tt.snap.Meta.Term}) {
					t.Errorf("Mark = %+v, want the snapshot's index and term", rd.Mark)
				}
				if len(rd.CommittedEntries) != 0 || len(rd.Entries) != 0 {
					t.Errorf("restoring Ready carries entries %v / committed %v, want none", rd.Entries, rd.CommittedEntries)
				}
				if st := r.Status(); st.Applied != tt.snap.Meta.Index {
					t.Errorf("applied %d, want the snapshot index %d", st.Applied, tt.snap.Meta.Index)
				}
				if idx, term := r.SnapshotIndex(); idx != tt.snap.Meta.Index || term != tt.snap.Meta.Term {
					t.Errorf("compaction point (%d, %d), want the snapshot's", idx, term)
				}
			}
			if len(rd.Messages) != 0 || len(rd.MessagesAfterPersist) != 1 {
				t.Fatalf("answers: now %v, after persist %v; want one after persist", rd.Messages, rd.MessagesAfterPersist)
			}
			a := rd.MessagesAfterPersist[0]
			if a.Type != MsgAppResp || a.Reject || a.Index != tt.wantAnswer {
				t.Errorf("answer %v, want MsgAppResp index %d", a, tt.wantAnswer)
			}
			st := r.Status()
			if st.Commit != tt.wantCommit || st.LastIndex != tt.wantLast || r.FirstIndex() != tt.wantFirst {
				t.Errorf("commit=%d last=%d first=%d, want commit=%d last=%d first=%d",
					st.Commit, st.LastIndex, r.FirstIndex(), tt.wantCommit, tt.wantLast, tt.wantFirst)
			}
		})
	}
}

// snapshotLeader returns a leader of term 2 that compacted its log through
// index 5 and has just sent follower 2 a snapshot.
func snapshotLeader(t *testing.T) *Raft {
	t.Helper()
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1, Commit: 5}, Entries: entsOfTerms(1, 1, 1, 1, 1)})
	makeLeader(t, r, 0) // applies 1..5 on the way
	if err := r.Compact(5); err != nil {
		t.Fatalf("Compact(5): %v", err)
	}
	// Follower 2 has an empty log: it rejects the first probe.
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 2, Index: 5, Reject: true, HintIndex: 1})
	rd := r.Ready()
	snaps := filterMsgs(rd.Messages, MsgSnap)
	if len(snaps) != 1 || snaps[0].To != 2 {
		t.Fatalf("messages %v, want one MsgSnap to 2", rd.Messages)
	}
	if meta := snaps[0].Snapshot.Meta; meta.Index != 5 || meta.Term != 1 || !slices.Equal(meta.Voters, ids(3)) {
		t.Fatalf("snapshot meta %+v, want index 5 term 1 voters [1 2 3]", meta)
	}
	if pr := r.Progress(2); pr.State != StateSnapshot || pr.PendingSnapshot != 5 || !pr.IsPaused() {
		t.Fatalf("progress %v, want snapshot state pending 5, paused", pr)
	}
	r.Persisted(0, rd.Mark)
	return r
}

func TestLeaderSendsNothingElseDuringSnapshot(t *testing.T) {
	r := snapshotLeader(t)
	r.Propose(0, []byte("x"))
	step(t, r, 0, Message{Type: MsgHeartbeatResp, From: 2, Term: 2})
	for _, m := range drain(r, 0) {
		if m.To == 2 && (m.Type == MsgApp || m.Type == MsgSnap) {
			t.Errorf("sent %v while the snapshot is in flight", m)
		}
	}
}

func TestReportSnapshot(t *testing.T) {
	tests := []struct {
		name       string
		failed     bool
		wantNext   uint64
		wantPaused bool
	}{
		// Delivered: probe after the snapshot, but wait for the follower's
		// answer before probing.
		{"delivered", false, 6, true},
		// Failed: probe from match again, which sends a new snapshot.
		{"failed", true, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := snapshotLeader(t)
			r.ReportSnapshot(0, 2, tt.failed)
			pr := r.Progress(2)
			if pr.State != StateProbe || pr.Next != tt.wantNext || pr.IsPaused() != tt.wantPaused || pr.PendingSnapshot != 0 {
				t.Errorf("progress %v paused=%t pending=%d, want probe next=%d paused=%t pending=0",
					pr, pr.IsPaused(), pr.PendingSnapshot, tt.wantNext, tt.wantPaused)
			}
		})
	}
}

func TestSnapshotAnswerMovesToReplicate(t *testing.T) {
	r := snapshotLeader(t)
	step(t, r, 0, Message{Type: MsgAppResp, From: 2, Term: 2, Index: 5})
	pr := r.Progress(2)
	if pr.State != StateReplicate || pr.Match != 5 {
		t.Fatalf("progress %v after the snapshot's answer, want replicate with match 5", pr)
	}
	apps := appsTo(drain(r, 0), 2)
	if len(apps) != 1 || apps[0].Index != 5 || apps[0].LogTerm != 1 || len(apps[0].Entries) != 1 {
		t.Errorf("appends after the snapshot %v, want one from prev (5, 1) carrying the no-op", apps)
	}
	// A late report does not undo it.
	r.ReportSnapshot(0, 2, false)
	if pr.State != StateReplicate {
		t.Errorf("late ReportSnapshot moved progress to %v, want replicate", pr.State)
	}
}

func TestReportSnapshotIgnoredWhenNotApplicable(t *testing.T) {
	r := replicatingLeader(t, nil)
	r.ReportSnapshot(0, 2, true)
	if pr := r.Progress(2); pr.State != StateReplicate {
		t.Errorf("ReportSnapshot for a replicating follower changed it to %v", pr.State)
	}
	r.ReportSnapshot(0, 9, true) // unknown id: no panic
	f := newTestRaft(t, testConfig(1, ids(3)), State{})
	f.ReportSnapshot(0, 2, false) // not a leader: no panic
}

func TestCompactBeyondAppliedFails(t *testing.T) {
	r := newTestRaft(t, testConfig(1, ids(3)), State{HardState: HardState{Term: 1, Commit: 2}, Entries: entsOfTerms(1, 1, 1)})
	if err := r.Compact(1); err == nil {
		t.Errorf("Compact(1) before anything was handed for applying: nil error, want one")
	}
	drain(r, 0) // hands 1..2 for applying
	if err := r.Compact(3); err == nil {
		t.Errorf("Compact(3) with applied 2: nil error, want one")
	}
	if err := r.Compact(2); err != nil {
		t.Errorf("Compact(2) with applied 2: %v", err)
	}
	if r.FirstIndex() != 3 || r.LastIndex() != 3 {
		t.Errorf("log [%d, %d] after Compact(2), want [3, 3]", r.FirstIndex(), r.LastIndex())
	}
}
