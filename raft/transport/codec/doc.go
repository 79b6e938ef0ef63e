// Package codec is the wire format of the tcp transport: frames, the
// handshake, and a compact binary encoding of raft.Message.
//
// # Frames
//
// A connection is a sequence of frames:
//
//	length uint32 (big-endian, body bytes) | kind uint8 | body
//
// The reader checks length against its limit before it allocates or reads
// the body, so a forged length costs nothing. Kinds: Hello (the dialer's
// first frame), Status (the listener's answer; the verdict on a snapshot),
// Message (one raft.Message), Chunk and End (a snapshot's data).
//
// # Messages
//
// A message is encoded field by field with unsigned varints, byte strings
// and lists prefixed by their length (see message.go for the layout). Every
// field of raft.Message round-trips, including Entries, Snapshot (meta and
// data) and Context; empty byte strings and lists decode as nil.
//
// Decoding is zero-copy: byte fields of the decoded message are sub-slices
// of the frame's body, so whoever receives the message owns that body. Only
// the entries slice, the snapshot and its voters are allocated, after their
// counts have been checked against the bytes left. Malformed or truncated
// input returns an error wrapping ErrMalformed or ErrTruncated; it never
// panics (the decoders are fuzzed: FuzzUnmarshalMessage, FuzzReadFrames).
//
// Encoding appends to a caller's buffer: with MessageFrameSize(m) bytes of
// spare capacity (for instance a bufio.Writer's AvailableBuffer) it does
// not allocate.
package codec
