package tcp

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// Config configures a Transport. Zero values of the tunables take the
// defaults listed with them.
type Config struct {
	// ID is this node's id (non-zero); ClusterID names the cluster. Both
	// are sent in every handshake; a peer of another cluster is refused.
	ID        uint64
	ClusterID uint64
	// ListenAddr is the address to listen on, e.g. "127.0.0.1:0" (Addr
	// reports the port chosen).
	ListenAddr string
	// Peers maps the other nodes' ids to their addresses. Only known ids
	// may connect; AddPeer and RemovePeer change the set at run time.
	Peers map[uint64]string
	// Handler receives messages and snapshots (required).
	Handler transport.Handler

	// MaxFrameBytes bounds a frame's body, in both directions: a message
	// whose encoding is larger is dropped, a peer that announces a larger
	// frame is disconnected. Default codec.DefaultMaxFrameBytes (16 MiB).
	MaxFrameBytes int
	// QueueLen bounds each peer's send queue, in messages (default 4096).
	QueueLen int
	// SnapshotChunkBytes is the size of a snapshot stream's data frames
	// (default 256 KiB, at most MaxFrameBytes).
	SnapshotChunkBytes int
	// SnapshotBufferChunks bounds the chunks buffered between an incoming
	// snapshot stream and its handler (default 4).
	SnapshotBufferChunks int
	// MaxSnapshotStreams bounds the incoming snapshot streams in progress
	// at once; more are refused (default 4).
	MaxSnapshotStreams int

	// DialTimeout bounds a dial plus its handshake (default 2s).
	DialTimeout time.Duration
	// WriteTimeout fails a connection on which a write makes no progress
	// for this long; it also bounds the wait for the next frame of an
	// incoming snapshot stream (default 10s).
	WriteTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between failed dials to a
	// peer: it starts at BackoffMin, doubles with each failure up to
	// BackoffMax, and each wait is drawn uniformly from [d/2, d]
	// (defaults 20ms and 2s).
	BackoffMin time.Duration
	BackoffMax time.Duration
	// Seed seeds the backoff jitter.
	Seed uint64

	// Logger receives connection events (default: discard).
	Logger *slog.Logger
}

const (
	defaultQueueLen             = 4096
	defaultSnapshotChunkBytes   = 256 << 10
	defaultSnapshotBufferChunks = 4
	defaultMaxSnapshotStreams   = 4
	defaultDialTimeout          = 2 * time.Second
	defaultWriteTimeout         = 10 * time.Second
	defaultBackoffMin           = 20 * time.Millisecond
	// Redial within an election timeout: a peer that restarts must hear
	// its leader before its own timer fires, or (without PreVote) it
	// disrupts the cluster with a new term.
	defaultBackoffMax = 100 * time.Millisecond

	// bufferBytes is the size of every connection's bufio reader and of
	// every message stream's bufio writer: big enough to coalesce dozens
	// of typical AppendEntries into one write.
	bufferBytes = 64 << 10
	// maxDeliverBatch bounds how many messages one Deliver call carries.
	maxDeliverBatch = 256
)

// withDefaults validates c and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.ID == 0 {
		return c, errors.New("tcp: Config.ID must be non-zero")
	}
	if c.Handler == nil {
		return c, errors.New("tcp: Config.Handler is required")
	}
	if c.ListenAddr == "" {
		return c, errors.New("tcp: Config.ListenAddr is required")
	}
	for id := range c.Peers {
		if id == 0 || id == c.ID {
			return c, fmt.Errorf("tcp: bad peer id %d (zero or this node's own)", id)
		}
	}
	if c.MaxFrameBytes == 0 {
		c.MaxFrameBytes = codec.DefaultMaxFrameBytes
	}
	if c.MaxFrameBytes < 1<<10 || c.MaxFrameBytes > codec.MaxFrameLimit {
		return c, fmt.Errorf("tcp: MaxFrameBytes %d outside [1 KiB, %d]", c.MaxFrameBytes, codec.MaxFrameLimit)
	}
	if c.QueueLen == 0 {
		c.QueueLen = defaultQueueLen
	}
	if c.SnapshotChunkBytes == 0 {
		c.SnapshotChunkBytes = defaultSnapshotChunkBytes
	}
	c.SnapshotChunkBytes = min(c.SnapshotChunkBytes, c.MaxFrameBytes)
	if c.SnapshotBufferChunks == 0 {
		c.SnapshotBufferChunks = defaultSnapshotBufferChunks
	}
	if c.MaxSnapshotStreams == 0 {
		c.MaxSnapshotStreams = defaultMaxSnapshotStreams
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = defaultDialTimeout
	}
	if c.WriteTimeout == 0 {
		c.WriteTimeout = defaultWriteTimeout
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = defaultBackoffMin
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = max(defaultBackoffMax, c.BackoffMin)
	}
	if c.QueueLen < 0 || c.SnapshotChunkBytes < 0 || c.SnapshotBufferChunks < 0 || c.MaxSnapshotStreams < 0 ||
		c.DialTimeout < 0 || c.WriteTimeout < 0 || c.BackoffMin < 0 || c.BackoffMax < c.BackoffMin {
		return c, fmt.Errorf("tcp: negative limit or BackoffMax %v below BackoffMin %v", c.BackoffMax, c.BackoffMin)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}
