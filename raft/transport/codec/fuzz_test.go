package codec

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

func FuzzUnmarshalMessage(f *testing.F) {
	for _, typ := range allTypes() {
		m := full(typ)
		f.Add(AppendMessage(nil, &m))
	}
	hb := raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 3, Commit: 4}
	f.Add(AppendMessage(nil, &hb))
	app := appMessage(3, 5)
	f.Add(AppendMessage(nil, &app))
	f.Fuzz(func(t *testing.T, in []byte) {
		var m raft.Message
		if err := UnmarshalMessage(in, &m); err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
				t.Fatalf("error %v wraps neither ErrMalformed nor ErrTruncated", err)
			}
			return
		}
		// Whatever decodes re-encodes to something that decodes the same,
		// and MessageSize agrees with the encoder.
		enc := AppendMessage(nil, &m)
		if len(enc) != MessageSize(&m) {
			t.Fatalf("len(AppendMessage) = %d, MessageSize = %d", len(enc), MessageSize(&m))
		}
		if len(enc) > len(in) {
			t.Fatalf("re-encoding grew from %d to %d bytes", len(in), len(enc))
		}
		var again raft.Message
		if err := UnmarshalMessage(enc, &again); err != nil {
			t.Fatalf("re-encoded message does not decode: %v", err)
		}
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("decode(encode(m)) != m:\n%+v\n%+v", again, m)
		}
	})
}

// FuzzReadFrames reads frames until the input ends and decodes each body by
// its kind, the way the tcp transport does, with a small frame limit.
func FuzzReadFrames(f *testing.F) {
	m := full(raft.MsgApp)
	var stream []byte
	stream = AppendFrame(stream, KindHello, AppendHello(nil, Hello{Stream: StreamSnapshot, ClusterID: 1, From: 2, To: 3}))
	stream = AppendMessageFrame(stream, &m)
	stream = AppendFrame(stream, KindChunk, []byte("chunk of data"))
	stream = AppendFrame(stream, KindEnd, nil)
	stream = AppendFrame(stream, KindStatus, AppendStatus(nil, StatusFailed, "disk full"))
	f.Add(stream)
	f.Add(AppendHeader(nil, KindMessage, 1<<30))
	const limit = 4 << 10
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReaderSize(bytes.NewReader(in), 64)
		var buf []byte
		for {
			k, body, err := ReadFrame(r, buf, limit)
			if err != nil {
				if err != io.EOF && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrFrameTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if len(body) > limit {
				t.Fatalf("body of %d bytes beyond the %d limit", len(body), limit)
			}
			buf = body[:0]
			switch k {
			case KindHello:
				_, _ = ParseHello(body)
			case KindStatus:
				_, _, _ = ParseStatus(body)
			case KindMessage:
				var m raft.Message
				if UnmarshalMessage(body, &m) == nil {
					buf = nil // m holds the body
				}
			}
		}
	})
}
