package codec

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/raftbench/raftbench/raft"
)

// Message layout (every integer an unsigned varint unless marked u8):
//
//	type u8 | flags u8 | from | to | term | logTerm | index | commit |
//	hintTerm | hintIndex | len(context) context |
//	len(entries) { term | index | type u8 | len(data) data }* |
//	[flagSnapshot: snapIndex | snapTerm | len(voters) voter* | len(data) data]
const (
	flagReject   = 1 << 0
	flagSnapshot = 1 << 1
	flagsKnown   = flagReject | flagSnapshot
)

// minEntryBytes is the smallest encoding of an entry (four one-byte
// fields); the decoder uses it to bound an entry count by the bytes left.
const minEntryBytes = 4

func uvarintLen(v uint64) int { return (bits.Len64(v|1) + 6) / 7 }

func bytesLen(b []byte) int { return uvarintLen(uint64(len(b))) + len(b) }

// MessageSize returns the exact length of m's encoding.
func MessageSize(m *raft.Message) int {
	n := 2 + uvarintLen(m.From) + uvarintLen(m.To) + uvarintLen(m.Term) + uvarintLen(m.LogTerm) +
		uvarintLen(m.Index) + uvarintLen(m.Commit) + uvarintLen(m.HintTerm) + uvarintLen(m.HintIndex) +
		bytesLen(m.Context) + uvarintLen(uint64(len(m.Entries)))
	for i := range m.Entries {
		e := &m.Entries[i]
		n += uvarintLen(e.Term) + uvarintLen(e.Index) + 1 + bytesLen(e.Data)
	}
	if s := m.Snapshot; s != nil {
		n += uvarintLen(s.Meta.Index) + uvarintLen(s.Meta.Term) + uvarintLen(uint64(len(s.Meta.Voters)))
		for _, v := range s.Meta.Voters {
			n += uvarintLen(v)
		}
		n += bytesLen(s.Data)
	}
	return n
}

// AppendMessage appends m's encoding to b. If b has MessageSize(m) bytes of
// spare capacity it does not allocate.
func AppendMessage(b []byte, m *raft.Message) []byte {
	var flags byte
	if m.Reject {
		flags |= flagReject
	}
	if m.Snapshot != nil {
		flags |= flagSnapshot
	}
	b = append(b, byte(m.Type), flags)
	b = binary.AppendUvarint(b, m.From)
	b = binary.AppendUvarint(b, m.To)
	b = binary.AppendUvarint(b, m.Term)
	b = binary.AppendUvarint(b, m.LogTerm)
	b = binary.AppendUvarint(b, m.Index)
	b = binary.AppendUvarint(b, m.Commit)
	b = binary.AppendUvarint(b, m.HintTerm)
	b = binary.AppendUvarint(b, m.HintIndex)
	b = appendBytes(b, m.Context)
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for i := range m.Entries {
		e := &m.Entries[i]
		b = binary.AppendUvarint(b, e.Term)
		b = binary.AppendUvarint(b, e.Index)
		b = append(b, byte(e.Type))
		b = appendBytes(b, e.Data)
	}
	if s := m.Snapshot; s != nil {
		b = binary.AppendUvarint(b, s.Meta.Index)
		b = binary.AppendUvarint(b, s.Meta.Term)
		b = binary.AppendUvarint(b, uint64(len(s.Meta.Voters)))
		for _, v := range s.Meta.Voters {
			b = binary.AppendUvarint(b, v)
		}
		b = appendBytes(b, s.Data)
	}
	return b
}

func appendBytes(b, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

// UnmarshalMessage decodes p into m, overwriting all of m.
//
// The decoded message refers to p: Context, every entry's Data and the
// snapshot's Data are sub-slices of p (capacity-limited, so appending to one
// cannot overwrite another), and p must not be reused while m is in use.
// Empty byte fields, entry lists and voter lists decode as nil. The only
// allocations are the entries slice, the snapshot and its voters; each
// count is checked against the bytes left before anything is allocated, so
// a payload of n bytes allocates at most n/4 entries and n voters.
//
// Malformed input (unknown message type or flags, a length or count beyond
// the bytes left, a bad varint, trailing bytes) returns an error wrapping
// ErrMalformed or ErrTruncated.
func UnmarshalMessage(p []byte, m *raft.Message) error {
	d := decoder{p: p}
	*m = raft.Message{}
	m.Type = raft.MessageType(d.byte())
	flags := d.byte()
	if d.err != nil {
		return d.err
	}
	if !m.Type.Valid() {
		return fmt.Errorf("%w: message type %d", ErrMalformed, m.Type)
	}
	if flags&^flagsKnown != 0 {
		return fmt.Errorf("%w: message flags %#x", ErrMalformed, flags)
	}
	m.Reject = flags&flagReject != 0
	m.From = d.uvarint()
	m.To = d.uvarint()
	m.Term = d.uvarint()
	m.LogTerm = d.uvarint()
	m.Index = d.uvarint()
	m.Commit = d.uvarint()
	m.HintTerm = d.uvarint()
	m.HintIndex = d.uvarint()
	m.Context = d.bytes()
	if n := d.count(minEntryBytes); n > 0 {
		m.Entries = make([]raft.Entry, n)
		d.entries(m.Entries)
	}
	if flags&flagSnapshot != 0 {
		s := &raft.Snapshot{}
		s.Meta.Index = d.uvarint()
		s.Meta.Term = d.uvarint()
		if n := d.count(1); n > 0 {
			s.Meta.Voters = make([]uint64, n)
			for i := range s.Meta.Voters {
				s.Meta.Voters[i] = d.uvarint()
			}
		}
		s.Data = d.bytes()
		m.Snapshot = s
	}
	if d.err != nil {
		return d.err
	}
	if d.left() != 0 {
		return fmt.Errorf("%w: %d trailing bytes after message", ErrMalformed, d.left())
	}
	return nil
}

// decoder reads p from offset i and remembers the first error; once it
// has one, i is at the end and every read returns zero, so callers check
// err once. byte and uvarint have inlinable fast paths (most fields are
// one-byte varints) and leave the rest out of line.
type decoder struct {
	p   []byte
	i   int
	err error
}

func (d *decoder) left() int { return len(d.p) - d.i }

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.i = len(d.p)
}

func (d *decoder) byte() byte {
	if i := d.i; uint(i) < uint(len(d.p)) {
		d.i = i + 1
		return d.p[i]
	}
	d.failTruncated()
	return 0
}

//go:noinline
func (d *decoder) failTruncated() {
	d.fail(fmt.Errorf("%w: message ends inside a field", ErrTruncated))
}

func (d *decoder) uvarint() uint64 {
	if i := d.i; uint(i) < uint(len(d.p)) {
		if b := d.p[i]; b < 0x80 {
			d.i = i + 1
			return uint64(b)
		}
	}
	return d.uvarintSlow()
}

func (d *decoder) uvarintSlow() uint64 {
	v, n := binary.Uvarint(d.p[d.i:])
	switch {
	case n > 0:
		d.i += n
		return v
	case n == 0:
		d.fail(fmt.Errorf("%w: message ends inside a varint", ErrTruncated))
	default:
		d.fail(fmt.Errorf("%w: varint overflows 64 bits", ErrMalformed))
	}
	return 0
}

// bytes reads a length-prefixed byte string as a sub-slice of the input,
// capacity-limited to its length.
func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n == 0 {
		return nil
	}
	if n > uint64(d.left()) {
		d.fail(fmt.Errorf("%w: byte string of %d bytes, %d left", ErrTruncated, n, d.left()))
		return nil
	}
	end := d.i + int(n)
	b := d.p[d.i:end:end]
	d.i = end
	return b
}

// entries decodes len(ents) entries. It is the hot loop of decoding an
// AppendEntries, so it works on a local offset with a plain varint loop; an
// entry it cannot decode is decoded again by the general methods, which
// report the error.
func (d *decoder) entries(ents []raft.Entry) {
	p := d.p
	for k := range ents {
		e := &ents[k]
		term, i, ok := uvarintAt(p, d.i)
		var index, n uint64
		if ok {
			index, i, ok = uvarintAt(p, i)
		}
		if ok && i < len(p) {
			e.Type = raft.EntryType(p[i])
			n, i, ok = uvarintAt(p, i+1)
		} else {
			ok = false
		}
		if !ok || n > uint64(len(p)-i) {
			e.Term, e.Index, e.Type, e.Data = d.uvarint(), d.uvarint(), raft.EntryType(d.byte()), d.bytes()
			if d.err != nil {
				return
			}
			continue
		}
		e.Term, e.Index = term, index
		if n > 0 {
			end := i + int(n)
			e.Data = p[i:end:end]
			i = end
		}
		d.i = i
	}
}

// uvarintAt decodes the varint at p[i:]; ok is false if it is truncated or
// overflows.
func uvarintAt(p []byte, i int) (v uint64, next int, ok bool) {
	var shift uint
	for j := i; j < len(p) && j-i < binary.MaxVarintLen64; j++ {
		b := p[j]
		if b < 0x80 {
			if j-i == binary.MaxVarintLen64-1 && b > 1 {
				return 0, i, false
			}
			return v | uint64(b)<<shift, j + 1, true
		}
		v |= uint64(b&0x7f) << shift
		shift += 7
	}
	return 0, i, false
}

// count reads an element count and checks that the bytes left can hold that
// many elements of at least minBytes each, so that a forged count cannot
// make the caller allocate more than the input justifies.
func (d *decoder) count(minBytes int) int {
	n := d.uvarint()
	if n > uint64(d.left()/minBytes) {
		d.fail(fmt.Errorf("%w: count %d exceeds what %d bytes can hold", ErrTruncated, n, d.left()))
		return 0
	}
	return int(n)
}
