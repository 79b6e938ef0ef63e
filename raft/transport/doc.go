// Package transport defines how nodes exchange Raft messages: a Transport
// sends batches of raft.Message and streams snapshots; a Handler receives
// them. Two implementations live below it:
//
//   - mem: in process, in real time, with the simulator's fault model
//     (per-link delay distributions, loss, duplication, reordering,
//     symmetric and one-way partitions, all changeable at run time). For
//     tests.
//   - tcp: length-prefixed binary frames (package codec) over one outbound
//     connection per peer, coalesced writes, reconnection with capped and
//     jittered exponential backoff, snapshots streamed in chunks on
//     connections of their own.
//
// Package transporttest holds the contract below as a test suite that both
// implementations pass.
//
// # Contract for the node
//
// Sending. Send never blocks and never fails: each message is queued for
// m.To or dropped and counted (a full queue, an unknown or unreachable
// peer, a message beyond the frame limit, a cut link). Raft tolerates loss;
// the core's per-follower in-flight window is the back-pressure that keeps
// queues short, and a message the core needs again is resent by the core
// (next heartbeat, next append, next election). The node may reuse the
// msgs slice after Send returns; entries' Data, Context and Snapshot are
// read later, on the transport's goroutines, and must not be modified
// (the core never modifies them).
//
// Snapshots. The core emits MsgSnap with Snapshot.Data nil; the node calls
// SendSnapshot(ctx, m, body) with the state machine's image as body, on a
// goroutine of its own (it blocks until the receiver has accepted the whole
// body or failed), and reports the outcome to the core. A MsgSnap given to
// Send travels as an ordinary message with its Data inline (subject to the
// frame limit).
//
// Receiving. Handler.Deliver is called on a transport goroutine with the
// messages of one peer, in the order that peer sent them. Calls for one
// peer never overlap (mem: no calls for one endpoint overlap); calls for
// different peers may (tcp). Deliver must not block for long: push into the
// node's channel and return; while it blocks, that peer's stream stalls,
// and with it, through TCP flow control and the sender's bounded queue, the
// peer's sends to this node (they are dropped). The handler owns the slice
// and every message in it. With tcp, the byte fields (entries' Data,
// Context) point into the frame buffer the message was decoded from, which
// the transport never reuses once a message refers to it: they are the
// node's to keep (e.g. in its log) without copying, and must be treated as
// read-only like any entry data.
//
// HandleSnapshot is called on a goroutine of its own per incoming snapshot,
// with the MsgSnap (Data nil) and a reader that streams the body; the body
// returns io.EOF at the end and an error if the stream broke. Returning nil
// accepts the snapshot (SendSnapshot returns nil); returning an error fails
// the sender's SendSnapshot with an error wrapping ErrRejected. The handler
// must return once its body fails.
//
// Stopping. Close drops what is queued, fails snapshot streams in progress,
// and waits for the transport's goroutines, including Deliver and
// HandleSnapshot calls in progress; after it returns the handler is not
// called again. Hence a handler must not call Close (it would wait for
// itself); Send from a handler is fine.
//
// Statistics. Both implementations count, per peer, messages sent,
// dropped and received, reconnections and refusals (PeerStats), with
// atomic counters: PeerStats(id) takes no lock in tcp, Stats() copies all.
package transport
