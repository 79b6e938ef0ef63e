package transport

import (
	"context"
	"errors"
	"io"

	"github.com/raftbench/raftbench/raft"
)

// Handler receives what a transport delivers. See the package documentation
// for the threading and ownership rules.
type Handler interface {
	// Deliver hands over messages from one peer, in the order that peer
	// sent them. It is called on a transport goroutine and must not block
	// for long: hand the messages to the node's loop (a channel) and
	// return. The handler owns msgs and everything it references.
	Deliver(msgs []raft.Message)
	// HandleSnapshot is called on a goroutine of its own for each incoming
	// snapshot stream. m is the MsgSnap with Snapshot.Meta set and
	// Snapshot.Data nil; body streams the snapshot's data and returns
	// io.EOF after the last byte, or an error if the stream broke. A nil
	// return tells the sender the snapshot was accepted; an error fails
	// the sender's SendSnapshot. Return once body returns an error.
	HandleSnapshot(m raft.Message, body io.Reader) error
}

// Transport moves messages between the nodes of one cluster.
type Transport interface {
	// Send queues each message for m.To and returns at once: it never
	// blocks on the network. A message that cannot be queued (the peer's
	// queue is full, the peer is unknown, the message is larger than the
	// frame limit, the link is down) is dropped and counted. The caller
	// may reuse msgs after Send returns, but not the entries' Data, the
	// Context or the Snapshot, which stay shared until written.
	Send(msgs []raft.Message)
	// SendSnapshot streams body as the data of the snapshot m (a MsgSnap
	// with Snapshot.Meta set; Snapshot.Data is ignored) to m.To. It blocks
	// until the receiver's HandleSnapshot returned nil after reading the
	// whole body, and fails if the handler returns an error, the stream
	// breaks, body fails, or ctx ends. It does not wait behind, nor hold
	// up, the messages of Send.
	SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error
	// Close stops the transport: it drops queued messages, fails snapshot
	// streams in progress and waits for the transport's goroutines. After
	// Close returns the handler is not called again (a HandleSnapshot call
	// in progress is waited for: it must return once its body fails).
	Close() error
}

// PeerStats counts one peer's traffic. Every field only grows.
type PeerStats struct {
	// Sent counts messages handed to the network: written to the peer's
	// connection (tcp) or put on the link (mem). A sent message may still
	// be lost.
	Sent uint64
	// Dropped counts messages given to Send that were never sent: the
	// queue was full, the connection was down or failed, the message
	// exceeded the frame limit, or (mem) the link was cut or lost it.
	Dropped uint64
	// Received counts messages from the peer handed to Handler.Deliver.
	Received uint64
	// Reconnects counts connections to the peer established after the
	// first one.
	Reconnects uint64
	// Rejected counts connections and messages from the peer that were
	// refused: a handshake naming another destination id, a malformed or
	// oversized frame, a message whose From or To is not the
	// connection's.
	Rejected uint64
}

// Add returns the field-by-field sum of s and o.
func (s PeerStats) Add(o PeerStats) PeerStats {
	return PeerStats{
		Sent:       s.Sent + o.Sent,
		Dropped:    s.Dropped + o.Dropped,
		Received:   s.Received + o.Received,
		Reconnects: s.Reconnects + o.Reconnects,
		Rejected:   s.Rejected + o.Rejected,
	}
}

// Stats is a snapshot of a transport's counters.
type Stats struct {
	// Peers holds the counters of every peer the transport knows.
	Peers map[uint64]PeerStats
	// Rejected counts inbound connections refused before they could be
	// attributed to a known peer: unknown node id, other cluster, wrong
	// destination id, bad handshake.
	Rejected uint64
	// Dropped counts messages given to Send for nodes the transport does
	// not know (or for itself).
	Dropped uint64
}

// Sentinel errors that callers may need to tell apart.
var (
	// ErrClosed is returned by operations on a closed transport.
	ErrClosed = errors.New("transport: closed")
	// ErrUnknownPeer is returned when a snapshot is addressed to a node
	// the transport does not know.
	ErrUnknownPeer = errors.New("transport: unknown peer")
	// ErrRejected is wrapped by SendSnapshot's error when the receiver's
	// handler (or the receiver itself) refused the snapshot.
	ErrRejected = errors.New("transport: snapshot rejected by receiver")
)
