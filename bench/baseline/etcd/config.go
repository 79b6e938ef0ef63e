package etcd

import (
	"fmt"
	"runtime/debug"
	"time"

	"github.com/raftbench/raftbench/bench"
	"go.etcd.io/raft/v3"
)

// Defaults for settings the cluster config leaves at zero: the values the
// raftbench CLI passes by default, so both engines run alike.
const (
	defaultMaxInflight   = 256
	defaultMaxBatchBytes = 1 << 20
	// maxUncommittedBytes bounds the entries a leader holds that are not
	// yet committed; beyond it etcd raft drops proposals
	// (ErrProposalDropped) rather than let an overloaded leader grow
	// without limit.
	maxUncommittedBytes = 64 << 20
	// maxCommittedBytesPerReady bounds the committed entries handed out
	// for applying at once (with async storage writes: outstanding across
	// Readies).
	maxCommittedBytesPerReady = 16 << 20
	// minElectionTicks: the tick is made fine enough that the election
	// timeout spans at least this many ticks, so that etcd's draw of
	// [ElectionTick, 2*ElectionTick) ticks has that many distinct values.
	minElectionTicks = 10
	// defaultCatchUpEntries is how many entries the in-memory log keeps
	// before a snapshot (etcd's server keeps 5000), capped at
	// SnapshotEntries.
	defaultCatchUpEntries = 5000
)

// timing is the mapping of the cluster config's durations onto ticks.
type timing struct {
	tick                          time.Duration
	electionTicks, heartbeatTicks int
}

// effective returns the range of election timeouts etcd raft draws from:
// randomizedElectionTimeout is uniform in [ElectionTick, 2*ElectionTick-1]
// ticks and a timeout fires on a tick, so from the last reset (which
// happens somewhere inside a tick) it is at least (n-1) and at most n ticks.
func (t timing) effective() (lo, hi time.Duration) {
	return time.Duration(t.electionTicks-1) * t.tick, time.Duration(2*t.electionTicks-1) * t.tick
}

func gcd(a, b time.Duration) time.Duration {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// timingFor picks the tick: the largest common unit of the heartbeat and
// the minimum election timeout (so both are whole numbers of ticks), halved
// until the election timeout is at least minElectionTicks ticks, but not
// below a millisecond. etcd fixes the top of the range at twice the
// minimum: ElectionTimeoutMax has no knob.
func timingFor(cfg bench.ClusterConfig) (timing, error) {
	emin, hb := cfg.ElectionTimeoutMin, cfg.Heartbeat
	if emin <= 0 {
		emin = time.Second
	}
	if hb <= 0 {
		hb = emin / 2 // the raftbench CLI's default
	}
	if hb >= emin {
		return timing{}, fmt.Errorf("etcd engine: heartbeat %v must be below the election timeout %v", hb, emin)
	}
	tick := gcd(hb, emin)
	for emin/tick < minElectionTicks && tick/2 >= time.Millisecond {
		tick /= 2
	}
	t := timing{tick: tick, electionTicks: int(emin / tick), heartbeatTicks: max(1, int(hb/tick))}
	if t.heartbeatTicks >= t.electionTicks {
		return timing{}, fmt.Errorf("etcd engine: heartbeat %v and election timeout %v map to %d and %d ticks of %v", hb, emin, t.heartbeatTicks, t.electionTicks, tick)
	}
	return t, nil
}

func catchUpEntries(cfg bench.ClusterConfig) uint64 {
	return min(cfg.SnapshotEntries, defaultCatchUpEntries)
}

// raftConfig is the etcd raft configuration of node id, as etcd's
// maintainers recommend for production (etcd's server sets the same
// knobs): PreVote and CheckQuorum as asked, bounded messages, in-flight
// window, uncommitted log and apply batches, ReadOnlySafe reads.
//
// ReadOnlyOption is per node, not per request: ReadOnlyLeaseBased would
// make every ReadIndex a lease read. So lease reads (bench.ReadLease) are
// served as ReadIndex reads, ReadOnlySafe: one heartbeat round, which is
// what etcd's server does unless configured for leases cluster-wide.
func (c *cluster) raftConfig(id uint64, st raft.Storage, applied uint64) *raft.Config {
	cfg := c.cfg
	return &raft.Config{
		ID:                        id,
		ElectionTick:              c.timing.electionTicks,
		HeartbeatTick:             c.timing.heartbeatTicks,
		Storage:                   st,
		Applied:                   applied,
		AsyncStorageWrites:        c.async,
		MaxSizePerMsg:             c.maxSizePerMsg(),
		MaxCommittedSizePerReady:  maxCommittedBytesPerReady,
		MaxUncommittedEntriesSize: maxUncommittedBytes,
		MaxInflightMsgs:           c.maxInflight(),
		CheckQuorum:               cfg.CheckQuorum,
		PreVote:                   cfg.PreVote,
		ReadOnlyOption:            raft.ReadOnlySafe,
		// Writes on a follower are refused with the leader's id, not
		// forwarded: the load generator redirects, for every engine alike.
		DisableProposalForwarding: true,
		Logger:                    quietLogger{},
	}
}

func (c *cluster) maxSizePerMsg() uint64 {
	if c.cfg.MaxBatchBytes > 0 {
		return c.cfg.MaxBatchBytes
	}
	return defaultMaxBatchBytes
}

func (c *cluster) maxInflight() int {
	if c.cfg.MaxInflight > 0 {
		return c.cfg.MaxInflight
	}
	return defaultMaxInflight
}

// Settings reports every knob the cluster runs with, under etcd raft's
// own names where it has one.
func (c *cluster) Settings() map[string]any {
	lo, hi := c.timing.effective()
	return map[string]any{
		"engine":                       c.engineName,
		"etcd_raft_version":            etcdRaftVersion(),
		"driver":                       "raft.RawNode, one loop goroutine per node",
		"tick":                         c.timing.tick.String(),
		"election_tick":                c.timing.electionTicks,
		"heartbeat_tick":               c.timing.heartbeatTicks,
		"election_timeout_ticks":       fmt.Sprintf("[%d, %d] (uniform, etcd raft's own draw; not seeded)", c.timing.electionTicks, 2*c.timing.electionTicks-1),
		"election_timeout_effective":   fmt.Sprintf("[%v, %v] after the last reset (a timeout fires on a tick)", lo, hi),
		"election_timeout_max_ignored": c.cfg.ElectionTimeoutMax.String(),
		"heartbeat_interval":           (time.Duration(c.timing.heartbeatTicks) * c.timing.tick).String(),
		"pre_vote":                     c.cfg.PreVote,
		"check_quorum":                 c.cfg.CheckQuorum,
		"max_inflight_msgs":            c.maxInflight(),
		"max_inflight_bytes":           0,
		"max_size_per_msg":             c.maxSizePerMsg(),
		"max_committed_size_per_ready": maxCommittedBytesPerReady,
		"max_uncommitted_entries_size": maxUncommittedBytes,
		"read_only_option":             "ReadOnlySafe",
		"lease_reads":                  "served as ReadIndex (ReadOnlySafe): ReadOnlyOption is per node, not per request",
		"follower_reads":               "ReadIndex on the follower; etcd raft forwards MsgReadIndex to the leader",
		"read_batching":                "reads waiting in a node's queue share one ReadIndex request",
		"disable_proposal_forwarding":  true,
		"async_storage_writes":         c.async,
		"log_storage":                  "raftbench raft/wal + etcd MemoryStorage",
		"snapshot_storage":             "raftbench raft/snap",
		"snapshot_entries":             c.cfg.SnapshotEntries,
		"snapshot_catch_up_entries":    catchUpEntries(c.cfg),
		"fsync":                        c.cfg.Fsync,
		"transport":                    c.transportName(),
		"transport_peer_queue_msgs":    peerQueueMsgs,
		"transport_peer_queue_bytes":   peerQueueBytes,
		"bootstrap":                    "every node starts from a snapshot at index 1, term 1 holding the voters",
		"nodes":                        c.cfg.Nodes,
	}
}

func (c *cluster) transportName() string {
	if c.cfg.Transport == "tcp" {
		return "tcp (loopback, one connection per ordered peer pair, length-prefixed raftpb.Message frames)"
	}
	return "mem (in process, the same frames without sockets)"
}

// etcdRaftVersion is the go.etcd.io/raft/v3 version built in.
func etcdRaftVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "go.etcd.io/raft/v3" {
				if d.Replace != nil {
					return d.Replace.Version
				}
				return d.Version
			}
		}
	}
	return "v3.6.0" // go.mod's requirement; build info is missing in some test binaries
}

// quietLogger discards etcd raft's log lines (an election logs a dozen at
// Info) and keeps its panics: they are invariant violations.
type quietLogger struct{}

func (quietLogger) Debug(...any)              {}
func (quietLogger) Debugf(string, ...any)     {}
func (quietLogger) Error(...any)              {}
func (quietLogger) Errorf(string, ...any)     {}
func (quietLogger) Info(...any)               {}
func (quietLogger) Infof(string, ...any)      {}
func (quietLogger) Warning(...any)            {}
func (quietLogger) Warningf(string, ...any)   {}
func (quietLogger) Fatal(v ...any)            { panic(fmt.Sprint(v...)) }
func (quietLogger) Fatalf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
func (quietLogger) Panic(v ...any)            { panic(fmt.Sprint(v...)) }
func (quietLogger) Panicf(f string, v ...any) { panic(fmt.Sprintf(f, v...)) }
