package wal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// entryData is the payload test entries carry: a function of term and index,
// so any entry read back can be checked without remembering it.
func entryData(term, index uint64, size int) []byte {
	if size == 0 {
		return nil
	}
	b := make([]byte, size)
	x := term*0x9e3779b97f4a7c15 ^ index*0xbf58476d1ce4e5b9
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// mkEnts returns entries first..last of term with size bytes of data each.
func mkEnts(first, last, term uint64, size int) []raft.Entry {
	var ents []raft.Entry
	for i := first; i <= last; i++ {
		ents = append(ents, raft.Entry{Term: term, Index: i, Data: entryData(term, i, size)})
	}
	return ents
}

func openT(t *testing.T, dir string, opt Options) (*WAL, raft.State) {
	t.Helper()
	w, st, err := Open(dir, opt)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return w, st
}

func saveSync(t *testing.T, w *WAL, hs raft.HardState, ents []raft.Entry) {
	t.Helper()
	if err := w.Save(hs, ents); err != nil {
		t.Fatalf("Save(%+v, %d entries from %d): %v", hs, len(ents), firstIndex(ents), err)
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func closeT(t *testing.T, w *WAL) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func firstIndex(ents []raft.Entry) uint64 {
	if len(ents) == 0 {
		return 0
	}
	return ents[0].Index
}

// checkState fails unless got equals want (entries compared field by field).
func checkState(t *testing.T, got, want raft.State) {
	t.Helper()
	if got.HardState != want.HardState {
		t.Errorf("hard state: got %+v, want %+v", got.HardState, want.HardState)
	}
	if !snapshotMetaEqual(&got.Snapshot, &want.Snapshot) {
		t.Errorf("snapshot: got %+v, want %+v", got.Snapshot, want.Snapshot)
	}
	if len(got.Entries) != len(want.Entries) {
		t.Fatalf("entries: got %d (%s), want %d (%s)", len(got.Entries), span(got.Entries), len(want.Entries), span(want.Entries))
	}
	for i := range want.Entries {
		g, w := got.Entries[i], want.Entries[i]
		if g.Index != w.Index || g.Term != w.Term || g.Type != w.Type || !bytes.Equal(g.Data, w.Data) {
			t.Fatalf("entry %d: got index %d term %d type %v %d bytes, want index %d term %d type %v %d bytes",
				i, g.Index, g.Term, g.Type, len(g.Data), w.Index, w.Term, w.Type, len(w.Data))
		}
	}
}

func span(ents []raft.Entry) string {
	if len(ents) == 0 {
		return "none"
	}
	return fmt.Sprintf("%d..%d", ents[0].Index, ents[len(ents)-1].Index)
}

func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+segmentSuffix))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func cat(parts ...[]raft.Entry) []raft.Entry { return slices.Concat(parts...) }

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name      string
		segment   int64
		dataBytes int
		batches   int
		batch     int
		wantSegs  func(n int) bool
	}{
		{"empty data", 0, 0, 3, 5, func(n int) bool { return n == 1 }},
		{"small entries", 0, 128, 10, 10, func(n int) bool { return n == 1 }},
		{"4KiB entries, rotating", 16 << 10, 4096, 20, 3, func(n int) bool { return n >= 5 }},
		{"write larger than a segment", 4 << 10, 3000, 4, 8, func(n int) bool { return n == 4 }},
		{"one entry per write, rotating", 2 << 10, 100, 100, 1, func(n int) bool { return n > 5 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: tc.segment}
			w, st := openT(t, dir, opt)
			checkState(t, st, raft.State{})
			var want []raft.Entry
			hs := raft.HardState{}
			for b := 0; b < tc.batches; b++ {
				first := uint64(b*tc.batch + 1)
				ents := mkEnts(first, first+uint64(tc.batch)-1, 1+uint64(b/4), tc.dataBytes)
				ents[0].Type = raft.EntryNoop
				hs = raft.HardState{Term: 1 + uint64(b/4), Vote: 1, Commit: first}
				saveSync(t, w, hs, ents)
				want = append(want, ents...)
			}
			if got, want := w.LastIndex(), uint64(tc.batches*tc.batch); got != want {
				t.Fatalf("LastIndex: got %d, want %d", got, want)
			}
			closeT(t, w)
			if n := len(segmentFiles(t, dir)); !tc.wantSegs(n) {
				t.Errorf("unexpected number of segments: %d", n)
			}
			w, st = openT(t, dir, opt)
			defer closeT(t, w)
			checkState(t, st, raft.State{HardState: hs, Entries: want})
			if got := w.LastIndex(); got != uint64(len(want)) {
				t.Fatalf("LastIndex after reopen: got %d, want %d", got, len(want))
			}
			if r := w.Recovery(); r.TornTail != nil {
				t.Fatalf("unexpected torn tail: %+v", r.TornTail)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	type step struct {
		ents []raft.Entry
		sync bool
	}
	tests := []struct {
		name    string
		segment int64
		steps   []step
		want    []raft.Entry
	}{
		{"suffix replaced", 0,
			[]step{{mkEnts(1, 10, 1, 50), true}, {mkEnts(5, 7, 2, 50), true}},
			cat(mkEnts(1, 4, 1, 50), mkEnts(5, 7, 2, 50))},
		{"replaced then extended", 0,
			[]step{{mkEnts(1, 10, 1, 50), true}, {mkEnts(5, 7, 2, 50), true}, {mkEnts(8, 12, 2, 50), true}},
			cat(mkEnts(1, 4, 1, 50), mkEnts(5, 12, 2, 50))},
		{"whole log replaced", 0,
			[]step{{mkEnts(1, 10, 1, 50), true}, {mkEnts(1, 2, 3, 50), true}},
			mkEnts(1, 2, 3, 50)},
		{"last entry replaced", 0,
			[]step{{mkEnts(1, 10, 1, 50), true}, {mkEnts(10, 10, 2, 50), true}},
			cat(mkEnts(1, 9, 1, 50), mkEnts(10, 10, 2, 50))},
		{"within one queued write", 0,
			[]step{{mkEnts(1, 10, 1, 50), false}, {mkEnts(4, 6, 2, 50), false}, {mkEnts(6, 8, 3, 50), true}},
			cat(mkEnts(1, 3, 1, 50), mkEnts(4, 5, 2, 50), mkEnts(6, 8, 3, 50))},
		{"across segments", 1 << 10,
			[]step{{mkEnts(1, 5, 1, 300), true}, {mkEnts(6, 10, 1, 300), true}, {mkEnts(11, 15, 1, 300), true}, {mkEnts(3, 4, 2, 300), true}},
			cat(mkEnts(1, 2, 1, 300), mkEnts(3, 4, 2, 300))},
		{"repeated across segments", 1 << 10,
			[]step{{mkEnts(1, 8, 1, 300), true}, {mkEnts(2, 9, 2, 300), true}, {mkEnts(5, 5, 3, 300), true}, {mkEnts(6, 12, 3, 300), true}, {mkEnts(12, 13, 4, 300), true}},
			cat(mkEnts(1, 1, 1, 300), mkEnts(2, 4, 2, 300), mkEnts(5, 11, 3, 300), mkEnts(12, 13, 4, 300))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: tc.segment}
			w, _ := openT(t, dir, opt)
			for _, s := range tc.steps {
				if err := w.Save(raft.HardState{}, s.ents); err != nil {
					t.Fatal(err)
				}
				if got, want := w.LastIndex(), s.ents[len(s.ents)-1].Index; got != want {
					t.Fatalf("LastIndex after Save: got %d, want %d", got, want)
				}
				if s.sync {
					if err := w.Sync(); err != nil {
						t.Fatal(err)
					}
				}
			}
			closeT(t, w)
			w, st := openT(t, dir, opt)
			checkState(t, st, raft.State{Entries: tc.want})
			// The log goes on from the recovered last index.
			next := mkEnts(uint64(len(tc.want)+1), uint64(len(tc.want)+2), 9, 10)
			saveSync(t, w, raft.HardState{}, next)
			closeT(t, w)
			w, st = openT(t, dir, opt)
			defer closeT(t, w)
			checkState(t, st, raft.State{Entries: cat(tc.want, next)})
		})
	}
}

func TestHardStateLastWins(t *testing.T) {
	tests := []struct {
		name    string
		segment int64
		saves   []raft.HardState
		want    raft.HardState
	}{
		{"one", 0, []raft.HardState{{Term: 1, Vote: 2}}, raft.HardState{Term: 1, Vote: 2}},
		{"last of many", 0, []raft.HardState{{Term: 1, Vote: 2}, {Term: 2, Vote: 3, Commit: 4}, {Term: 2, Vote: 3, Commit: 5}}, raft.HardState{Term: 2, Vote: 3, Commit: 5}},
		{"zero is no change", 0, []raft.HardState{{Term: 4, Vote: 1}, {}}, raft.HardState{Term: 4, Vote: 1}},
		{"across segments", 1 << 10, []raft.HardState{{Term: 1}, {Term: 2}, {Term: 3}, {Term: 4, Vote: 9, Commit: 7}, {}, {}}, raft.HardState{Term: 4, Vote: 9, Commit: 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: tc.segment}
			w, _ := openT(t, dir, opt)
			var want []raft.Entry
			for i, hs := range tc.saves {
				ents := mkEnts(uint64(i*3+1), uint64(i*3+3), 1, 200)
				want = append(want, ents...)
				saveSync(t, w, hs, ents)
			}
			closeT(t, w)
			w, st := openT(t, dir, opt)
			defer closeT(t, w)
			checkState(t, st, raft.State{HardState: tc.want, Entries: want})
		})
	}
}

// TestSnapshotCompaction writes 200 entries in batches of 10 into segments
// of about 2 batches each, then checks which segments Compact deletes and
// what recovery returns.
func TestSnapshotCompaction(t *testing.T) {
	voters := []uint64{1, 2, 3}
	tests := []struct {
		name     string
		snap     raft.SnapshotMeta
		compact  uint64
		wantEnts []raft.Entry
		wantLast uint64
		// maxKept: every segment but the last whose entries all are <= it
		// must be gone; minKept: the segment holding this index must stay.
		maxGone, mustKeep uint64
	}{
		{"local snapshot", raft.SnapshotMeta{Index: 120, Term: 2, Voters: voters}, 120, mkEnts(121, 200, 2, 100), 200, 120, 121},
		{"compact clamped to the marker", raft.SnapshotMeta{Index: 60, Term: 1, Voters: voters}, 190, cat(mkEnts(61, 100, 1, 100), mkEnts(101, 200, 2, 100)), 200, 60, 61},
		{"compact below the marker", raft.SnapshotMeta{Index: 150, Term: 2}, 50, mkEnts(151, 200, 2, 100), 200, 50, 51},
		{"marker at the last index", raft.SnapshotMeta{Index: 200, Term: 2}, 200, nil, 200, 200, 0},
		{"received snapshot beyond the log", raft.SnapshotMeta{Index: 500, Term: 7, Voters: voters}, 500, nil, 500, 200, 0},
		{"received snapshot disagreeing with the log", raft.SnapshotMeta{Index: 150, Term: 7}, 150, nil, 150, 150, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: 3 << 10}
			w, _ := openT(t, dir, opt)
			hs := raft.HardState{Term: 2, Vote: 1, Commit: 180}
			for first := uint64(1); first <= 200; first += 10 {
				term := uint64(1)
				if first > 100 {
					term = 2
				}
				saveSync(t, w, hs, mkEnts(first, first+9, term, 100))
			}
			before := segmentFiles(t, dir)
			if err := w.SaveSnapshot(tc.snap); err != nil {
				t.Fatal(err)
			}
			if got := w.LastIndex(); got != tc.wantLast {
				t.Fatalf("LastIndex after SaveSnapshot: got %d, want %d", got, tc.wantLast)
			}
			// Compact before the marker is synced deletes nothing.
			if err := w.Compact(tc.compact); err != nil {
				t.Fatal(err)
			}
			if got := segmentFiles(t, dir); !slices.Equal(got, before) {
				t.Fatalf("Compact before the marker was synced deleted %d segments", len(before)-len(got))
			}
			if err := w.Sync(); err != nil {
				t.Fatal(err)
			}
			if err := w.Compact(tc.compact); err != nil {
				t.Fatal(err)
			}
			after := segmentFiles(t, dir)
			checkKept(t, before, after, tc.maxGone, tc.mustKeep)
			closeT(t, w)

			w, st := openT(t, dir, opt)
			checkState(t, st, raft.State{HardState: hs, Snapshot: tc.snap, Entries: tc.wantEnts})
			if got := w.LastIndex(); got != tc.wantLast {
				t.Fatalf("LastIndex after reopen: got %d, want %d", got, tc.wantLast)
			}
			// Appending goes on after the last index.
			next := mkEnts(tc.wantLast+1, tc.wantLast+3, 8, 100)
			saveSync(t, w, hs, next)
			closeT(t, w)
			w, st = openT(t, dir, opt)
			defer closeT(t, w)
			checkState(t, st, raft.State{HardState: hs, Snapshot: tc.snap, Entries: cat(tc.wantEnts, next)})
		})
	}
}

// checkKept checks that Compact removed exactly the oldest segments whose
// entries are all <= maxGone (never the last), and kept the one holding
// mustKeep. Without truncations a segment holds [first, next's first).
func checkKept(t *testing.T, before, after []string, maxGone, mustKeep uint64) {
	t.Helper()
	var wantKept []string
	for i, path := range before {
		last := uint64(1<<64 - 1)
		if i+1 < len(before) {
			_, next, _ := parseSegmentName(filepath.Base(before[i+1]))
			last = next - 1
		}
		if i == len(before)-1 || last > maxGone || len(wantKept) > 0 {
			wantKept = append(wantKept, path)
		}
	}
	if !slices.Equal(after, wantKept) {
		t.Fatalf("segments after Compact:\n got %v\nwant %v", names(after), names(wantKept))
	}
	if len(after) == len(before) && maxGone >= 20 {
		t.Fatalf("Compact deleted nothing (%d segments)", len(before))
	}
	if mustKeep > 0 {
		_, first, _ := parseSegmentName(filepath.Base(after[0]))
		if first > mustKeep {
			t.Fatalf("first kept segment starts at %d, after %d", first, mustKeep)
		}
	}
}

func names(paths []string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Base(p))
	}
	return out
}

func TestSnapshotKeepsLogAcrossReopen(t *testing.T) {
	// Markers, truncations and appends interleaved across segments and
	// compactions; every reopen must agree with the model kept here.
	dir := t.TempDir()
	opt := Options{SegmentBytes: 2 << 10}
	w, _ := openT(t, dir, opt)
	var (
		snap raft.SnapshotMeta
		log  []raft.Entry
	)
	apply := func(ents []raft.Entry) {
		keep := log[:0:0]
		for _, e := range log {
			if e.Index < ents[0].Index {
				keep = append(keep, e)
			}
		}
		log = append(keep, ents...)
	}
	steps := []func(){
		func() { e := mkEnts(1, 30, 1, 100); apply(e); saveSync(t, w, raft.HardState{}, e) },
		func() {
			snap = raft.SnapshotMeta{Index: 10, Term: 1}
			log = log[10:]
			must(t, w.SaveSnapshot(snap))
			must(t, w.Sync())
			must(t, w.Compact(10))
		},
		func() { e := mkEnts(25, 40, 2, 100); apply(e); saveSync(t, w, raft.HardState{}, e) },
		func() {
			snap = raft.SnapshotMeta{Index: 35, Term: 2}
			log = log[25:]
			must(t, w.SaveSnapshot(snap))
			e := mkEnts(38, 45, 3, 100)
			apply(e)
			saveSync(t, w, raft.HardState{Term: 3}, e)
			must(t, w.Compact(35))
		},
		func() {
			snap = raft.SnapshotMeta{Index: 44, Term: 9} // disagrees: log dropped
			log = nil
			must(t, w.SaveSnapshot(snap))
			e := mkEnts(45, 50, 9, 100)
			apply(e)
			saveSync(t, w, raft.HardState{Term: 9}, e)
			must(t, w.Compact(44))
		},
	}
	for i, step := range steps {
		step()
		closeT(t, w)
		var st raft.State
		w, st = openT(t, dir, opt)
		if st.Snapshot.Index != snap.Index || st.Snapshot.Term != snap.Term {
			t.Fatalf("step %d: snapshot got %+v, want %+v", i, st.Snapshot, snap)
		}
		st.Snapshot, st.HardState = snap, raft.HardState{}
		checkState(t, st, raft.State{Snapshot: snap, Entries: log})
	}
	closeT(t, w)
}

func TestReopenAfterClose(t *testing.T) {
	dir := t.TempDir()
	w, _ := openT(t, dir, Options{})
	saveSync(t, w, raft.HardState{Term: 1}, mkEnts(1, 3, 1, 10))
	// Close syncs what is queued.
	if err := w.Save(raft.HardState{Term: 2}, mkEnts(4, 5, 2, 10)); err != nil {
		t.Fatal(err)
	}
	closeT(t, w)
	for _, call := range []struct {
		name string
		err  error
	}{
		{"Save", w.Save(raft.HardState{}, mkEnts(6, 6, 2, 1))},
		{"SaveSnapshot", w.SaveSnapshot(raft.SnapshotMeta{Index: 1, Term: 1})},
		{"Sync", w.Sync()},
		{"Compact", w.Compact(1)},
		{"Close", w.Close()},
	} {
		if !errors.Is(call.err, ErrClosed) {
			t.Errorf("%s after Close: got %v, want ErrClosed", call.name, call.err)
		}
	}
	for round := 0; round < 3; round++ {
		w, st := openT(t, dir, Options{})
		want := cat(mkEnts(1, 3, 1, 10), mkEnts(4, 5+uint64(round), 2, 10))
		checkState(t, st, raft.State{HardState: raft.HardState{Term: 2}, Entries: want})
		saveSync(t, w, raft.HardState{}, mkEnts(6+uint64(round), 6+uint64(round), 2, 10))
		closeT(t, w)
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	w, _ := openT(t, dir, Options{})
	if _, _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v, want ErrLocked", err)
	}
	closeT(t, w)
	w, _ = openT(t, dir, Options{})
	closeT(t, w)
}

func TestSaveRefuses(t *testing.T) {
	tests := []struct {
		name string
		ents []raft.Entry
		want error
	}{
		{"gap", mkEnts(12, 13, 2, 1), ErrInvalid},
		{"index zero", []raft.Entry{{Term: 1}}, ErrInvalid},
		{"below snapshot", mkEnts(2, 6, 2, 1), ErrInvalid},
		{"at snapshot", mkEnts(3, 6, 2, 1), ErrInvalid},
		{"not contiguous", []raft.Entry{{Term: 2, Index: 11}, {Term: 2, Index: 13}}, ErrInvalid},
		{"too large", []raft.Entry{{Term: 2, Index: 11, Data: make([]byte, MaxRecordBytes)}}, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, _ := openT(t, dir, Options{})
			saveSync(t, w, raft.HardState{}, mkEnts(1, 10, 1, 1))
			if err := w.SaveSnapshot(raft.SnapshotMeta{Index: 3, Term: 1}); err != nil {
				t.Fatal(err)
			}
			if err := w.Save(raft.HardState{Term: 5}, tc.ents); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if got := w.LastIndex(); got != 10 {
				t.Fatalf("LastIndex after a refused Save: got %d, want 10", got)
			}
			closeT(t, w)
			w, st := openT(t, dir, Options{})
			defer closeT(t, w)
			checkState(t, st, raft.State{Snapshot: raft.SnapshotMeta{Index: 3, Term: 1}, Entries: mkEnts(4, 10, 1, 1)})
		})
	}
}

// TestAppendAllocations: the hot path (Save + Sync of a batch) does not
// allocate once the encode buffer has grown.
func TestAppendAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, batch := range []int{1, 256} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			w, _ := openT(t, t.TempDir(), Options{NoSync: true, SegmentBytes: 1 << 30})
			defer closeT(t, w)
			ents := mkEnts(1, uint64(batch), 1, 128)
			next := uint64(1)
			allocs := testing.AllocsPerRun(50, func() {
				for i := range ents {
					ents[i].Index = next + uint64(i)
				}
				next += uint64(batch)
				if err := w.Save(raft.HardState{Term: 1, Commit: next}, ents); err != nil {
					t.Fatal(err)
				}
				if err := w.Sync(); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Fatalf("Save+Sync of %d entries: %v allocations, want 0", batch, allocs)
			}
		})
	}
}

// spareFiles lists the prepared-segment leftovers in dir.
func spareFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*-spare"+segmentSuffix+tmpSuffix))
	must(t, err)
	return m
}

// Segments after the first are made from spare files prepared ahead (zero
// filled); the log reads back whole across the rotations, no spare is left
// after Close, and one left by a crash is removed by Open.
func TestSpareSegments(t *testing.T) {
	dir := t.TempDir()
	const segBytes = 64 << 10
	w, _ := openT(t, dir, Options{SegmentBytes: segBytes})
	var all []raft.Entry
	next := uint64(1)
	sawSpare := false
	for len(segmentFiles(t, dir)) < 5 {
		ents := mkEnts(next, next+9, 1, 500)
		saveSync(t, w, raft.HardState{Term: 1, Commit: next}, ents)
		all = append(all, ents...)
		next += 10
		if len(spareFiles(t, dir)) > 0 {
			sawSpare = true
		}
	}
	if !sawSpare {
		t.Error("no spare segment was ever prepared")
	}
	// The rotated-to segments are full size: they were the spares, which
	// prepareSpare wrote out to SegmentBytes (the one being written is
	// never trimmed).
	segs := segmentFiles(t, dir)
	if st, err := os.Stat(segs[len(segs)-1]); err != nil || st.Size() != segBytes {
		t.Errorf("last segment %s: %v, %v; want %d bytes", segs[len(segs)-1], st.Size(), err, segBytes)
	}
	closeT(t, w)
	if s := spareFiles(t, dir); len(s) != 0 {
		t.Errorf("spare files left after Close: %v", s)
	}
	w, st := openT(t, dir, Options{SegmentBytes: segBytes})
	checkState(t, st, raft.State{HardState: raft.HardState{Term: 1, Commit: next - 10}, Entries: all})

	// A crash while a spare exists: Open removes the leftover.
	for len(spareFiles(t, dir)) == 0 {
		ents := mkEnts(next, next+9, 1, 500)
		saveSync(t, w, raft.HardState{Term: 1, Commit: next}, ents)
		all = append(all, ents...)
		next += 10
	}
	w.spare = nil // as if the process died: the spare stays on disk
	w.f.Close()
	w.lock.Close()
	w, st = openT(t, dir, Options{SegmentBytes: segBytes})
	if s := spareFiles(t, dir); len(s) != 0 {
		t.Errorf("spare files left after reopening: %v", s)
	}
	checkState(t, st, raft.State{HardState: raft.HardState{Term: 1, Commit: next - 10}, Entries: all})
	closeT(t, w)
}
