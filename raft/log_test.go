package raft

import (
	"errors"
	"slices"
	"testing"
)

// testLog builds a log after a snapshot at (snapIndex, snapTerm) holding
// entries of the given terms, everything durable, committed at commit.
func testLog(snapIndex, snapTerm, commit uint64, terms ...uint64) raftLog {
	ents := make([]Entry, len(terms))
	for i, t := range terms {
		ents[i] = Entry{Term: t, Index: snapIndex + 1 + uint64(i)}
	}
	return newLog(SnapshotMeta{Index: snapIndex, Term: snapTerm}, ents, commit)
}

func rlTerms(l *raftLog) []uint64 { return termsOf(l.entries) }

func TestLogTerm(t *testing.T) {
	l := testLog(3, 2, 0, 2, 3, 3) // entries 4..6
	tests := []struct {
		i      uint64
		want   uint64
		wantOK bool
	}{
		{0, 0, false},
		{2, 0, false}, // compacted
		{3, 2, true},  // the compaction point itself
		{4, 2, true},
		{5, 3, true},
		{6, 3, true},
		{7, 0, false}, // beyond the end
	}
	for _, tt := range tests {
		got, ok := l.term(tt.i)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("term(%d) = %d, %t; want %d, %t", tt.i, got, ok, tt.want, tt.wantOK)
		}
	}
	if got, want := l.firstIndex(), uint64(4); got != want {
		t.Errorf("firstIndex = %d, want %d", got, want)
	}
	if got, want := l.lastIndex(), uint64(6); got != want {
		t.Errorf("lastIndex = %d, want %d", got, want)
	}
	if got, want := l.lastTerm(), uint64(3); got != want {
		t.Errorf("lastTerm = %d, want %d", got, want)
	}
	empty := testLog(3, 2, 0)
	if got, want := empty.lastTerm(), uint64(2); got != want {
		t.Errorf("lastTerm of a log holding only a snapshot = %d, want %d", got, want)
	}
	zero := testLog(0, 0, 0)
	if got, ok := zero.term(0); got != 0 || !ok {
		t.Errorf("term(0) of an empty log = %d, %t; want 0, true", got, ok)
	}
}

func TestLogMatchTerm(t *testing.T) {
	l := testLog(3, 2, 0, 2, 3, 3)
	tests := []struct {
		i, term uint64
		want    bool
	}{
		{3, 2, true},
		{3, 1, false},
		{2, 0, false}, // compacted: unknown, never a match
		{5, 3, true},
		{5, 2, false},
		{7, 3, false},
		{7, 0, false},
	}
	for _, tt := range tests {
		if got := l.matchTerm(tt.i, tt.term); got != tt.want {
			t.Errorf("matchTerm(%d, %d) = %t, want %t", tt.i, tt.term, got, tt.want)
		}
	}
}

func TestLogIsUpToDate(t *testing.T) {
	l := testLog(0, 0, 0, 1, 2, 2) // last entry (3, term 2)
	tests := []struct {
		index, term uint64
		want        bool
	}{
		{3, 2, true},  // same last entry
		{4, 2, true},  // same last term, longer
		{2, 2, false}, // same last term, shorter
		{1, 3, true},  // higher last term wins even with a shorter log
		{10, 1, false},
		{0, 0, false},
	}
	for _, tt := range tests {
		if got := l.isUpToDate(tt.index, tt.term); got != tt.want {
			t.Errorf("log (3,2): isUpToDate(index=%d, term=%d) = %t, want %t", tt.index, tt.term, got, tt.want)
		}
	}
	empty := testLog(0, 0, 0)
	if !empty.isUpToDate(0, 0) {
		t.Errorf("empty log: isUpToDate(0, 0) = false, want true")
	}
}

func TestLogMaybeAppend(t *testing.T) {
	ent := func(index, term uint64) Entry { return Entry{Index: index, Term: term} }
	tests := []struct {
		name              string
		prevIndex, prevTm uint64
		ents              []Entry
		wantLastNew       uint64
		wantOK            bool
		wantTerms         []uint64
		wantUnstable      uint64
		wantPersisted     uint64
	}{
		{"prev term mismatch", 3, 2, []Entry{ent(4, 4)}, 0, false, []uint64{1, 2, 3}, 4, 3},
		{"prev beyond the end", 4, 3, []Entry{ent(5, 4)}, 0, false, []uint64{1, 2, 3}, 4, 3},
		{"match at last, no entries", 3, 3, nil, 3, true, []uint64{1, 2, 3}, 4, 3},
		{"match in the middle, no entries: ack only what the message covers", 2, 2, nil, 2, true, []uint64{1, 2, 3}, 4, 3},
		{"new entries after the last", 3, 3, []Entry{ent(4, 3), ent(5, 4)}, 5, true, []uint64{1, 2, 3, 3, 4}, 4, 3},
		{"all duplicates", 1, 1, []Entry{ent(2, 2), ent(3, 3)}, 3, true, []uint64{1, 2, 3}, 4, 3},
		{"older message, shorter than the log: no truncation", 1, 1, []Entry{ent(2, 2)}, 2, true, []uint64{1, 2, 3}, 4, 3},
		{"duplicates then new", 1, 1, []Entry{ent(2, 2), ent(3, 3), ent(4, 3)}, 4, true, []uint64{1, 2, 3, 3}, 4, 3},
		{"conflict truncates", 1, 1, []Entry{ent(2, 4)}, 2, true, []uint64{1, 4}, 2, 1},
		{"conflict after a duplicate", 1, 1, []Entry{ent(2, 2), ent(3, 4), ent(4, 4)}, 4, true, []uint64{1, 2, 4, 4}, 3, 2},
		{"conflict at the last entry", 2, 2, []Entry{ent(3, 5)}, 3, true, []uint64{1, 2, 5}, 3, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLog(0, 0, 1, 1, 2, 3)
			before := l.entries
			lastNew, ok, _ := l.maybeAppend(tt.prevIndex, tt.prevTm, tt.ents)
			if lastNew != tt.wantLastNew || ok != tt.wantOK {
				t.Errorf("maybeAppend = %d, %t; want %d, %t", lastNew, ok, tt.wantLastNew, tt.wantOK)
			}
			if got := rlTerms(&l); !slices.Equal(got, tt.wantTerms) {
				t.Errorf("log terms = %v, want %v", got, tt.wantTerms)
			}
			if l.unstable != tt.wantUnstable {
				t.Errorf("unstable = %d, want %d", l.unstable, tt.wantUnstable)
			}
			if l.persisted != tt.wantPersisted {
				t.Errorf("persisted = %d, want %d", l.persisted, tt.wantPersisted)
			}
			// Entries handed out earlier are never modified in place.
			if got := termsOf(before); !slices.Equal(got, []uint64{1, 2, 3}) {
				t.Errorf("earlier slice of the log changed to %v, want [1 2 3]", got)
			}
		})
	}
}

func TestLogMaybeAppendSkipsCompacted(t *testing.T) {
	l := testLog(5, 2, 5, 2, 3) // entries 6..7
	lastNew, ok, _ := l.maybeAppend(3, 0, nil)
	if ok {
		t.Fatalf("maybeAppend with prev below the compaction point: ok = true (%d), want false", lastNew)
	}
	// prev at the compaction point, entries overlapping what it covers.
	l = testLog(5, 2, 5, 2, 3)
	lastNew, ok, _ = l.maybeAppend(5, 2, []Entry{{Index: 6, Term: 2}, {Index: 7, Term: 3}, {Index: 8, Term: 3}})
	if !ok || lastNew != 8 {
		t.Fatalf("maybeAppend = %d, %t; want 8, true", lastNew, ok)
	}
	if got, want := rlTerms(&l), []uint64{2, 3, 3}; !slices.Equal(got, want) {
		t.Errorf("log terms = %v, want %v", got, want)
	}
}

func TestLogConflictWithCommittedRefused(t *testing.T) {
	l := testLog(0, 0, 2, 1, 2, 3)
	_, ok, err := l.maybeAppend(1, 1, []Entry{{Index: 2, Term: 9}})
	if !errors.Is(err, ErrProtocol) || ok {
		t.Fatalf("maybeAppend overwriting committed entry 2 = ok %t, err %v; want ErrProtocol", ok, err)
	}
	if got, want := rlTerms(&l), []uint64{1, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("log terms after refused append = %v, want %v (unchanged)", got, want)
	}
}

func TestLogConflictHint(t *testing.T) {
	fig7Leader := testLog(0, 0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6)
	compacted := testLog(3, 1, 3, 4, 4, 5) // entries 4..6
	tests := []struct {
		name          string
		l             raftLog
		prevIndex     uint64
		wantHintTerm  uint64
		wantHintIndex uint64
	}{
		{"last entry: first index of term 6", fig7Leader, 10, 6, 8},
		{"middle of term 6", fig7Leader, 9, 6, 8},
		{"first entry of its term", fig7Leader, 6, 5, 6},
		{"term 4", fig7Leader, 5, 4, 4},
		{"first entry", fig7Leader, 1, 1, 1},
		{"too short", fig7Leader, 15, 0, 11},
		{"just past the end", fig7Leader, 11, 0, 11},
		{"after compaction: term starts at first index", compacted, 5, 4, 4},
		{"after compaction", compacted, 6, 5, 6},
		{"at the compaction point", compacted, 3, 0, 3},
		{"below the compaction point", compacted, 1, 0, 1},
	}
	for _, tt := range tests {
		l := tt.l
		ht, hi := l.conflictHint(tt.prevIndex)
		if ht != tt.wantHintTerm || hi != tt.wantHintIndex {
			t.Errorf("%s: conflictHint(%d) = (%d, %d), want (%d, %d)", tt.name, tt.prevIndex, ht, hi, tt.wantHintTerm, tt.wantHintIndex)
		}
	}
}

func TestLogLastIndexOfTerm(t *testing.T) {
	l := testLog(0, 0, 0, 1, 1, 1, 4, 4, 5, 5, 6, 6, 6)
	compacted := testLog(5, 4, 5, 5, 5, 6)
	tests := []struct {
		name   string
		l      raftLog
		term   uint64
		want   uint64
		wantOK bool
	}{
		{"term 1", l, 1, 3, true},
		{"term 4", l, 4, 5, true},
		{"term 5", l, 5, 7, true},
		{"last term", l, 6, 10, true},
		{"gap between terms", l, 2, 0, false},
		{"gap between terms 3", l, 3, 0, false},
		{"beyond the last term", l, 7, 0, false},
		{"term 0", l, 0, 0, false},
		{"compacted term is unknown", compacted, 4, 0, false},
		{"after compaction", compacted, 5, 7, true},
		{"after compaction, last", compacted, 6, 8, true},
	}
	for _, tt := range tests {
		l := tt.l
		got, ok := l.lastIndexOfTerm(tt.term)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: lastIndexOfTerm(%d) = %d, %t; want %d, %t", tt.name, tt.term, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestLogCompact(t *testing.T) {
	newApplied := func() raftLog {
		l := testLog(0, 0, 6, 1, 1, 2, 2, 3, 3, 3, 4)
		l.takeToApply() // applied = 6
		return l
	}
	t.Run("below the compaction point is a no-op", func(t *testing.T) {
		l := newApplied()
		if err := l.compact(3); err != nil {
			t.Fatal(err)
		}
		if err := l.compact(2); err != nil {
			t.Fatalf("compact(2) after compact(3): %v, want nil", err)
		}
		if l.snapIndex != 3 {
			t.Errorf("snapIndex = %d, want 3", l.snapIndex)
		}
	})
	t.Run("beyond applied is refused", func(t *testing.T) {
		l := newApplied()
		if err := l.compact(7); err == nil {
			t.Errorf("compact(7) with applied 6: nil error, want one")
		}
		if l.snapIndex != 0 || len(l.entries) != 8 {
			t.Errorf("refused compact changed the log: snapIndex=%d entries=%d", l.snapIndex, len(l.entries))
		}
	})
	t.Run("keeps what follows", func(t *testing.T) {
		l := newApplied()
		if err := l.compact(4); err != nil {
			t.Fatal(err)
		}
		if l.snapIndex != 4 || l.snapTerm != 2 {
			t.Errorf("compaction point = (%d, %d), want (4, 2)", l.snapIndex, l.snapTerm)
		}
		if got, want := l.firstIndex(), uint64(5); got != want {
			t.Errorf("firstIndex = %d, want %d", got, want)
		}
		if got, want := l.lastIndex(), uint64(8); got != want {
			t.Errorf("lastIndex = %d, want %d", got, want)
		}
		if got, want := rlTerms(&l), []uint64{3, 3, 3, 4}; !slices.Equal(got, want) {
			t.Errorf("terms = %v, want %v", got, want)
		}
		for i, e := range l.entries {
			if want := uint64(5 + i); e.Index != want {
				t.Errorf("entries[%d].Index = %d, want %d", i, e.Index, want)
			}
		}
		if _, ok := l.term(3); ok {
			t.Errorf("term(3) still known after compacting through 4")
		}
		if got, ok := l.term(4); !ok || got != 2 {
			t.Errorf("term(4) = %d, %t; want 2, true", got, ok)
		}
	})
	t.Run("everything applied", func(t *testing.T) {
		l := newApplied()
		if err := l.compact(6); err != nil {
			t.Fatal(err)
		}
		if got, want := rlTerms(&l), []uint64{3, 4}; !slices.Equal(got, want) {
			t.Errorf("terms = %v, want %v", got, want)
		}
		// Appending after compaction still works.
		l.append(Entry{Index: 9, Term: 4})
		if got, want := l.lastIndex(), uint64(9); got != want {
			t.Errorf("lastIndex after append = %d, want %d", got, want)
		}
	})
}

func TestLogRestore(t *testing.T) {
	l := testLog(0, 0, 2, 1, 1, 2, 2)
	l.takeToApply()
	l.restore(SnapshotMeta{Index: 10, Term: 3})
	if l.snapIndex != 10 || l.snapTerm != 3 {
		t.Errorf("compaction point = (%d, %d), want (10, 3)", l.snapIndex, l.snapTerm)
	}
	if len(l.entries) != 0 {
		t.Errorf("entries = %v after restore, want none", l.entries)
	}
	if l.firstIndex() != 11 || l.lastIndex() != 10 || l.lastTerm() != 3 {
		t.Errorf("first/last/lastTerm = %d/%d/%d, want 11/10/3", l.firstIndex(), l.lastIndex(), l.lastTerm())
	}
	if l.committed != 10 || l.applied != 10 || l.persisted != 10 || l.unstable != 11 {
		t.Errorf("committed/applied/persisted/unstable = %d/%d/%d/%d, want 10/10/10/11",
			l.committed, l.applied, l.persisted, l.unstable)
	}
	if l.hasUnstable() || l.hasToApply() {
		t.Errorf("restored log has work: unstable=%t apply=%t, want none", l.hasUnstable(), l.hasToApply())
	}
}

func TestLogPersistedTo(t *testing.T) {
	// Entries 1..3 were written by an earlier Ready (durable up to 0).
	fresh := func() raftLog {
		l := testLog(0, 0, 0, 1, 1, 2)
		l.persisted = 0
		return l
	}
	tests := []struct {
		name  string
		marks []PersistMark
		want  []bool
		wantP uint64
	}{
		{"mark moves persisted", []PersistMark{{2, 1}}, []bool{true}, 2},
		{"older mark after a newer one", []PersistMark{{3, 2}, {2, 1}}, []bool{true, false}, 3},
		{"same mark twice", []PersistMark{{3, 2}, {3, 2}}, []bool{true, false}, 3},
		{"mark whose term no longer matches", []PersistMark{{3, 5}}, []bool{false}, 0},
		{"mark beyond the log", []PersistMark{{4, 2}}, []bool{false}, 0},
	}
	for _, tt := range tests {
		l := fresh()
		for i, m := range tt.marks {
			if got := l.persistedTo(m); got != tt.want[i] {
				t.Errorf("%s: persistedTo(%v) = %t, want %t", tt.name, m, got, tt.want[i])
			}
		}
		if l.persisted != tt.wantP {
			t.Errorf("%s: persisted = %d, want %d", tt.name, l.persisted, tt.wantP)
		}
	}
}

// A write whose last entry was truncated away while in flight must not mark
// the replacing entries durable: their own write reports them.
func TestLogPersistedToTruncatedMark(t *testing.T) {
	l := testLog(0, 0, 1, 1)
	l.append(Entry{Index: 2, Term: 1}, Entry{Index: 3, Term: 1}, Entry{Index: 4, Term: 1})
	first := l.takeUnstable()
	mark1 := PersistMark{Index: 4, Term: 1}
	if len(first) != 3 {
		t.Fatalf("first write has %d entries, want 3", len(first))
	}
	// A new leader replaces 3.. before the first write completes.
	if _, ok, _ := l.maybeAppend(2, 1, []Entry{{Index: 3, Term: 2}, {Index: 4, Term: 2}}); !ok {
		t.Fatalf("maybeAppend refused")
	}
	second := l.takeUnstable()
	mark2 := PersistMark{Index: 4, Term: 2}
	if len(second) != 2 || second[0].Index != 3 {
		t.Fatalf("second write = %v, want entries 3..4", second)
	}
	if l.persistedTo(mark1) {
		t.Errorf("persistedTo(truncated mark %v) = true, want false", mark1)
	}
	if l.persisted != 1 {
		t.Errorf("persisted = %d after the truncated mark, want 1", l.persisted)
	}
	if !l.persistedTo(mark2) || l.persisted != 4 {
		t.Errorf("persistedTo(%v): persisted = %d, want 4", mark2, l.persisted)
	}
	// The first write's entries were not modified in place by the truncation.
	if got := termsOf(first); !slices.Equal(got, []uint64{1, 1, 1}) {
		t.Errorf("first write's entries changed to terms %v, want [1 1 1]", got)
	}
}

func TestLogApplyLimit(t *testing.T) {
	// Committed entries may be applied before they are durable here: they
	// are durable on a quorum.
	tests := []struct {
		name                       string
		committed, persisted, snap uint64
		want                       uint64
	}{
		{"committed below persisted", 3, 5, 0, 3},
		{"persisted below committed", 5, 3, 0, 5},
		{"snapshot covers more than persisted", 6, 2, 5, 6},
	}
	for _, tt := range tests {
		l := testLog(tt.snap, 1, 0, 1, 1, 1, 1, 1, 1)
		l.committed, l.persisted = tt.committed, tt.persisted
		if got := l.applyLimit(); got != tt.want {
			t.Errorf("%s: applyLimit = %d, want %d", tt.name, got, tt.want)
		}
	}
	l := testLog(0, 0, 0, 1, 1, 1, 1)
	l.committed, l.persisted = 2, 1
	if got := l.takeToApply(); len(got) != 2 || got[1].Index != 2 {
		t.Errorf("takeToApply = %v, want entries 1..2", got)
	}
	if got := l.takeToApply(); got != nil {
		t.Errorf("second takeToApply = %v, want nothing", got)
	}
}

func TestLogEntriesFrom(t *testing.T) {
	l := newLog(SnapshotMeta{}, []Entry{
		{Index: 1, Term: 1, Data: make([]byte, 100)},
		{Index: 2, Term: 1, Data: make([]byte, 100)},
		{Index: 3, Term: 1, Data: make([]byte, 100)},
		{Index: 4, Term: 1, Data: make([]byte, 1000)},
		{Index: 5, Term: 1, Data: make([]byte, 10)},
	}, 0)
	tests := []struct {
		lo         uint64
		maxEntries int
		maxBytes   uint64
		want       []uint64 // indexes
	}{
		{1, 10, 1 << 20, []uint64{1, 2, 3, 4, 5}},
		{1, 2, 1 << 20, []uint64{1, 2}},
		{1, 10, 250, []uint64{1, 2}},
		{1, 10, 300, []uint64{1, 2, 3}},
		{4, 10, 250, []uint64{4}}, // one entry always, whatever its size
		{3, 10, 250, []uint64{3}},
		{5, 10, 1, []uint64{5}},
		{6, 10, 1 << 20, nil},
	}
	for _, tt := range tests {
		got := l.entriesFrom(tt.lo, tt.maxEntries, tt.maxBytes)
		var idx []uint64
		for _, e := range got {
			idx = append(idx, e.Index)
		}
		if !slices.Equal(idx, tt.want) {
			t.Errorf("entriesFrom(%d, %d, %d) = %v, want %v", tt.lo, tt.maxEntries, tt.maxBytes, idx, tt.want)
		}
		if cap(got) != len(got) {
			t.Errorf("entriesFrom(%d): cap %d > len %d, appends could reach the log", tt.lo, cap(got), len(got))
		}
	}
}

func TestLogSliceOutOfRangePanics(t *testing.T) {
	l := testLog(2, 1, 2, 1, 1)
	for _, r := range [][2]uint64{{2, 4}, {3, 6}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("slice(%d, %d) of log [3,4] did not panic", r[0], r[1])
				}
			}()
			l.slice(r[0], r[1])
		}()
	}
	if got := l.slice(4, 4); got != nil {
		t.Errorf("slice(4, 4) = %v, want nil", got)
	}
}

func TestNewLogClampsCommit(t *testing.T) {
	tests := []struct {
		snap, commit uint64
		n            int
		want         uint64
	}{
		{0, 10, 3, 3},  // beyond the last index
		{0, 2, 3, 2},   // within
		{5, 2, 3, 5},   // below the snapshot
		{5, 0, 0, 5},   // snapshot only
		{5, 100, 0, 5}, // snapshot only, hint beyond
	}
	for _, tt := range tests {
		terms := make([]uint64, tt.n)
		for i := range terms {
			terms[i] = 1
		}
		l := testLog(tt.snap, 1, tt.commit, terms...)
		if l.committed != tt.want {
			t.Errorf("snap=%d entries=%d commit hint %d: committed = %d, want %d", tt.snap, tt.n, tt.commit, l.committed, tt.want)
		}
		if l.applied != tt.snap {
			t.Errorf("snap=%d: applied = %d, want %d", tt.snap, l.applied, tt.snap)
		}
	}
}

func TestNewLogRejectsGaps(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("newLog with a gap did not panic")
		}
	}()
	newLog(SnapshotMeta{}, []Entry{{Index: 1, Term: 1}, {Index: 3, Term: 1}}, 0)
}
