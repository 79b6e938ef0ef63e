package tcp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// SendSnapshot streams a snapshot to m.To on a connection of its own, so
// that the peer's message stream (heartbeats, appends) is not held up
// behind it. The stream is the MsgSnap (without data), the body in
// KindChunk frames of SnapshotChunkBytes, and a KindEnd frame; the receiver
// answers with a status once its handler has returned. Flow control is
// TCP's: the receiver reads the next chunk only when its bounded buffer has
// room, so a slow handler slows the sender down.
//
// It returns nil once the receiver's handler has accepted the whole body;
// an error wrapping transport.ErrRejected if the handler (or the receiver)
// refused it; another error if the connection failed, body failed, ctx
// ended or the transport closed. ctx and Close interrupt the network side;
// a body.Read in progress is not interrupted, so body should not block
// indefinitely.
func (t *Transport) SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error {
	if m.Type != raft.MsgSnap || m.Snapshot == nil {
		return fmt.Errorf("tcp: SendSnapshot needs a MsgSnap with Snapshot set, got %v (snapshot %v)", m.Type, m.Snapshot != nil)
	}
	p := t.peer(m.To)
	if p == nil {
		return fmt.Errorf("%w: %d", transport.ErrUnknownPeer, m.To)
	}
	if t.ctx.Err() != nil {
		return transport.ErrClosed
	}
	// The stream ends when ctx does or the transport closes.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.ctx, cancel)()

	p.mu.Lock()
	addr := p.addr
	p.mu.Unlock()
	c, err := t.dial(ctx, m.To, addr, codec.StreamSnapshot)
	if err != nil {
		if ctx.Err() != nil {
			return t.ctxErr(ctx, err)
		}
		var st *statusError
		if errors.As(err, &st) {
			return fmt.Errorf("%w: %w", transport.ErrRejected, err)
		}
		return fmt.Errorf("tcp: snapshot to %d: %w", m.To, err)
	}
	defer context.AfterFunc(ctx, func() { c.Close() })()

	// The receiver's verdict can come at any time (a handler may fail
	// early), so it is read concurrently with the writes.
	verdict := make(chan error, 1)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		verdict <- readVerdict(bufio.NewReaderSize(c, 64), m.To)
	}()
	defer func() {
		t.untrack(c)
		<-readerDone
	}()

	header := m
	meta := *m.Snapshot
	meta.Data = nil
	header.Snapshot = &meta
	header.From = t.cfg.ID

	bw := bufio.NewWriterSize(c, bufferBytes)
	deadline := func() { c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout)) }
	deadline()
	if codec.MessageSize(&header) > t.cfg.MaxFrameBytes {
		return fmt.Errorf("tcp: snapshot header to %d exceeds the frame limit", m.To)
	}
	bw.Write(codec.AppendMessageFrame(nil, &header))

	var hdr [codec.HeaderBytes]byte
	chunk := make([]byte, t.cfg.SnapshotChunkBytes)
	for {
		select {
		case err := <-verdict:
			// A verdict before the end: the handler failed early (or the
			// stream broke).
			if err == nil {
				err = fmt.Errorf("%w: snapshot to %d: receiver answered before the end of the stream", codec.ErrMalformed, m.To)
			}
			return t.ctxErr(ctx, err)
		default:
		}
		n, rerr := io.ReadFull(body, chunk)
		if n > 0 {
			deadline()
			bw.Write(codec.AppendHeader(hdr[:0], codec.KindChunk, n))
			if _, err := bw.Write(chunk[:n]); err != nil {
				return t.ctxErr(ctx, t.failedWrite(c, verdict, m.To, err))
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			// Closing the connection (deferred) fails the receiver's body.
			return fmt.Errorf("tcp: snapshot to %d: reading the body: %w", m.To, rerr)
		}
	}
	deadline()
	bw.Write(codec.AppendHeader(hdr[:0], codec.KindEnd, 0))
	if err := bw.Flush(); err != nil {
		return t.ctxErr(ctx, t.failedWrite(c, verdict, m.To, err))
	}
	// The handler may take a while to install the snapshot: no deadline,
	// ctx bounds the wait.
	return t.ctxErr(ctx, <-verdict)
}

// failedWrite explains a write failure: if the receiver refused the
// snapshot (and closed the connection), its verdict is the better error.
func (t *Transport) failedWrite(c net.Conn, verdict <-chan error, to uint64, werr error) error {
	c.SetReadDeadline(time.Now().Add(t.cfg.DialTimeout))
	if err := <-verdict; errors.Is(err, transport.ErrRejected) {
		return err
	}
	return fmt.Errorf("tcp: snapshot to %d: %w", to, werr)
}

// ctxErr prefers ctx's error (the caller's cancellation, or the transport's
// closing) to the network error it caused.
func (t *Transport) ctxErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if t.ctx.Err() != nil {
		return fmt.Errorf("%w: %w", transport.ErrClosed, err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("tcp: snapshot: %w", context.Cause(ctx))
	}
	return err
}

// statusError is a status other than OK from a peer.
type statusError struct {
	status codec.Status
	reason string
}

func (e *statusError) Error() string { return fmt.Sprintf("%v: %s", e.status, e.reason) }

// readVerdict reads the receiver's status frame at the end of a snapshot
// stream.
func readVerdict(br *bufio.Reader, to uint64) error {
	status, reason, err := readStatus(br)
	if err != nil {
		return fmt.Errorf("tcp: snapshot to %d: waiting for the receiver's answer: %w", to, err)
	}
	if status != codec.StatusOK {
		return fmt.Errorf("%w: node %d: %w", transport.ErrRejected, to, &statusError{status, reason})
	}
	return nil
}

// receiveSnapshot serves an incoming snapshot stream: it starts the
// handler on its own goroutine with a reader over the chunks, feeds the
// chunks through a bounded buffer, and answers with the handler's verdict.
func (t *Transport) receiveSnapshot(p *peer, c net.Conn, br *bufio.Reader) {
	answer := func(err error) {
		st, reason := codec.StatusOK, ""
		if err != nil {
			st, reason = codec.StatusFailed, err.Error()
		}
		c.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		c.Write(codec.AppendFrame(nil, codec.KindStatus, codec.AppendStatus(nil, st, reason)))
		t.linger(c, br)
	}
	readDeadline := func() { c.SetReadDeadline(time.Now().Add(t.cfg.WriteTimeout)) }

	readDeadline()
	k, body, err := codec.ReadFrame(br, nil, t.cfg.MaxFrameBytes)
	if err != nil {
		t.log.Debug("snapshot stream ended before its header", "peer", p.id, "err", err)
		return
	}
	var m raft.Message
	if k == codec.KindMessage {
		err = codec.UnmarshalMessage(body, &m)
	} else {
		err = fmt.Errorf("%w: %v frame instead of the snapshot's header", codec.ErrMalformed, k)
	}
	if err == nil && (m.Type != raft.MsgSnap || m.Snapshot == nil || m.Snapshot.Data != nil || m.From != p.id || m.To != t.cfg.ID) {
		err = fmt.Errorf("%w: snapshot header %v (snapshot %v)", codec.ErrMalformed, m, m.Snapshot != nil)
	}
	if err != nil {
		p.stats.rejected.Add(1)
		t.log.Warn("bad snapshot stream", "peer", p.id, "err", err)
		answer(err)
		return
	}

	r := &chunkReader{
		chunks:    make(chan []byte, t.cfg.SnapshotBufferChunks),
		free:      make(chan []byte, t.cfg.SnapshotBufferChunks+1),
		abandoned: make(chan struct{}),
	}
	handled := make(chan error, 1)
	go func() {
		err := t.cfg.Handler.HandleSnapshot(m, r)
		close(r.abandoned)
		handled <- err
	}()

	// Feed the handler until the end frame, an error, or the handler's
	// return. A handler that fails early is answered at once (the sender
	// stops); one that returns nil early is answered at the end, and the
	// chunks it did not read are discarded.
	var (
		streamErr, handlerErr error
		returned              bool   // the handler has returned handlerErr
		spare                 []byte // a discarded chunk's buffer, once the handler has returned
	)
feed:
	for {
		buf := spare
		if buf == nil {
			select {
			case buf = <-r.free:
			default:
			}
		}
		readDeadline()
		k, body, err := codec.ReadFrame(br, buf, t.cfg.MaxFrameBytes)
		if err != nil {
			streamErr = fmt.Errorf("tcp: snapshot stream from %d broke: %w", p.id, err)
			break
		}
		switch k {
		case codec.KindChunk:
			if returned || len(body) == 0 {
				spare = body[:0]
				continue
			}
			spare = nil
			select {
			case r.chunks <- body:
			case <-r.abandoned:
				returned, handlerErr = true, <-handled
				if handlerErr != nil {
					answer(handlerErr)
					return
				}
			}
		case codec.KindEnd:
			break feed
		default:
			p.stats.rejected.Add(1)
			streamErr = fmt.Errorf("%w: %v frame in a snapshot stream from %d", codec.ErrMalformed, k, p.id)
			break feed
		}
	}
	r.err = streamErr
	close(r.chunks)
	if !returned {
		handlerErr = <-handled
	}
	if streamErr != nil {
		t.log.Debug("snapshot stream failed", "peer", p.id, "err", streamErr, "handler_err", handlerErr)
		if errors.Is(streamErr, codec.ErrMalformed) {
			answer(streamErr)
		}
		return
	}
	answer(handlerErr)
}

// linger half-closes c and reads what the peer still sends until it closes
// its side (or a short deadline passes), so that closing c does not reset
// the connection and destroy the status frame before the peer has read it.
func (t *Transport) linger(c net.Conn, br *bufio.Reader) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(t.cfg.DialTimeout))
	io.Copy(io.Discard, br)
}

// chunkReader is the body a snapshot handler reads: the stream's chunks,
// in order, through a bounded channel.
type chunkReader struct {
	chunks    chan []byte   // filled by the stream's reader, closed after the last chunk
	free      chan []byte   // consumed chunks, back to the stream's reader for reuse
	abandoned chan struct{} // closed when the handler has returned
	err       error         // why chunks was closed; nil means the stream ended cleanly
	cur, buf  []byte        // unread part of the current chunk, and the whole chunk

	mu sync.Mutex // serializes Read and WriteTo should a handler call them concurrently
}

func (r *chunkReader) next() error {
	if r.buf != nil {
		select {
		case r.free <- r.buf[:0]:
		default:
		}
		r.buf = nil
	}
	b, ok := <-r.chunks
	if !ok {
		if r.err != nil {
			return r.err
		}
		return io.EOF
	}
	r.cur, r.buf = b, b
	return nil
}

// Read implements io.Reader.
func (r *chunkReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(p) == 0 {
		return 0, nil
	}
	if len(r.cur) == 0 {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: io.Copy from the body writes each chunk
// as it is, without a copy.
func (r *chunkReader) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var total int64
	for {
		if len(r.cur) == 0 {
			if err := r.next(); err != nil {
				if err == io.EOF {
					return total, nil
				}
				return total, err
			}
		}
		n, err := w.Write(r.cur)
		total += int64(n)
		r.cur = r.cur[n:]
		if err != nil {
			return total, err
		}
	}
}
