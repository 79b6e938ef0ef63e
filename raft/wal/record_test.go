package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

func sampleRecords() []record {
	return []record{
		{typ: recEntry, writeStart: true, entry: raft.Entry{Term: 3, Index: 7, Type: raft.EntryNormal, Data: []byte("hello")}},
		{typ: recEntry, entry: raft.Entry{Term: 1 << 60, Index: 1<<64 - 1, Type: raft.EntryNoop}},
		{typ: recHardState, hs: raft.HardState{Term: 9, Vote: 2, Commit: 100}},
		{typ: recSnapshot, snap: raft.SnapshotMeta{Index: 50, Term: 4, Voters: []uint64{1, 2, 3}}},
		{typ: recSnapshot, writeStart: true, snap: raft.SnapshotMeta{Index: 51, Term: 4}},
		{typ: recTruncate, index: 42},
		{typ: recSegment, writeStart: true, seg: segmentHeader{seq: 2, next: 11, hs: raft.HardState{Term: 1}, snap: raft.SnapshotMeta{Index: 5, Term: 1, Voters: []uint64{7}}}},
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, want := range sampleRecords() {
		t.Run(want.typ.String(), func(t *testing.T) {
			b := appendDecoded(nil, &want)
			var got record
			n, err := decodeRecord(b, MaxRecordBytes, &got)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(b) {
				t.Fatalf("decoded %d bytes, want %d", n, len(b))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	good := appendEntryRecord(nil, true, &raft.Entry{Term: 1, Index: 1, Data: []byte("abc")})
	mut := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	reseal := func(b []byte) []byte { return endRecord(b[:len(b):len(b)], 0) }
	tests := []struct {
		name string
		in   []byte
		max  int
		want error
	}{
		{"empty", nil, MaxRecordBytes, errEndOfLog},
		{"zeros", make([]byte, 64), MaxRecordBytes, errEndOfLog},
		{"short header", good[:3], MaxRecordBytes, errShort},
		{"short payload", good[:len(good)-1], MaxRecordBytes, errShort},
		{"over max", good, 10, errTooLarge},
		{"huge length", mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b, 1<<31); return b }), MaxRecordBytes, errTooLarge},
		{"flipped payload", mut(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), MaxRecordBytes, errChecksum},
		{"flipped type", mut(func(b []byte) []byte { b[8] ^= 1; return b }), MaxRecordBytes, errChecksum},
		{"flipped crc", mut(func(b []byte) []byte { b[5] ^= 0x80; return b }), MaxRecordBytes, errChecksum},
		{"length shrunk", mut(func(b []byte) []byte { b[0]--; return b }), MaxRecordBytes, errChecksum},
		{"unknown type", mut(func(b []byte) []byte { b[8] = 0x7f; return reseal(b) }), MaxRecordBytes, errRecordType},
		{"type zero", mut(func(b []byte) []byte { b[8] = 0x80; return reseal(b) }), MaxRecordBytes, errRecordType},
		{"entry too short", reseal(append(beginRecord(nil, recEntry, false), 1, 2, 3)), MaxRecordBytes, errPayload},
		{"hard state too long", reseal(append(appendHardStateRecord(nil, false, raft.HardState{Term: 1}), 0)), MaxRecordBytes, errPayload},
		{"truncate too short", reseal(append(beginRecord(nil, recTruncate, false), 1, 2, 3, 4)), MaxRecordBytes, errPayload},
		{"voter count too big", reseal(binary.LittleEndian.AppendUint32(append(beginRecord(nil, recSnapshot, false), make([]byte, 16)...), 1<<30)), MaxRecordBytes, errPayload},
		{"voters trailing byte", reseal(append(appendSnapshotRecord(nil, false, &raft.SnapshotMeta{Index: 1, Voters: []uint64{1}}), 9)), MaxRecordBytes, errPayload},
		{"segment bad magic", reseal(append(beginRecord(nil, recSegment, true), make([]byte, segmentFixedByte+snapFixedBytes)...)), MaxRecordBytes, errPayload},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec record
			n, err := decodeRecord(tc.in, tc.max, &rec)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got n=%d err=%v, want %v", n, err, tc.want)
			}
		})
	}
}

// resealAll returns a copy of b with the checksum of every record that its
// lengths frame recomputed.
func resealAll(b []byte, maxPayload int) []byte {
	b = bytes.Clone(b)
	for off := 0; off+headerBytes <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n == 0 || n > maxPayload || off+headerBytes+n > len(b) {
			break
		}
		endRecord(b[:off+headerBytes+n], off)
		off += headerBytes + n
	}
	return b
}

// TestDecodeAllocations: lengths and counts that claim more than the input
// holds are refused before anything is allocated.
func TestDecodeAllocations(t *testing.T) {
	snap := appendSnapshotRecord(nil, true, &raft.SnapshotMeta{Index: 1, Term: 1, Voters: []uint64{1, 2, 3}})
	lying := bytes.Clone(snap)
	binary.LittleEndian.PutUint32(lying[headerBytes+16:], 1<<30) // voter count
	endRecord(lying, 0)
	huge := bytes.Clone(snap)
	binary.LittleEndian.PutUint32(huge, 1<<31) // length
	tests := []struct {
		name string
		in   []byte
		want float64
	}{
		{"entry", appendEntryRecord(nil, true, &raft.Entry{Term: 1, Index: 1, Data: make([]byte, 1000)}), 0},
		{"snapshot", snap, 1}, // the voter list
		{"voter count beyond the payload", lying, 0},
		{"length beyond the maximum", huge, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var rec record
			got := testing.AllocsPerRun(100, func() { decodeRecord(tc.in, MaxRecordBytes, &rec) })
			if got != tc.want && !raceEnabled {
				t.Fatalf("got %v allocations, want %v", got, tc.want)
			}
		})
	}
}

func TestScanSegmentEnds(t *testing.T) {
	h := segmentHeader{seq: 1, next: 1}
	seg := appendSegmentRecord(nil, true, &h)
	seg = appendEntryRecord(seg, true, &raft.Entry{Term: 1, Index: 1, Data: []byte("x")})
	n := len(seg)
	tests := []struct {
		name       string
		data       []byte
		wantEnd    int
		wantDamage error
	}{
		{"exact end of file", seg, n, nil},
		{"zero tail", append(bytes.Clone(seg), make([]byte, 5000)...), n, nil},
		{"short zero tail", append(bytes.Clone(seg), 0, 0), n, nil},
		{"garbage after zero length", append(append(bytes.Clone(seg), make([]byte, 100)...), 1), n, errEndOfLog},
		{"torn record", append(bytes.Clone(seg), seg[len(seg)-20:len(seg)-3]...), n, errShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			records := 0
			end, damage, err := scanSegment(tc.data, MaxRecordBytes, func(int, *record) error { records++; return nil })
			if err != nil || end != tc.wantEnd || !errors.Is(damage, tc.wantDamage) || (tc.wantDamage == nil && damage != nil) {
				t.Fatalf("got end=%d damage=%v err=%v, want end=%d damage=%v", end, damage, err, tc.wantEnd, tc.wantDamage)
			}
			if records != 2 {
				t.Fatalf("got %d records, want 2", records)
			}
		})
	}
}

// FuzzDecodeRecord: whatever the input, decodeRecord returns an error or a
// record that re-encodes to exactly the bytes it came from; it never
// panics, never reads past the length it checked, and allocates no more
// than the record's payload: the only allocation is a snapshot's voter
// list, checked here against the payload (TestDecodeAllocations measures
// it).
func FuzzDecodeRecord(f *testing.F) {
	for _, r := range sampleRecords() {
		f.Add(appendDecoded(nil, &r), uint8(0))
	}
	f.Add([]byte{}, uint8(0))
	f.Add(make([]byte, 32), uint8(1))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 2}, uint8(2))
	const maxPayload = 1 << 16 // small, so the fuzzer can reach the limit
	f.Add(appendDecoded(nil, &sampleRecords()[3]), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		if mode&1 != 0 {
			// Fix up the checksums, so that the fuzzer explores payloads
			// and the replayer rather than checksum mismatches.
			data = resealAll(data, maxPayload)
		}
		var rec record
		off := 0
		for off < len(data) {
			n, err := decodeRecord(data[off:], maxPayload, &rec)
			if err != nil {
				break
			}
			payload := n - headerBytes
			if payload < 8 || n > len(data)-off || payload > maxPayload {
				t.Fatalf("decoded size %d at %d of %d bytes", n, off, len(data))
			}
			if voters := max(cap(rec.snap.Voters), cap(rec.seg.snap.Voters)); 8*voters > payload {
				t.Fatalf("allocated %d voters for a %d-byte payload", voters, payload)
			}
			again := appendDecoded(nil, &rec)
			if !bytes.Equal(again, data[off:off+n]) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", again, data[off:off+n])
			}
			off += n
		}
		// The segment scanner and the replayer on the same bytes, as a
		// segment with a header prepended: whatever the records say, they
		// must not panic and the replayed log must stay contiguous.
		h := segmentHeader{seq: 1, next: 1 + uint64(mode>>1)}
		seg := append(appendSegmentRecord(nil, true, &h), data...)
		var rp replayer
		sm := segment{seq: 1, first: h.next}
		end, _, _ := scanSegment(seg, maxPayload, func(off int, rec *record) error { return rp.apply(&sm, off, rec) })
		for i, e := range rp.ents {
			if e.Index != rp.first+uint64(i) || e.Index <= rp.snap.Index {
				t.Fatalf("replayed entry %d has index %d (first %d, snapshot %d)", i, e.Index, rp.first, rp.snap.Index)
			}
		}
		if end > len(seg) {
			t.Fatalf("scan end %d beyond %d", end, len(seg))
		}
		if q := findWriteStart(seg, end+1, maxPayload); q > len(seg)-headerBytes {
			t.Fatalf("write start %d out of range", q)
		}
		_ = lastNonZero(seg[end:])
	})
}
