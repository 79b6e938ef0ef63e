// Package tcp is the TCP transport: length-prefixed binary frames (package
// codec), one outbound connection per peer, coalesced writes, reconnection
// with backoff, and snapshots streamed on connections of their own.
//
// # Connections
//
// Every node dials every peer it sends to and sends only on the connection
// it dialed; a connection it accepts only receives. A pair of nodes
// therefore uses two message connections, one per direction, and each has
// exactly one writer and one reader: no request/response matching, no
// sharing. The first frame on a connection is the dialer's Hello (protocol
// version, stream kind, cluster id, its node id, the node id it expects);
// the listener answers with a status and closes the connection if the
// cluster differs, the sender's id is not a known peer, or the expected id
// is not its own. Refusals are counted (Stats.Rejected, or the peer's
// Rejected when the id is known).
//
// Peers are dialed lazily, on the first message. When a peer dials again
// (after a restart, or a failure), its new message connection replaces the
// old one.
//
// # Goroutines
//
//   - accept: one, accepts connections and starts a serve goroutine for each.
//   - serve: one per inbound connection. It performs the handshake, then
//     reads the stream: a message stream's messages are decoded and handed
//     to Handler.Deliver on this goroutine; a snapshot stream's chunks are
//     fed to the handler's body.
//   - HandleSnapshot: one per incoming snapshot stream, started by its serve
//     goroutine, which waits for it.
//   - writer: one per peer, for the peer's lifetime (AddPeer to RemovePeer
//     or Close). It owns the outbound connection: dials, drains the peer's
//     queue into a bufio.Writer, flushes when the queue is empty.
//   - watch: one per outbound connection; it notices when the peer closes
//     the connection so the writer redials before writing into it.
//   - SendSnapshot runs on its caller's goroutine, plus one goroutine that
//     reads the receiver's verdict; it waits for that goroutine.
//
// Close cancels everything, closes every connection and waits for all of
// the above (except callers of SendSnapshot, which return with an error).
//
// # Sending and dropping
//
// Send never blocks: it appends to the peer's queue (QueueLen messages) and
// wakes the writer. When the queue is full, the message is dropped and
// counted (PeerStats.Dropped); so are messages for unknown peers
// (Stats.Dropped), messages whose encoding exceeds MaxFrameBytes, messages
// queued when a dial fails, and the rest of a batch whose write fails.
// Raft tolerates loss, and the node's per-follower in-flight window is the
// back-pressure that keeps queues from filling in normal operation: a full
// queue means the peer or the network cannot keep up, and waiting would
// only stall the node's loop. A message counted as Sent was written to the
// connection; it can still be lost if the connection fails.
//
// The writer coalesces: it encodes each queued message straight into the
// connection's 64 KiB bufio.Writer (in place, no allocation), and flushes
// only when the queue is empty, so one write system call carries every
// message that queued up during the previous one.
//
// Every message must carry From = Config.ID and To = the peer's id (the
// raft core sets both): the receiver drops a message whose ids do not
// match the connection's and counts it as Rejected.
//
// # Receiving
//
// Each frame is read into a buffer that the decoded message's byte fields
// (entries' Data, Context) point into; a frame whose message holds no bytes
// (heartbeats, responses) leaves its buffer for the next frame. Messages are
// delivered in batches of up to 256: the reader calls Deliver when the next
// frame is not yet buffered. Deliver is never called concurrently for one
// peer, but may be for different peers.
//
// # Snapshots
//
// SendSnapshot dials a connection of its own (so heartbeats never wait
// behind a snapshot), sends the MsgSnap, the body in chunks of
// SnapshotChunkBytes, and an end frame, and waits for the receiver's
// status. The receiver buffers at most SnapshotBufferChunks chunks between
// the connection and the handler's body reader; when the handler is slow
// the buffer fills, the receiver stops reading, and TCP's flow control
// stops the sender. A handler error, a broken connection, a failing body,
// ctx or Close all make SendSnapshot return an error; a broken connection
// or Close makes the handler's body return an error.
package tcp
