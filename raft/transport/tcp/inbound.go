package tcp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// accept is the listener's goroutine: one goroutine per accepted
// connection, which performs the handshake and then reads the stream.
func (t *Transport) accept() {
	defer t.wg.Done()
	var delay time.Duration
	for {
		c, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off a little.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			t.log.Warn("accept failed", "err", err, "retry_in", delay)
			if !sleepUntil(t.ctx, time.Now().Add(delay)) {
				return
			}
			continue
		}
		delay = 0
		if !t.track(c) {
			return
		}
		t.goroutine(func() { t.serve(c) })
	}
}

// serve handles one inbound connection.
func (t *Transport) serve(c net.Conn) {
	defer t.untrack(c)
	br := bufio.NewReaderSize(c, bufferBytes)
	p, h, ok := t.handshake(c, br)
	if !ok {
		return
	}
	switch h.Stream {
	case codec.StreamMessages:
		t.readMessages(p, c, br)
	case codec.StreamSnapshot:
		defer t.snapStreams.Add(-1)
		t.receiveSnapshot(p, c, br)
	}
}

// handshake reads the dialer's Hello and answers it. It refuses (and
// counts) unknown node ids, other clusters, a wrong destination id and
// anything that is not a well-formed Hello.
func (t *Transport) handshake(c net.Conn, br *bufio.Reader) (*peer, codec.Hello, bool) {
	c.SetDeadline(time.Now().Add(t.cfg.DialTimeout))
	reject := func(p *peer, reason string, args ...any) (*peer, codec.Hello, bool) {
		msg := fmt.Sprintf(reason, args...)
		t.log.Warn("inbound connection refused", "remote", c.RemoteAddr().String(), "reason", msg)
		if p != nil {
			p.stats.rejected.Add(1)
		} else {
			t.rejected.Add(1)
		}
		frame := codec.AppendFrame(nil, codec.KindStatus, codec.AppendStatus(nil, codec.StatusRejected, msg))
		c.Write(frame)
		return nil, codec.Hello{}, false
	}
	k, body, err := codec.ReadFrame(br, nil, codec.HelloBytes)
	if err != nil {
		return reject(nil, "reading hello: %v", err)
	}
	if k != codec.KindHello {
		return reject(nil, "%v frame before the hello", k)
	}
	h, err := codec.ParseHello(body)
	if err != nil {
		return reject(nil, "%v", err)
	}
	if h.ClusterID != t.cfg.ClusterID {
		return reject(nil, "cluster %d, this is cluster %d", h.ClusterID, t.cfg.ClusterID)
	}
	p := t.peer(h.From)
	if p == nil {
		return reject(nil, "unknown node id %d", h.From)
	}
	if h.To != t.cfg.ID {
		return reject(p, "hello for node %d, this is node %d", h.To, t.cfg.ID)
	}
	if h.Stream == codec.StreamSnapshot && t.snapStreams.Add(1) > int32(t.cfg.MaxSnapshotStreams) {
		t.snapStreams.Add(-1)
		t.log.Warn("snapshot stream refused: too many in progress", "peer", p.id, "limit", t.cfg.MaxSnapshotStreams)
		frame := codec.AppendFrame(nil, codec.KindStatus, codec.AppendStatus(nil, codec.StatusFailed,
			fmt.Sprintf("node %d is receiving %d snapshots already", t.cfg.ID, t.cfg.MaxSnapshotStreams)))
		c.Write(frame)
		return nil, codec.Hello{}, false
	}
	if _, err := c.Write(codec.AppendFrame(nil, codec.KindStatus, codec.AppendStatus(nil, codec.StatusOK, ""))); err != nil {
		if h.Stream == codec.StreamSnapshot {
			t.snapStreams.Add(-1)
		}
		return nil, codec.Hello{}, false
	}
	c.SetDeadline(time.Time{})
	return p, h, true
}

// inbound is the message stream a peer currently sends us on.
type inbound struct {
	conn net.Conn
	done chan struct{} // closed when its reader has returned
}

// readMessages reads a peer's message stream and delivers the messages in
// batches: it decodes frames while whole ones are buffered and calls
// Deliver when the next frame would have to wait for the network (or the
// batch is full). Deliver runs on this goroutine, so a peer's messages are
// delivered one batch at a time, in order.
func (t *Transport) readMessages(p *peer, c net.Conn, br *bufio.Reader) {
	// A peer has at most one message stream: a new one (after the peer
	// redialed) replaces the old, whose reader is waited for so that two
	// readers never deliver for the same peer at once.
	in := &inbound{conn: c, done: make(chan struct{})}
	t.mu.Lock()
	if (*t.peers.Load())[p.id] != p {
		// Removed (RemovePeer) since the handshake.
		t.mu.Unlock()
		close(in.done)
		return
	}
	prev := t.inbound[p.id]
	t.inbound[p.id] = in
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		if t.inbound[p.id] == in {
			delete(t.inbound, p.id)
		}
		t.mu.Unlock()
		close(in.done)
	}()
	if prev != nil {
		prev.conn.Close()
		<-prev.done
	}

	var (
		buf   []byte // frame buffer, reused until a message holds on to it
		batch []raft.Message
		last  = 16 // size of the previous batch (at most 64), to size the next one
	)
	labels := t.goroutineLabels()
	deliver := func() {
		if len(batch) == 0 {
			return
		}
		labels.Refresh()
		p.stats.received.Add(uint64(len(batch)))
		last = min(len(batch), 64)
		t.cfg.Handler.Deliver(batch)
		batch = nil // the handler owns it
	}
	defer deliver()
	for {
		k, body, err := codec.ReadFrame(br, buf, t.cfg.MaxFrameBytes)
		if err != nil {
			if err != io.EOF && t.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				t.log.Debug("message stream ended", "peer", p.id, "err", err)
				if errors.Is(err, codec.ErrMalformed) || errors.Is(err, codec.ErrFrameTooLarge) {
					p.stats.rejected.Add(1)
				}
			}
			return
		}
		buf = body[:0]
		if k != codec.KindMessage {
			p.stats.rejected.Add(1)
			t.log.Warn("unexpected frame on a message stream", "peer", p.id, "kind", k)
			return
		}
		if batch == nil {
			batch = make([]raft.Message, 0, last)
		}
		batch = append(batch, raft.Message{})
		m := &batch[len(batch)-1]
		if err := codec.UnmarshalMessage(body, m); err != nil {
			p.stats.rejected.Add(1)
			t.log.Warn("bad message", "peer", p.id, "err", err)
			*m = raft.Message{}
			batch = batch[:len(batch)-1]
			return
		}
		if m.From != p.id || m.To != t.cfg.ID {
			// A bug on the sender's side, not a broken stream: drop the
			// message, keep the connection.
			p.stats.rejected.Add(1)
			t.log.Warn("message not from the connection's peer or not for this node, dropped", "peer", p.id, "from", m.From, "to", m.To)
			*m = raft.Message{}
			batch = batch[:len(batch)-1]
			if len(batch) > 0 && !codec.FrameBuffered(br) {
				deliver()
			}
			continue
		}
		if holdsFrame(m) {
			buf = nil
		}
		if len(batch) >= maxDeliverBatch || !codec.FrameBuffered(br) {
			deliver()
		}
	}
}

// holdsFrame reports whether a decoded message refers to its frame's bytes
// (decoded byte fields are nil when empty, sub-slices of the frame
// otherwise).
func holdsFrame(m *raft.Message) bool {
	if m.Context != nil || (m.Snapshot != nil && m.Snapshot.Data != nil) {
		return true
	}
	for i := range m.Entries {
		if m.Entries[i].Data != nil {
			return true
		}
	}
	return false
}
