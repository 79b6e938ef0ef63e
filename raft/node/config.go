package node

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// Config configures a node. Every dependency is explicit.
type Config struct {
	// Raft configures the protocol core (ID, Voters, timeouts, PreVote,
	// CheckQuorum, batching and pipelining limits). Rand may be nil: it is
	// then seeded from Seed and the node id.
	Raft raft.Config
	// Seed seeds the election timeouts when Raft.Rand is nil.
	Seed uint64
	// Dir holds the node's durable state: Dir/wal and Dir/snap.
	Dir string
	// NoSync skips fdatasync: faster, and not durable across a machine
	// crash (a process crash still loses nothing written).
	NoSync bool
	// WALSegmentBytes is the size WAL segments are preallocated to
	// (default wal.DefaultSegmentBytes); short-lived nodes of experiments
	// use small ones.
	WALSegmentBytes int64
	// DiskDelay, if set, is added to every group commit (after the sync):
	// experiments use it to model slower disks, tests a slow follower.
	DiskDelay func() time.Duration
	// StateMachine is the application.
	StateMachine StateMachine

	// SnapshotEntries takes a snapshot every that many applied entries (0:
	// never). TrailingEntries entries behind a snapshot stay in the log for
	// followers that lag a little (default SnapshotEntries/4), so that a
	// short lag does not cost a whole snapshot transfer.
	SnapshotEntries uint64
	TrailingEntries uint64
	// StaggerSnapshots spreads the replicas' snapshots over the interval:
	// the node at position p of n in the sorted Raft.Voters takes its first
	// snapshot p/n of SnapshotEntries early, and every one after that an
	// interval later. Replicas apply the same entries, so without it they
	// all freeze, write and fsync their state at the same index, at once,
	// on a machine they may share; each snapshot is a burst of CPU and of
	// disk writes that the WAL's fsyncs queue behind.
	StaggerSnapshots bool
	// SnapshotBytes also takes a snapshot once the entries applied since
	// the last one carry that many bytes of data (0: no byte trigger).
	SnapshotBytes uint64

	// MaxProposalBatch bounds the proposals drained into one append
	// (default 4096). ProposalQueue is the proposal channel's capacity
	// (default 8192): a full queue blocks proposers (back-pressure). The
	// loop's other queues (messages in, disk work, apply work) hold half
	// as many items, at least 256: small nodes for short experiments save
	// their memory with a small ProposalQueue.
	MaxProposalBatch int
	ProposalQueue    int
	// ProposalDelay is how long the event loop may hold a proposal for
	// more to join its batch (0: none, each wake-up appends what is
	// waiting). Under an open-loop load proposals arrive one at a time,
	// and each batch costs an AppendEntries per follower, its
	// acknowledgement and a group commit on every node, whatever its size:
	// a short delay trades that much latency for fewer, larger batches.
	// Proposals wait only while earlier entries are in flight (appended,
	// not committed), and no longer than until those commit: an idle
	// leader appends at once. A batch reaching MaxProposalBatch goes at
	// once.
	ProposalDelay time.Duration

	// Logger receives the node's events. Default: discard.
	Logger *slog.Logger
	// Metrics, if set, is told of the node's work as it happens (see
	// Metrics); nil costs a nil check where each event happens.
	Metrics Metrics
}

// queueLen is the capacity of the loop's message, disk and apply queues.
func (c *Config) queueLen() int { return max(256, c.ProposalQueue/2) }

func (c *Config) validate() error {
	if c.Dir == "" {
		return errors.New("node: Config.Dir is required")
	}
	if c.StateMachine == nil {
		return errors.New("node: Config.StateMachine is required")
	}
	if c.Raft.ID == raft.None {
		return errors.New("node: Config.Raft.ID is required")
	}
	if c.SnapshotEntries > 0 && c.TrailingEntries == 0 {
		c.TrailingEntries = c.SnapshotEntries / 4
	}
	if c.SnapshotEntries == 0 && c.SnapshotBytes > 0 && c.TrailingEntries == 0 {
		c.TrailingEntries = 1000
	}
	if c.MaxProposalBatch <= 0 {
		c.MaxProposalBatch = 4096
	}
	if c.ProposalQueue <= 0 {
		c.ProposalQueue = 8192
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.ProposalDelay < 0 {
		return fmt.Errorf("node: ProposalDelay %v is negative", c.ProposalDelay)
	}
	if c.MaxProposalBatch > c.ProposalQueue {
		return fmt.Errorf("node: MaxProposalBatch %d above ProposalQueue %d", c.MaxProposalBatch, c.ProposalQueue)
	}
	return nil
}
