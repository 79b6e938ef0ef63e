package snap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"slices"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

func TestHeaderRoundTrip(t *testing.T) {
	tests := []header{
		{},
		{meta: raft.SnapshotMeta{Index: 1, Term: 1, Voters: []uint64{1}}, payloadBytes: 0},
		{meta: raft.SnapshotMeta{Index: 1<<64 - 1, Term: 1<<64 - 1, Voters: []uint64{1<<64 - 1, 0, 7}}, payloadBytes: 1<<64 - 1},
		{meta: raft.SnapshotMeta{Index: 123, Term: 4, Voters: seq(MaxVoters)}, payloadBytes: 1 << 30},
	}
	for _, h := range tests {
		b := appendHeader([]byte("prefix"), h)[len("prefix"):]
		if len(b) != headerSize(len(h.meta.Voters)) {
			t.Errorf("encoded %d bytes, want %d", len(b), headerSize(len(h.meta.Voters)))
		}
		// Trailing bytes (the payload) are not part of the header.
		got, n, err := decodeHeader(append(slices.Clone(b), 1, 2, 3))
		if err != nil {
			t.Fatalf("decodeHeader: %v", err)
		}
		if n != len(b) || got.payloadBytes != h.payloadBytes || !metaEqual(got.meta, h.meta) {
			t.Errorf("decodeHeader = %+v (%d bytes), want %+v (%d bytes)", got, n, h, len(b))
		}
	}
}

// rawHeader returns a header whose count field says count but which holds
// voters voter ids, followed by a checksum of what precedes it.
func rawHeader(count uint32, voters int) []byte {
	b := []byte(magic)
	b = binary.BigEndian.AppendUint32(b, formatVersion)
	b = binary.BigEndian.AppendUint64(b, 10)
	b = binary.BigEndian.AppendUint64(b, 2)
	b = binary.BigEndian.AppendUint64(b, 0)
	b = binary.BigEndian.AppendUint32(b, count)
	for i := range voters {
		b = binary.BigEndian.AppendUint64(b, uint64(i+1))
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func TestDecodeHeaderErrors(t *testing.T) {
	valid := appendHeader(nil, header{meta: raft.SnapshotMeta{Index: 10, Term: 2, Voters: []uint64{1, 2, 3}}, payloadBytes: 5})
	mod := func(fn func(b []byte) []byte) []byte { return fn(slices.Clone(valid)) }
	tests := []struct {
		name string
		in   []byte
	}{
		{"nil", nil},
		{"magic only", []byte(magic)},
		{"one byte short of fixed", valid[:headerFixedBytes-1]},
		{"fixed only", valid[:headerFixedBytes]},
		{"one byte short", valid[:len(valid)-1]},
		{"bad magic", mod(func(b []byte) []byte { b[0] = 'X'; return b })},
		{"version 0", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 0); return b })},
		{"version 2", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[8:], 2); return b })},
		{"checksum", mod(func(b []byte) []byte { b[len(b)-1]++; return b })},
		{"payload length flipped", mod(func(b []byte) []byte { b[30] ^= 1; return b })},
		{"count one more", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[36:], 4); return b })},
		{"count one less", mod(func(b []byte) []byte { binary.BigEndian.PutUint32(b[36:], 2); return b })},
		{"count MaxVoters+1", rawHeader(MaxVoters+1, MaxVoters+1)},
		{"count max uint32", rawHeader(1<<32-1, 0)},
		{"count beyond input", rawHeader(MaxVoters, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, n, err := decodeHeader(tt.in); !errors.Is(err, ErrCorrupt) {
				t.Errorf("decodeHeader = %+v, %d, %v; want ErrCorrupt", h, n, err)
			}
			if h, n, err := readHeader(bytes.NewReader(tt.in), int64(len(tt.in))); !errors.Is(err, ErrCorrupt) {
				t.Errorf("readHeader = %+v, %d, %v; want ErrCorrupt", h, n, err)
			}
		})
	}
}

// TestReadHeaderAllocBound: a header that claims many voters in a short
// file is refused before the voter list is allocated.
func TestReadHeaderAllocBound(t *testing.T) {
	in := rawHeader(MaxVoters, 0) // claims 80 KB of voters, holds none
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, _, err := readHeader(bytes.NewReader(in), int64(len(in))); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("readHeader = %v, want ErrCorrupt", err)
		}
		if _, _, err := decodeHeader(in); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("decodeHeader = %v, want ErrCorrupt", err)
		}
	}
	runtime.ReadMemStats(&after)
	// Ten wrongful voter lists would be 800 KB; the errors themselves cost
	// well under 1 KB each.
	if got := after.TotalAlloc - before.TotalAlloc; got > 64<<10 {
		t.Errorf("20 refused decodes allocated %d bytes, want under 64 KiB", got)
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		name        string
		term, index uint64
		ok          bool
	}{
		{fileName(0, 0), 0, 0, true},
		{fileName(1, 2), 1, 2, true},
		{fileName(1<<64-1, 0xabcdef), 1<<64 - 1, 0xabcdef, true},
		{"0000000000000001-0000000000000002.snap", 1, 2, true},
		{"0000000000000001-000000000000000A.snap", 0, 0, false}, // upper case
		{"0000000000000001_0000000000000002.snap", 0, 0, false},
		{"0000000000000001-0000000000000002.snaq", 0, 0, false},
		{"0000000000000001-0000000000000002.snap.tmp", 0, 0, false},
		{"000000000000001-00000000000000002.snap", 0, 0, false},
		{"+000000000000001-0000000000000002.snap", 0, 0, false},
		{"1-2.snap", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		term, index, ok := parseName(tt.name)
		if term != tt.term || index != tt.index || ok != tt.ok {
			t.Errorf("parseName(%q) = %d, %d, %t; want %d, %d, %t", tt.name, term, index, ok, tt.term, tt.index, tt.ok)
		}
	}
}

func FuzzDecodeHeader(f *testing.F) {
	for _, h := range []header{
		{},
		{meta: raft.SnapshotMeta{Index: 10, Term: 2, Voters: []uint64{1, 2, 3}}, payloadBytes: 4},
		{meta: raft.SnapshotMeta{Index: 1 << 40, Term: 9, Voters: seq(20)}, payloadBytes: 0},
	} {
		b := appendHeader(nil, h)
		f.Add(b)
		// A whole file: header, payload, trailer.
		file := append(slices.Clone(b), make([]byte, h.payloadBytes+trailerBytes)...)
		if h.payloadBytes == 0 {
			f.Add(file)
		}
		f.Add(b[:len(b)-1])
	}
	f.Add(rawHeader(MaxVoters, 0))
	f.Add(rawHeader(1<<32-1, 0))
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, n, err := decodeHeader(in)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decodeHeader error %v does not wrap ErrCorrupt", err)
			}
		} else {
			if n > len(in) || n != headerSize(len(h.meta.Voters)) || len(h.meta.Voters) > MaxVoters {
				t.Fatalf("decodeHeader: %d bytes with %d voters from %d bytes of input", n, len(h.meta.Voters), len(in))
			}
			if re := appendHeader(nil, h); !bytes.Equal(re, in[:n]) {
				t.Fatalf("re-encoding differs:\n got %x\nwant %x", re, in[:n])
			}
		}

		rh, rn, rerr := readHeader(bytes.NewReader(in), int64(len(in)))
		if rerr != nil {
			if !errors.Is(rerr, ErrCorrupt) {
				t.Fatalf("readHeader error %v does not wrap ErrCorrupt", rerr)
			}
			return
		}
		// readHeader accepts a subset of what decodeHeader accepts: the
		// file's size must also match.
		if err != nil || rn != n || rh.payloadBytes != h.payloadBytes || !metaEqual(rh.meta, h.meta) {
			t.Fatalf("readHeader = %+v (%d bytes) but decodeHeader = %+v (%d bytes), %v", rh, rn, h, n, err)
		}
		if uint64(len(in)) != uint64(rn)+rh.payloadBytes+trailerBytes {
			t.Fatalf("readHeader accepted a %d-byte file for a %d-byte header and %d-byte payload", len(in), rn, rh.payloadBytes)
		}
	})
}

func FuzzParseName(f *testing.F) {
	f.Add(fileName(1, 2))
	f.Add(fileName(1<<64-1, 0))
	f.Add("0000000000000001-0000000000000002.snap.tmp")
	f.Fuzz(func(t *testing.T, name string) {
		term, index, ok := parseName(name)
		if ok && fileName(term, index) != name {
			t.Fatalf("parseName(%q) = %d, %d, but fileName gives %q", name, term, index, fileName(term, index))
		}
		if !ok && (term != 0 || index != 0) {
			t.Fatalf("parseName(%q) failed but returned %d, %d", name, term, index)
		}
	})
}
