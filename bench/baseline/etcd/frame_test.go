package etcd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"go.etcd.io/raft/v3/raftpb"
)

func sampleMessages() []raftpb.Message {
	return []raftpb.Message{
		{Type: raftpb.MsgHeartbeat, To: 2, From: 1, Term: 3, Commit: 9},
		{Type: raftpb.MsgApp, To: 3, From: 1, Term: 3, LogTerm: 2, Index: 7, Commit: 7,
			Entries: []raftpb.Entry{{Term: 3, Index: 8, Data: []byte("12345678put")}, {Term: 3, Index: 9}}},
		{Type: raftpb.MsgSnap, To: 2, From: 1, Term: 4, Snapshot: &raftpb.Snapshot{Data: []byte("state"),
			Metadata: raftpb.SnapshotMetadata{Index: 40, Term: 4, ConfState: raftpb.ConfState{Voters: []uint64{1, 2, 3}}}}},
		{Type: raftpb.MsgReadIndexResp, To: 2, From: 1, Term: 4, Index: 41, Entries: []raftpb.Entry{{Data: []byte{1, 0, 0, 0, 0, 0, 0, 0}}}},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	var buf []byte
	msgs := sampleMessages()
	for i := range msgs {
		buf = appendFrame(buf, &msgs[i])
	}
	// decodeFrame over the batch, as the mem transport reads it.
	b := buf
	for i := range msgs {
		var m raftpb.Message
		n, err := decodeFrame(b, &m)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got, want := m.String(), msgs[i].String(); got != want {
			t.Errorf("frame %d: got %s, want %s", i, got, want)
		}
		b = b[n:]
	}
	if len(b) != 0 {
		t.Errorf("%d bytes left after the last frame", len(b))
	}
	// readFrame from a stream, as a TCP reader does.
	r := bufio.NewReader(bytes.NewReader(buf))
	var scratch []byte
	for i := range msgs {
		var m raftpb.Message
		if err := readFrame(r, &scratch, &m); err != nil {
			t.Fatalf("stream frame %d: %v", i, err)
		}
		if got, want := m.String(), msgs[i].String(); got != want {
			t.Errorf("stream frame %d: got %s, want %s", i, got, want)
		}
	}
	var m raftpb.Message
	if err := readFrame(r, &scratch, &m); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: %v, want EOF", err)
	}
}

func TestFrameErrors(t *testing.T) {
	msgs := sampleMessages()
	full := appendFrame(nil, &msgs[1])
	var m raftpb.Message
	for cut := 0; cut < len(full); cut++ {
		if _, err := decodeFrame(full[:cut], &m); err == nil {
			t.Errorf("frame cut at %d of %d bytes decoded", cut, len(full))
		}
		r := bufio.NewReader(bytes.NewReader(full[:cut]))
		var scratch []byte
		if err := readFrame(r, &scratch, &m); err == nil {
			t.Errorf("stream cut at %d of %d bytes decoded", cut, len(full))
		}
	}
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	if _, err := decodeFrame(huge, &m); !errors.Is(err, errFrameSize) {
		t.Errorf("oversized length: %v, want errFrameSize", err)
	}
	r := bufio.NewReader(bytes.NewReader(huge))
	var scratch []byte
	if err := readFrame(r, &scratch, &m); !errors.Is(err, errFrameSize) {
		t.Errorf("oversized length on a stream: %v, want errFrameSize", err)
	}
	garbage := []byte{3, 0, 0, 0, 0xff, 0xff, 0xff}
	if _, err := decodeFrame(garbage, &m); err == nil {
		t.Error("garbage payload decoded")
	}
}

// FuzzDecodeFrame: any input decodes to an error or to a frame within the
// input, never a panic; every strict prefix of a valid frame is an error.
func FuzzDecodeFrame(f *testing.F) {
	msgs := sampleMessages()
	for i := range msgs {
		f.Add(appendFrame(nil, &msgs[i]))
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 1, 2, 3})
	f.Add([]byte{2, 0, 0, 0, 0x08, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m raftpb.Message
		n, err := decodeFrame(b, &m)
		if err != nil {
			return
		}
		if n < frameHeaderBytes || n > len(b) {
			t.Fatalf("decoded %d bytes of %d", n, len(b))
		}
		for cut := 0; cut < n; cut++ {
			if _, err := decodeFrame(b[:cut], &m); err == nil {
				t.Fatalf("a valid %d-byte frame cut to %d bytes decoded", n, cut)
			}
		}
		// A decoded message encodes again and decodes to the same.
		var again raftpb.Message
		re := appendFrame(nil, &m)
		if _, err := decodeFrame(re, &again); err != nil {
			t.Fatalf("re-encoded frame: %v", err)
		}
		r := bufio.NewReader(bytes.NewReader(b))
		var scratch []byte
		if err := readFrame(r, &scratch, &again); err != nil {
			t.Fatalf("readFrame of a frame decodeFrame took: %v", err)
		}
	})
}
