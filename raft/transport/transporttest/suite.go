// Package transporttest checks that a transport keeps the contract of
// package transport. Each implementation's tests run the same suite, so
// mem and tcp are interchangeable from the node's point of view.
package transporttest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
)

// Pair starts two connected transports, node 1 delivering to h1 and node 2
// to h2, and arranges for them to be closed when the test ends.
type Pair func(t *testing.T, h1, h2 transport.Handler) (t1, t2 transport.Transport)

// Recorder is a Handler that keeps what it is given. Snapshot, if set,
// handles snapshots; by default they are read and accepted.
type Recorder struct {
	Snapshot func(m raft.Message, body io.Reader) error

	mu      sync.Mutex
	msgs    []raft.Message
	batches int
}

// Deliver implements transport.Handler.
func (r *Recorder) Deliver(msgs []raft.Message) {
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.batches++
	r.mu.Unlock()
}

// HandleSnapshot implements transport.Handler.
func (r *Recorder) HandleSnapshot(m raft.Message, body io.Reader) error {
	if r.Snapshot != nil {
		return r.Snapshot(m, body)
	}
	_, err := io.Copy(io.Discard, body)
	return err
}

// Messages returns a copy of what was delivered so far.
func (r *Recorder) Messages() []raft.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]raft.Message(nil), r.msgs...)
}

// Len returns how many messages were delivered so far.
func (r *Recorder) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// WaitFor polls cond every millisecond until it holds, failing the test
// after timeout.
func WaitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Run runs the suite against the transports newPair makes.
func Run(t *testing.T, newPair Pair) {
	t.Run("MessagesRoundTripInOrder", func(t *testing.T) { testRoundTrip(t, newPair) })
	t.Run("SnapshotIntact", func(t *testing.T) { testSnapshotIntact(t, newPair) })
	t.Run("SnapshotRejected", func(t *testing.T) { testSnapshotRejected(t, newPair) })
	t.Run("SnapshotRequiresMsgSnap", func(t *testing.T) { testSnapshotRequiresMsgSnap(t, newPair) })
	t.Run("CloseStopsDelivery", func(t *testing.T) { testClose(t, newPair) })
}

// message returns a message of type typ with every field the type uses set.
func message(typ raft.MessageType, from, to, i uint64) raft.Message {
	m := raft.Message{Type: typ, From: from, To: to, Term: 7, Index: i}
	switch typ {
	case raft.MsgApp:
		m.LogTerm, m.Commit = 6, i-1
		m.Entries = []raft.Entry{
			{Term: 7, Index: i + 1, Data: []byte("one")},
			{Term: 7, Index: i + 2, Type: raft.EntryNoop},
		}
	case raft.MsgAppResp:
		m.Reject, m.HintTerm, m.HintIndex = true, 5, i-3
	case raft.MsgHeartbeat:
		m.Commit, m.Context = i, []byte{byte(i), 1, 2}
	case raft.MsgHeartbeatResp:
		m.Context = []byte{byte(i), 1, 2}
	case raft.MsgVote, raft.MsgPreVote:
		m.LogTerm = 6
	case raft.MsgVoteResp, raft.MsgPreVoteResp:
		m.Reject = i%2 == 0
	case raft.MsgSnap:
		m.Snapshot = &raft.Snapshot{Meta: raft.SnapshotMeta{Index: i, Term: 6, Voters: []uint64{1, 2}}, Data: []byte("inline")}
	}
	return m
}

func same(a, b raft.Message) bool {
	if a.Type != b.Type || a.From != b.From || a.To != b.To || a.Term != b.Term || a.LogTerm != b.LogTerm ||
		a.Index != b.Index || a.Commit != b.Commit || a.Reject != b.Reject || a.HintTerm != b.HintTerm ||
		a.HintIndex != b.HintIndex || !bytes.Equal(a.Context, b.Context) || len(a.Entries) != len(b.Entries) ||
		(a.Snapshot == nil) != (b.Snapshot == nil) {
		return false
	}
	for i := range a.Entries {
		x, y := a.Entries[i], b.Entries[i]
		if x.Term != y.Term || x.Index != y.Index || x.Type != y.Type || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	if a.Snapshot != nil {
		x, y := a.Snapshot, b.Snapshot
		if x.Meta.Index != y.Meta.Index || x.Meta.Term != y.Meta.Term || len(x.Meta.Voters) != len(y.Meta.Voters) || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}

func testRoundTrip(t *testing.T, newPair Pair) {
	r1, r2 := &Recorder{}, &Recorder{}
	t1, t2 := newPair(t, r1, r2)
	var sent []raft.Message
	for i := uint64(10); i < 10+3*uint64(raft.MsgSnap); i++ {
		typ := raft.MessageType(1 + i%uint64(raft.MsgSnap))
		sent = append(sent, message(typ, 1, 2, i))
	}
	// In several Send calls of different sizes.
	for len(sent) > 0 {
		n := min(len(sent), 1+len(sent)%4)
		t1.Send(sent[:n])
		sent = sent[n:]
	}
	t2.Send([]raft.Message{message(raft.MsgHeartbeatResp, 2, 1, 99)})
	want := 3 * int(raft.MsgSnap)
	WaitFor(t, "node 2 to receive every message", 5*time.Second, func() bool { return r2.Len() >= want })
	WaitFor(t, "node 1 to receive the answer", 5*time.Second, func() bool { return r1.Len() >= 1 })
	got := r2.Messages()
	if len(got) != want {
		t.Fatalf("node 2 received %d messages, want %d", len(got), want)
	}
	for k, m := range got {
		i := uint64(10 + k)
		w := message(raft.MessageType(1+i%uint64(raft.MsgSnap)), 1, 2, i)
		if !same(m, w) {
			t.Fatalf("message %d: got %v, want %v (lost, reordered or altered)", k, m, w)
		}
	}
	if m := r1.Messages()[0]; !same(m, message(raft.MsgHeartbeatResp, 2, 1, 99)) {
		t.Fatalf("node 1 got %v", m)
	}
}

func testSnapshotIntact(t *testing.T, newPair Pair) {
	data := make([]byte, 3<<20+11)
	rand.NewChaCha8([32]byte{1}).Read(data)
	want := sha256.Sum256(data)
	var (
		got  [32]byte
		meta raft.Message
	)
	r2 := &Recorder{Snapshot: func(m raft.Message, body io.Reader) error {
		meta = m
		h := sha256.New()
		if _, err := io.Copy(h, body); err != nil {
			return err
		}
		copy(got[:], h.Sum(nil))
		return nil
	}}
	t1, _ := newPair(t, &Recorder{}, r2)
	m := message(raft.MsgSnap, 1, 2, 40)
	m.Snapshot.Data = nil
	if err := t1.SendSnapshot(context.Background(), m, bytes.NewReader(data)); err != nil {
		t.Fatalf("SendSnapshot: %v", err)
	}
	if got != want {
		t.Fatalf("snapshot body hash %x, want %x", got[:8], want[:8])
	}
	if !same(meta, m) {
		t.Fatalf("handler got %v %+v, want %v %+v", meta, meta.Snapshot, m, m.Snapshot)
	}
}

func testSnapshotRejected(t *testing.T, newPair Pair) {
	boom := errors.New("no space left on device")
	r2 := &Recorder{Snapshot: func(m raft.Message, body io.Reader) error {
		io.CopyN(io.Discard, body, 100)
		return boom
	}}
	t1, _ := newPair(t, &Recorder{}, r2)
	m := message(raft.MsgSnap, 1, 2, 40)
	m.Snapshot.Data = nil
	err := t1.SendSnapshot(context.Background(), m, bytes.NewReader(make([]byte, 1<<20)))
	if !errors.Is(err, transport.ErrRejected) {
		t.Fatalf("SendSnapshot = %v, want an error wrapping ErrRejected", err)
	}
}

func testSnapshotRequiresMsgSnap(t *testing.T, newPair Pair) {
	t1, _ := newPair(t, &Recorder{}, &Recorder{})
	if err := t1.SendSnapshot(context.Background(), message(raft.MsgApp, 1, 2, 5), bytes.NewReader(nil)); err == nil {
		t.Fatalf("SendSnapshot of a MsgApp succeeded")
	}
}

func testClose(t *testing.T, newPair Pair) {
	r2 := &Recorder{}
	t1, t2 := newPair(t, &Recorder{}, r2)
	t1.Send([]raft.Message{message(raft.MsgHeartbeat, 1, 2, 1)})
	WaitFor(t, "a first message", 5*time.Second, func() bool { return r2.Len() == 1 })
	if err := t2.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := t2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for i := range 10 {
		t1.Send([]raft.Message{message(raft.MsgHeartbeat, 1, 2, uint64(2+i))}) // must not block
	}
	time.Sleep(20 * time.Millisecond)
	if n := r2.Len(); n != 1 {
		t.Fatalf("%d messages delivered, want 1: delivery after Close", n)
	}
	m := message(raft.MsgSnap, 2, 1, 3)
	m.Snapshot.Data = nil
	if err := t2.SendSnapshot(context.Background(), m, bytes.NewReader(nil)); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("SendSnapshot after Close = %v, want ErrClosed", err)
	}
}
