package hashicorp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/raftbench/raftbench/bench"
)

// Version is the hashicorp/raft release this engine is built and measured
// against (go.mod pins it).
const Version = "github.com/hashicorp/raft v1.8.0"

// Settings the engine fixes where hashicorp/raft (or its users) have a
// recommendation and the benchmark has no flag.
const (
	// defaultTimeout is hashicorp/raft's default HeartbeatTimeout and
	// ElectionTimeout, used when the cluster config leaves them unset.
	defaultTimeout = time.Second
	// commitTimeout is hashicorp/raft's default: how long the leader's
	// replication goroutine waits without new entries before it sends an
	// AppendEntries anyway (randomized up to twice this), which is how
	// followers learn a commit index when writes stop.
	commitTimeout = 50 * time.Millisecond
	// maxAppendEntriesDefault is hashicorp/raft's default, for a config
	// without MaxBatchBytes; maxAppendEntriesLimit is the most it accepts.
	maxAppendEntriesDefault = 64
	maxAppendEntriesLimit   = 1024
	// entryBytesAssumed converts MaxBatchBytes into entries: the
	// benchmark's writes are about 128 B.
	entryBytesAssumed = 128
	// leaderLeaseMin is the shortest LeaderLeaseTimeout the engine sets:
	// with the benchmarks' 100-150 ms timeouts, half would be 50-75 ms, and
	// a leader on a loaded machine (two CPUs, the race detector) then
	// steps down for a few late heartbeat replies although no follower
	// has timed out.
	leaderLeaseMin = 100 * time.Millisecond
	// trailingLogs is hashicorp/raft's default.
	trailingLogs = 10240
	// snapshotIntervalDefault is how often the snapshot goroutine checks
	// SnapshotThreshold (randomized up to twice this). hashicorp/raft's
	// default (120 s) would never check during a benchmark run, so the
	// threshold, which the cluster config sets, would never act.
	snapshotIntervalDefault = time.Second
	// snapshotsRetained is what Consul and Vault keep.
	snapshotsRetained = 2
	// maxPool and transportTimeout are what Consul and Vault give
	// NetworkTransport: pooled outbound connections per peer, and the I/O
	// deadline of an RPC.
	maxPool          = 3
	transportTimeout = 10 * time.Second
	// logCacheEntries is the LogCache in front of the log store (Consul's
	// size): the leader's replication reads recent entries from memory.
	logCacheEntries = 512
	// memRPCTimeout bounds an RPC on the in-memory transport (its default).
	memRPCTimeout = 500 * time.Millisecond
)

// Engine runs clusters of hashicorp/raft in process: one raft.Raft per
// member with a workloads.KV behind a BatchingFSM, raft-wal as log and
// stable store, a file snapshot store, and NetworkTransport over loopback
// TCP (or InmemTransport for "mem"). The zero Engine is the configuration
// the benchmarks use; the fields are for tests and experiments.
type Engine struct {
	// SnapshotInterval is how often hashicorp/raft checks whether
	// SnapshotThreshold entries have accumulated (0: 1 s).
	SnapshotInterval time.Duration
	// TrailingLogs is how many entries a snapshot leaves in the log, for
	// followers that lag a little (0: hashicorp/raft's default, 10240).
	TrailingLogs uint64
	// LogOutput receives hashicorp/raft's log, Error level only (nil:
	// os.Stderr).
	LogOutput io.Writer
}

var _ bench.Engine = Engine{}

func (Engine) Name() string { return "hashicorp" }

// knobs are the hashicorp/raft settings a cluster config maps to.
type knobs struct {
	heartbeatTimeout  time.Duration
	electionTimeout   time.Duration
	leaderLease       time.Duration
	maxAppendEntries  int
	snapshotThreshold uint64
	snapshotInterval  time.Duration
	trailingLogs      uint64
	preVote           bool
}

func (e Engine) knobs(cfg bench.ClusterConfig) knobs {
	k := knobs{heartbeatTimeout: cfg.ElectionTimeoutMin, preVote: cfg.PreVote}
	if k.heartbeatTimeout <= 0 {
		k.heartbeatTimeout = defaultTimeout
	}
	// hashicorp/raft waits a random time in [T, 2T) for both timeouts, so
	// T = ElectionTimeoutMin gives the benchmark's [min, 2 min).
	k.electionTimeout = k.heartbeatTimeout
	// Half the heartbeat timeout, as in hashicorp/raft's defaults (500 ms
	// of 1 s) and Consul's, but no less than leaderLeaseMin (and never
	// more than the heartbeat timeout, which hashicorp/raft refuses).
	k.leaderLease = min(k.heartbeatTimeout, max(k.heartbeatTimeout/2, leaderLeaseMin))
	switch {
	case cfg.MaxBatchBytes == 0:
		k.maxAppendEntries = maxAppendEntriesDefault
	default:
		k.maxAppendEntries = int(min(max(cfg.MaxBatchBytes/entryBytesAssumed, 1), maxAppendEntriesLimit))
	}
	k.snapshotInterval = e.SnapshotInterval
	if k.snapshotInterval <= 0 {
		k.snapshotInterval = snapshotIntervalDefault
	}
	k.trailingLogs = e.TrailingLogs
	if k.trailingLogs == 0 {
		k.trailingLogs = trailingLogs
	}
	k.snapshotThreshold = cfg.SnapshotEntries
	if k.snapshotThreshold == 0 {
		// hashicorp/raft cannot turn snapshots off: a threshold no log
		// reaches does.
		k.snapshotThreshold = math.MaxUint64
	}
	return k
}

// raftConfig is node id's hashicorp/raft configuration.
func (c *cluster) raftConfig(id uint64) *raft.Config {
	k := c.knobs
	conf := raft.DefaultConfig()
	conf.LocalID = serverID(id)
	conf.HeartbeatTimeout = k.heartbeatTimeout
	conf.ElectionTimeout = k.electionTimeout
	conf.LeaderLeaseTimeout = k.leaderLease
	conf.CommitTimeout = commitTimeout
	conf.MaxAppendEntries = k.maxAppendEntries
	// Buffer applyCh to MaxAppendEntries so that the leader loop takes
	// whole batches of proposals from a few submitting goroutines (Vault
	// turns this on). It voids Apply's enqueue timeout, which the engine
	// does not use.
	conf.BatchApplyCh = true
	conf.TrailingLogs = k.trailingLogs
	conf.SnapshotInterval = k.snapshotInterval
	conf.SnapshotThreshold = k.snapshotThreshold
	conf.PreVoteDisabled = !k.preVote
	conf.NoLegacyTelemetry = true
	conf.Logger = c.logger
	return conf
}

func serverID(id uint64) raft.ServerID { return raft.ServerID(strconv.FormatUint(id, 10)) }

// nodeID parses a server id (0 for none or a foreign one).
func nodeID(s raft.ServerID) uint64 {
	id, err := strconv.ParseUint(string(s), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

func (e Engine) Start(ctx context.Context, cfg bench.ClusterConfig) (bench.Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("hashicorp engine: %d nodes", cfg.Nodes)
	}
	out := e.LogOutput
	if out == nil {
		out = os.Stderr
	}
	c := &cluster{
		eng: e, cfg: cfg, knobs: e.knobs(cfg),
		logger:  hclog.New(&hclog.LoggerOptions{Name: "hashicorp-raft", Level: hclog.Error, Output: out}),
		roles:   make(chan bench.RoleChange, 1024),
		addrs:   map[uint64]raft.ServerAddress{},
		members: map[uint64]*member{},
		cut:     map[link]bool{},
	}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "raftbench-hashicorp-")
		if err != nil {
			return nil, err
		}
		c.dir, c.tempDir = dir, true
	} else {
		c.dir = cfg.DataDir
	}
	for i := 1; i <= cfg.Nodes; i++ {
		c.ids = append(c.ids, uint64(i))
	}
	// Every address must be known before the first node starts: the
	// bootstrap configuration lists them all.
	listeners := map[uint64]*streamLayer{}
	switch cfg.Transport {
	case "", "mem":
		c.mem = true
		for _, id := range c.ids {
			c.addrs[id] = raft.ServerAddress(fmt.Sprintf("node-%d", id))
		}
	case "tcp":
		c.nw = newNetwork()
		for _, id := range c.ids {
			sl, err := listen(c.nw, id, "127.0.0.1:0")
			if err != nil {
				for _, sl := range listeners {
					sl.Close()
				}
				c.removeTemp()
				return nil, err
			}
			listeners[id] = sl
			c.addrs[id] = raft.ServerAddress(sl.Addr().String())
		}
	default:
		c.removeTemp()
		return nil, fmt.Errorf("hashicorp engine: unknown transport %q (want mem or tcp)", cfg.Transport)
	}
	for _, id := range c.ids {
		sl := listeners[id]
		delete(listeners, id)
		if err := c.start(id, sl); err != nil {
			for _, sl := range listeners {
				sl.Close()
			}
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

var (
	_ bench.AsyncCluster = (*cluster)(nil)
	_ bench.Describer    = (*cluster)(nil)
)

type cluster struct {
	eng     Engine
	cfg     bench.ClusterConfig
	knobs   knobs
	dir     string
	tempDir bool
	ids     []uint64
	logger  hclog.Logger
	mem     bool     // InmemTransport; else TCP
	nw      *network // tcp only

	// rolesMu stamps and sends role changes one at a time, so that the
	// channel holds them in time order.
	rolesMu     sync.Mutex
	roles       chan bench.RoleChange
	rolesClosed bool

	mu      sync.RWMutex // read-locked on every request: members rarely change
	addrs   map[uint64]raft.ServerAddress
	members map[uint64]*member
	cut     map[link]bool
	closed  bool

	startMu sync.Mutex     // serializes restarts
	reapers sync.WaitGroup // crashed nodes' reapers (see member.stop)
}

// ServerAddr makes the cluster the transports' address book: a node dials
// the address its peer has now, whatever an old configuration says.
func (c *cluster) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	addr, ok := c.addrs[nodeID(id)]
	if !ok {
		return "", fmt.Errorf("hashicorp engine: no node %q", id)
	}
	return addr, nil
}

func (c *cluster) configuration() raft.Configuration {
	var conf raft.Configuration
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, id := range c.ids {
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: serverID(id), Address: c.addrs[id]})
	}
	return conf
}

func (c *cluster) member(id uint64) (*member, error) {
	c.mu.RLock()
	m, ok := c.members[id]
	c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown)
	}
	return m, nil
}

func (c *cluster) Nodes() []uint64 { return c.ids }

func (c *cluster) Leader() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var lead, term uint64
	for id, m := range c.members {
		if m.r.State() == raft.Leader {
			if t := m.r.CurrentTerm(); t >= term {
				lead, term = id, t
			}
		}
	}
	return lead
}

func (c *cluster) Crash(id uint64) error {
	c.mu.Lock()
	m, ok := c.members[id]
	delete(c.members, id)
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("node %d: %w", id, bench.ErrNodeDown)
	}
	return m.stop()
}

func (c *cluster) Restart(id uint64) error {
	// One start at a time: two would contend for the node's files.
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if _, err := c.member(id); err == nil {
		return fmt.Errorf("node %d is running", id)
	}
	return c.start(id, nil)
}

func (c *cluster) Partition(groups ...[]uint64) error {
	cut := map[link]bool{}
	for l := range bench.CutLinks(c.ids, groups...) {
		cut[linkOf(l[0], l[1])] = true // links are cut both ways: one entry a pair
	}
	c.setCut(cut)
	return nil
}

func (c *cluster) Heal() error {
	c.setCut(map[link]bool{})
	return nil
}

func (c *cluster) setCut(cut map[link]bool) {
	c.mu.Lock()
	c.cut = cut
	if c.mem {
		c.wireMemLocked()
	}
	c.mu.Unlock()
	if c.nw != nil {
		c.nw.setCut(cut)
	}
}

func (c *cluster) isCut(a, b uint64) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.cut[linkOf(a, b)]
}

// wireMemLocked connects every pair of running in-memory transports whose
// link is not cut and disconnects the others. The caller holds c.mu.
func (c *cluster) wireMemLocked() {
	for a, ma := range c.members {
		for b, mb := range c.members {
			switch {
			case a == b:
			case c.cut[linkOf(a, b)]:
				ma.memTrans.Disconnect(c.addrs[b])
			default:
				ma.memTrans.Connect(c.addrs[b], mb.memTrans)
			}
		}
	}
}

func (c *cluster) RoleChanges() <-chan bench.RoleChange { return c.roles }

// roleChange stamps and delivers one change; it runs on the raft
// goroutine that made the change and never blocks it.
func (c *cluster) roleChange(rc bench.RoleChange) {
	c.rolesMu.Lock()
	defer c.rolesMu.Unlock()
	if c.rolesClosed {
		return
	}
	rc.At = time.Now()
	select {
	case c.roles <- rc:
	default: // nobody is reading fast enough: drop, never stall a node
	}
}

func (c *cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	members := c.members
	c.members = map[uint64]*member{}
	c.mu.Unlock()
	// Shutting the nodes down closes their connections under the readers,
	// which hashicorp/raft logs as errors ("failed to decode incoming
	// command: use of closed network connection"): expected here, so not
	// printed.
	c.logger.SetLevel(hclog.Off)
	var errs []error
	for _, m := range members {
		errs = append(errs, m.stop())
	}
	c.reapers.Wait()
	c.rolesMu.Lock()
	c.rolesClosed = true
	close(c.roles)
	c.rolesMu.Unlock()
	errs = append(errs, c.removeTemp())
	return errors.Join(errs...)
}

func (c *cluster) removeTemp() error {
	if !c.tempDir {
		return nil
	}
	return os.RemoveAll(c.dir)
}

// Settings lists every knob the nodes run with, in hashicorp/raft's names
// where it has one.
func (c *cluster) Settings() map[string]any {
	conf := c.raftConfig(1)
	k := c.knobs
	transport := "NetworkTransport over TCP on loopback (StreamLayer that enforces partitions)"
	if c.mem {
		transport = "InmemTransport (tests only)"
	}
	fsync := "every StoreLogs (raft-wal's one fsync per append batch)"
	if !c.cfg.Fsync {
		fsync = "off: raft-wal's segment files opened through a VFS whose Sync does nothing (its bolt metadata, i.e. term and vote, and snapshot files still sync)"
	}
	snapThreshold := any(k.snapshotThreshold)
	if c.cfg.SnapshotEntries == 0 {
		snapThreshold = "never (threshold max uint64)"
	}
	return map[string]any{
		"implementation":               Version + " with github.com/hashicorp/raft-wal v0.4.0",
		"nodes":                        len(c.ids),
		"transport":                    transport,
		"transport_max_pool":           maxPool,
		"transport_timeout":            transportTimeout.String(),
		"transport_max_rpcs_in_flight": fmt.Sprintf("%d (hashicorp default: pipelining window of AppendEntries per follower; cluster MaxInflight %d not mapped)", raft.DefaultMaxRPCsInFlight, c.cfg.MaxInflight),
		"log_store":                    fmt.Sprintf("raft-wal (LogStore and StableStore) behind raft.LogCache(%d)", logCacheEntries),
		"snapshot_store":               fmt.Sprintf("raft.FileSnapshotStore, retain %d", snapshotsRetained),
		"fsync":                        fsync,
		"heartbeat_timeout":            conf.HeartbeatTimeout.String(),
		"election_timeout":             conf.ElectionTimeout.String(),
		"election_timeout_effective":   fmt.Sprintf("follower and candidate timeouts random in [%s, %s) (cluster asked [%s, %s])", conf.HeartbeatTimeout, 2*conf.HeartbeatTimeout, c.cfg.ElectionTimeoutMin, c.cfg.ElectionTimeoutMax),
		"heartbeat_interval_effective": fmt.Sprintf("random in [%s, %s) (HeartbeatTimeout/10, fixed by hashicorp/raft; cluster Heartbeat %s not mapped)", conf.HeartbeatTimeout/10, conf.HeartbeatTimeout/5, c.cfg.Heartbeat),
		"leader_lease_timeout":         conf.LeaderLeaseTimeout.String(),
		"check_quorum":                 fmt.Sprintf("always on: a leader without quorum contact for LeaderLeaseTimeout steps down (cluster CheckQuorum %t not mapped)", c.cfg.CheckQuorum),
		"commit_timeout":               conf.CommitTimeout.String(),
		"max_append_entries":           conf.MaxAppendEntries,
		"batch_apply_ch":               conf.BatchApplyCh,
		"snapshot_threshold":           snapThreshold,
		"snapshot_interval":            conf.SnapshotInterval.String(),
		"trailing_logs":                conf.TrailingLogs,
		"prevote":                      !conf.PreVoteDisabled,
		"protocol_version":             int(conf.ProtocolVersion),
		"fsm":                          "workloads.KV as raft.BatchingFSM",
		"proposals":                    fmt.Sprintf("raft.Apply(cmd, 0) futures, answered by %d waiter goroutines per node", writeWaiters),
		"read_goroutines":              fmt.Sprintf("%d per node (concurrent VerifyLeader calls)", readers),
		"read_readindex":               "VerifyLeader, after the leader has committed an entry of its term; then wait until the FSM applied the last command at or below the commit index taken before VerifyLeader",
		"read_lease":                   "hashicorp/raft has no lease read: same as readindex (VerifyLeader)",
		"read_log":                     "raft.Apply of a get command through the log",
		"read_follower":                "hashicorp/raft has no follower read index: the follower asks its leader in process (if the link is not cut) for the readindex index, then waits for its own FSM to apply it",
	}
}
