package wal

import (
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// recInfo is where one record of a segment file lies.
type recInfo struct {
	off, end   int
	typ        recordType
	writeStart bool
	index      uint64 // entry index
}

func segmentRecords(t *testing.T, path string) []recInfo {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []recInfo
	end, damage, err := scanSegment(data, MaxRecordBytes, func(off int, rec *record) error {
		if n := len(recs); n > 0 {
			recs[n-1].end = off
		}
		recs = append(recs, recInfo{off: off, typ: rec.typ, writeStart: rec.writeStart, index: rec.entry.Index})
		return nil
	})
	if err != nil || damage != nil {
		t.Fatalf("%s: %v %v", path, err, damage)
	}
	recs[len(recs)-1].end = end
	return recs
}

// lastWrite returns the records of the last write of a segment.
func lastWrite(recs []recInfo) []recInfo {
	i := len(recs) - 1
	for !recs[i].writeStart {
		i--
	}
	return recs[i:]
}

func flipByte(t *testing.T, path string, off int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x10
	if _, err := f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, path string, off int, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, int64(off)); err != nil {
		t.Fatal(err)
	}
}

func truncateFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.Truncate(path, int64(size)); err != nil {
		t.Fatal(err)
	}
}

// fillLog writes batches of 5 entries (100 bytes each), one Sync per
// batch, each with a hard state, until it has written n batches.
func fillLog(t *testing.T, dir string, opt Options, n int) (hs []raft.HardState, ents []raft.Entry) {
	t.Helper()
	w, _ := openT(t, dir, opt)
	for b := 0; b < n; b++ {
		e := mkEnts(uint64(5*b+1), uint64(5*b+5), 1, 100)
		h := raft.HardState{Term: 1, Vote: 1, Commit: uint64(5*b + 1)}
		saveSync(t, w, h, e)
		hs = append(hs, h)
		ents = append(ents, e...)
	}
	closeT(t, w)
	return hs, ents
}

func TestTornTail(t *testing.T) {
	type damage struct {
		// cut: records of the last write are lost from the one at this
		// position on (0 = the write's first record).
		cut int
		do  func(t *testing.T, path string, write []recInfo)
	}
	tests := []struct {
		name    string
		segment int64
		damage
	}{
		{"file truncated in the last record", 64 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { truncateFile(t, p, w[5].off+7) }}},
		{"file truncated in the last record's header", 64 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { truncateFile(t, p, w[5].off+2) }}},
		{"file truncated in the write's first record", 64 << 10, damage{0, func(t *testing.T, p string, w []recInfo) { truncateFile(t, p, w[0].off+50) }}},
		{"file truncated in a middle record", 64 << 10, damage{2, func(t *testing.T, p string, w []recInfo) { truncateFile(t, p, w[2].off+20) }}},
		{"byte flipped in the last record's payload", 64 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { flipByte(t, p, w[5].end-1) }}},
		{"byte flipped in the last record's length", 64 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { flipByte(t, p, w[5].off) }}},
		{"byte flipped in the last record's checksum", 64 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { flipByte(t, p, w[5].off+6) }}},
		{"byte flipped in the write's first record", 64 << 10, damage{0, func(t *testing.T, p string, w []recInfo) { flipByte(t, p, w[0].off+30) }}},
		{"write's first record zeroed (its sector never written)", 64 << 10, damage{0, func(t *testing.T, p string, w []recInfo) {
			writeAt(t, p, w[0].off, make([]byte, w[1].off-w[0].off))
		}}},
		{"garbage after the last record", 64 << 10, damage{6, func(t *testing.T, p string, w []recInfo) { writeAt(t, p, w[5].end+100, []byte{1, 2, 3}) }}},
		{"in a later segment", 2 << 10, damage{5, func(t *testing.T, p string, w []recInfo) { flipByte(t, p, w[5].end-3) }}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: tc.segment}
			hss, ents := fillLog(t, dir, opt, 6)
			segs := segmentFiles(t, dir)
			if tc.segment < 4<<10 && len(segs) < 3 {
				t.Fatalf("want several segments, got %d", len(segs))
			}
			path := segs[len(segs)-1]
			write := lastWrite(segmentRecords(t, path))
			if len(write) != 6 {
				t.Fatalf("last write has %d records, want 5 entries and a hard state", len(write))
			}
			tc.do(t, path, write)

			w, st := openT(t, dir, opt)
			// What survives: the first tc.cut records of the last write
			// (entries 26..30, then the hard state).
			wantEnts := ents[:25+min(tc.cut, 5)]
			wantHS := hss[4]
			if tc.cut > 5 {
				wantHS = hss[5]
			}
			checkState(t, st, raft.State{HardState: wantHS, Entries: wantEnts})
			torn := w.Recovery().TornTail
			switch {
			case tc.cut > 5:
				if torn == nil || torn.Offset != int64(write[5].end) {
					t.Fatalf("torn tail: got %+v, want one at %d", torn, write[5].end)
				}
			case torn == nil || torn.File != path || torn.Offset != int64(write[tc.cut].off):
				t.Fatalf("torn tail: got %+v, want %s at %d", torn, path, write[tc.cut].off)
			}
			if torn.Err == nil || torn.Bytes <= 0 {
				t.Fatalf("torn tail reported without a reason or size: %+v", torn)
			}
			// Appends go on where the valid log ends, and a reopen is clean.
			next := mkEnts(uint64(len(wantEnts)+1), uint64(len(wantEnts)+2), 2, 10)
			saveSync(t, w, raft.HardState{Term: 2}, next)
			closeT(t, w)
			w, st = openT(t, dir, opt)
			defer closeT(t, w)
			if torn := w.Recovery().TornTail; torn != nil {
				t.Fatalf("second open found a torn tail: %+v", torn)
			}
			checkState(t, st, raft.State{HardState: raft.HardState{Term: 2}, Entries: cat(wantEnts, next)})
		})
	}
}

// snapshotFiles returns every file of dir with its contents.
func snapshotFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[de.Name()] = string(b)
	}
	return files
}

func TestCorruption(t *testing.T) {
	tests := []struct {
		name string
		// do damages the files and returns the file and offset the error
		// must name.
		do func(t *testing.T, segs []string) (file string, off int)
	}{
		{"byte flipped in a record of the first segment", func(t *testing.T, segs []string) (string, int) {
			r := segmentRecords(t, segs[0])[2]
			flipByte(t, segs[0], r.off+20)
			return segs[0], r.off
		}},
		{"last record of a segment that is not the last", func(t *testing.T, segs []string) (string, int) {
			recs := segmentRecords(t, segs[1])
			r := recs[len(recs)-1]
			flipByte(t, segs[1], r.end-1)
			return segs[1], r.off
		}},
		{"segment that is not the last truncated mid-record", func(t *testing.T, segs []string) (string, int) {
			recs := segmentRecords(t, segs[1])
			r := recs[len(recs)-1]
			truncateFile(t, segs[1], r.off+30)
			return segs[1], r.off
		}},
		{"record of the last segment followed by a later write", func(t *testing.T, segs []string) (string, int) {
			last := segs[len(segs)-1]
			recs := segmentRecords(t, last)
			r := recs[1] // first record after the header; more writes follow
			flipByte(t, last, r.off+15)
			return last, r.off
		}},
		{"length zeroed before a later write", func(t *testing.T, segs []string) (string, int) {
			last := segs[len(segs)-1]
			r := segmentRecords(t, last)[1]
			writeAt(t, last, r.off, make([]byte, 4))
			return last, r.off
		}},
		{"segment header of the last segment", func(t *testing.T, segs []string) (string, int) {
			last := segs[len(segs)-1]
			flipByte(t, last, 20)
			return last, 0
		}},
		{"segment missing in the middle", func(t *testing.T, segs []string) (string, int) {
			if err := os.Remove(segs[1]); err != nil {
				t.Fatal(err)
			}
			return segs[2], 0
		}},
		{"first segment missing without a snapshot", func(t *testing.T, segs []string) (string, int) {
			if err := os.Remove(segs[0]); err != nil {
				t.Fatal(err)
			}
			return segs[1], 0
		}},
		{"valid record that does not follow the log", func(t *testing.T, segs []string) (string, int) {
			last := segs[len(segs)-1]
			recs := segmentRecords(t, last)
			end := recs[len(recs)-1].end
			writeAt(t, last, end, appendEntryRecord(nil, true, &raft.Entry{Term: 1, Index: 3}))
			return last, end
		}},
		{"segment renamed", func(t *testing.T, segs []string) (string, int) {
			seq, first, _ := parseSegmentName(filepath.Base(segs[1]))
			renamed := filepath.Join(filepath.Dir(segs[1]), segmentName(seq, first+1))
			if err := os.Rename(segs[1], renamed); err != nil {
				t.Fatal(err)
			}
			return renamed, 0
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := Options{SegmentBytes: 2 << 10}
			fillLog(t, dir, opt, 12)
			segs := segmentFiles(t, dir)
			if len(segs) < 4 {
				t.Fatalf("want at least 4 segments, got %d", len(segs))
			}
			file, off := tc.do(t, segs)
			before := snapshotFiles(t, dir)

			w, _, err := Open(dir, opt)
			if err == nil {
				w.Close()
				t.Fatal("Open succeeded on a corrupt WAL")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("got %v, want ErrCorrupt", err)
			}
			var ce *CorruptError
			if !errors.As(err, &ce) || ce.File != file || ce.Offset != int64(off) {
				t.Fatalf("got %v, want an error naming %s at offset %d", err, file, off)
			}
			if !strings.Contains(err.Error(), file) {
				t.Fatalf("message %q does not name the file", err)
			}
			after := snapshotFiles(t, dir)
			if !maps.Equal(before, after) {
				t.Fatalf("Open changed the files: before %v, after %v", slices.Sorted(maps.Keys(before)), slices.Sorted(maps.Keys(after)))
			}
			// The error is stable: a second Open says the same.
			if _, _, err2 := Open(dir, opt); err2 == nil || err2.Error() != err.Error() {
				t.Fatalf("second Open: got %v, want %v", err2, err)
			}
		})
	}
}

// TestInterruptedRotation: a crash while creating a segment leaves a
// temporary file, which Open removes; the log is intact.
func TestInterruptedRotation(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 2 << 10}
	_, ents := fillLog(t, dir, opt, 5)
	segs := segmentFiles(t, dir)
	seq, _, _ := parseSegmentName(filepath.Base(segs[len(segs)-1]))
	tmp := filepath.Join(dir, segmentName(seq+1, 26)+tmpSuffix)
	if err := os.WriteFile(tmp, []byte("half a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, st := openT(t, dir, opt)
	checkState(t, st, raft.State{HardState: raft.HardState{Term: 1, Vote: 1, Commit: 21}, Entries: ents})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary file still there: %v", err)
	}
	closeT(t, w)
}

// TestSegmentHeaderCarriesState: once older segments are compacted, the
// hard state and snapshot come from the first segment's header.
func TestSegmentHeaderCarriesState(t *testing.T) {
	dir := t.TempDir()
	opt := Options{SegmentBytes: 2 << 10}
	w, _ := openT(t, dir, opt)
	hs := raft.HardState{Term: 3, Vote: 2, Commit: 7}
	saveSync(t, w, hs, mkEnts(1, 10, 3, 100))
	snap := raft.SnapshotMeta{Index: 10, Term: 3, Voters: []uint64{1, 2, 3}}
	must(t, w.SaveSnapshot(snap))
	must(t, w.Sync())
	for i := uint64(11); i <= 40; i += 5 {
		saveSync(t, w, raft.HardState{}, mkEnts(i, i+4, 3, 100))
	}
	must(t, w.Compact(10))
	closeT(t, w)
	segs := segmentFiles(t, dir)
	data, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec record
	if _, err := decodeRecord(data, MaxRecordBytes, &rec); err != nil || rec.seg.hs != hs || !snapshotMetaEqual(&rec.seg.snap, &snap) {
		t.Fatalf("first segment's header: %+v (%v), want hard state %+v and snapshot %+v", rec.seg, err, hs, snap)
	}
	if n := binary.LittleEndian.Uint32(data); n == 0 {
		t.Fatal("empty header")
	}
	w, st := openT(t, dir, opt)
	defer closeT(t, w)
	checkState(t, st, raft.State{HardState: hs, Snapshot: snap, Entries: mkEnts(11, 40, 3, 100)})
}
