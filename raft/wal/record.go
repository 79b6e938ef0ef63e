package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"

	"github.com/raftbench/raftbench/raft"
)

// Record layout (little endian):
//
//	[length u32][crc32c u32][type u8][payload: length bytes]
//
// length counts the payload only. Every payload is at least 8 bytes long, so
// a zero length never starts a record: it marks the end of the written part
// of a segment (segments are preallocated with zeros). The CRC (Castagnoli)
// covers the length, the type and the payload, so a damaged length is caught
// like any other damaged byte.
//
// The type's high bit (flagWriteStart) marks the first record of a write:
// each Sync writes its batch with one write call, and the segment header is
// written on its own. Recovery uses the flag to tell a torn last write from
// damage followed by later writes (see scanSegment).
const (
	headerBytes = 9

	// MaxRecordBytes bounds one record's payload. An entry's Data may be up
	// to MaxRecordBytes-entryFixedBytes long. The decoder refuses longer
	// records before looking at their payload, and allocates at most the
	// payload's size (only a snapshot's voter list is copied).
	MaxRecordBytes = 64 << 20
)

type recordType uint8

const (
	recSegment   recordType = 1 // segment header: first record of every segment
	recEntry     recordType = 2
	recHardState recordType = 3
	recSnapshot  recordType = 4 // compaction point
	recTruncate  recordType = 5 // discard entries from an index on

	flagWriteStart = 0x80
	typeMask       = 0x7f
)

func (t recordType) String() string {
	switch t {
	case recSegment:
		return "segment"
	case recEntry:
		return "entry"
	case recHardState:
		return "hardstate"
	case recSnapshot:
		return "snapshot"
	case recTruncate:
		return "truncate"
	}
	return fmt.Sprintf("recordType(%d)", uint8(t))
}

// Payload sizes.
const (
	entryFixedBytes  = 8 + 8 + 1 // term, index, entry type; data follows
	hardStateBytes   = 8 + 8 + 8 // term, vote, commit
	snapFixedBytes   = 8 + 8 + 4 // index, term, voter count; voters follow
	truncateBytes    = 8
	segmentMagic     = 0x4c415752 // "RWAL"
	segmentVersion   = 1
	segmentFixedByte = 4 + 4 + 8 + 8 + hardStateBytes // magic, version, seq, next index, hard state; snapshot follows

	// maxVoters keeps a snapshot record within MaxRecordBytes.
	maxVoters = (MaxRecordBytes - segmentFixedByte - snapFixedBytes) / 8
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Decoding errors. Callers wrap them in a *CorruptError (or classify a
// damaged tail as torn); they never reach users unwrapped.
var (
	errEndOfLog   = errors.New("zero length: end of written data")
	errShort      = errors.New("record extends past the end of the file")
	errTooLarge   = errors.New("record length exceeds the maximum")
	errChecksum   = errors.New("checksum mismatch")
	errRecordType = errors.New("unknown record type")
	errPayload    = errors.New("malformed payload")
)

// segmentHeader is the payload of the first record of every segment. It
// carries the state as of the segment's creation, so that a segment is
// readable without the ones before it once those are compacted away.
type segmentHeader struct {
	seq  uint64
	next uint64 // index the next entry appended will have (last index + 1)
	hs   raft.HardState
	snap raft.SnapshotMeta
}

// record is one decoded record. Only the fields of its type are set.
// entry.Data aliases the decoded buffer.
type record struct {
	typ        recordType
	writeStart bool
	entry      raft.Entry
	hs         raft.HardState
	snap       raft.SnapshotMeta
	index      uint64 // recTruncate
	seg        segmentHeader
}

// beginRecord appends a header placeholder for a record of type t.
func beginRecord(buf []byte, t recordType, writeStart bool) []byte {
	tb := byte(t)
	if writeStart {
		tb |= flagWriteStart
	}
	return append(buf, 0, 0, 0, 0, 0, 0, 0, 0, tb)
}

// endRecord fills in the length and checksum of the record that starts at
// buf[start:].
func endRecord(buf []byte, start int) []byte {
	rec := buf[start:]
	binary.LittleEndian.PutUint32(rec[0:4], uint32(len(rec)-headerBytes))
	crc := crc32.Update(0, castagnoli, rec[0:4])
	crc = crc32.Update(crc, castagnoli, rec[8:])
	binary.LittleEndian.PutUint32(rec[4:8], crc)
	return buf
}

func appendEntryRecord(buf []byte, writeStart bool, e *raft.Entry) []byte {
	start := len(buf)
	buf = beginRecord(buf, recEntry, writeStart)
	buf = binary.LittleEndian.AppendUint64(buf, e.Term)
	buf = binary.LittleEndian.AppendUint64(buf, e.Index)
	buf = append(buf, byte(e.Type))
	buf = append(buf, e.Data...)
	return endRecord(buf, start)
}

func appendHardState(buf []byte, hs raft.HardState) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, hs.Term)
	buf = binary.LittleEndian.AppendUint64(buf, hs.Vote)
	return binary.LittleEndian.AppendUint64(buf, hs.Commit)
}

func appendSnapshotMeta(buf []byte, s *raft.SnapshotMeta) []byte {
	buf = binary.LittleEndian.AppendUint64(buf, s.Index)
	buf = binary.LittleEndian.AppendUint64(buf, s.Term)
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(s.Voters)))
	for _, v := range s.Voters {
		buf = binary.LittleEndian.AppendUint64(buf, v)
	}
	return buf
}

func appendHardStateRecord(buf []byte, writeStart bool, hs raft.HardState) []byte {
	start := len(buf)
	buf = beginRecord(buf, recHardState, writeStart)
	buf = appendHardState(buf, hs)
	return endRecord(buf, start)
}

func appendSnapshotRecord(buf []byte, writeStart bool, s *raft.SnapshotMeta) []byte {
	start := len(buf)
	buf = beginRecord(buf, recSnapshot, writeStart)
	buf = appendSnapshotMeta(buf, s)
	return endRecord(buf, start)
}

func appendTruncateRecord(buf []byte, writeStart bool, index uint64) []byte {
	start := len(buf)
	buf = beginRecord(buf, recTruncate, writeStart)
	buf = binary.LittleEndian.AppendUint64(buf, index)
	return endRecord(buf, start)
}

func appendSegmentRecord(buf []byte, writeStart bool, h *segmentHeader) []byte {
	start := len(buf)
	buf = beginRecord(buf, recSegment, writeStart)
	buf = binary.LittleEndian.AppendUint32(buf, segmentMagic)
	buf = binary.LittleEndian.AppendUint32(buf, segmentVersion)
	buf = binary.LittleEndian.AppendUint64(buf, h.seq)
	buf = binary.LittleEndian.AppendUint64(buf, h.next)
	buf = appendHardState(buf, h.hs)
	buf = appendSnapshotMeta(buf, &h.snap)
	return endRecord(buf, start)
}

// checkRecord validates the framing of the record at the start of b: length,
// bounds and checksum, not the payload. It returns the record's total size.
func checkRecord(b []byte, maxPayload int) (n int, err error) {
	if len(b) < 4 {
		if allZero(b) {
			return 0, errEndOfLog
		}
		return 0, errShort
	}
	length := binary.LittleEndian.Uint32(b[0:4])
	if length == 0 {
		return 0, errEndOfLog
	}
	if uint64(length) > uint64(maxPayload) {
		return 0, errTooLarge
	}
	n = headerBytes + int(length)
	if n > len(b) {
		return 0, errShort
	}
	crc := crc32.Update(0, castagnoli, b[0:4])
	crc = crc32.Update(crc, castagnoli, b[8:n])
	if crc != binary.LittleEndian.Uint32(b[4:8]) {
		return 0, errChecksum
	}
	return n, nil
}

// decodeRecord decodes the record at the start of b into rec and returns its
// size. Payload lengths must match their type exactly. rec.entry.Data
// aliases b; the only allocation is a snapshot's voter list, whose length is
// checked against the payload first.
func decodeRecord(b []byte, maxPayload int, rec *record) (n int, err error) {
	n, err = checkRecord(b, maxPayload)
	if err != nil {
		return 0, err
	}
	*rec = record{typ: recordType(b[8] & typeMask), writeStart: b[8]&flagWriteStart != 0}
	p := b[headerBytes:n]
	switch rec.typ {
	case recEntry:
		if len(p) < entryFixedBytes {
			return 0, errPayload
		}
		rec.entry = raft.Entry{
			Term:  binary.LittleEndian.Uint64(p[0:8]),
			Index: binary.LittleEndian.Uint64(p[8:16]),
			Type:  raft.EntryType(p[16]),
		}
		if len(p) > entryFixedBytes {
			rec.entry.Data = p[entryFixedBytes:len(p):len(p)]
		}
	case recHardState:
		if len(p) != hardStateBytes {
			return 0, errPayload
		}
		rec.hs = decodeHardState(p)
	case recSnapshot:
		if rest, ok := decodeSnapshotMeta(p, &rec.snap); !ok || len(rest) != 0 {
			return 0, errPayload
		}
	case recTruncate:
		if len(p) != truncateBytes {
			return 0, errPayload
		}
		rec.index = binary.LittleEndian.Uint64(p)
	case recSegment:
		if len(p) < segmentFixedByte ||
			binary.LittleEndian.Uint32(p[0:4]) != segmentMagic ||
			binary.LittleEndian.Uint32(p[4:8]) != segmentVersion {
			return 0, errPayload
		}
		rec.seg.seq = binary.LittleEndian.Uint64(p[8:16])
		rec.seg.next = binary.LittleEndian.Uint64(p[16:24])
		rec.seg.hs = decodeHardState(p[24:48])
		if rest, ok := decodeSnapshotMeta(p[48:], &rec.seg.snap); !ok || len(rest) != 0 {
			return 0, errPayload
		}
	default:
		return 0, errRecordType
	}
	return n, nil
}

func decodeHardState(p []byte) raft.HardState {
	return raft.HardState{
		Term:   binary.LittleEndian.Uint64(p[0:8]),
		Vote:   binary.LittleEndian.Uint64(p[8:16]),
		Commit: binary.LittleEndian.Uint64(p[16:24]),
	}
}

func decodeSnapshotMeta(p []byte, s *raft.SnapshotMeta) (rest []byte, ok bool) {
	if len(p) < snapFixedBytes {
		return nil, false
	}
	s.Index = binary.LittleEndian.Uint64(p[0:8])
	s.Term = binary.LittleEndian.Uint64(p[8:16])
	count := uint64(binary.LittleEndian.Uint32(p[16:20]))
	p = p[snapFixedBytes:]
	if count > uint64(len(p))/8 {
		return nil, false
	}
	if count > 0 {
		s.Voters = make([]uint64, count) // bounded by the payload checked above
		for i := range s.Voters {
			s.Voters[i] = binary.LittleEndian.Uint64(p[8*i:])
		}
	}
	return p[8*count:], true
}

// appendDecoded re-encodes a decoded record; decode(appendDecoded(r)) == r
// and, for records that came from decodeRecord, the bytes are identical.
func appendDecoded(buf []byte, r *record) []byte {
	switch r.typ {
	case recEntry:
		return appendEntryRecord(buf, r.writeStart, &r.entry)
	case recHardState:
		return appendHardStateRecord(buf, r.writeStart, r.hs)
	case recSnapshot:
		return appendSnapshotRecord(buf, r.writeStart, &r.snap)
	case recTruncate:
		return appendTruncateRecord(buf, r.writeStart, r.index)
	case recSegment:
		return appendSegmentRecord(buf, r.writeStart, &r.seg)
	}
	panic(fmt.Sprintf("wal: appendDecoded of %v", r.typ))
}

func snapshotMetaEqual(a, b *raft.SnapshotMeta) bool {
	return a.Index == b.Index && a.Term == b.Term && slices.Equal(a.Voters, b.Voters)
}

var zeros [4096]byte

// allZero reports whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) > 0 {
		n := min(len(b), len(zeros))
		if string(b[:n]) != string(zeros[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}
