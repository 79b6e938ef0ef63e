package mem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
)

// Endpoint is one node's attachment to a Network; it implements
// transport.Transport.
type Endpoint struct {
	n  *Network
	id uint64
	h  transport.Handler

	ctx    context.Context // ends when the endpoint closes
	cancel context.CancelFunc
	wake   chan struct{} // capacity 1: the earliest delivery changed
	done   chan struct{} // closed when the scheduler has returned
	snaps  sync.WaitGroup
	// pending counts messages queued or being delivered (tests wait for
	// it to reach zero).
	pending atomic.Int64

	mu     sync.Mutex
	queue  deliveries           // messages in flight to this endpoint
	tail   map[uint64]time.Time // per sender: time of its last in-order delivery
	seq    uint64
	closed bool

	statsMu sync.Mutex
	stats   map[uint64]*counters // per peer
	dropped atomic.Uint64        // messages to id 0 or to itself
}

var _ transport.Transport = (*Endpoint)(nil)

func newEndpoint(n *Network, id uint64, h transport.Handler) *Endpoint {
	e := &Endpoint{
		n:     n,
		id:    id,
		h:     h,
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
		tail:  map[uint64]time.Time{},
		stats: map[uint64]*counters{},
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	return e
}

// ID returns the endpoint's node id.
func (e *Endpoint) ID() uint64 { return e.id }

// Send puts each message on its link: it may be dropped (cut, partition,
// loss, destination absent or its queue full), duplicated, delayed and
// reordered as the link's model says. It never blocks on delivery.
//
// The destination receives the same Message values (no serialization):
// entries' Data, Context and Snapshot are shared, and neither side may
// modify them (the raft core does not).
func (e *Endpoint) Send(msgs []raft.Message) {
	if e.ctx.Err() != nil {
		for i := range msgs {
			e.counters(msgs[i].To).dropped.Add(1)
		}
		return
	}
	now := time.Now()
	n := e.n
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := range msgs {
		m := &msgs[i]
		if m.To == 0 || m.To == e.id {
			e.dropped.Add(1)
			continue
		}
		st := e.counters(m.To)
		dst := n.nodes[m.To]
		lm := n.link(e.id, m.To)
		if dst == nil || n.blocked(e.id, m.To) || n.chance(lm.Loss) {
			st.dropped.Add(1)
			continue
		}
		copies := 1
		if n.chance(lm.Duplicate) {
			copies = 2
		}
		queued := false
		for range copies {
			delay := n.sample(lm.Delay)
			reorder := n.chance(lm.Reorder)
			if reorder {
				extra := lm.ReorderDelay
				if extra == nil {
					extra = lm.Delay
				}
				delay += n.sample(extra)
			}
			if dst.enqueue(e.id, *m, now.Add(delay), !reorder, n.queueLen) {
				queued = true
			}
		}
		if queued {
			st.sent.Add(1)
		} else {
			st.dropped.Add(1)
		}
	}
}

// enqueue schedules m from sender from for delivery at at. An in-order
// message is never scheduled before the sender's previous in-order one.
// The caller holds the network's lock.
func (e *Endpoint) enqueue(from uint64, m raft.Message, at time.Time, inOrder bool, limit int) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed || len(e.queue) >= limit {
		return false
	}
	if inOrder {
		if t := e.tail[from]; at.Before(t) {
			at = t
		}
		e.tail[from] = at
	}
	e.seq++
	e.queue.push(delivery{at: at, seq: e.seq, msg: m})
	e.pending.Add(1)
	if e.queue[0].seq == e.seq {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// run is the endpoint's scheduler goroutine: it sleeps until the earliest
// delivery is due, then hands every due message to the handler, grouped
// into one Deliver call per run of messages from the same sender.
func (e *Endpoint) run() {
	defer close(e.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var due []delivery
	for {
		e.mu.Lock()
		now := time.Now()
		due = due[:0]
		for len(e.queue) > 0 && !e.queue[0].at.After(now) {
			due = append(due, e.queue.pop())
		}
		wait := time.Duration(-1)
		if len(e.queue) > 0 {
			wait = e.queue[0].at.Sub(now)
		}
		e.mu.Unlock()
		if len(due) > 0 {
			e.deliver(due)
			e.pending.Add(-int64(len(due)))
			clear(due)
			continue
		}
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-e.ctx.Done():
			timer.Stop()
			return
		case <-e.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (e *Endpoint) deliver(due []delivery) {
	for i := 0; i < len(due); {
		from := due[i].msg.From
		j := i + 1
		for j < len(due) && due[j].msg.From == from {
			j++
		}
		if e.ctx.Err() != nil {
			return
		}
		batch := make([]raft.Message, j-i) // the handler owns it
		for k := range batch {
			batch[k] = due[i+k].msg
		}
		e.counters(from).received.Add(uint64(len(batch)))
		e.h.Deliver(batch)
		i = j
	}
}

// SendSnapshot streams body to m.To's HandleSnapshot through an in-process
// pipe (the handler reads what the sender writes, with no buffer between
// them). The link's state is checked when the stream starts: a cut or
// partitioned link, an absent destination or a loss fails it; the link's
// delay is waited before the handler starts.
func (e *Endpoint) SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error {
	if m.Type != raft.MsgSnap || m.Snapshot == nil {
		return fmt.Errorf("mem: SendSnapshot needs a MsgSnap with Snapshot set, got %v", m.Type)
	}
	if e.ctx.Err() != nil {
		return transport.ErrClosed
	}
	n := e.n
	n.mu.Lock()
	dst := n.nodes[m.To]
	var delay time.Duration
	var blocked, lost bool
	if dst != nil {
		lm := n.link(e.id, m.To)
		blocked = n.blocked(e.id, m.To)
		lost = !blocked && n.chance(lm.Loss)
		delay = n.sample(lm.Delay)
	}
	n.mu.Unlock()
	switch {
	case dst == nil:
		return fmt.Errorf("%w: node %d is not on the network", transport.ErrUnknownPeer, m.To)
	case blocked:
		return fmt.Errorf("mem: snapshot to %d: link cut", m.To)
	case lost:
		return fmt.Errorf("mem: snapshot to %d: lost", m.To)
	}

	// The stream ends if ctx ends or either side closes.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer context.AfterFunc(e.ctx, func() { cancel(transport.ErrClosed) })()
	defer context.AfterFunc(dst.ctx, func() { cancel(fmt.Errorf("mem: node %d left", m.To)) })()
	if delay > 0 {
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("mem: snapshot to %d: %w", m.To, context.Cause(ctx))
		case <-timer.C:
		}
	}

	header := m
	meta := *m.Snapshot
	meta.Data = nil
	header.Snapshot = &meta
	pr, pw := io.Pipe()
	defer context.AfterFunc(ctx, func() { pw.CloseWithError(context.Cause(ctx)) })()
	handled := make(chan error, 1)
	if !dst.startSnapshot(func() {
		err := dst.h.HandleSnapshot(header, pr)
		pr.CloseWithError(errHandlerReturned) // unblocks the sender's writes
		handled <- err
	}) {
		return fmt.Errorf("mem: node %d left", m.To)
	}

	_, copyErr := io.Copy(pw, body)
	if copyErr == nil {
		pw.Close() // the handler reads io.EOF
	} else if !errors.Is(copyErr, errHandlerReturned) && ctx.Err() == nil {
		copyErr = fmt.Errorf("mem: snapshot to %d: reading the body: %w", m.To, copyErr)
		pw.CloseWithError(copyErr)
	}
	var handlerErr error
	select {
	case handlerErr = <-handled:
	case <-ctx.Done():
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("mem: snapshot to %d: %w", m.To, context.Cause(ctx))
	case handlerErr != nil:
		return fmt.Errorf("%w: node %d: %w", transport.ErrRejected, m.To, handlerErr)
	case copyErr != nil && !errors.Is(copyErr, errHandlerReturned):
		return copyErr
	}
	return nil // accepted (a handler that returns nil early accepts)
}

var errHandlerReturned = errors.New("mem: snapshot handler returned")

// startSnapshot runs f on a goroutine that Close waits for, unless the
// endpoint is closed.
func (e *Endpoint) startSnapshot(f func()) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return false
	}
	e.snaps.Add(1)
	go func() {
		defer e.snaps.Done()
		f()
	}()
	return true
}

// Close leaves the network: messages in flight to this endpoint are
// dropped, snapshot streams to and from it fail, and it waits until the
// scheduler and the HandleSnapshot calls have returned. The id may join
// again.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.pending.Add(-int64(len(e.queue)))
	clear(e.queue)
	e.queue = e.queue[:0]
	e.mu.Unlock()
	e.n.leave(e)
	e.cancel()
	<-e.done
	e.snaps.Wait()
	return nil
}

// PeerStats returns the counters of traffic with one peer.
func (e *Endpoint) PeerStats(id uint64) transport.PeerStats {
	e.statsMu.Lock()
	c := e.stats[id]
	e.statsMu.Unlock()
	if c == nil {
		return transport.PeerStats{}
	}
	return c.load()
}

// Stats returns the counters of every peer this endpoint exchanged
// messages with.
func (e *Endpoint) Stats() transport.Stats {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	s := transport.Stats{Peers: make(map[uint64]transport.PeerStats, len(e.stats)), Dropped: e.dropped.Load()}
	for id, c := range e.stats {
		s.Peers[id] = c.load()
	}
	return s
}

func (e *Endpoint) counters(id uint64) *counters {
	e.statsMu.Lock()
	defer e.statsMu.Unlock()
	c := e.stats[id]
	if c == nil {
		c = &counters{}
		e.stats[id] = c
	}
	return c
}

type counters struct {
	sent, dropped, received atomic.Uint64
}

func (c *counters) load() transport.PeerStats {
	return transport.PeerStats{Sent: c.sent.Load(), Dropped: c.dropped.Load(), Received: c.received.Load()}
}

// delivery is a message in flight.
type delivery struct {
	at  time.Time
	seq uint64 // ties in at keep the order of sending
	msg raft.Message
}

func (d *delivery) before(o *delivery) bool {
	if d.at.Equal(o.at) {
		return d.seq < o.seq
	}
	return d.at.Before(o.at)
}

// deliveries is a binary min-heap ordered by (at, seq).
type deliveries []delivery

func (h *deliveries) push(d delivery) {
	*h = append(*h, d)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q[i].before(&q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *deliveries) pop() delivery {
	q := *h
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q[last] = delivery{}
	q = q[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].before(&q[m]) {
			m = l
		}
		if r < len(q) && q[r].before(&q[m]) {
			m = r
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}
