package codec

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// magic opens every Hello: "RBT" and the protocol version.
var magic = [4]byte{'R', 'B', 'T', Version}

// Version is the wire protocol's version; a peer speaking another one is
// refused at the handshake.
const Version = 1

// Stream says what a connection carries after its handshake.
type Stream uint8

const (
	// StreamMessages carries KindMessage frames from the dialer to the
	// listener, and nothing back.
	StreamMessages Stream = iota + 1
	// StreamSnapshot carries one snapshot: a KindMessage frame (the
	// MsgSnap), KindChunk frames, a KindEnd frame; the listener answers
	// with one KindStatus frame.
	StreamSnapshot
	streamEnd
)

func (s Stream) String() string {
	switch s {
	case StreamMessages:
		return "messages"
	case StreamSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("Stream(%d)", uint8(s))
}

// Hello is the first frame on every connection. It names the dialer (From)
// and the node it means to reach (To) in cluster ClusterID.
type Hello struct {
	Stream    Stream
	ClusterID uint64
	From      uint64
	To        uint64
}

// HelloBytes is the length of a Hello's body.
const HelloBytes = 4 + 1 + 3*8

// AppendHello appends h's body: magic, stream, then the three ids as
// big-endian 64-bit integers.
func AppendHello(b []byte, h Hello) []byte {
	b = append(b, magic[:]...)
	b = append(b, byte(h.Stream))
	b = binary.BigEndian.AppendUint64(b, h.ClusterID)
	b = binary.BigEndian.AppendUint64(b, h.From)
	return binary.BigEndian.AppendUint64(b, h.To)
}

// ParseHello decodes a Hello's body.
func ParseHello(p []byte) (Hello, error) {
	if len(p) != HelloBytes {
		return Hello{}, fmt.Errorf("%w: hello of %d bytes, want %d", ErrMalformed, len(p), HelloBytes)
	}
	if [4]byte(p[:4]) != magic {
		return Hello{}, fmt.Errorf("%w: hello magic %q (protocol version %d expected)", ErrMalformed, p[:4], Version)
	}
	h := Hello{
		Stream:    Stream(p[4]),
		ClusterID: binary.BigEndian.Uint64(p[5:]),
		From:      binary.BigEndian.Uint64(p[13:]),
		To:        binary.BigEndian.Uint64(p[21:]),
	}
	if h.Stream == 0 || h.Stream >= streamEnd {
		return Hello{}, fmt.Errorf("%w: hello stream %d", ErrMalformed, h.Stream)
	}
	return h, nil
}

// Status is the answer to a Hello and the receiver's verdict on a snapshot
// stream.
type Status uint8

const (
	// StatusOK: the handshake (or snapshot) is accepted.
	StatusOK Status = iota
	// StatusRejected: the handshake is refused (unknown node, other
	// cluster, ...); the connection is closed.
	StatusRejected
	// StatusFailed: the receiver failed the snapshot (its handler returned
	// an error).
	StatusFailed
	statusEnd
)

func (s Status) String() string {
	switch s {
	case StatusOK:
		return "ok"
	case StatusRejected:
		return "rejected"
	case StatusFailed:
		return "failed"
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MaxReasonBytes bounds the reason text of a status frame.
const MaxReasonBytes = 1024

// AppendStatus appends a status body: the code, then the reason text
// (truncated to MaxReasonBytes at a character boundary).
func AppendStatus(b []byte, s Status, reason string) []byte {
	if len(reason) > MaxReasonBytes {
		cut := MaxReasonBytes
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	b = append(b, byte(s))
	return append(b, reason...)
}

// ParseStatus decodes a status body.
func ParseStatus(p []byte) (Status, string, error) {
	if len(p) < 1 {
		return 0, "", fmt.Errorf("%w: empty status", ErrTruncated)
	}
	s := Status(p[0])
	if s >= statusEnd {
		return 0, "", fmt.Errorf("%w: status code %d", ErrMalformed, s)
	}
	if len(p)-1 > MaxReasonBytes {
		return 0, "", fmt.Errorf("%w: status reason of %d bytes", ErrMalformed, len(p)-1)
	}
	return s, string(p[1:]), nil
}
