package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// ReadMode says how a read is made linearizable.
type ReadMode string

const (
	ReadIndex    ReadMode = "readindex" // the leader confirms with one heartbeat round
	ReadLease    ReadMode = "lease"     // the leader's lease (CheckQuorum), else ReadIndex
	ReadLog      ReadMode = "log"       // the read goes through the log like a write
	ReadFollower ReadMode = "follower"  // a follower asks the leader for a read index
)

// ParseReadMode checks a --read-mode value.
func ParseReadMode(s string) (ReadMode, error) {
	switch m := ReadMode(s); m {
	case ReadIndex, ReadLease, ReadLog, ReadFollower:
		return m, nil
	}
	return "", fmt.Errorf("unknown read mode %q (want readindex, lease, log or follower)", s)
}

// ErrNotLeader is returned (wrapped in *NotLeaderError) by a node that
// cannot serve the request; the client should redirect.
var ErrNotLeader = errors.New("bench: not the leader")

// ErrNodeDown is returned for a request to a node that is not running: the
// request had no effect, and the client should try another node.
var ErrNodeDown = errors.New("bench: node not running")

// NotLeaderError names the leader the node knows of (0 if none).
// MaybeApplied says the refused write may take effect all the same (it
// was appended before the node lost its leadership, and may commit under
// the next leader): the client retries it as any refused write, and a
// linearizability history keeps it as possibly applied.
type NotLeaderError struct {
	Leader       uint64
	MaybeApplied bool
}

func (e *NotLeaderError) Error() string {
	return fmt.Sprintf("not the leader (leader %d)", e.Leader)
}
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// RoleChange is a node's change of role, with the time it happened.
type RoleChange struct {
	Node   uint64
	At     time.Time
	Role   string // follower, pre-candidate, candidate, leader
	Term   uint64
	Leader uint64
}

// ClusterConfig is what every engine is asked to run. Engines map each
// setting to their own knob where they have one.
type ClusterConfig struct {
	Nodes              int
	Transport          string // mem or tcp
	Fsync              bool
	DataDir            string // empty: a temporary directory removed on Close
	ElectionTimeoutMin time.Duration
	ElectionTimeoutMax time.Duration
	Heartbeat          time.Duration
	PreVote            bool
	CheckQuorum        bool
	MaxInflight        int
	MaxBatchBytes      uint64
	SnapshotEntries    uint64
	// CommitNotifyDelay lets a leader hold a new commit index for the next
	// AppendEntries with entries to carry it (raft.Config's knob of the same
	// name; an engine without one ignores it).
	CommitNotifyDelay time.Duration
	// ProposalDelay lets a leader hold a proposal for up to this long for
	// more to join its batch (0: none). The raft engine only.
	ProposalDelay time.Duration
	Seed          uint64
}

// AsyncCluster is a Cluster that also takes requests without a goroutine
// waiting on each. The load generator drives such a cluster from a few
// goroutines with many requests in flight; a Cluster without these calls
// gets a goroutine per request in flight instead, which on a small machine
// competes with the cluster for the CPU.
type AsyncCluster interface {
	Cluster
	// WriteAsync is Write with the answer delivered to done, exactly once.
	// ctx bounds only the wait for room in the engine's queues; the caller
	// keeps its own deadline. done runs on an engine goroutine (or on the
	// caller's, for an immediate refusal): it must return at once and
	// never block.
	WriteAsync(ctx context.Context, node uint64, cmd []byte, done func(result any, err error))
	// ReadAsync is Read under the same rules. key must not change until
	// done is called.
	ReadAsync(ctx context.Context, node uint64, mode ReadMode, key []byte, done func(value []byte, found bool, err error))
}

// Engine starts clusters of one Raft implementation. The raft library is
// the first; others plug in beside it as baselines, driven by the same load
// generator.
type Engine interface {
	Name() string
	Start(ctx context.Context, cfg ClusterConfig) (Cluster, error)
}

// Cluster is a running cluster as the load generator and the experiments
// see it.
type Cluster interface {
	// Nodes lists the node ids.
	Nodes() []uint64
	// Write proposes cmd (a workloads command) on node and returns the
	// state machine's answer once applied there.
	Write(ctx context.Context, node uint64, cmd []byte) (any, error)
	// Read reads key on node with the given mode.
	Read(ctx context.Context, node uint64, mode ReadMode, key []byte) (value []byte, found bool, err error)
	// Leader is a node that currently believes it leads (0 if none).
	Leader() uint64
	// Crash stops node abruptly; Restart brings it back from its disk.
	Crash(node uint64) error
	Restart(node uint64) error
	// Partition cuts the links between groups; Heal mends them.
	Partition(groups ...[]uint64) error
	Heal() error
	// RoleChanges delivers every role change with its time. It is closed by
	// Close; a slow reader loses changes rather than stalling the cluster.
	RoleChanges() <-chan RoleChange
	// Close stops every node and removes a temporary data directory.
	Close() error
}

// Describer is an optional Cluster method: every setting the engine ran
// with, its own knobs included (the names its maintainers use), so a report
// says exactly what was compared and a run can be reproduced.
type Describer interface {
	Settings() map[string]any
}

// CutLinks returns the directed links between nodes that a partition into
// groups cuts: every pair in different groups, both ways. Nodes named in
// no group form one more group. Every engine partitions by this rule.
func CutLinks(nodes []uint64, groups ...[]uint64) map[[2]uint64]bool {
	group := map[uint64]int{}
	for i, g := range groups {
		for _, id := range g {
			group[id] = i + 1
		}
	}
	cut := map[[2]uint64]bool{}
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b && group[a] != group[b] {
				cut[[2]uint64{a, b}] = true
			}
		}
	}
	return cut
}

// ReadThroughLog makes a ReadLog read with an engine's WriteAsync: the
// get command goes through the log like a write, and its result is the
// read's answer.
func ReadThroughLog(write func(cmd []byte, done func(any, error)), key []byte, done func([]byte, bool, error)) {
	write(workloads.EncodeGet(0, 0, key), func(res any, err error) {
		if err != nil {
			done(nil, false, err)
			return
		}
		r := res.(*workloads.Result)
		done(r.Value, r.Found, nil)
	})
}
