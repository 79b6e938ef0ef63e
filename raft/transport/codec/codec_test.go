package codec

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"reflect"
	"runtime"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// full returns a message of type t with every field set to a distinct,
// non-zero value, including values that need the longest varints.
func full(t raft.MessageType) raft.Message {
	return raft.Message{
		Type:      t,
		From:      1,
		To:        math.MaxUint64,
		Term:      3,
		LogTerm:   1 << 35,
		Index:     5,
		Commit:    1<<63 + 7,
		Reject:    true,
		HintTerm:  8,
		HintIndex: 1 << 20,
		Entries: []raft.Entry{
			{Term: 3, Index: 6, Type: raft.EntryNoop},
			{Term: 3, Index: 7, Type: raft.EntryNormal, Data: []byte("seven")},
			{Term: math.MaxUint64, Index: math.MaxUint64, Type: raft.EntryType(200), Data: bytes.Repeat([]byte{0xab}, 300)},
		},
		Snapshot: &raft.Snapshot{
			Meta: raft.SnapshotMeta{Index: 4, Term: 2, Voters: []uint64{1, 2, math.MaxUint64}},
			Data: []byte("snapshot image"),
		},
		Context: []byte("ctx"),
	}
}

func allTypes() []raft.MessageType {
	var ts []raft.MessageType
	for t := raft.MessageType(1); t.Valid(); t++ {
		ts = append(ts, t)
	}
	return ts
}

func TestMessageRoundTrip(t *testing.T) {
	type tc struct {
		name string
		m    raft.Message
	}
	var tests []tc
	for _, typ := range allTypes() {
		tests = append(tests, tc{typ.String() + "/full", full(typ)})
	}
	tests = append(tests,
		tc{"zero fields", raft.Message{Type: raft.MsgHeartbeat}},
		tc{"empty snapshot", raft.Message{Type: raft.MsgSnap, From: 1, To: 2, Snapshot: &raft.Snapshot{}}},
		tc{"entries without data", raft.Message{Type: raft.MsgApp, Entries: []raft.Entry{{Term: 1, Index: 1}, {Term: 1, Index: 2}}}},
		tc{"heartbeat", raft.Message{Type: raft.MsgHeartbeat, From: 2, To: 3, Term: 9, Commit: 100, Context: []byte{1, 2, 3, 4, 5, 6, 7, 8}}},
		tc{"app resp reject", raft.Message{Type: raft.MsgAppResp, From: 2, To: 1, Term: 4, Index: 10, Reject: true, HintTerm: 3, HintIndex: 7}},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enc := AppendMessage(nil, &tt.m)
			if got, want := len(enc), MessageSize(&tt.m); got != want {
				t.Fatalf("len(AppendMessage) = %d, MessageSize = %d", got, want)
			}
			var got raft.Message
			if err := UnmarshalMessage(enc, &got); err != nil {
				t.Fatalf("UnmarshalMessage: %v", err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.m)
			}
			if tt.m.Snapshot != nil && !reflect.DeepEqual(*got.Snapshot, *tt.m.Snapshot) {
				t.Fatalf("snapshot: got %+v, want %+v", *got.Snapshot, *tt.m.Snapshot)
			}
			// Through a frame and a reader as well.
			frame := AppendMessageFrame(nil, &tt.m)
			if got, want := len(frame), MessageFrameSize(&tt.m); got != want {
				t.Fatalf("len(frame) = %d, MessageFrameSize = %d", got, want)
			}
			k, body, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame)), nil, DefaultMaxFrameBytes)
			if err != nil || k != KindMessage {
				t.Fatalf("ReadFrame: kind %v, err %v; want message, nil", k, err)
			}
			if !bytes.Equal(body, enc) {
				t.Fatalf("frame body differs from AppendMessage")
			}
		})
	}
}

// A decoded message's byte fields must not be able to overwrite each other
// (or the rest of the frame) when the receiver appends to them.
func TestUnmarshalCapsSubslices(t *testing.T) {
	m := full(raft.MsgApp)
	enc := AppendMessage(nil, &m)
	var got raft.Message
	if err := UnmarshalMessage(enc, &got); err != nil {
		t.Fatal(err)
	}
	_ = append(got.Context, 'X', 'X', 'X', 'X')
	_ = append(got.Entries[1].Data, bytes.Repeat([]byte{'Y'}, 64)...)
	var again raft.Message
	if err := UnmarshalMessage(enc, &again); err != nil {
		t.Fatalf("after appending to decoded fields: %v", err)
	}
	if !reflect.DeepEqual(again, m) {
		t.Fatalf("appending to a decoded field changed the frame")
	}
}

func TestUnmarshalTruncatedAtEveryOffset(t *testing.T) {
	for _, typ := range allTypes() {
		m := full(typ)
		enc := AppendMessage(nil, &m)
		for i := 0; i < len(enc); i++ {
			var got raft.Message
			err := UnmarshalMessage(enc[:i], &got)
			if err == nil {
				t.Fatalf("%v truncated to %d of %d bytes: no error", typ, i, len(enc))
			}
			if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%v truncated to %d bytes: error %v wraps neither ErrTruncated nor ErrMalformed", typ, i, err)
			}
		}
	}
}

func TestReadFrameTruncatedAtEveryOffset(t *testing.T) {
	m := full(raft.MsgApp)
	frame := AppendMessageFrame(nil, &m)
	for i := 1; i < len(frame); i++ {
		_, _, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame[:i])), nil, DefaultMaxFrameBytes)
		if !errors.Is(err, ErrTruncated) || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("frame truncated to %d of %d bytes: err %v, want ErrTruncated and io.ErrUnexpectedEOF", i, len(frame), err)
		}
	}
	if _, _, err := ReadFrame(bufio.NewReader(bytes.NewReader(nil)), nil, DefaultMaxFrameBytes); err != io.EOF {
		t.Fatalf("empty input: err %v, want io.EOF", err)
	}
}

func TestUnmarshalMalformed(t *testing.T) {
	valid := func() []byte { m := full(raft.MsgVote); return AppendMessage(nil, &m) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"type zero", append([]byte{0}, valid()[1:]...), ErrMalformed},
		{"unknown type", append([]byte{200}, valid()[1:]...), ErrMalformed},
		{"unknown flag", append([]byte{byte(raft.MsgApp), 0x80}, valid()[2:]...), ErrMalformed},
		{"trailing byte", append(valid(), 0), ErrMalformed},
		{"varint overflow", append([]byte{byte(raft.MsgApp), 0}, bytes.Repeat([]byte{0xff}, 11)...), ErrMalformed},
		{"context longer than input", []byte{byte(raft.MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 'a'}, ErrTruncated},
		{"huge entry count", binary.AppendUvarint([]byte{byte(raft.MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<62), ErrTruncated},
		{"entry count beyond bytes", []byte{byte(raft.MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 1, 1, 0, 0, 1, 1, 0, 0}, ErrTruncated},
		{"huge voter count", binary.AppendUvarint([]byte{byte(raft.MsgSnap), flagSnapshot, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 1<<40), ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m raft.Message
			err := UnmarshalMessage(tt.in, &m)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestReadFrameRejectsBadHeaders(t *testing.T) {
	tests := []struct {
		name  string
		frame []byte
		max   int
		want  error
	}{
		{"length above limit", AppendHeader(nil, KindMessage, 1<<20), 1 << 10, ErrFrameTooLarge},
		{"length at protocol max", binary.BigEndian.AppendUint32(nil, math.MaxUint32), DefaultMaxFrameBytes, ErrFrameTooLarge},
		{"kind zero", AppendHeader(nil, 0, 0), 16, ErrMalformed},
		{"unknown kind", AppendHeader(nil, 99, 0), 16, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.frame
			if len(frame) == 4 {
				frame = append(frame, byte(KindMessage))
			}
			_, _, err := ReadFrame(bufio.NewReader(bytes.NewReader(frame)), nil, tt.max)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// An oversized length, a forged entry count or a forged voter count must be
// refused before anything of that size is allocated.
func TestOversizedInputDoesNotAllocate(t *testing.T) {
	const budget = 64 << 10 // bytes: errors and the bufio buffer, nothing more
	forged := []struct {
		name string
		run  func() error
	}{
		{"frame length 2 GiB", func() error {
			in := AppendHeader(nil, KindMessage, MaxFrameLimit)
			_, _, err := ReadFrame(bufio.NewReaderSize(bytes.NewReader(in), 16), nil, DefaultMaxFrameBytes)
			return err
		}},
		{"entry count 2^40", func() error {
			in := binary.AppendUvarint([]byte{byte(raft.MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<40)
			in = append(in, make([]byte, 64)...)
			var m raft.Message
			return UnmarshalMessage(in, &m)
		}},
		{"voter count 2^40", func() error {
			in := binary.AppendUvarint([]byte{byte(raft.MsgSnap), flagSnapshot, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1}, 1<<40)
			var m raft.Message
			return UnmarshalMessage(in, &m)
		}},
		{"context length 2^60", func() error {
			in := binary.AppendUvarint([]byte{byte(raft.MsgApp), 0, 0, 0, 0, 0, 0, 0, 0, 0}, 1<<60)
			var m raft.Message
			return UnmarshalMessage(in, &m)
		}},
	}
	for _, tt := range forged {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := tt.run()
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("no error")
			}
			if got := after.TotalAlloc - before.TotalAlloc; got > budget {
				t.Fatalf("allocated %d bytes on forged input (%v), budget %d", got, err, budget)
			}
		})
	}
}

func TestHelloRoundTrip(t *testing.T) {
	for _, h := range []Hello{
		{Stream: StreamMessages, ClusterID: 7, From: 1, To: 2},
		{Stream: StreamSnapshot, ClusterID: math.MaxUint64, From: math.MaxUint64, To: 1},
	} {
		b := AppendHello(nil, h)
		if len(b) != HelloBytes {
			t.Fatalf("hello is %d bytes, want %d", len(b), HelloBytes)
		}
		got, err := ParseHello(b)
		if err != nil || got != h {
			t.Fatalf("ParseHello = %+v, %v; want %+v", got, err, h)
		}
		for i := range b {
			if _, err := ParseHello(b[:i]); err == nil {
				t.Fatalf("hello truncated to %d bytes: no error", i)
			}
		}
	}
	bad := AppendHello(nil, Hello{Stream: StreamMessages})
	bad[3] = Version + 1
	if _, err := ParseHello(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("other version: err %v, want ErrMalformed", err)
	}
	bad = AppendHello(nil, Hello{Stream: 9})
	if _, err := ParseHello(bad); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown stream: err %v, want ErrMalformed", err)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	long := string(bytes.Repeat([]byte("é"), MaxReasonBytes)) // 2 bytes a rune
	tests := []struct {
		s          Status
		reason     string
		wantReason string
	}{
		{StatusOK, "", ""},
		{StatusRejected, "unknown node 9", "unknown node 9"},
		{StatusFailed, long, long[:MaxReasonBytes]},
	}
	for _, tt := range tests {
		s, reason, err := ParseStatus(AppendStatus(nil, tt.s, tt.reason))
		if err != nil || s != tt.s || reason != tt.wantReason {
			t.Fatalf("ParseStatus = %v, %d-byte reason, %v; want %v, %d bytes", s, len(reason), err, tt.s, len(tt.wantReason))
		}
	}
	if _, _, err := ParseStatus(nil); !errors.Is(err, ErrTruncated) {
		t.Fatalf("empty status: err %v, want ErrTruncated", err)
	}
	if _, _, err := ParseStatus([]byte{9}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown status: err %v, want ErrMalformed", err)
	}
}

func TestAppendMessageFrameNoAllocWithCapacity(t *testing.T) {
	m := appMessage(64, 128)
	buf := make([]byte, 0, MessageFrameSize(&m))
	allocs := testing.AllocsPerRun(100, func() {
		buf = AppendMessageFrame(buf[:0], &m)
	})
	if allocs != 0 {
		t.Fatalf("AppendMessageFrame allocated %v times per run with enough capacity, want 0", allocs)
	}
}

func appMessage(entries, size int) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: 1, To: 2, Term: 5, LogTerm: 5, Index: 1000, Commit: 990}
	data := bytes.Repeat([]byte{'x'}, size)
	for i := range entries {
		m.Entries = append(m.Entries, raft.Entry{Term: 5, Index: 1001 + uint64(i), Data: data})
	}
	return m
}

func BenchmarkAppendMessage(b *testing.B) {
	m := appMessage(64, 128)
	buf := make([]byte, 0, MessageFrameSize(&m))
	b.SetBytes(int64(len(AppendMessageFrame(nil, &m))))
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMessageFrame(buf[:0], &m)
	}
}

func BenchmarkUnmarshalMessage(b *testing.B) {
	m := appMessage(64, 128)
	enc := AppendMessage(nil, &m)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	var got raft.Message
	for b.Loop() {
		if err := UnmarshalMessage(enc, &got); err != nil {
			b.Fatal(err)
		}
	}
}
