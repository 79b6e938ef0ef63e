package tcp

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"sync"
	"sync/atomic"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
)

// Transport is the TCP transport of one node. See the package documentation.
type Transport struct {
	cfg Config
	log *slog.Logger
	ln  net.Listener

	// ctx ends when the transport closes; dials and snapshot streams use it.
	ctx    context.Context
	cancel context.CancelFunc

	// peers is read without a lock on every Send; writers replace the
	// whole map under mu (peers change rarely).
	peers atomic.Pointer[map[uint64]*peer]

	mu      sync.Mutex
	closed  bool
	conns   map[net.Conn]struct{} // every open connection, to close them on Close
	inbound map[uint64]*inbound   // the message stream each peer reads from us

	wg sync.WaitGroup // every goroutine the transport starts

	snapStreams atomic.Int32 // incoming snapshot streams in progress
	rejected    atomic.Uint64
	dropped     atomic.Uint64
}

var _ transport.Transport = (*Transport)(nil)

// New listens on cfg.ListenAddr and returns a running transport. It dials
// peers lazily, on the first message for each.
func New(cfg Config) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return nil, fmt.Errorf("tcp: listen: %w", err)
	}
	t := &Transport{
		cfg:     cfg,
		log:     cfg.Logger.With("node", cfg.ID),
		ln:      ln,
		conns:   map[net.Conn]struct{}{},
		inbound: map[uint64]*inbound{},
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	peers := map[uint64]*peer{}
	for id, addr := range cfg.Peers {
		peers[id] = t.newPeer(id, addr)
	}
	t.peers.Store(&peers)
	for _, p := range peers {
		t.start(p)
	}
	t.wg.Add(1)
	go t.accept()
	return t, nil
}

// Addr returns the address the transport listens on.
func (t *Transport) Addr() string { return t.ln.Addr().String() }

func (t *Transport) peer(id uint64) *peer { return (*t.peers.Load())[id] }

// AddPeer adds a peer or changes its address. A changed address closes the
// current connection; the next message dials the new one.
func (t *Transport) AddPeer(id uint64, addr string) {
	if id == 0 || id == t.cfg.ID {
		panic(fmt.Sprintf("tcp: AddPeer(%d) on node %d", id, t.cfg.ID))
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	old := *t.peers.Load()
	if p, ok := old[id]; ok {
		p.setAddr(addr)
		return
	}
	peers := maps.Clone(old)
	p := t.newPeer(id, addr)
	peers[id] = p
	t.peers.Store(&peers)
	t.start(p)
}

// RemovePeer forgets a peer: its queue is dropped, its connections are
// closed and it may no longer connect.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	old := *t.peers.Load()
	p, ok := old[id]
	if !ok || t.closed {
		t.mu.Unlock()
		return
	}
	peers := maps.Clone(old)
	delete(peers, id)
	t.peers.Store(&peers)
	in := t.inbound[id]
	t.mu.Unlock()
	p.stop()
	if in != nil {
		in.conn.Close()
	}
}

// Send queues each message for its destination's writer and returns at
// once. Messages for unknown peers, for a full queue or beyond the frame
// limit are dropped and counted.
func (t *Transport) Send(msgs []raft.Message) {
	peers := *t.peers.Load()
	for i := 0; i < len(msgs); {
		// Queue runs of messages to the same peer under one lock.
		to := msgs[i].To
		j := i + 1
		for j < len(msgs) && msgs[j].To == to {
			j++
		}
		if p := peers[to]; p != nil {
			p.push(msgs[i:j])
		} else {
			t.dropped.Add(uint64(j - i))
		}
		i = j
	}
}

// PeerStats returns one peer's counters (zero for an unknown peer). It
// takes no lock.
func (t *Transport) PeerStats(id uint64) transport.PeerStats {
	if p := t.peer(id); p != nil {
		return p.stats.load()
	}
	return transport.PeerStats{}
}

// Stats returns every peer's counters and the transport-wide ones.
func (t *Transport) Stats() transport.Stats {
	peers := *t.peers.Load()
	s := transport.Stats{
		Peers:    make(map[uint64]transport.PeerStats, len(peers)),
		Rejected: t.rejected.Load(),
		Dropped:  t.dropped.Load(),
	}
	for id, p := range peers {
		s.Peers[id] = p.stats.load()
	}
	return s
}

// Close stops the transport: the listener, every connection, every peer's
// writer. It waits for the transport's goroutines, including Deliver and
// HandleSnapshot calls in progress.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	conns := make([]net.Conn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()

	t.cancel()
	err := t.ln.Close()
	for _, p := range *t.peers.Load() {
		p.stop()
	}
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	return err
}

// track registers c so that Close closes it; it returns false (and closes
// c) if the transport is closed.
func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		c.Close()
		return false
	}
	t.conns[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
	c.Close()
}

// goroutine runs f on a goroutine that Close waits for, unless the
// transport is closed. (Checking closed under mu orders every wg.Add before
// Close's wg.Wait.)
func (t *Transport) goroutine(f func()) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		f()
	}()
	return true
}

// counters are one peer's statistics, updated with atomics.
type counters struct {
	sent, dropped, received, reconnects, rejected atomic.Uint64
}

func (c *counters) load() transport.PeerStats {
	return transport.PeerStats{
		Sent:       c.sent.Load(),
		Dropped:    c.dropped.Load(),
		Received:   c.received.Load(),
		Reconnects: c.reconnects.Load(),
		Rejected:   c.rejected.Load(),
	}
}
