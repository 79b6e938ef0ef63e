package etcd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"go.etcd.io/raft/v3/raftpb"
)

// A frame is one raft message on the wire: a 4-byte little-endian length,
// then raftpb.Message.Marshal() of that length. A writer batches many
// frames into one write; a reader takes them one at a time.
const (
	frameHeaderBytes = 4
	// maxFrameBytes bounds one message, so a garbage length can neither
	// make a reader allocate without limit nor wait for bytes that never
	// come. It must hold the largest MsgSnap: the whole KV serialized.
	maxFrameBytes = 256 << 20
)

var (
	errShortFrame = errors.New("etcd engine: truncated frame")
	errFrameSize  = fmt.Errorf("etcd engine: frame larger than %d bytes", maxFrameBytes)
)

// appendFrame appends m as one frame. It marshals straight into buf: a
// steady stream of messages appends into the same grown buffer without
// allocating.
func appendFrame(buf []byte, m *raftpb.Message) []byte {
	n := m.Size()
	start := len(buf)
	need := start + frameHeaderBytes + n
	if cap(buf) < need {
		grown := make([]byte, start, max(need, 2*cap(buf)))
		copy(grown, buf)
		buf = grown
	}
	buf = buf[:need]
	binary.LittleEndian.PutUint32(buf[start:], uint32(n))
	if _, err := m.MarshalToSizedBuffer(buf[start+frameHeaderBytes : need]); err != nil {
		// MarshalToSizedBuffer fails only if Size lied: a programmer error.
		panic(fmt.Sprintf("etcd engine: marshal %v: %v", m.Type, err))
	}
	return buf
}

// decodeFrame decodes the first frame of b into m (which it resets) and
// returns the bytes it used. A truncated frame, an oversized length or a
// payload that is not a raftpb.Message is an error. m's byte fields never
// alias b (the generated decoder copies them), so b may be reused.
func decodeFrame(b []byte, m *raftpb.Message) (int, error) {
	if len(b) < frameHeaderBytes {
		return 0, errShortFrame
	}
	n := binary.LittleEndian.Uint32(b)
	if n > maxFrameBytes {
		return 0, errFrameSize
	}
	end := frameHeaderBytes + int(n)
	if len(b) < end {
		return 0, errShortFrame
	}
	*m = raftpb.Message{}
	if err := m.Unmarshal(b[frameHeaderBytes:end]); err != nil {
		return 0, fmt.Errorf("etcd engine: bad frame: %w", err)
	}
	return end, nil
}

// readFrame reads one frame from r into *buf (grown as needed and kept for
// the next call) and decodes it into m.
func readFrame(r *bufio.Reader, buf *[]byte, m *raftpb.Message) error {
	var hdr [frameHeaderBytes]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n > maxFrameBytes {
		return errFrameSize
	}
	need := frameHeaderBytes + int(n)
	if cap(*buf) < need {
		*buf = make([]byte, need)
	}
	b := (*buf)[:need]
	copy(b, hdr[:])
	if _, err := io.ReadFull(r, b[frameHeaderBytes:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	if _, err := decodeFrame(b, m); err != nil {
		return err
	}
	// A rare huge frame (a snapshot) should not pin its buffer.
	if cap(*buf) > 4<<20 {
		*buf = nil
	}
	return nil
}
