package tcp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// recorder is a Handler that keeps what it is given.
type recorder struct {
	mu    sync.Mutex
	msgs  []raft.Message
	gate  chan struct{} // if set, Deliver waits for it to close
	snap  func(m raft.Message, body io.Reader) error
	calls int
}

func (r *recorder) Deliver(msgs []raft.Message) {
	if r.gate != nil {
		<-r.gate
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, msgs...)
	r.calls++
	r.mu.Unlock()
}

func (r *recorder) HandleSnapshot(m raft.Message, body io.Reader) error {
	if r.snap == nil {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	return r.snap(m, body)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

func (r *recorder) received() []raft.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]raft.Message(nil), r.msgs...)
}

// from returns the messages received from one peer, in order.
func (r *recorder) from(id uint64) []raft.Message {
	var out []raft.Message
	for _, m := range r.received() {
		if m.From == id {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

func testConfig(id uint64, h transport.Handler) Config {
	return Config{
		ID:          id,
		ClusterID:   42,
		ListenAddr:  "127.0.0.1:0",
		Handler:     h,
		DialTimeout: time.Second,
		BackoffMin:  2 * time.Millisecond,
		BackoffMax:  20 * time.Millisecond,
		Seed:        id,
	}
}

// start starts a transport and closes it when the test ends.
func start(t *testing.T, cfg Config) *Transport {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// cluster starts n transports (ids 1..n) on loopback and wires them to each
// other. edit, if set, changes each config before the transport starts.
func cluster(t *testing.T, n int, edit func(*Config)) ([]*Transport, []*recorder) {
	t.Helper()
	trs := make([]*Transport, n)
	recs := make([]*recorder, n)
	for i := range n {
		recs[i] = &recorder{}
		cfg := testConfig(uint64(i+1), recs[i])
		if edit != nil {
			edit(&cfg)
		}
		trs[i] = start(t, cfg)
	}
	for i, a := range trs {
		for j, b := range trs {
			if i != j {
				a.AddPeer(uint64(j+1), b.Addr())
			}
		}
	}
	return trs, recs
}

func appMsg(from, to, i uint64, entries, size int) raft.Message {
	m := raft.Message{Type: raft.MsgApp, From: from, To: to, Term: 1, Index: i, LogTerm: 1, Commit: i}
	for k := range entries {
		data := make([]byte, size)
		for b := range data {
			data[b] = byte(int(i) + k + b)
		}
		m.Entries = append(m.Entries, raft.Entry{Term: 1, Index: i + uint64(k) + 1, Data: data})
	}
	return m
}

// checkInOrder checks that got is exactly want's Index sequence 1..n.
func checkSequence(t *testing.T, got []raft.Message, from uint64, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("received %d messages from %d, want %d", len(got), from, n)
	}
	for i, m := range got {
		if m.Index != uint64(i+1) {
			t.Fatalf("message %d from %d has index %d, want %d (out of order or lost)", i, from, m.Index, i+1)
		}
	}
}

func TestMessagesArriveInOrder(t *testing.T) {
	tests := []struct {
		name    string
		nodes   int
		msgs    int
		batch   int // messages per Send call
		entries int
		size    int
	}{
		{"two nodes heartbeats", 2, 2000, 1, 0, 0},
		{"two nodes appends", 2, 500, 7, 4, 100},
		{"three nodes", 3, 500, 5, 2, 50},
		{"large messages", 2, 20, 2, 4, 100 << 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trs, recs := cluster(t, tt.nodes, nil)
			var wg sync.WaitGroup
			for i, tr := range trs {
				wg.Go(func() {
					from := uint64(i + 1)
					var batch []raft.Message
					for k := 1; k <= tt.msgs; k++ {
						for to := range uint64(tt.nodes) {
							if to+1 != from {
								batch = append(batch, appMsg(from, to+1, uint64(k), tt.entries, tt.size))
							}
						}
						if len(batch) >= tt.batch*(tt.nodes-1) || k == tt.msgs {
							tr.Send(batch) // the queue (4096) holds every message of a test
							batch = batch[:0]
						}
					}
				})
			}
			wg.Wait()
			want := tt.msgs * (tt.nodes - 1)
			for i, r := range recs {
				waitFor(t, fmt.Sprintf("node %d to receive %d messages", i+1, want), 10*time.Second, func() bool { return r.count() >= want })
			}
			for i, r := range recs {
				for j := range tt.nodes {
					if i == j {
						continue
					}
					got := r.from(uint64(j + 1))
					checkSequence(t, got, uint64(j+1), tt.msgs)
					// Contents survive the trip.
					for _, m := range got {
						if w := appMsg(uint64(j+1), uint64(i+1), m.Index, tt.entries, tt.size); !equalMsg(m, w) {
							t.Fatalf("node %d got %v, want %v", i+1, m, w)
						}
					}
				}
				st := trs[i].Stats()
				for id, ps := range st.Peers {
					if ps.Dropped != 0 || ps.Rejected != 0 || ps.Sent != uint64(tt.msgs) || ps.Received != uint64(tt.msgs) {
						t.Errorf("node %d peer %d stats %+v, want sent=received=%d and nothing dropped", i+1, id, ps, tt.msgs)
					}
				}
			}
		})
	}
}

func equalMsg(a, b raft.Message) bool {
	if a.Type != b.Type || a.From != b.From || a.To != b.To || a.Term != b.Term || a.Index != b.Index ||
		a.LogTerm != b.LogTerm || a.Commit != b.Commit || len(a.Entries) != len(b.Entries) {
		return false
	}
	for i := range a.Entries {
		x, y := a.Entries[i], b.Entries[i]
		if x.Term != y.Term || x.Index != y.Index || x.Type != y.Type || !bytes.Equal(x.Data, y.Data) {
			return false
		}
	}
	return true
}

// Writes coalesce: many messages sent at once reach the handler in few
// Deliver calls.
func TestDeliveriesAreBatched(t *testing.T) {
	trs, recs := cluster(t, 2, nil)
	// Hold the receiver so that messages pile up, then release it.
	gate := make(chan struct{})
	recs[1].gate = gate
	trs[0].Send([]raft.Message{appMsg(1, 2, 0, 0, 0)})
	time.Sleep(50 * time.Millisecond) // the first message is in Deliver, blocked
	var batch []raft.Message
	for i := 1; i <= 1000; i++ {
		batch = append(batch, raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: uint64(i)})
	}
	trs[0].Send(batch)
	time.Sleep(50 * time.Millisecond)
	close(gate)
	waitFor(t, "1001 messages", 5*time.Second, func() bool { return recs[1].count() == 1001 })
	recs[1].mu.Lock()
	calls := recs[1].calls
	recs[1].mu.Unlock()
	if calls > 20 {
		t.Fatalf("1001 messages took %d Deliver calls, want batches (at most 20 calls)", calls)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	tests := []struct {
		name       string
		id         uint64
		cluster    uint64
		to         uint64 // the id the dialer believes the listener has
		wantGlobal uint64 // Stats().Rejected
		wantPeer   uint64 // PeerStats(id).Rejected
	}{
		{"unknown node id", 9, 42, 1, 1, 0},
		{"other cluster", 2, 43, 1, 1, 0},
		{"wrong destination id", 2, 42, 7, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := testConfig(1, rec)
			cfg.Peers = map[uint64]string{2: "127.0.0.1:1"} // node 2 is known
			a := start(t, cfg)

			other := &recorder{}
			ocfg := testConfig(tt.id, other)
			ocfg.ClusterID = tt.cluster
			b := start(t, ocfg)
			b.AddPeer(tt.to, a.Addr())

			for range 5 {
				b.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: tt.id, To: tt.to}})
				time.Sleep(10 * time.Millisecond)
			}
			waitFor(t, "the refusals to be counted", 5*time.Second, func() bool {
				return a.Stats().Rejected >= tt.wantGlobal && a.PeerStats(2).Rejected >= tt.wantPeer &&
					b.PeerStats(tt.to).Dropped == 5
			})
			if got := rec.count(); got != 0 {
				t.Fatalf("node 1 delivered %d messages from a refused connection", got)
			}
			if got := b.PeerStats(tt.to); got.Sent != 0 || got.Dropped != 5 {
				t.Fatalf("dialer's stats %+v, want 0 sent, 5 dropped", got)
			}
			if tt.wantGlobal == 0 && a.Stats().Rejected != 0 {
				t.Fatalf("refusal of a known peer counted globally: %+v", a.Stats())
			}
		})
	}
}

// A connection that sends garbage, or a malformed frame after a good
// handshake, is refused and closed.
func TestBadStreamsAreClosed(t *testing.T) {
	tests := []struct {
		name   string
		stream func() []byte
		global bool // counted in Stats().Rejected rather than the peer's
	}{
		{"garbage instead of hello", func() []byte { return []byte("GET / HTTP/1.1\r\n\r\n") }, true},
		{"hello of another protocol version", func() []byte {
			b := codec.AppendFrame(nil, codec.KindHello, codec.AppendHello(nil, codec.Hello{Stream: codec.StreamMessages, ClusterID: 42, From: 2, To: 1}))
			b[codec.HeaderBytes+3]++
			return b
		}, true},
		{"malformed message", func() []byte {
			b := codec.AppendFrame(nil, codec.KindHello, codec.AppendHello(nil, codec.Hello{Stream: codec.StreamMessages, ClusterID: 42, From: 2, To: 1}))
			return codec.AppendFrame(b, codec.KindMessage, []byte{0xff, 0xff})
		}, false},
		{"frame beyond the limit", func() []byte {
			b := codec.AppendFrame(nil, codec.KindHello, codec.AppendHello(nil, codec.Hello{Stream: codec.StreamMessages, ClusterID: 42, From: 2, To: 1}))
			return codec.AppendHeader(b, codec.KindMessage, 1<<30)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			cfg := testConfig(1, rec)
			cfg.Peers = map[uint64]string{2: "127.0.0.1:1"}
			a := start(t, cfg)
			c, err := net.Dial("tcp", a.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write(tt.stream()); err != nil {
				t.Fatal(err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection not closed by the listener: %v", err)
			}
			st := a.Stats()
			if tt.global && st.Rejected != 1 || !tt.global && st.Peers[2].Rejected != 1 {
				t.Fatalf("stats %+v, want one refusal counted (global=%v)", st, tt.global)
			}
		})
	}
}

func TestMessagesWithWrongIDsAreDropped(t *testing.T) {
	trs, recs := cluster(t, 2, nil)
	trs[0].Send([]raft.Message{
		{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: 1},
		{Type: raft.MsgHeartbeat, From: 3, To: 2, Index: 2}, // forged sender
		{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: 3},
	})
	waitFor(t, "two messages", 5*time.Second, func() bool { return recs[1].count() == 2 })
	got := recs[1].received()
	if got[0].Index != 1 || got[1].Index != 3 {
		t.Fatalf("received %v, want indexes 1 and 3", got)
	}
	if r := trs[1].PeerStats(1).Rejected; r != 1 {
		t.Fatalf("rejected %d, want 1", r)
	}
}

func TestPeerRestartReconnects(t *testing.T) {
	trs, recs := cluster(t, 2, nil)
	a, b := trs[0], trs[1]
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: 1}})
	b.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 2, To: 1, Index: 1}})
	waitFor(t, "first exchange", 5*time.Second, func() bool { return recs[1].count() == 1 && recs[0].count() == 1 })

	// Restart node 2 on the same address.
	addr := b.Addr()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Messages sent while node 2 is down are lost, not queued forever, and
	// Send does not block.
	for i := range 20 {
		a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: uint64(100 + i)}})
		time.Sleep(time.Millisecond)
	}
	rec2 := &recorder{}
	cfg := testConfig(2, rec2)
	cfg.ListenAddr = addr
	cfg.Peers = map[uint64]string{1: a.Addr()}
	b2 := start(t, cfg)

	// Delivery resumes both ways.
	waitFor(t, "delivery to the restarted node", 5*time.Second, func() bool {
		a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: 1000}})
		time.Sleep(2 * time.Millisecond)
		return rec2.count() > 0
	})
	b2.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 2, To: 1, Index: 2}})
	waitFor(t, "delivery from the restarted node", 5*time.Second, func() bool { return recs[0].count() == 2 })
	if got := a.PeerStats(2).Reconnects; got < 1 {
		t.Fatalf("reconnects = %d, want at least 1", got)
	}
	if got := a.PeerStats(2).Dropped; got == 0 {
		t.Fatalf("messages sent while the peer was down: none counted as dropped")
	}
}

func TestFullQueueDropsInsteadOfBlocking(t *testing.T) {
	const queueLen = 8
	trs, recs := cluster(t, 2, func(c *Config) { c.QueueLen = queueLen })
	a := trs[0]
	// The receiver's handler blocks, so its reader stops, the socket
	// buffers fill, the writer blocks and the queue fills.
	gate := make(chan struct{})
	recs[1].gate = gate
	const total = 2000
	big := appMsg(1, 2, 0, 1, 64<<10)
	begin := time.Now()
	for i := range total {
		m := big
		m.Index = uint64(i + 1)
		a.Send([]raft.Message{m})
	}
	if elapsed := time.Since(begin); elapsed > 2*time.Second {
		t.Fatalf("Send of %d messages to a stuck peer took %v: it blocks", total, elapsed)
	}
	st := a.PeerStats(2)
	if st.Dropped == 0 {
		t.Fatalf("stats %+v: nothing dropped with a stuck peer and a queue of %d", st, queueLen)
	}
	close(gate)
	// Every message is accounted for: sent (and then received) or dropped.
	waitFor(t, "sent+dropped == total and received == sent", 10*time.Second, func() bool {
		st = a.PeerStats(2)
		return st.Sent+st.Dropped == total && uint64(recs[1].count()) == st.Sent
	})
	// What arrived is in order.
	var last uint64
	for _, m := range recs[1].received() {
		if m.Index <= last {
			t.Fatalf("index %d after %d: out of order", m.Index, last)
		}
		last = m.Index
	}
}

func TestMessageBeyondFrameLimitIsDropped(t *testing.T) {
	trs, recs := cluster(t, 2, func(c *Config) { c.MaxFrameBytes = 64 << 10 })
	trs[0].Send([]raft.Message{
		appMsg(1, 2, 1, 1, 100),
		appMsg(1, 2, 2, 1, 100<<10), // too large
		appMsg(1, 2, 3, 1, 100),
	})
	waitFor(t, "two messages", 5*time.Second, func() bool { return recs[1].count() == 2 })
	if st := trs[0].PeerStats(2); st.Dropped != 1 || st.Sent != 2 {
		t.Fatalf("stats %+v, want 2 sent, 1 dropped", st)
	}
}

func TestSendToUnknownPeerIsCounted(t *testing.T) {
	trs, _ := cluster(t, 1, nil)
	trs[0].Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 5}, {Type: raft.MsgHeartbeat, From: 1, To: 1}})
	if got := trs[0].Stats().Dropped; got != 2 {
		t.Fatalf("Stats().Dropped = %d, want 2", got)
	}
}

func TestRemovePeer(t *testing.T) {
	trs, recs := cluster(t, 2, nil)
	trs[0].Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
	waitFor(t, "a message", 5*time.Second, func() bool { return recs[1].count() == 1 })
	trs[1].RemovePeer(1)
	// Node 1 notices that node 2 closed the connection, redials, and is
	// refused (a message sent before it notices goes into the dead
	// connection, hence the loop).
	waitFor(t, "the removed peer's reconnection to be refused", 5*time.Second, func() bool {
		trs[0].Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
		time.Sleep(time.Millisecond)
		return trs[1].Stats().Rejected >= 1
	})
	if got := recs[1].count(); got != 1 {
		t.Fatalf("received %d messages, want 1 (none after RemovePeer)", got)
	}
}

// snapshotBody returns n deterministic pseudo-random bytes.
func snapshotBody(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

func snapMsg(from, to uint64) raft.Message {
	return raft.Message{Type: raft.MsgSnap, From: from, To: to, Term: 3,
		Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: 100, Term: 2, Voters: []uint64{1, 2, 3}}}}
}

func TestSnapshotArrivesIntact(t *testing.T) {
	tests := []struct {
		name      string
		size      int
		chunk     int
		useCopy   bool // handler reads with io.Copy (WriteTo) rather than Read
		readSmall bool // handler reads 1000 bytes at a time
	}{
		{"6 MB in 256 KiB chunks", 6 << 20, 0, true, false},
		{"3 MB in 4 KiB chunks, small reads", 3<<20 + 17, 4 << 10, false, true},
		{"empty", 0, 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trs, recs := cluster(t, 2, func(c *Config) {
				if tt.chunk != 0 {
					c.SnapshotChunkBytes = tt.chunk
				}
			})
			data := snapshotBody(tt.size, 7)
			want := sha256.Sum256(data)
			var (
				got  [32]byte
				meta raft.Message
				n    int64
			)
			recs[1].snap = func(m raft.Message, body io.Reader) error {
				meta = m
				h := sha256.New()
				var err error
				if tt.useCopy {
					n, err = io.Copy(h, body)
				} else {
					buf := make([]byte, 1000)
					n, err = io.CopyBuffer(struct{ io.Writer }{h}, struct{ io.Reader }{body}, buf)
				}
				if err != nil {
					return err
				}
				copy(got[:], h.Sum(nil))
				return nil
			}
			m := snapMsg(1, 2)
			// Heartbeats flow while the snapshot streams.
			if err := trs[0].SendSnapshot(context.Background(), m, bytes.NewReader(data)); err != nil {
				t.Fatalf("SendSnapshot: %v", err)
			}
			if n != int64(tt.size) || got != want {
				t.Fatalf("receiver read %d bytes with hash %x, want %d bytes with hash %x", n, got[:4], tt.size, want[:4])
			}
			if meta.From != 1 || meta.Snapshot == nil || meta.Snapshot.Meta.Index != 100 || len(meta.Snapshot.Meta.Voters) != 3 || meta.Snapshot.Data != nil {
				t.Fatalf("handler got message %v snapshot %+v", meta, meta.Snapshot)
			}
		})
	}
}

func TestSnapshotHandlerErrorFailsSender(t *testing.T) {
	tests := []struct {
		name      string
		readBytes int // how much the handler reads before failing
	}{
		{"fails at once", 0},
		{"fails midway", 1 << 20},
		{"fails after reading everything", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trs, recs := cluster(t, 2, func(c *Config) { c.SnapshotChunkBytes = 32 << 10 })
			recs[1].snap = func(m raft.Message, body io.Reader) error {
				if tt.readBytes < 0 {
					io.Copy(io.Discard, body)
				} else {
					io.CopyN(io.Discard, body, int64(tt.readBytes))
				}
				return errors.New("disk full")
			}
			body := bytes.NewReader(snapshotBody(8<<20, 1))
			start := time.Now()
			err := trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), body)
			if err == nil || !errors.Is(err, transport.ErrRejected) || !bytes.Contains([]byte(err.Error()), []byte("disk full")) {
				t.Fatalf("SendSnapshot = %v, want an ErrRejected carrying the handler's error", err)
			}
			// The verdict must not wait for a timeout (WriteTimeout is 10s).
			if d := time.Since(start); d > 8*time.Second {
				t.Fatalf("SendSnapshot took %v to report the failure", d)
			}
			// The message stream is unaffected.
			trs[0].Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
			waitFor(t, "a heartbeat after the failed snapshot", 5*time.Second, func() bool { return recs[1].count() == 1 })
		})
	}
}

// slowBody yields size bytes in pieces, then blocks until release closes
// (or yields the rest, if release is nil).
type slowBody struct {
	size    int
	sent    int
	release chan struct{}
	stalled chan struct{} // closed when it starts to block
	once    sync.Once
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.sent >= b.size {
		b.once.Do(func() { close(b.stalled) })
		<-b.release
		return 0, io.EOF
	}
	n := min(len(p), b.size-b.sent, 64<<10)
	b.sent += n
	return n, nil
}

func TestSnapshotCloseMidStream(t *testing.T) {
	tests := []struct {
		name  string
		close func(sender, receiver *Transport)
	}{
		{"receiver closes", func(_, r *Transport) { r.Close() }},
		{"sender closes", func(s, _ *Transport) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trs, recs := cluster(t, 2, func(c *Config) { c.SnapshotChunkBytes = 16 << 10 })
			handlerErr := make(chan error, 1)
			recs[1].snap = func(m raft.Message, body io.Reader) error {
				_, err := io.Copy(io.Discard, body)
				handlerErr <- err
				return err
			}
			body := &slowBody{size: 1 << 20, release: make(chan struct{}), stalled: make(chan struct{})}
			sendErr := make(chan error, 1)
			go func() { sendErr <- trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), body) }()
			<-body.stalled
			time.Sleep(20 * time.Millisecond) // the chunks reach the handler
			closed := make(chan struct{})
			go func() { tt.close(trs[0], trs[1]); close(closed) }()
			// The handler's body fails.
			select {
			case err := <-handlerErr:
				if err == nil {
					t.Fatalf("handler read a whole body from a stream that was cut")
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("handler still reading 5s after the close")
			}
			close(body.release) // the sender's body returns EOF
			select {
			case err := <-sendErr:
				if err == nil {
					t.Fatalf("SendSnapshot succeeded on a stream that was cut")
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("SendSnapshot still blocked 5s after the close")
			}
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatalf("Close still blocked")
			}
		})
	}
}

func TestSnapshotContextCancel(t *testing.T) {
	trs, recs := cluster(t, 2, func(c *Config) { c.SnapshotChunkBytes = 16 << 10 })
	handlerErr := make(chan error, 1)
	gate := make(chan struct{})
	recs[1].snap = func(m raft.Message, body io.Reader) error {
		<-gate // a slow handler: the stream backs up to the sender
		_, err := io.Copy(io.Discard, body)
		handlerErr <- err
		return err
	}
	defer close(gate)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := trs[0].SendSnapshot(ctx, snapMsg(1, 2), bytes.NewReader(snapshotBody(32<<20, 3)))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SendSnapshot = %v, want context.DeadlineExceeded", err)
	}
}

// A snapshot stream does not hold up the message stream.
func TestHeartbeatsFlowDuringSnapshot(t *testing.T) {
	trs, recs := cluster(t, 2, func(c *Config) { c.SnapshotChunkBytes = 16 << 10 })
	gate := make(chan struct{})
	recs[1].snap = func(m raft.Message, body io.Reader) error {
		<-gate
		_, err := io.Copy(io.Discard, body)
		return err
	}
	sendErr := make(chan error, 1)
	go func() {
		sendErr <- trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), bytes.NewReader(snapshotBody(16<<20, 5)))
	}()
	time.Sleep(20 * time.Millisecond)
	for i := range 10 {
		trs[0].Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Index: uint64(i + 1)}})
	}
	waitFor(t, "heartbeats while a snapshot is stalled", 5*time.Second, func() bool { return recs[1].count() == 10 })
	close(gate)
	if err := <-sendErr; err != nil {
		t.Fatalf("SendSnapshot: %v", err)
	}
}

func TestSnapshotErrors(t *testing.T) {
	trs, _ := cluster(t, 2, nil)
	if err := trs[0].SendSnapshot(context.Background(), snapMsg(1, 9), bytes.NewReader(nil)); !errors.Is(err, transport.ErrUnknownPeer) {
		t.Fatalf("to an unknown peer: %v, want ErrUnknownPeer", err)
	}
	if err := trs[0].SendSnapshot(context.Background(), raft.Message{Type: raft.MsgApp, To: 2}, bytes.NewReader(nil)); err == nil {
		t.Fatalf("a MsgApp as a snapshot: no error")
	}
	bodyErr := errors.New("cannot read snapshot file")
	if err := trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotestErrReader{bodyErr})); !errors.Is(err, bodyErr) {
		t.Fatalf("failing body: %v, want %v", err, bodyErr)
	}
	trs[0].Close()
	if err := trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), bytes.NewReader(nil)); !errors.Is(err, transport.ErrClosed) {
		t.Fatalf("after Close: %v, want ErrClosed", err)
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

func TestSnapshotStreamsAreBounded(t *testing.T) {
	trs, recs := cluster(t, 2, func(c *Config) { c.MaxSnapshotStreams = 1 })
	gate := make(chan struct{})
	entered := make(chan struct{}, 2)
	recs[1].snap = func(m raft.Message, body io.Reader) error {
		entered <- struct{}{}
		<-gate
		_, err := io.Copy(io.Discard, body)
		return err
	}
	first := make(chan error, 1)
	go func() {
		first <- trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), bytes.NewReader(make([]byte, 1000)))
	}()
	<-entered
	err := trs[0].SendSnapshot(context.Background(), snapMsg(1, 2), bytes.NewReader(make([]byte, 1000)))
	if !errors.Is(err, transport.ErrRejected) {
		t.Fatalf("second concurrent snapshot: %v, want ErrRejected", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first snapshot: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	h := &recorder{}
	tests := []struct {
		name string
		cfg  Config
	}{
		{"zero id", Config{Handler: h, ListenAddr: "127.0.0.1:0"}},
		{"no handler", Config{ID: 1, ListenAddr: "127.0.0.1:0"}},
		{"no address", Config{ID: 1, Handler: h}},
		{"self as peer", Config{ID: 1, Handler: h, ListenAddr: "127.0.0.1:0", Peers: map[uint64]string{1: "x"}}},
		{"tiny frame limit", Config{ID: 1, Handler: h, ListenAddr: "127.0.0.1:0", MaxFrameBytes: 10}},
		{"backoff max below min", Config{ID: 1, Handler: h, ListenAddr: "127.0.0.1:0", BackoffMin: time.Second, BackoffMax: time.Millisecond}},
	}
	for _, tt := range tests {
		if tr, err := New(tt.cfg); err == nil {
			tr.Close()
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

// Backoff waits grow, are capped, and are reproducible from the seed.
func TestBackoffBetweenFailedDials(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A listener that accepts and closes at once: every handshake fails.
	var (
		mu    sync.Mutex
		times []time.Time
	)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			c.Close()
		}
	}()
	defer ln.Close()
	cfg := testConfig(1, &recorder{})
	cfg.BackoffMin, cfg.BackoffMax = 10*time.Millisecond, 40*time.Millisecond
	cfg.Peers = map[uint64]string{2: ln.Addr().String()}
	tr := start(t, cfg)
	deadline := time.Now().Add(600 * time.Millisecond)
	for time.Now().Before(deadline) {
		tr.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2}})
		time.Sleep(time.Millisecond)
	}
	tr.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(times) < 5 {
		t.Fatalf("%d dials in 600ms, want at least 5", len(times))
	}
	// With waits in [d/2, d], d capped at 40ms: about 600/30 = 20 dials,
	// never hundreds (which would mean no backoff).
	if len(times) > 60 {
		t.Fatalf("%d dials in 600ms: backoff not applied", len(times))
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < 4*time.Millisecond {
			t.Fatalf("dial %d came %v after the previous one, want at least BackoffMin/2", i, gap)
		}
	}
}

// The tcp transport is usable through the interface.
var _ transport.Transport = (*Transport)(nil)

func ExampleNew() {
	h := &recorder{}
	a, _ := New(Config{ID: 1, ClusterID: 7, ListenAddr: "127.0.0.1:0", Handler: h})
	defer a.Close()
	b, _ := New(Config{ID: 2, ClusterID: 7, ListenAddr: "127.0.0.1:0", Handler: &recorder{}})
	defer b.Close()
	a.AddPeer(2, b.Addr())
	b.AddPeer(1, a.Addr())

	b.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 2, To: 1, Term: 1, Commit: 5}})
	for h.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	fmt.Println(h.received()[0].Type, h.received()[0].Commit)
	// Output: MsgHeartbeat 5
}
