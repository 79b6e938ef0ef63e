package etcd

import (
	"net"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

type recordedEvents struct {
	mu         sync.Mutex
	unreach    int
	snapOK     int
	snapFailed int
}

func (r *recordedEvents) unreachable(uint64) { r.mu.Lock(); r.unreach++; r.mu.Unlock() }
func (r *recordedEvents) snapshotSent(_ uint64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.snapOK++
	} else {
		r.snapFailed++
	}
}

func (r *recordedEvents) get() (int, int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.unreach, r.snapOK, r.snapFailed
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestTCPTransport sends over a real connection, through a cut, to a
// listener that went away, and checks what arrives and what is reported.
func TestTCPTransport(t *testing.T) {
	got := make(chan raftpb.Message, 100)
	ln, err := listenTCP("127.0.0.1:0", 2, 9, func(m *raftpb.Message) { got <- *m })
	if err != nil {
		t.Fatal(err)
	}
	var cutMu sync.Mutex
	cut := false
	ev := &recordedEvents{}
	tr := newTransport(1, map[uint64]sink{2: newTCPSink(ln.addr(), 9, 1, 2)}, func(from, to uint64) bool {
		cutMu.Lock()
		defer cutMu.Unlock()
		return cut
	}, ev)
	defer tr.close()

	for i := uint64(1); i <= 10; i++ {
		tr.send(&raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: i})
	}
	for i := uint64(1); i <= 10; i++ {
		select {
		case m := <-got:
			if m.Term != i || m.Type != raftpb.MsgHeartbeat {
				t.Fatalf("message %d: got %v term %d", i, m.Type, m.Term)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
	}
	tr.send(&raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 11,
		Snapshot: &raftpb.Snapshot{Data: []byte("kv"), Metadata: raftpb.SnapshotMetadata{Index: 5, Term: 2}}})
	<-got
	waitFor(t, "the snapshot's report", func() bool { _, ok, _ := ev.get(); return ok == 1 })

	cutMu.Lock()
	cut = true
	cutMu.Unlock()
	tr.send(&raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 12})
	select {
	case m := <-got:
		t.Fatalf("a message crossed the cut: %v", m)
	case <-time.After(50 * time.Millisecond):
	}
	cutMu.Lock()
	cut = false
	cutMu.Unlock()

	// The peer goes away: sends fail, raft is told, snapshots fail.
	ln.close()
	waitFor(t, "an unreachable report", func() bool {
		tr.send(&raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Term: 13})
		u, _, _ := ev.get()
		return u > 0
	})
	waitFor(t, "a failed snapshot report", func() bool {
		tr.send(&raftpb.Message{Type: raftpb.MsgSnap, From: 1, To: 2, Term: 14, Snapshot: &raftpb.Snapshot{Data: []byte("kv")}})
		_, _, f := ev.get()
		return f > 0
	})
}

// TestTCPListenerRejects closes connections that do not say hello
// properly or send frames that do not decode.
func TestTCPListenerRejects(t *testing.T) {
	got := make(chan raftpb.Message, 1)
	ln, err := listenTCP("127.0.0.1:0", 2, 9, func(m *raftpb.Message) { got <- *m })
	if err != nil {
		t.Fatal(err)
	}
	defer ln.close()
	bad := newTCPSink(ln.addr(), 8, 1, 2) // another cluster
	good := newTCPSink(ln.addr(), 9, 1, 2)
	defer bad.close()
	defer good.close()
	frame := appendFrame(nil, &raftpb.Message{Type: raftpb.MsgHeartbeat, From: 1, To: 2})
	bad.write(frame)
	select {
	case m := <-got:
		t.Fatalf("a message from another cluster was delivered: %v", m)
	case <-time.After(50 * time.Millisecond):
	}
	// Garbage after a good hello closes the connection; nothing is delivered.
	if err := good.write([]byte{3, 0, 0, 0, 0xff, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		t.Fatalf("garbage was delivered: %v", m)
	case <-time.After(50 * time.Millisecond):
	}
	c, err := net.Dial("tcp", ln.addr())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("GET / HTTP/1.1\r\n\r\n0123456789abcdef"))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a connection without a hello stayed open and answered")
	}
	c.Close()
}
