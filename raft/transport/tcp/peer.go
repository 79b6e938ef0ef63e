package tcp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// peer is the sending side of one peer: a bounded queue that Send fills
// and one writer goroutine that drains it into the peer's connection.
type peer struct {
	t  *Transport
	id uint64

	mu     sync.Mutex
	addr   string
	queue  []raft.Message // waiting for the writer; len <= cfg.QueueLen
	conn   net.Conn       // the current outbound connection, if any
	closed bool

	wake   chan struct{} // capacity 1: "the queue is not empty"
	ctx    context.Context
	cancel context.CancelFunc

	stats counters
}

func (t *Transport) newPeer(id uint64, addr string) *peer {
	p := &peer{t: t, id: id, addr: addr, wake: make(chan struct{}, 1)}
	p.ctx, p.cancel = context.WithCancel(t.ctx)
	return p
}

// start runs p's writer. The caller holds t.mu with t.closed false, or
// owns t exclusively (New).
func (t *Transport) start(p *peer) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		p.run()
	}()
}

// push queues msgs, dropping (and counting) what does not fit. It never
// blocks on the network: the lock is held only by other pushes and by the
// writer swapping the queue out.
func (p *peer) push(msgs []raft.Message) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.stats.dropped.Add(uint64(len(msgs)))
		return
	}
	room := p.t.cfg.QueueLen - len(p.queue)
	n := min(room, len(msgs))
	p.queue = append(p.queue, msgs[:n]...)
	p.mu.Unlock()
	if n < len(msgs) {
		p.stats.dropped.Add(uint64(len(msgs) - n))
	}
	if n > 0 {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// take swaps the queue out for the writer. done is the writer's previous
// batch, finished with: its array becomes the next queue, so the queue and
// the batch being written never share an array and steady-state sending
// does not allocate.
func (p *peer) take(done []raft.Message) []raft.Message {
	clear(done) // drop references to entries already written
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return done[:0]
	}
	batch := p.queue
	p.queue = done[:0]
	return batch
}

// dropQueued discards everything queued (the peer is unreachable).
func (p *peer) dropQueued() {
	p.mu.Lock()
	n := len(p.queue)
	clear(p.queue)
	p.queue = p.queue[:0]
	p.mu.Unlock()
	p.stats.dropped.Add(uint64(n))
}

func (p *peer) setAddr(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.addr == addr {
		return
	}
	p.addr = addr
	if p.conn != nil {
		p.conn.Close() // the writer notices and redials the new address
	}
}

// stop ends the writer: it drops the queue and closes the connection.
func (p *peer) stop() {
	p.mu.Lock()
	p.closed = true
	if p.conn != nil {
		p.conn.Close()
	}
	p.mu.Unlock()
	p.cancel()
}

// dropConn closes the writer's connection c.
func (p *peer) dropConn(c net.Conn) {
	p.mu.Lock()
	if p.conn == c {
		p.conn = nil
	}
	p.mu.Unlock()
	p.t.untrack(c)
}

// setConn publishes the writer's connection so that stop and setAddr can
// close it; it fails if the peer was stopped meanwhile.
func (p *peer) setConn(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conn = c
	return true
}

// run is the writer goroutine. It dials when there is something to send,
// writes every queued message into a bufio.Writer and flushes when the
// queue is empty, so that one network write carries as many messages as
// piled up while the previous write was in progress.
//
// When a dial fails, the messages queued so far are dropped (they would be
// stale by the time the peer is back; Raft resends what matters) and the
// next dial waits for a backoff: BackoffMin doubling up to BackoffMax, each
// wait drawn from [d/2, d] with a seeded source. While it waits, new
// messages queue up to QueueLen and the rest are dropped. When an
// established connection breaks, the writer redials at once if the
// connection had lived for BackoffMax or more, else it backs off too.
func (p *peer) run() {
	cfg := &p.t.cfg
	rng := rand.New(rand.NewPCG(cfg.Seed, p.id))
	bw := bufio.NewWriterSize(nil, bufferBytes)
	var (
		conn      net.Conn
		lost      chan struct{} // closed when the peer closes conn
		batch     []raft.Message
		scratch   []byte        // encode buffer for messages larger than bw
		backoff   time.Duration // current backoff; 0 after a long-lived connection
		nextDial  time.Time
		connected bool      // a connection was established before
		since     time.Time // when conn was established
	)
	// fail schedules the next dial after a failed dial or a lost
	// connection. A connection that had lived long redials at once (the
	// peer probably restarted); a failed dial or a short-lived connection
	// backs off, so that a peer that accepts and then drops connections is
	// not redialed in a tight loop.
	fail := func(lostConn bool) {
		if lostConn && time.Since(since) >= cfg.BackoffMax {
			backoff, nextDial = 0, time.Time{}
			return
		}
		backoff = min(max(2*backoff, cfg.BackoffMin), cfg.BackoffMax)
		nextDial = time.Now().Add(backoff/2 + time.Duration(rng.Int64N(int64(backoff/2)+1)))
	}
	defer func() {
		if conn != nil {
			p.t.untrack(conn)
		}
		p.dropQueued()
	}()
	labels := p.t.goroutineLabels()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		}
		labels.Refresh()
		if conn != nil {
			select {
			case <-lost:
				p.dropConn(conn)
				conn = nil
				fail(true)
			default:
			}
		}
		if conn == nil {
			if !sleepUntil(p.ctx, nextDial) {
				return
			}
			c, err := p.dial(codec.StreamMessages)
			if err != nil {
				if p.ctx.Err() != nil {
					return
				}
				p.dropQueued()
				fail(false)
				p.t.log.Debug("dial failed", "peer", p.id, "err", err, "retry_at", nextDial)
				continue
			}
			if !p.setConn(c) {
				p.t.untrack(c)
				return
			}
			conn = c
			since = time.Now()
			bw.Reset(c)
			if connected {
				p.stats.reconnects.Add(1)
			}
			connected = true
			lost = make(chan struct{})
			p.t.goroutine(func() { watch(c, lost) }) // if closed, ctx ends the writer
		}
		var err error
		batch, scratch, err = p.writeQueued(conn, bw, batch, scratch)
		if err != nil {
			p.t.log.Debug("connection lost", "peer", p.id, "err", err)
			p.dropConn(conn)
			conn = nil
			fail(true)
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
	}
}

// writeQueued writes batches from the queue until it is empty, then
// flushes. On error the messages not yet written are dropped.
func (p *peer) writeQueued(conn net.Conn, bw *bufio.Writer, batch []raft.Message, scratch []byte) ([]raft.Message, []byte, error) {
	cfg := &p.t.cfg
	for {
		batch = p.take(batch)
		if len(batch) == 0 {
			if bw.Buffered() == 0 {
				return batch, scratch, nil
			}
			conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
			return batch, scratch, bw.Flush()
		}
		conn.SetWriteDeadline(time.Now().Add(cfg.WriteTimeout))
		var sent, tooLarge uint64
		for i := range batch {
			m := &batch[i]
			var err error
			scratch, err = writeMessage(bw, m, scratch, cfg.MaxFrameBytes)
			if errors.Is(err, errTooLarge) {
				tooLarge++
				p.t.log.Warn("message exceeds the frame limit, dropped", "peer", p.id, "type", m.Type, "limit", cfg.MaxFrameBytes)
				continue
			}
			if err != nil {
				p.stats.sent.Add(sent)
				p.stats.dropped.Add(tooLarge + uint64(len(batch)-i))
				return batch, scratch, err
			}
			sent++
		}
		p.stats.sent.Add(sent)
		p.stats.dropped.Add(tooLarge)
	}
}

var errTooLarge = errors.New("tcp: message exceeds the frame limit")

// maxScratchBytes bounds the encode buffer a writer keeps between large
// messages.
const maxScratchBytes = 1 << 20

// writeMessage encodes m's frame into bw. A frame that fits the buffer's
// free space is encoded in place (no copy, no allocation); one that fits an
// empty buffer is encoded in place after a flush; a larger one is encoded
// into scratch and written through.
func writeMessage(bw *bufio.Writer, m *raft.Message, scratch []byte, maxFrameBytes int) ([]byte, error) {
	size := codec.MessageSize(m)
	if size > maxFrameBytes {
		return scratch, errTooLarge
	}
	n := codec.HeaderBytes + size
	if n > bw.Available() && n <= bw.Size() {
		if err := bw.Flush(); err != nil {
			return scratch, err
		}
	}
	if n <= bw.Available() {
		_, err := bw.Write(codec.AppendMessageFrame(bw.AvailableBuffer(), m))
		return scratch, err
	}
	scratch = codec.AppendMessageFrame(scratch[:0], m)
	_, err := bw.Write(scratch)
	if cap(scratch) > maxScratchBytes {
		scratch = nil
	}
	return scratch, err
}

// dial connects to the peer and performs the handshake.
func (p *peer) dial(stream codec.Stream) (net.Conn, error) {
	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	return p.t.dial(p.ctx, p.id, addr, stream)
}

// dial connects to addr, sends a Hello and waits for the answer. The
// connection returned is tracked (Close closes it); untrack it when done.
func (t *Transport) dial(ctx context.Context, id uint64, addr string, stream codec.Stream) (net.Conn, error) {
	d := net.Dialer{Timeout: t.cfg.DialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if !t.track(c) {
		return nil, transport.ErrClosed
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	c.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	hello := codec.Hello{Stream: stream, ClusterID: t.cfg.ClusterID, From: t.cfg.ID, To: id}
	frame := codec.AppendFrame(make([]byte, 0, codec.HeaderBytes+codec.HelloBytes), codec.KindHello,
		codec.AppendHello(make([]byte, 0, codec.HelloBytes), hello))
	if _, err := c.Write(frame); err != nil {
		t.untrack(c)
		return nil, fmt.Errorf("handshake with %d at %s: %w", id, addr, err)
	}
	status, reason, err := readStatus(bufio.NewReaderSize(c, 64))
	if err != nil {
		t.untrack(c)
		return nil, fmt.Errorf("handshake with %d at %s: %w", id, addr, err)
	}
	if status != codec.StatusOK {
		t.untrack(c)
		return nil, fmt.Errorf("handshake with %d at %s: %w", id, addr, &statusError{status, reason})
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// readStatus reads one KindStatus frame.
func readStatus(br *bufio.Reader) (codec.Status, string, error) {
	k, body, err := codec.ReadFrame(br, nil, codec.MaxReasonBytes+1)
	if err != nil {
		return 0, "", err
	}
	if k != codec.KindStatus {
		return 0, "", fmt.Errorf("%w: %v frame where a status was expected", codec.ErrMalformed, k)
	}
	return codec.ParseStatus(body)
}

// watch reads from an outbound message connection, on which the peer never
// sends anything, to notice at once when the peer closes it (e.g. it
// restarted): closing c makes the writer's next write fail and redial,
// instead of writing into a dead connection.
func watch(c net.Conn, lost chan<- struct{}) {
	var b [1]byte
	c.Read(b[:])
	c.Close()
	close(lost)
}

// sleepUntil waits until t or ctx's end; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
