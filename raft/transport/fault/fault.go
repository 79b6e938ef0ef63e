// Package fault wraps a real transport with injected faults: links cut
// (partitions, one-way or both ways when every side cuts) for tests and
// experiments over TCP, where the network itself cannot be told to fail.
package fault

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
)

// ErrCut is returned for a snapshot sent over a cut link.
var ErrCut = errors.New("fault: link cut")

// Transport drops what this node sends to peers whose link is cut. A
// symmetric partition cuts the link on both nodes' wrappers.
type Transport struct {
	inner transport.Transport

	mu  sync.RWMutex
	cut map[uint64]bool
	buf []raft.Message // reused filter buffer, guarded by mu (write lock)
}

// Wrap returns inner with fault injection, initially transparent.
func Wrap(inner transport.Transport) *Transport {
	return &Transport{inner: inner, cut: map[uint64]bool{}}
}

// Cut drops every message from this node to the peers from now on.
func (t *Transport) Cut(peers ...uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range peers {
		t.cut[p] = true
	}
}

// Mend restores the links to the peers (all links if none are named).
func (t *Transport) Mend(peers ...uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(peers) == 0 {
		clear(t.cut)
	}
	for _, p := range peers {
		delete(t.cut, p)
	}
}

// Send forwards the messages whose link is not cut.
func (t *Transport) Send(msgs []raft.Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.cut) == 0 {
		t.inner.Send(msgs)
		return
	}
	t.buf = t.buf[:0]
	for _, m := range msgs {
		if !t.cut[m.To] {
			t.buf = append(t.buf, m)
		}
	}
	if len(t.buf) > 0 {
		t.inner.Send(t.buf)
	}
	clear(t.buf)
}

// SendSnapshot fails at once over a cut link.
func (t *Transport) SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error {
	t.mu.RLock()
	cut := t.cut[m.To]
	t.mu.RUnlock()
	if cut {
		return ErrCut
	}
	return t.inner.SendSnapshot(ctx, m, body)
}

// Close closes the wrapped transport.
func (t *Transport) Close() error { return t.inner.Close() }
