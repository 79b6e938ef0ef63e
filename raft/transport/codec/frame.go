package codec

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/raftbench/raftbench/raft"
)

// HeaderBytes is the size of a frame header: a 4-byte big-endian body
// length followed by a 1-byte kind.
const HeaderBytes = 5

// DefaultMaxFrameBytes is the default limit on a frame's body.
const DefaultMaxFrameBytes = 16 << 20

// MaxFrameLimit is the largest body length a frame header can express that
// this package accepts as a limit (a limit must also fit an int on 32-bit
// platforms).
const MaxFrameLimit = 1<<31 - 1

// Kind says what a frame's body holds.
type Kind uint8

const (
	// KindHello opens every connection: the dialer's Hello.
	KindHello Kind = iota + 1
	// KindStatus answers a Hello, and ends a snapshot stream from the
	// receiver's side: a Status code and a reason.
	KindStatus
	// KindMessage holds one raft.Message (UnmarshalMessage).
	KindMessage
	// KindChunk holds a piece of a snapshot's data.
	KindChunk
	// KindEnd ends a snapshot's data (empty body).
	KindEnd
	kindEnd
)

func (k Kind) String() string {
	switch k {
	case KindHello:
		return "hello"
	case KindStatus:
		return "status"
	case KindMessage:
		return "message"
	case KindChunk:
		return "chunk"
	case KindEnd:
		return "end"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is a known frame kind.
func (k Kind) Valid() bool { return k > 0 && k < kindEnd }

// Errors wrapped by every decoding failure.
var (
	// ErrMalformed: the bytes cannot be a valid encoding.
	ErrMalformed = errors.New("codec: malformed")
	// ErrTruncated: the bytes end before the encoding does (or a length
	// points beyond them).
	ErrTruncated = errors.New("codec: truncated")
	// ErrFrameTooLarge: a frame header announces a body beyond the limit.
	ErrFrameTooLarge = errors.New("codec: frame too large")
)

// AppendHeader appends the header of a frame of kind k with a body of n
// bytes.
func AppendHeader(b []byte, k Kind, n int) []byte {
	if n < 0 || n > MaxFrameLimit {
		panic(fmt.Sprintf("codec: frame body of %d bytes", n))
	}
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, byte(k))
}

// AppendFrame appends a whole frame of kind k holding body.
func AppendFrame(b []byte, k Kind, body []byte) []byte {
	return append(AppendHeader(b, k, len(body)), body...)
}

// MessageFrameSize returns the length of m's frame, header included.
func MessageFrameSize(m *raft.Message) int { return HeaderBytes + MessageSize(m) }

// AppendMessageFrame appends a KindMessage frame holding m. With
// MessageFrameSize(m) bytes of spare capacity in b it does not allocate.
func AppendMessageFrame(b []byte, m *raft.Message) []byte {
	b = AppendHeader(b, KindMessage, MessageSize(m))
	return AppendMessage(b, m)
}

// ReadFrame reads one frame from r. The body is read into buf if its
// capacity suffices, else into a new slice of exactly the body's length;
// nothing is allocated before the announced length has been checked against
// maxBytes. A clean end of input before a header returns io.EOF; an end
// inside a frame returns an error wrapping ErrTruncated and
// io.ErrUnexpectedEOF; other read errors are returned as they are.
func ReadFrame(r *bufio.Reader, buf []byte, maxBytes int) (Kind, []byte, error) {
	// Peek and Discard rather than io.ReadFull into an array: the array
	// would escape through the io.Reader interface and cost an allocation
	// per frame.
	hdr, err := r.Peek(HeaderBytes)
	if err != nil {
		if err == io.EOF {
			if len(hdr) == 0 {
				return 0, nil, io.EOF
			}
			return 0, nil, fmt.Errorf("%w: %w in a frame header", ErrTruncated, io.ErrUnexpectedEOF)
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr)
	k := Kind(hdr[4])
	if _, err := r.Discard(HeaderBytes); err != nil {
		return 0, nil, err
	}
	if uint64(n) > uint64(maxBytes) {
		return 0, nil, fmt.Errorf("%w: %d-byte body, limit %d", ErrFrameTooLarge, n, maxBytes)
	}
	if !k.Valid() {
		return 0, nil, fmt.Errorf("%w: frame kind %d", ErrMalformed, k)
	}
	var body []byte
	if uint64(cap(buf)) >= uint64(n) {
		body = buf[:n]
	} else {
		body = make([]byte, n)
	}
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return 0, nil, fmt.Errorf("%w: %w in a %d-byte %v frame", ErrTruncated, io.ErrUnexpectedEOF, n, k)
		}
		return 0, nil, err
	}
	return k, body, nil
}

// FrameBuffered reports whether r holds a whole frame, so that reading it
// will not wait on the network.
func FrameBuffered(r *bufio.Reader) bool {
	if r.Buffered() < HeaderBytes {
		return false
	}
	hdr, err := r.Peek(HeaderBytes)
	if err != nil {
		return false
	}
	return uint64(r.Buffered()) >= HeaderBytes+uint64(binary.BigEndian.Uint32(hdr))
}
