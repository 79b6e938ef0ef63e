package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/fault"
	"github.com/raftbench/raftbench/raft/transport/mem"
	"github.com/raftbench/raftbench/raft/transport/tcp"
	"github.com/raftbench/raftbench/workloads"
)

// RaftEngine runs clusters of this project's raft library in process: one
// raft/node per member, a workloads.KV state machine each, over the mem or
// tcp transport (tcp on loopback, real fsync unless disabled).
type RaftEngine struct {
	// Observer, if set, watches every node the engine runs.
	Observer NodeObserver
}

func (RaftEngine) Name() string { return "raft" }

func (e RaftEngine) Start(ctx context.Context, cfg ClusterConfig) (Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("raft engine: %d nodes", cfg.Nodes)
	}
	c := &raftCluster{cfg: cfg, obs: e.Observer, roles: make(chan RoleChange, 1024), members: map[uint64]*member{},
		DiskRecorder: NewDiskRecorder()}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "raftbench-")
		if err != nil {
			return nil, err
		}
		c.dir, c.tempDir = dir, true
	} else {
		c.dir = cfg.DataDir
	}
	switch cfg.Transport {
	case "", "mem":
		c.memNet = mem.NewNetwork(cfg.Seed)
	case "tcp":
		c.addrs = map[uint64]string{}
	default:
		return nil, fmt.Errorf("raft engine: unknown transport %q (want mem or tcp)", cfg.Transport)
	}
	for i := 1; i <= cfg.Nodes; i++ {
		c.ids = append(c.ids, uint64(i))
	}
	c.running = make([]atomic.Pointer[member], cfg.Nodes+1)
	for _, id := range c.ids {
		if err := c.start(id); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

var _ AsyncCluster = (*raftCluster)(nil)

type raftCluster struct {
	cfg           ClusterConfig
	dir           string
	tempDir       bool
	ids           []uint64
	memNet        *mem.Network
	roles         chan RoleChange
	obs           NodeObserver // may be nil
	*DiskRecorder              // every node's group commits: the DiskReporter

	// running holds the running members by id, read on every request
	// without a lock: a read-locked mutex there cost 3% of the CPU with 95%
	// reads, its counter's cache line moving between the cores. Written
	// under mu, with members.
	running []atomic.Pointer[member]

	mu      sync.Mutex
	addrs   map[uint64]string // tcp: each node's address, kept across restarts
	members map[uint64]*member
	cut     map[[2]uint64]bool
	closed  bool
}

type member struct {
	node  *node.Node
	kv    *workloads.KV
	tr    transport.Transport
	fault *fault.Transport
}

func (c *raftCluster) nodeConfig(id uint64) node.Config {
	cfg := c.cfg
	return node.Config{
		Raft: raft.Config{
			ID: id, Voters: c.ids,
			ElectionTimeoutMin: cfg.ElectionTimeoutMin, ElectionTimeoutMax: cfg.ElectionTimeoutMax,
			HeartbeatInterval: cfg.Heartbeat, PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum,
			MaxInflightMsgs: cfg.MaxInflight, MaxBytesPerMsg: cfg.MaxBatchBytes,
			CommitNotifyDelay: cfg.CommitNotifyDelay,
			OnRoleChange:      func(rc raft.RoleChange) { c.roleChange(rc) },
		},
		Seed:            cfg.Seed,
		Dir:             filepath.Join(c.dir, fmt.Sprintf("node-%d", id)),
		NoSync:          !cfg.Fsync,
		SnapshotEntries: cfg.SnapshotEntries,
		ProposalDelay:   cfg.ProposalDelay,
		// The replicas share this machine's CPU and disk: spread their
		// snapshots instead of taking all three at the same index.
		StaggerSnapshots: true,
	}
}

func (c *raftCluster) roleChange(rc raft.RoleChange) {
	ch := RoleChange{Node: rc.ID, At: time.Now(), Role: rc.To.String(), Term: rc.Term, Leader: rc.Leader}
	select {
	case c.roles <- ch:
	default: // nobody is reading fast enough: drop, never stall a node
	}
}

// start opens node id (from its directory, if it ran before) and connects
// it. The caller holds no lock.
func (c *raftCluster) start(id uint64) error {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return errors.New("raft engine: cluster closed")
	}
	kv := workloads.NewKV(workloads.KVConfig{})
	cfg := c.nodeConfig(id)
	cfg.StateMachine = kv
	var next node.Metrics = noMetrics{}
	if c.obs != nil {
		if m := c.obs.NodeMetrics(id); m != nil {
			next = m
		}
	}
	cfg.Metrics = diskMetrics{Metrics: next, disk: c.DiskRecorder}
	n, err := node.Open(cfg)
	if err != nil {
		return err
	}
	var inner transport.Transport
	if c.memNet != nil {
		inner = c.memNet.Join(id, n.Handler())
	} else {
		c.mu.Lock()
		addr, known := c.addrs[id]
		peers := map[uint64]string{}
		for pid, a := range c.addrs {
			if pid != id {
				peers[pid] = a
			}
		}
		c.mu.Unlock()
		if !known {
			addr = "127.0.0.1:0"
		}
		tr, err := tcp.New(tcp.Config{ID: id, ClusterID: c.cfg.Seed + 1, ListenAddr: addr, Peers: peers, Handler: n.Handler(), Seed: c.cfg.Seed + id})
		if err != nil {
			n.Stop()
			return err
		}
		if !known {
			c.mu.Lock()
			c.addrs[id] = tr.Addr()
			for pid, m := range c.members {
				if t, ok := m.tr.(*tcp.Transport); ok && pid != id {
					t.AddPeer(id, tr.Addr())
				}
			}
			c.mu.Unlock()
		}
		inner = tr
	}
	f := fault.Wrap(inner)
	c.mu.Lock()
	if c.closed { // closed while this node was opening
		c.mu.Unlock()
		n.Stop()
		inner.Close()
		return errors.New("raft engine: cluster closed")
	}
	for link := range c.cut {
		if link[0] == id {
			f.Cut(link[1])
		}
	}
	m := &member{node: n, kv: kv, tr: inner, fault: f}
	c.members[id] = m
	c.running[id].Store(m)
	c.mu.Unlock()
	n.Start(f)
	if c.obs != nil {
		c.obs.NodeRunning(id, n)
	}
	return nil
}

func (c *raftCluster) member(id uint64) (*member, error) {
	var m *member
	if id < uint64(len(c.running)) {
		m = c.running[id].Load()
	}
	if m == nil {
		return nil, fmt.Errorf("node %d: %w", id, ErrNodeDown)
	}
	return m, nil
}

func (c *raftCluster) Nodes() []uint64 { return c.ids }

// mapErr turns the library's redirect into the engine interface's.
func mapErr(err error) error {
	var nl *raft.NotLeaderError
	if errors.As(err, &nl) {
		return &NotLeaderError{Leader: nl.Leader}
	}
	return err
}

func (c *raftCluster) Write(ctx context.Context, id uint64, cmd []byte) (any, error) {
	m, err := c.member(id)
	if err != nil {
		return nil, err
	}
	res, err := m.node.Apply(ctx, cmd)
	if err != nil {
		return nil, mapErr(err)
	}
	if r, ok := res.(*workloads.Result); ok && r.Err != nil {
		return nil, r.Err
	}
	return res, nil
}

func (c *raftCluster) WriteAsync(ctx context.Context, id uint64, cmd []byte, done func(any, error)) {
	m, err := c.member(id)
	if err != nil {
		done(nil, err)
		return
	}
	m.node.ProposeAsync(ctx, cmd, func(res any, err error) {
		if err != nil {
			done(nil, mapErr(err))
			return
		}
		if r, ok := res.(*workloads.Result); ok && r.Err != nil {
			done(nil, r.Err)
			return
		}
		done(res, nil)
	})
}

// ReadAsync reads the value in the read's callback, on the node's apply
// goroutine: a lookup costs less than handing the read back first, and
// there it needs no lock.
func (c *raftCluster) ReadAsync(ctx context.Context, id uint64, mode ReadMode, key []byte, done func([]byte, bool, error)) {
	m, err := c.member(id)
	if err != nil {
		done(nil, false, err)
		return
	}
	if mode == ReadLog {
		ReadThroughLog(func(cmd []byte, d func(any, error)) { c.WriteAsync(ctx, id, cmd, d) }, key, done)
		return
	}
	// readindex and follower: a follower forwards to its leader.
	m.node.ReadAsync(ctx, mode == ReadLease, func(err error) {
		if err != nil {
			done(nil, false, mapErr(err))
			return
		}
		v, ok := m.kv.GetInApply(key) // on the apply goroutine
		done(v, ok, nil)
	})
}

func (c *raftCluster) Read(ctx context.Context, id uint64, mode ReadMode, key []byte) ([]byte, bool, error) {
	m, err := c.member(id)
	if err != nil {
		return nil, false, err
	}
	switch mode {
	case ReadLog:
		res, err := c.Write(ctx, id, workloads.EncodeGet(0, 0, key))
		if err != nil {
			return nil, false, err
		}
		r := res.(*workloads.Result)
		return r.Value, r.Found, nil
	case ReadLease:
		err = m.node.LeaseRead(ctx)
	default: // readindex, follower: the node forwards to its leader if it follows
		err = m.node.ReadIndex(ctx)
	}
	if err != nil {
		return nil, false, mapErr(err)
	}
	v, ok := m.kv.Get(key)
	return v, ok, nil
}

func (c *raftCluster) Leader() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var lead, term uint64
	for id, m := range c.members {
		if st := m.node.Status(); st.Role == raft.Leader && st.Term >= term {
			lead, term = id, st.Term
		}
	}
	return lead
}

func (c *raftCluster) Crash(id uint64) error {
	c.mu.Lock()
	m, ok := c.members[id]
	delete(c.members, id)
	if ok {
		c.running[id].Store(nil)
	}
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("node %d: %w", id, ErrNodeDown)
	}
	// Stop abandons volatile state; what the WAL made durable survives,
	// which is what a crash leaves.
	err := m.node.Stop()
	m.tr.Close()
	if c.obs != nil {
		c.obs.NodeStopped(id, m.node)
	}
	return err
}

func (c *raftCluster) Restart(id uint64) error {
	if _, err := c.member(id); err == nil {
		return fmt.Errorf("node %d is running", id)
	}
	return c.start(id)
}

func (c *raftCluster) Partition(groups ...[]uint64) error {
	cut := CutLinks(c.ids, groups...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = cut
	for id, m := range c.members {
		m.fault.Mend()
		for link := range c.cut {
			if link[0] == id {
				m.fault.Cut(link[1])
			}
		}
	}
	return nil
}

func (c *raftCluster) Heal() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = nil
	for _, m := range c.members {
		m.fault.Mend()
	}
	return nil
}

func (c *raftCluster) RoleChanges() <-chan RoleChange { return c.roles }

func (c *raftCluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	members := c.members
	c.members = map[uint64]*member{}
	for i := range c.running {
		c.running[i].Store(nil)
	}
	c.mu.Unlock()
	var errs []error
	for id, m := range members {
		errs = append(errs, m.node.Stop())
		if c.obs != nil {
			c.obs.NodeStopped(id, m.node)
		}
	}
	for _, m := range members {
		m.tr.Close()
	}
	close(c.roles) // every node has stopped: no more role changes
	if c.tempDir {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}

var (
	_ Describer    = (*raftCluster)(nil)
	_ DiskReporter = (*raftCluster)(nil)
)

// Settings lists the knobs every node runs with.
func (c *raftCluster) Settings() map[string]any {
	cfg := c.nodeConfig(1)
	heartbeat := cfg.Raft.HeartbeatInterval
	if heartbeat == 0 {
		heartbeat = cfg.Raft.ElectionTimeoutMin / 2 // the core's default
	}
	return map[string]any{
		"implementation":       "github.com/raftbench/raftbench/raft (raft/node runtime)",
		"nodes":                len(c.ids),
		"transport":            c.cfg.Transport,
		"fsync":                !cfg.NoSync,
		"log_storage":          "raft/wal: segmented, preallocated, CRC per record; group commit, leader fsync in parallel with replication",
		"election_timeout_min": cfg.Raft.ElectionTimeoutMin.String(),
		"election_timeout_max": cfg.Raft.ElectionTimeoutMax.String(),
		"heartbeat":            heartbeat.String(),
		"prevote":              cfg.Raft.PreVote,
		"check_quorum":         cfg.Raft.CheckQuorum,
		"max_inflight_msgs":    cfg.Raft.MaxInflightMsgs,
		"max_bytes_per_msg":    cfg.Raft.MaxBytesPerMsg,
		"commit_notify_delay":  cfg.Raft.CommitNotifyDelay.String(),
		"proposal_delay":       cfg.ProposalDelay.String(),
		"snapshot_entries":     cfg.SnapshotEntries,
		"stagger_snapshots":    cfg.StaggerSnapshots,
		"max_proposal_batch":   "4096 (default)",
		"proposal_queue":       "8192 (default)",
		"read_modes":           "readindex: heartbeat round; lease: CheckQuorum lease; log: through the log; follower: read index from the leader",
	}
}
