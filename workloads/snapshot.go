package workloads

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/tidwall/btree"
)

// ErrCorruptSnapshot is wrapped by every error Restore returns for input
// that is not a complete, valid snapshot.
var ErrCorruptSnapshot = errors.New("workloads: corrupt snapshot")

const (
	snapshotMagic   = "rbkvsnap"
	snapshotVersion = 1

	resultFlagFound    = 1 << 0
	resultFlagHasValue = 1 << 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapshotView is the frozen state Snapshot returns.
type snapshotView struct {
	tree     *btree.BTreeG[entry]
	sessions sessions
	applied  uint64
}

// WriteTo writes the snapshot format described in the package doc.
func (v *snapshotView) WriteTo(w io.Writer) (int64, error) {
	if v.tree == nil {
		return 0, errors.New("workloads: WriteTo of a released snapshot view")
	}
	e := newEncoder(w)
	e.write([]byte(snapshotMagic))
	e.u32(snapshotVersion)
	e.u64(v.applied)
	e.u64(uint64(v.sessions.len()))
	v.sessions.scan(func(s session) {
		e.u64(s.client)
		e.u64(s.seq)
		e.u64(s.lastIndex)
		var flags byte
		if s.result.Found {
			flags |= resultFlagFound
		}
		if s.result.Value != nil {
			flags |= resultFlagHasValue
		}
		e.u8(flags)
		e.u32(uint32(len(s.result.Value)))
		e.write(s.result.Value)
	})
	e.u64(uint64(v.tree.Len()))
	v.tree.Scan(func(en entry) bool {
		e.u32(uint32(en.keyLen()))
		e.u32(uint32(en.valueLen()))
		e.write(en.all())
		return e.err == nil
	})
	return e.finish()
}

// Release drops the view's references; the nodes it shared with the live
// state become garbage once the live state has copied them.
func (v *snapshotView) Release() {
	v.tree = nil
	v.sessions = sessions{}
}

type encoder struct {
	w   io.Writer
	buf []byte // bytes not yet checksummed and written
	crc uint32 // of every byte written to w so far
	n   int64
	err error
}

// encoderChunk is how many bytes the encoder gathers before it checksums
// and writes them in one go. The checksum of a large buffer takes the
// CPU's fast path; updated per key and value, it was 9% of a write-heavy
// run's CPU (three pieces of a few bytes to a few hundred per entry).
const encoderChunk = 64 << 10

func newEncoder(w io.Writer) *encoder {
	return &encoder{w: w, buf: make([]byte, 0, encoderChunk)}
}

// room makes space for n more bytes in buf.
func (e *encoder) room(n int) {
	if len(e.buf)+n > cap(e.buf) {
		e.flush()
	}
}

func (e *encoder) write(p []byte) {
	e.room(len(p))
	if len(p) > cap(e.buf) { // larger than a chunk: as it is
		e.emit(p)
		return
	}
	e.buf = append(e.buf, p...)
}

func (e *encoder) flush() {
	e.emit(e.buf)
	e.buf = e.buf[:0]
}

func (e *encoder) emit(p []byte) {
	if e.err != nil || len(p) == 0 {
		return
	}
	e.crc = crc32.Update(e.crc, castagnoli, p)
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *encoder) u8(x byte) { e.room(1); e.buf = append(e.buf, x) }
func (e *encoder) u32(x uint32) {
	e.room(4)
	e.buf = binary.LittleEndian.AppendUint32(e.buf, x)
}
func (e *encoder) u64(x uint64) {
	e.room(8)
	e.buf = binary.LittleEndian.AppendUint64(e.buf, x)
}

// finish writes what is buffered, then the checksum of every byte before
// it, and returns the bytes written and the first error.
func (e *encoder) finish() (int64, error) {
	e.flush()
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], e.crc)
	e.emit(sum[:])
	return e.n, e.err
}

// decoder reads the snapshot format with a sticky error and a running
// checksum. Every allocation it makes is bounded by the format's limits
// and, past 64 KiB, by the bytes actually read.
type decoder struct {
	r       *bufio.Reader
	crc     uint32
	err     error
	scratch [8]byte
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrCorruptSnapshot}, args...)...)
	}
}

func (d *decoder) read(p []byte) {
	if d.err != nil {
		return
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			d.fail("truncated")
		} else {
			d.err = fmt.Errorf("workloads: reading snapshot: %w", err)
		}
		return
	}
	d.crc = crc32.Update(d.crc, castagnoli, p)
}

func (d *decoder) u8() byte {
	d.read(d.scratch[:1])
	return d.scratch[0]
}

func (d *decoder) u32() uint32 {
	d.read(d.scratch[:4])
	return binary.LittleEndian.Uint32(d.scratch[:4])
}

func (d *decoder) u64() uint64 {
	d.read(d.scratch[:8])
	return binary.LittleEndian.Uint64(d.scratch[:8])
}

// bytes reads n bytes into a new slice, growing it as data arrives so that
// a corrupt length cannot make it allocate much more than the input holds.
func (d *decoder) bytes(n int) []byte {
	const chunk = 64 << 10
	if n <= chunk {
		p := make([]byte, n)
		d.read(p)
		return p
	}
	var p []byte
	for len(p) < n && d.err == nil {
		m := min(chunk, n-len(p))
		p = append(p, make([]byte, m)...)
		d.read(p[len(p)-m:])
	}
	return p
}

func readSnapshot(r io.Reader) (*btree.BTreeG[entry], sessions, uint64, error) {
	d := decoder{r: bufio.NewReaderSize(r, 64<<10)}
	var magic [len(snapshotMagic)]byte
	d.read(magic[:])
	if d.err == nil && string(magic[:]) != snapshotMagic {
		d.fail("bad magic %q", magic[:])
	}
	if v := d.u32(); d.err == nil && v != snapshotVersion {
		d.fail("version %d, want %d", v, snapshotVersion)
	}
	applied := d.u64()

	ss := newSessions()
	count := d.u64() // never used to size an allocation
	var prevIndex uint64
	for i := uint64(0); i < count && d.err == nil; i++ {
		s := session{client: d.u64(), seq: d.u64(), lastIndex: d.u64()}
		flags := d.u8()
		n := d.u32()
		switch {
		case d.err != nil:
		case s.client == 0:
			d.fail("session %d has client id 0", i)
		case s.lastIndex > applied || (i > 0 && s.lastIndex <= prevIndex):
			d.fail("session %d last used at %d (previous %d, applied %d)", i, s.lastIndex, prevIndex, applied)
		case flags&^(resultFlagFound|resultFlagHasValue) != 0:
			d.fail("session %d result flags %#x", i, flags)
		case n > MaxValueBytes || (n > 0 && flags&resultFlagHasValue == 0):
			d.fail("session %d result value length %d", i, n)
		}
		if d.err != nil {
			break
		}
		res := &Result{Found: flags&resultFlagFound != 0}
		if flags&resultFlagHasValue != 0 {
			res.Value = d.bytes(int(n))
		}
		s.result = res
		if _, dup := ss.get(s.client); dup {
			d.fail("session %d repeats client %d", i, s.client)
			break
		}
		ss.put(s)
		prevIndex = s.lastIndex
	}

	tree := newTree()
	count = d.u64()
	var prevKey []byte
	for i := uint64(0); i < count && d.err == nil; i++ {
		k, v := d.u32(), d.u32()
		if d.err != nil {
			break
		}
		if k == 0 || k > MaxKeyBytes || v > MaxValueBytes {
			d.fail("entry %d: key length %d, value length %d", i, k, v)
			break
		}
		buf := d.bytes(int(k) + int(v))
		if d.err != nil {
			break
		}
		key := buf[:k:k]
		if i > 0 && bytes.Compare(prevKey, key) >= 0 {
			d.fail("entry %d: keys out of order", i)
			break
		}
		tree.Load(newEntry(buf, int(k)))
		prevKey = key
	}

	want := d.crc
	if got := d.u32(); d.err == nil && got != want {
		d.fail("checksum %#08x, computed %#08x", got, want)
	}
	if d.err == nil {
		switch _, err := d.r.ReadByte(); {
		case err == nil:
			d.fail("trailing data")
		case err != io.EOF:
			d.err = fmt.Errorf("workloads: reading snapshot: %w", err)
		}
	}
	if d.err != nil {
		return nil, sessions{}, 0, d.err
	}
	return tree, ss, applied, nil
}
