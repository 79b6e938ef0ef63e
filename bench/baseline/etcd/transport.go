package etcd

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// Limits of the transport. Everything queued is bounded: a peer that does
// not keep up loses messages (etcd raft retransmits what matters) instead
// of stalling the raft loop.
const (
	peerQueueBytes    = 16 << 20 // frames waiting for one peer's writer
	peerQueueMsgs     = 8192
	maxKeptBatchBytes = 4 << 20 // a writer keeps its batch buffer up to this size
	dialTimeout       = 200 * time.Millisecond
	writeTimeout      = 2 * time.Second
	backoffMin        = 5 * time.Millisecond
	backoffMax        = 100 * time.Millisecond
	helloBytes        = 32
)

var helloMagic = [8]byte{'R', 'B', 'E', 'T', 'C', 'D', '0', '1'}

var errBackoff = errors.New("etcd engine: peer unreachable, waiting before the next dial")

// transportEvents is where a transport reports what the raft loop must
// tell etcd raft: a peer that could not be reached (ReportUnreachable) and
// the fate of MsgSnap messages (ReportSnapshot).
type transportEvents interface {
	unreachable(to uint64)
	snapshotSent(to uint64, ok bool)
}

// transport is one node's outbound side: a queue and a writer goroutine per
// peer. send never blocks; it is called by the raft loop (and, with async
// storage writes, by the append goroutine for the responses it releases).
type transport struct {
	self   uint64
	peers  map[uint64]*peer // fixed at construction
	cut    func(from, to uint64) bool
	events transportEvents
	stop   chan struct{}
	wg     sync.WaitGroup
}

// sink is where a peer's writer puts a batch of frames.
type sink interface {
	write(batch []byte) error
	close()
}

type peer struct {
	to   uint64
	sink sink
	wake chan struct{} // capacity 1: "there is something queued"

	mu    sync.Mutex
	buf   []byte // queued frames
	msgs  int
	snaps int // MsgSnap frames in buf, reported once written or lost
}

func newTransport(self uint64, sinks map[uint64]sink, cut func(from, to uint64) bool, events transportEvents) *transport {
	t := &transport{self: self, peers: map[uint64]*peer{}, cut: cut, events: events, stop: make(chan struct{})}
	for id, s := range sinks {
		p := &peer{to: id, sink: s, wake: make(chan struct{}, 1)}
		t.peers[id] = p
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			t.write(p)
		}()
	}
	return t
}

// send queues m for its peer. The message is marshalled here, on the
// caller's goroutine: etcd raft's documentation asks that messages be
// serialized in the raft loop, because their entries may share memory with
// the log that later Readies change. Marshalling into the peer's batch
// buffer is also the only copy the message gets before the socket.
func (t *transport) send(m *raftpb.Message) {
	p := t.peers[m.To]
	if p == nil {
		return
	}
	if t.cut(t.self, m.To) {
		return // partitioned: the network swallows it, as a cut cable would
	}
	snap := m.Type == raftpb.MsgSnap
	p.mu.Lock()
	if p.msgs > 0 && (p.msgs >= peerQueueMsgs || len(p.buf) >= peerQueueBytes) {
		p.mu.Unlock()
		// Full: drop. etcd raft tolerates loss; it is told, so that it
		// stops pipelining to this peer and probes instead.
		t.events.unreachable(m.To)
		if snap {
			t.events.snapshotSent(m.To, false)
		}
		return
	}
	p.buf = appendFrame(p.buf, m)
	p.msgs++
	if snap {
		p.snaps++
	}
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// write is a peer's writer goroutine: it takes everything queued as one
// batch and hands it to the sink with one write, so the number of
// syscalls follows the number of wake-ups, not of messages. Two buffers
// alternate: the raft loop appends to one while this writes the other.
func (t *transport) write(p *peer) {
	defer p.sink.close()
	var spare []byte
	for {
		select {
		case <-t.stop:
			return
		case <-p.wake:
		}
		p.mu.Lock()
		batch, snaps := p.buf, p.snaps
		p.buf, p.msgs, p.snaps = spare[:0], 0, 0
		p.mu.Unlock()
		if len(batch) == 0 {
			spare = batch
			continue
		}
		err := p.sink.write(batch)
		if err != nil {
			t.events.unreachable(p.to)
		}
		for range snaps {
			t.events.snapshotSent(p.to, err == nil)
		}
		if cap(batch) <= maxKeptBatchBytes {
			spare = batch
		} else {
			spare = nil
		}
	}
}

// close stops the writers and closes their connections. Queued messages
// are lost, as they would be in a crash.
func (t *transport) close() {
	close(t.stop)
	for _, p := range t.peers {
		p.sink.close() // unblocks a writer stuck in a write; close is idempotent
	}
	t.wg.Wait()
}

// tcpSink writes batches to one peer over one TCP connection, dialled on
// demand and again after a failure, with a backoff so that a dead peer
// costs a failed dial every few milliseconds, not one per batch.
type tcpSink struct {
	addr  string
	hello [helloBytes]byte

	mu       sync.Mutex // guards conn and closed against close()
	conn     net.Conn
	closed   bool
	nextDial time.Time
	backoff  time.Duration
}

func newTCPSink(addr string, clusterID, from, to uint64) *tcpSink {
	s := &tcpSink{addr: addr}
	copy(s.hello[:8], helloMagic[:])
	binary.LittleEndian.PutUint64(s.hello[8:], clusterID)
	binary.LittleEndian.PutUint64(s.hello[16:], from)
	binary.LittleEndian.PutUint64(s.hello[24:], to)
	return s
}

func (s *tcpSink) write(batch []byte) error {
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		var err error
		if c, err = s.dial(); err != nil {
			return err
		}
	}
	// A deadline, not a blocking write forever: a peer that stopped
	// reading must not hold this writer (and the queue behind it).
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.Write(batch); err != nil {
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil
		}
		s.mu.Unlock()
		c.Close()
		return err
	}
	return nil
}

func (s *tcpSink) dial() (net.Conn, error) {
	now := time.Now()
	if now.Before(s.nextDial) {
		return nil, errBackoff
	}
	c, err := net.DialTimeout("tcp", s.addr, dialTimeout)
	if err == nil {
		c.SetWriteDeadline(now.Add(writeTimeout))
		_, err = c.Write(s.hello[:])
		if err != nil {
			c.Close()
		}
	}
	if err != nil {
		s.backoff = min(max(2*s.backoff, backoffMin), backoffMax)
		s.nextDial = time.Now().Add(s.backoff)
		return nil, err
	}
	s.backoff = 0
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	s.conn = c
	return c, nil
}

func (s *tcpSink) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}

// memSink delivers batches in process: it decodes the frames the way a TCP
// reader would and hands them to the peer's current incarnation (none if
// it is down).
type memSink struct {
	to      uint64
	deliver func(to uint64, m *raftpb.Message) bool // false: the peer is down
}

func (s memSink) write(batch []byte) error {
	var m raftpb.Message
	for len(batch) > 0 {
		n, err := decodeFrame(batch, &m)
		if err != nil {
			return err
		}
		batch = batch[n:]
		if !s.deliver(s.to, &m) {
			return fmt.Errorf("etcd engine: node %d is down", s.to)
		}
	}
	return nil
}

func (memSink) close() {}

// tcpListener accepts connections from peers and runs a reader goroutine
// per connection that decodes frames and hands them to the node.
type tcpListener struct {
	ln        net.Listener
	self      uint64
	clusterID uint64
	deliver   func(m *raftpb.Message)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func listenTCP(addr string, self, clusterID uint64, deliver func(m *raftpb.Message)) (*tcpListener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	l := &tcpListener{ln: ln, self: self, clusterID: clusterID, deliver: deliver, conns: map[net.Conn]struct{}{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *tcpListener) addr() string { return l.ln.Addr().String() }

func (l *tcpListener) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.closed {
			l.mu.Unlock()
			c.Close()
			return
		}
		l.conns[c] = struct{}{}
		l.wg.Add(1)
		l.mu.Unlock()
		go l.serve(c)
	}
}

// serve reads one peer's connection: a hello naming the cluster and both
// ends, then frames until the connection ends. A connection that breaks
// the protocol is closed; the peer dials again.
func (l *tcpListener) serve(c net.Conn) {
	defer l.wg.Done()
	defer func() {
		l.mu.Lock()
		delete(l.conns, c)
		l.mu.Unlock()
		c.Close()
	}()
	r := bufio.NewReaderSize(c, 64<<10)
	var hello [helloBytes]byte
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(r, hello[:]); err != nil {
		return
	}
	if [8]byte(hello[:8]) != helloMagic || binary.LittleEndian.Uint64(hello[8:]) != l.clusterID ||
		binary.LittleEndian.Uint64(hello[24:]) != l.self {
		return
	}
	from := binary.LittleEndian.Uint64(hello[16:])
	c.SetReadDeadline(time.Time{})
	var buf []byte
	var m raftpb.Message
	for {
		if err := readFrame(r, &buf, &m); err != nil {
			return
		}
		if m.From != from || m.To != l.self {
			return
		}
		l.deliver(&m)
	}
}

func (l *tcpListener) close() {
	l.ln.Close()
	l.mu.Lock()
	l.closed = true
	for c := range l.conns {
		c.Close()
	}
	l.mu.Unlock()
	l.wg.Wait()
}
