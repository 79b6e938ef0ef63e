package snap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"

	"github.com/raftbench/raftbench/raft"
)

// writeBufferBytes is the Writer's buffer. Writes of at least this size
// bypass it, so a caller that writes large chunks pays no copy.
const writeBufferBytes = 256 << 10

// ErrFinished is returned by Write and Commit on a Writer that has already
// been committed or aborted (or whose Commit failed).
var ErrFinished = errors.New("snap: snapshot writer already finished")

// Writer streams one snapshot's payload into a temporary file. It is not
// safe for concurrent use. Every Writer must end with Commit or Abort; the
// usual pattern is
//
//	w, err := store.Create(meta)
//	if err != nil { ... }
//	defer w.Abort() // no-op after a successful Commit
//	if _, err := view.WriteTo(w); err != nil { return err }
//	return w.Commit()
type Writer struct {
	s     *Store
	f     *os.File
	name  string // the final name
	meta  raft.SnapshotMeta
	bw    *bufio.Writer
	crc   uint32 // crc32c of the payload so far
	bytes uint64 // payload bytes so far
	// hdrBytes is the header's size: the header is rewritten in place at
	// Commit with the payload length, and must not change size.
	hdrBytes int
	err      error // sticky write error
	finished bool
}

func newWriter(s *Store, f *os.File, name string, meta raft.SnapshotMeta) *Writer {
	w := &Writer{s: s, f: f, name: name, meta: meta, bw: bufio.NewWriterSize(f, writeBufferBytes)}
	// The payload length is not known yet: write 0 and fix it at Commit.
	// The placeholder's checksum is valid, which does no harm: the file
	// keeps its temporary name until the real header is in place and
	// synced.
	hdr := appendHeader(nil, header{meta: meta})
	w.hdrBytes = len(hdr)
	if _, err := w.bw.Write(hdr); err != nil {
		w.err = fmt.Errorf("snap: writing header: %w", err)
	}
	return w
}

// Write appends p to the payload. After an error every later Write and
// Commit fails; the caller should Abort.
func (w *Writer) Write(p []byte) (int, error) {
	if w.finished {
		return 0, ErrFinished
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.bw.Write(p)
	w.crc = crc32.Update(w.crc, castagnoli, p[:n])
	w.bytes += uint64(n)
	if err != nil {
		w.err = fmt.Errorf("snap: writing payload: %w", err)
		return n, w.err
	}
	return n, nil
}

// Commit completes the snapshot: it writes the trailer and the final
// header, fsyncs the file, renames it into place, fsyncs the directory and
// prunes older snapshots beyond Options.Keep (never the one just
// committed). Once Commit returns nil the snapshot is durable and Latest
// returns it (unless a newer one exists). On any error the temporary file
// is removed — except when only the final directory fsync failed: then the
// complete snapshot stays in place but may not survive a crash. An error
// wrapping fs.ErrExist means another Writer committed the same term and
// index first. After Commit, the Writer is finished whatever the outcome.
func (w *Writer) Commit() error {
	if w.finished {
		return ErrFinished
	}
	w.finished = true
	defer func() { w.bw = nil }() // release the buffer
	tmp := w.f.Name()
	if err := w.complete(); err != nil {
		w.f.Close()
		os.Remove(tmp)
		return err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("snap: closing snapshot: %w", err)
	}
	if err := w.s.install(tmp, w.name); err != nil {
		// Fails harmlessly (the name is gone) if the rename happened and
		// only the directory sync failed.
		os.Remove(tmp)
		return err
	}
	w.s.log.Info("snap: committed snapshot", "dir", w.s.dir, "file", w.name,
		"index", w.meta.Index, "term", w.meta.Term, "payload_bytes", w.bytes)
	return nil
}

// complete writes the trailer and the final header and syncs the file.
func (w *Writer) complete() error {
	if w.err != nil {
		return w.err
	}
	var trailer [trailerBytes]byte
	binary.BigEndian.PutUint32(trailer[:], w.crc)
	if _, err := w.bw.Write(trailer[:]); err != nil {
		return fmt.Errorf("snap: writing trailer: %w", err)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("snap: writing payload: %w", err)
	}
	hdr := appendHeader(nil, header{meta: w.meta, payloadBytes: w.bytes})
	if len(hdr) != w.hdrBytes {
		panic(fmt.Sprintf("snap: header changed size from %d to %d bytes", w.hdrBytes, len(hdr)))
	}
	if _, err := w.f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("snap: writing header: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("snap: syncing snapshot: %w", err)
	}
	return nil
}

// Abort abandons the snapshot and removes its temporary file. It is a no-op
// returning nil on a finished Writer, so it can be deferred.
func (w *Writer) Abort() error {
	if w.finished {
		return nil
	}
	w.finished = true
	w.bw = nil
	w.f.Close()
	if err := os.Remove(w.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snap: removing unfinished snapshot: %w", err)
	}
	return nil
}
