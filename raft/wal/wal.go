package wal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"

	"github.com/raftbench/raftbench/raft"
)

// Options configure a WAL. The zero value is ready to use.
type Options struct {
	// SegmentBytes is the size segments are preallocated to. A write that
	// does not fit in the current segment goes to a new one; a write
	// larger than a whole segment makes its segment larger. Default 64 MiB.
	SegmentBytes int64
	// NoSync skips every fdatasync and directory sync: writes reach the
	// operating system, not the disk. For benchmarks and tests of the
	// non-durable mode only.
	NoSync bool
	// Logger receives recovery, rotation and compaction events. Default:
	// discard.
	Logger *slog.Logger
}

// DefaultSegmentBytes is the default Options.SegmentBytes.
const DefaultSegmentBytes = 64 << 20

var (
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("wal: closed")
	// ErrLocked means another process has the WAL open.
	ErrLocked = errors.New("wal: directory locked by another process")
	// ErrInvalid is returned for calls that break the log's rules:
	// entries that are not contiguous, that leave a gap after the last
	// index, or that would rewrite the compacted part of the log.
	ErrInvalid = errors.New("wal: invalid append")
	// ErrTooLarge is returned for an entry or snapshot marker that does not
	// fit in one record (MaxRecordBytes).
	ErrTooLarge = errors.New("wal: record too large")
)

// WAL is an open write-ahead log. It is not safe for concurrent use: one
// goroutine owns it (the node's disk goroutine).
type WAL struct {
	dir  string
	opt  Options
	log  *slog.Logger
	lock *os.File

	segs      []segment // oldest first; the last one is f
	f         *os.File
	off       int64 // where the next write goes in f
	headerEnd int64 // end of f's header: a segment holding only its header takes any write

	// Queued state: the log once everything queued is written.
	buf      []byte // records queued for the next Sync, written with one write
	last     uint64
	hs       raft.HardState
	snap     raft.SnapshotMeta
	terms    []termRun // terms of the entries in (snap.Index, last]
	batchMax uint64    // highest entry index queued (0: none)

	// Written state: the log as the segment files hold it (durable when
	// the last Sync returned nil). New segment headers carry it.
	wLast uint64
	wHS   raft.HardState
	wSnap raft.SnapshotMeta

	// spare delivers the file the next segment will be, once prepared
	// (nil: none asked for yet). Asked for when the segment being written
	// is half full, so short-lived logs never pay for one.
	spare chan spareSegment

	recovery Recovery
	err      error // sticky: a failed write or sync, or Close
}

// termRun says that the entries from index on (up to the next run) have
// term. Terms change rarely, so this is a handful of runs; SaveSnapshot
// uses it to learn whether the log agrees with a snapshot.
type termRun struct{ index, term uint64 }

// Open opens the WAL in dir, creating dir and an empty WAL if needed, and
// recovers it. It returns the durable state: the latest hard state, the
// latest snapshot marker (zero if none) and the entries after it,
// contiguous, with every recorded truncation applied.
//
// A torn or damaged last write at the end of the last segment is cut off,
// logged and reported by Recovery. Any other damage, or a valid record that
// contradicts the log, makes Open fail with a *CorruptError that names the
// file and offset (errors.Is(err, ErrCorrupt)); then nothing on disk has
// been changed.
func Open(dir string, opt Options) (*WAL, raft.State, error) {
	if opt.SegmentBytes <= 0 {
		opt.SegmentBytes = DefaultSegmentBytes
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, raft.State{}, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, raft.State{}, err
	}
	w := &WAL{dir: dir, opt: opt, log: opt.Logger, lock: lock}
	st, err := w.recover()
	if err != nil {
		if w.f != nil {
			w.f.Close()
		}
		lock.Close()
		return nil, raft.State{}, err
	}
	return w, st, nil
}

func (w *WAL) recover() (raft.State, error) {
	rc, err := recoverDir(w.dir)
	if err != nil {
		return raft.State{}, err
	}
	// Everything is sound; from here on Open may change the files.
	for _, tmp := range rc.tmps {
		if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
			return raft.State{}, err
		}
	}
	if len(rc.segs) == 0 {
		h := segmentHeader{seq: 1, next: 1}
		f, path, hdrEnd, err := createSegment(w.dir, &h, w.opt.SegmentBytes, w.opt.NoSync)
		if err != nil {
			return raft.State{}, err
		}
		w.f, w.off, w.headerEnd = f, hdrEnd, hdrEnd
		w.segs = []segment{{seq: 1, first: 1, path: path}}
		w.last, w.wLast = 0, 0
		w.log.Info("wal: created", "dir", w.dir)
		return raft.State{}, nil
	}

	tail := &rc.segs[len(rc.segs)-1]
	f, err := os.OpenFile(tail.path, os.O_RDWR, 0)
	if err != nil {
		return raft.State{}, err
	}
	w.f = f
	if rc.torn != nil {
		t := rc.torn
		w.log.Warn("wal: cutting torn tail", "file", t.File, "offset", t.Offset, "bytes", t.Bytes, "reason", t.Err)
		// Cut, then give the space back as zeros: new writes must not be
		// followed by what remains of the torn one.
		if err := f.Truncate(rc.end); err != nil {
			return raft.State{}, err
		}
		rc.size = rc.end
	}
	if rc.size < w.opt.SegmentBytes {
		if err := preallocate(f, w.opt.SegmentBytes); err != nil {
			return raft.State{}, fmt.Errorf("wal: preallocate %s: %w", tail.path, err)
		}
	}
	if rc.torn != nil && !w.opt.NoSync {
		if err := f.Sync(); err != nil {
			return raft.State{}, err
		}
	}
	w.off, w.headerEnd = rc.end, rc.headerSz
	w.segs = rc.segs

	rp := &rc.rp
	w.last, w.hs, w.snap = rp.last(), rp.hs, rp.snap
	w.wLast, w.wHS, w.wSnap = w.last, w.hs, w.snap
	for i := range rp.ents {
		w.pushTerm(rp.ents[i].Index, rp.ents[i].Term)
	}
	w.recovery = Recovery{Segments: len(rc.segs), Records: rp.records, TornTail: rc.torn}
	w.log.Info("wal: opened", "dir", w.dir, "segments", len(rc.segs), "records", rp.records,
		"snapshot", w.snap.Index, "last", w.last, "term", w.hs.Term)
	return rp.state(), nil
}

// Recovery reports what Open found, including a torn tail it cut off.
func (w *WAL) Recovery() Recovery { return w.recovery }

// LastIndex returns the index of the last entry, counting what is queued
// but not yet synced (after a snapshot marker that emptied the log, the
// marker's index).
func (w *WAL) LastIndex() uint64 { return w.last }

// Save queues the entries, then the hard state if it is non-zero and
// differs from the last one. If ents[0].Index is not beyond the last index,
// the log is first truncated there (a truncation record, so recovery does
// the same). Nothing is written before Sync.
//
// ents must be contiguous, start at most one past the last index and after
// the snapshot marker; otherwise Save returns ErrInvalid and queues
// nothing. The WAL copies the entries into its buffer: the caller keeps
// ownership of ents and their data.
func (w *WAL) Save(hs raft.HardState, ents []raft.Entry) error {
	if w.err != nil {
		return w.err
	}
	if len(ents) > 0 {
		bytes, err := w.checkAppend(ents)
		if err != nil {
			return err
		}
		// One grow for the whole batch; the buffer is kept between
		// Syncs, so a steady load appends without allocating.
		w.buf = slices.Grow(w.buf, bytes)
		first := ents[0].Index
		if first <= w.last {
			w.buf = appendTruncateRecord(w.buf, len(w.buf) == 0, first)
			w.truncateTerms(first)
		}
		for i := range ents {
			w.buf = appendEntryRecord(w.buf, len(w.buf) == 0, &ents[i])
			w.pushTerm(ents[i].Index, ents[i].Term)
		}
		w.last = ents[len(ents)-1].Index
		w.batchMax = max(w.batchMax, w.last)
	}
	if hs != (raft.HardState{}) && hs != w.hs {
		w.buf = appendHardStateRecord(w.buf, len(w.buf) == 0, hs)
		w.hs = hs
	}
	return nil
}

// checkAppend validates a Save and returns the bytes its records take.
func (w *WAL) checkAppend(ents []raft.Entry) (int, error) {
	first := ents[0].Index
	switch {
	case first == 0:
		return 0, fmt.Errorf("%w: entry index 0", ErrInvalid)
	case first <= w.snap.Index:
		return 0, fmt.Errorf("%w: entry %d is at or below the snapshot %d", ErrInvalid, first, w.snap.Index)
	case first > w.last+1:
		return 0, fmt.Errorf("%w: entry %d leaves a gap after the last index %d", ErrInvalid, first, w.last)
	}
	bytes := headerBytes + truncateBytes + headerBytes + hardStateBytes
	for i := range ents {
		e := &ents[i]
		if e.Index != first+uint64(i) {
			return 0, fmt.Errorf("%w: entry %d at position %d of a batch starting at %d", ErrInvalid, e.Index, i, first)
		}
		if len(e.Data) > MaxRecordBytes-entryFixedBytes {
			return 0, fmt.Errorf("%w: entry %d has %d bytes of data (max %d)", ErrTooLarge, e.Index, len(e.Data), MaxRecordBytes-entryFixedBytes)
		}
		bytes += headerBytes + entryFixedBytes + len(e.Data)
	}
	return bytes, nil
}

// SaveSnapshot queues a snapshot marker: a snapshot of the state machine
// through meta.Index is durable elsewhere, and the log now starts after it.
// Recovery returns only entries after the latest marker.
//
// If the log holds meta.Index with meta.Term, the entries after it are
// kept (a snapshot taken locally). Otherwise every entry is discarded and
// the next one appended must be meta.Index+1 (a snapshot received from the
// leader that replaces a log that disagrees with it): this is the rule the
// core follows when it installs a snapshot. A marker at or below the
// current one is ignored. Nothing is written before Sync.
func (w *WAL) SaveSnapshot(meta raft.SnapshotMeta) error {
	if w.err != nil {
		return w.err
	}
	if meta.Index <= w.snap.Index {
		return nil
	}
	if len(meta.Voters) > maxVoters {
		return fmt.Errorf("%w: snapshot with %d voters", ErrTooLarge, len(meta.Voters))
	}
	keep := meta.Index < w.last && w.termAt(meta.Index) == meta.Term
	w.buf = appendSnapshotRecord(w.buf, len(w.buf) == 0, &meta)
	if keep {
		w.dropTermsThrough(meta.Index)
	} else {
		if meta.Index < w.last {
			w.buf = appendTruncateRecord(w.buf, false, meta.Index+1)
		}
		w.terms = w.terms[:0]
		w.last = meta.Index
	}
	meta.Voters = slices.Clone(meta.Voters) // the caller keeps its slice
	w.snap = meta
	return nil
}

// maxKeptBufferBytes bounds the encode buffer kept between Syncs: a rare
// huge batch should not pin its memory forever.
const maxKeptBufferBytes = 16 << 20

// Sync writes everything queued with one write and makes it durable with
// one fdatasync (group commit). If the write does not fit in the current
// segment, it first moves to a new one; a write never spans segments.
//
// If Sync fails, the WAL is unusable: every later call returns the same
// error. Close it and Open again, which recovers what is durable (the
// failed write may or may not be there).
func (w *WAL) Sync() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	if w.off > w.headerEnd && w.off+int64(len(w.buf)) > w.opt.SegmentBytes {
		if err := w.rotate(); err != nil {
			return w.fail(fmt.Errorf("wal: new segment: %w", err))
		}
	}
	if _, err := w.f.WriteAt(w.buf, w.off); err != nil {
		return w.fail(fmt.Errorf("wal: write: %w", err))
	}
	if !w.opt.NoSync {
		if err := fdatasync(w.f); err != nil {
			return w.fail(fmt.Errorf("wal: %w", err))
		}
	}
	w.off += int64(len(w.buf))
	if w.spare == nil && !w.opt.NoSync && w.off > w.opt.SegmentBytes/2 {
		w.startSpare()
	}
	seg := &w.segs[len(w.segs)-1]
	seg.maxIndex = max(seg.maxIndex, w.batchMax)
	w.batchMax = 0
	w.wLast, w.wHS, w.wSnap = w.last, w.hs, w.snap
	if cap(w.buf) > maxKeptBufferBytes {
		w.buf = nil
	} else {
		w.buf = w.buf[:0]
	}
	return nil
}

func (w *WAL) fail(err error) error {
	w.err = err
	w.log.Error("wal: failed; reopen to recover", "err", err)
	return err
}

// startSpare prepares the next segment's file on a goroutine of its own.
func (w *WAL) startSpare() {
	ch := make(chan spareSegment, 1)
	w.spare = ch
	dir, seq, size := w.dir, w.segs[len(w.segs)-1].seq+1, w.opt.SegmentBytes
	go func() { ch <- prepareSpare(dir, seq, size) }()
}

// takeSpare waits for the prepared spare file, if one was asked for (a
// rotation that comes before it is ready waits for the rest of it).
func (w *WAL) takeSpare() (spareSegment, bool) {
	if w.spare == nil {
		return spareSegment{}, false
	}
	s := <-w.spare
	w.spare = nil
	if s.err != nil {
		w.log.Warn("wal: preparing the next segment failed; creating it now", "err", s.err)
		return s, false
	}
	return s, true
}

// rotate moves writing to a new segment whose header carries the written
// state.
func (w *WAL) rotate() error {
	prev := w.segs[len(w.segs)-1]
	h := segmentHeader{seq: prev.seq + 1, next: w.wLast + 1, hs: w.wHS, snap: w.wSnap}
	var (
		f      *os.File
		path   string
		hdrEnd int64
		err    error
	)
	if s, ok := w.takeSpare(); ok {
		f, path, hdrEnd, err = finishSegment(w.dir, s.f, s.tmp, &h, w.opt.NoSync)
	} else {
		f, path, hdrEnd, err = createSegment(w.dir, &h, w.opt.SegmentBytes, w.opt.NoSync)
	}
	if err != nil {
		return err
	}
	// The old segment keeps what was written; its preallocated rest goes
	// back. Not needed for correctness (zeros end a segment as well as
	// the end of the file does), so a failure is only logged.
	if err := w.f.Truncate(w.off); err != nil {
		w.log.Warn("wal: trimming segment", "file", prev.path, "err", err)
	}
	if err := w.f.Close(); err != nil {
		w.log.Warn("wal: closing segment", "file", prev.path, "err", err)
	}
	w.f, w.off, w.headerEnd = f, hdrEnd, hdrEnd
	w.segs = append(w.segs, segment{seq: h.seq, first: h.next, path: path, maxIndex: h.next - 1})
	w.log.Debug("wal: new segment", "file", path, "first", h.next)
	return nil
}

// Compact deletes the oldest segments whose entries all have indexes at or
// below index, and at or below the last snapshot marker written by a Sync
// (without that marker, recovery would miss the entries they held). The
// segment being written is never deleted. Segments go oldest first, each
// deletion made durable before the next, so a crash leaves a suffix of the
// segments.
func (w *WAL) Compact(index uint64) error {
	if w.err != nil {
		return w.err
	}
	limit := min(index, w.wSnap.Index)
	n := 0
	for n < len(w.segs)-1 && w.segs[n].maxIndex <= limit {
		if err := os.Remove(w.segs[n].path); err != nil {
			w.segs = slices.Delete(w.segs, 0, n)
			return fmt.Errorf("wal: compact: %w", err)
		}
		if !w.opt.NoSync {
			if err := syncDir(w.dir); err != nil {
				w.segs = slices.Delete(w.segs, 0, n+1)
				return fmt.Errorf("wal: compact: %w", err)
			}
		}
		w.log.Debug("wal: deleted segment", "file", w.segs[n].path, "through", w.segs[n].maxIndex)
		n++
	}
	w.segs = slices.Delete(w.segs, 0, n)
	return nil
}

// Close syncs what is queued and releases the files. Calls after Close
// return ErrClosed.
func (w *WAL) Close() error {
	if w.err == ErrClosed {
		return ErrClosed
	}
	var err error
	if w.err == nil {
		err = w.Sync()
	}
	if s, ok := w.takeSpare(); ok { // not needed any more
		s.f.Close()
		os.Remove(s.tmp)
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if cerr := w.lock.Close(); err == nil {
		err = cerr
	}
	w.err = ErrClosed
	w.buf = nil
	return err
}

func (w *WAL) pushTerm(index, term uint64) {
	if n := len(w.terms); n == 0 || w.terms[n-1].term != term {
		w.terms = append(w.terms, termRun{index, term})
	}
}

// truncateTerms forgets the terms of entries from index on.
func (w *WAL) truncateTerms(index uint64) {
	i := sort.Search(len(w.terms), func(i int) bool { return w.terms[i].index >= index })
	w.terms = w.terms[:i]
}

// termAt returns the term of entry index, which must be in
// (snap.Index, last].
func (w *WAL) termAt(index uint64) uint64 {
	i := sort.Search(len(w.terms), func(i int) bool { return w.terms[i].index > index })
	if i == 0 {
		return 0
	}
	return w.terms[i-1].term
}

// dropTermsThrough forgets the terms of entries up to index (< last).
func (w *WAL) dropTermsThrough(index uint64) {
	i := sort.Search(len(w.terms), func(i int) bool { return w.terms[i].index > index })
	if i > 0 && (i == len(w.terms) || w.terms[i].index > index+1) {
		i--
		w.terms[i].index = index + 1
	}
	w.terms = append(w.terms[:0], w.terms[i:]...)
}
