package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/raftbench/raftbench/raft"
)

// ErrCorrupt is matched (errors.Is) by every error that reports damage
// recovery will not repair. Such errors are *CorruptError values, which
// name the file and the offset.
var ErrCorrupt = errors.New("wal: corrupt")

// CorruptError reports damage at a place where recovery must not cut: in a
// segment other than the last, in a segment header, before a later write, or
// a valid record that contradicts the log (which means a bug or a foreign
// file). Open changes nothing on disk when it returns one.
type CorruptError struct {
	File   string
	Offset int64
	Reason string
	Err    error // the decoding error, if any
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("wal: corrupt: %s at offset %d: %s", e.File, e.Offset, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }
func (e *CorruptError) Unwrap() error        { return e.Err }

// Recovery describes what Open found.
type Recovery struct {
	Segments int // segment files read
	Records  int // valid records replayed (segment headers included)
	// TornTail is set when the last segment ended in a torn or damaged
	// write, which Open cut off.
	TornTail *TornTail
}

// TornTail is a damaged last write that recovery cut off. It was never
// acknowledged by a Sync: a Sync returns only after its write is durable,
// and a later write would have shown that it had returned.
type TornTail struct {
	File   string // the last segment
	Offset int64  // the log now ends here
	Bytes  int64  // bytes cut: from Offset to the last non-zero byte
	Err    error  // what was found at Offset
}

// replayer rebuilds the log from records in the order they were written.
//
// Between the compaction point (snap) and the first entry it holds there
// may be a hole: entries that lived in compacted segments. A snapshot
// marker later in the log covers it; one left at the end is an error.
type replayer struct {
	started bool
	hs      raft.HardState
	snap    raft.SnapshotMeta
	first   uint64       // index of ents[0], or last+1 when empty
	ents    []raft.Entry // contiguous from first
	arena   arena
	records int
}

func (r *replayer) last() uint64 { return r.first - 1 + uint64(len(r.ents)) }

// apply replays one record of seg found at off.
func (r *replayer) apply(seg *segment, off int, rec *record) error {
	r.records++
	if (off == 0) != (rec.typ == recSegment) {
		if off == 0 {
			return fmt.Errorf("segment starts with a %v record, not its header", rec.typ)
		}
		return errors.New("segment header in the middle of a segment")
	}
	switch rec.typ {
	case recSegment:
		h := &rec.seg
		if h.seq != seg.seq || h.next != seg.first {
			return fmt.Errorf("header says sequence %d, first index %d; the name says %d, %d", h.seq, h.next, seg.seq, seg.first)
		}
		if !r.started {
			if h.snap.Index >= h.next {
				return fmt.Errorf("header's snapshot %d is not below its first index %d", h.snap.Index, h.next)
			}
			r.started = true
			r.hs, r.snap, r.first = h.hs, h.snap, h.next
			return nil
		}
		if h.next != r.last()+1 || h.hs != r.hs || !snapshotMetaEqual(&h.snap, &r.snap) {
			return fmt.Errorf("header (next %d, %+v, snapshot %d/%d) disagrees with the log before it (next %d, %+v, snapshot %d/%d)",
				h.next, h.hs, h.snap.Index, h.snap.Term, r.last()+1, r.hs, r.snap.Index, r.snap.Term)
		}
	case recEntry:
		e := rec.entry
		if e.Index != r.last()+1 {
			return fmt.Errorf("entry %d does not follow the last index %d", e.Index, r.last())
		}
		e.Data = r.arena.copy(e.Data)
		r.ents = append(r.ents, e)
		seg.maxIndex = max(seg.maxIndex, e.Index)
	case recHardState:
		r.hs = rec.hs
	case recTruncate:
		t := rec.index
		if t <= r.snap.Index || t > r.last() {
			return fmt.Errorf("truncation at %d outside the log (%d, %d]", t, r.snap.Index, r.last())
		}
		if t >= r.first {
			clear(r.ents[t-r.first:]) // drop references to the discarded data
			r.ents = r.ents[:t-r.first]
		} else {
			r.ents, r.first = r.ents[:0], t
		}
	case recSnapshot:
		m := rec.snap
		if m.Index <= r.snap.Index {
			return fmt.Errorf("snapshot %d is not beyond the previous one %d", m.Index, r.snap.Index)
		}
		switch last := r.last(); {
		case m.Index >= last:
			r.ents, r.first = r.ents[:0], m.Index+1
		case m.Index >= r.first:
			r.ents = r.ents[m.Index+1-r.first:]
			r.first = m.Index + 1
		}
		r.snap = m
	}
	return nil
}

// state returns the recovered state once every segment is replayed.
func (r *replayer) state() raft.State {
	st := raft.State{HardState: r.hs, Snapshot: r.snap}
	if len(r.ents) > 0 {
		st.Entries = r.ents
	}
	return st
}

// arena copies recovered entry data out of the read buffer (which is reused
// for the next segment) into large chunks: one allocation per chunk, not per
// entry.
type arena struct{ chunk []byte }

const arenaChunkBytes = 1 << 20

func (a *arena) copy(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, max(arenaChunkBytes, len(b)))
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return a.chunk[start:len(a.chunk):len(a.chunk)]
}

// recovered is what recover found: the replayed log and where to go on
// writing.
type recovered struct {
	rp       replayer
	segs     []segment
	tmps     []string
	end      int64 // end of the valid data in the last segment
	size     int64 // size of the last segment's file
	headerSz int64 // end of the last segment's header
	torn     *TornTail
}

// recoverDir reads and checks every segment of dir. It modifies nothing:
// the caller cuts a torn tail only once everything is known to be sound.
func recoverDir(dir string) (*recovered, error) {
	segs, tmps, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		return &recovered{tmps: tmps}, err
	}
	rc := &recovered{segs: segs, tmps: tmps}
	rp := &rc.rp
	var buf []byte
	for i := range segs {
		seg := &segs[i]
		isLast := i == len(segs)-1
		data, err := readFile(seg.path, buf)
		if err != nil {
			return nil, err
		}
		buf = data
		var headerEnd int
		end, damage, err := scanSegment(data, MaxRecordBytes, func(off int, rec *record) error {
			if err := rp.apply(seg, off, rec); err != nil {
				return &CorruptError{File: seg.path, Offset: int64(off), Reason: fmt.Sprintf("%v record: %v", rec.typ, err)}
			}
			if rec.typ == recSegment {
				headerEnd = off + headerBytes + int(binary.LittleEndian.Uint32(data[off:]))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if end == 0 {
			// The header is written and synced before the segment gets
			// its name: damage here is never a torn write.
			if damage == nil {
				damage = errShort
			}
			return nil, &CorruptError{File: seg.path, Offset: 0, Reason: "bad segment header", Err: damage}
		}
		if damage != nil {
			if !isLast {
				return nil, &CorruptError{File: seg.path, Offset: int64(end), Reason: "damaged record in a segment that is not the last", Err: damage}
			}
			// A write (Sync) starts only after the previous one returned,
			// so damage followed by the start of a later write is damage
			// to a write that was acknowledged.
			if q := findWriteStart(data, end+1, MaxRecordBytes); q >= 0 {
				return nil, &CorruptError{File: seg.path, Offset: int64(end),
					Reason: fmt.Sprintf("damaged record followed by a valid write at offset %d", q), Err: damage}
			}
			rc.torn = &TornTail{File: seg.path, Offset: int64(end), Bytes: int64(lastNonZero(data[end:])), Err: damage}
		}
		if isLast {
			rc.end, rc.size, rc.headerSz = int64(end), int64(len(data)), int64(headerEnd)
		}
	}
	if rp.first-1 > rp.snap.Index {
		return nil, &CorruptError{File: segs[0].path, Offset: 0,
			Reason: fmt.Sprintf("entries %d..%d are missing: neither a segment nor a snapshot holds them", rp.snap.Index+1, rp.first-1)}
	}
	return rc, nil
}
