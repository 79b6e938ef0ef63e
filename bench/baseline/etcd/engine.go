package etcd

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Engine runs clusters of go.etcd.io/raft/v3 in process, one RawNode per
// member driven as etcd raft's documentation prescribes, over the mem or
// tcp transport, with the workloads.KV state machine.
type Engine struct {
	// AsyncStorageWrites turns on etcd raft's Config.AsyncStorageWrites:
	// log appends and applies run on their own goroutines, driven by the
	// MsgStorageAppend and MsgStorageApply messages.
	AsyncStorageWrites bool
}

// Name is "etcd", or "etcd-async" with async storage writes.
func (e Engine) Name() string {
	if e.AsyncStorageWrites {
		return "etcd-async"
	}
	return "etcd"
}

var (
	_ bench.Engine       = Engine{}
	_ bench.AsyncCluster = (*cluster)(nil)
	_ bench.Describer    = (*cluster)(nil)
	_ bench.DiskReporter = (*cluster)(nil)
)

// Start starts every node of the cluster and returns once they run (a
// leader is elected later, by etcd raft's timeouts).
func (e Engine) Start(ctx context.Context, cfg bench.ClusterConfig) (bench.Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("etcd engine: %d nodes", cfg.Nodes)
	}
	switch cfg.Transport {
	case "":
		cfg.Transport = "mem"
	case "mem", "tcp":
	default:
		return nil, fmt.Errorf("etcd engine: unknown transport %q (want mem or tcp)", cfg.Transport)
	}
	t, err := timingFor(cfg)
	if err != nil {
		return nil, err
	}
	c := &cluster{cfg: cfg, timing: t, async: e.AsyncStorageWrites, engineName: e.Name(),
		roles: make(chan bench.RoleChange, 1024), running: map[uint64]*atomic.Pointer[node]{},
		addrs: map[uint64]string{}, DiskRecorder: bench.NewDiskRecorder()}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "raftbench-etcd-")
		if err != nil {
			return nil, err
		}
		c.dir, c.tempDir = dir, true
	} else {
		c.dir = cfg.DataDir
	}
	for i := 1; i <= cfg.Nodes; i++ {
		id := uint64(i)
		c.ids = append(c.ids, id)
		c.running[id] = &atomic.Pointer[node]{}
	}
	// With tcp, every node listens before any starts, so that each knows
	// its peers' addresses; a restarted node listens on the same one.
	listeners := map[uint64]*tcpListener{}
	if cfg.Transport == "tcp" {
		for _, id := range c.ids {
			ln, err := c.listen(id, "127.0.0.1:0")
			if err != nil {
				for _, l := range listeners {
					l.close()
				}
				c.Close()
				return nil, err
			}
			listeners[id] = ln
			c.addrs[id] = ln.addr()
		}
	}
	for _, id := range c.ids {
		if err := c.start(id, listeners[id]); err != nil {
			for _, l := range listeners {
				l.close() // closing twice is harmless
			}
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

type cluster struct {
	cfg        bench.ClusterConfig
	timing     timing
	async      bool
	engineName string
	dir        string
	tempDir    bool
	ids        []uint64
	addrs      map[uint64]string // tcp: fixed at Start
	// running holds each member's current incarnation (nil while down).
	// Requests and deliveries read it without a lock.
	running map[uint64]*atomic.Pointer[node]
	cut     atomic.Pointer[map[[2]uint64]bool]

	life   sync.Mutex // serializes Crash, Restart, Close
	closed bool

	roleMu      sync.Mutex
	roles       chan bench.RoleChange
	rolesClosed bool

	*bench.DiskRecorder // every node's WAL syncs: the DiskReporter
}

func (c *cluster) listen(id uint64, addr string) (*tcpListener, error) {
	return listenTCP(addr, id, c.cfg.Seed+1, func(m *raftpb.Message) { c.receive(id, m) })
}

// receive hands a message from the network to node to's current
// incarnation; false if it is down. A partition drops it here too, so that
// messages already in flight when the cut came are lost as well.
func (c *cluster) receive(to uint64, m *raftpb.Message) bool {
	n := c.running[to].Load()
	if n == nil {
		return false
	}
	if !c.isCut(m.From, to) {
		n.in.pushMsg(m, true)
	}
	return true
}

func (c *cluster) isCut(from, to uint64) bool {
	cut := c.cut.Load()
	return cut != nil && (*cut)[[2]uint64{from, to}]
}

func (c *cluster) roleChange(rc bench.RoleChange) {
	// The time is read under the lock, so the channel's order is the
	// time order even with every node reporting at once.
	c.roleMu.Lock()
	defer c.roleMu.Unlock()
	if c.rolesClosed {
		return
	}
	rc.At = time.Now()
	select {
	case c.roles <- rc:
	default: // nobody reads fast enough: drop, never stall a node
	}
}

// start opens node id from its directory (new or not) and starts its
// goroutines. ln is its listener (tcp), or nil to open one (a restart).
func (c *cluster) start(id uint64, ln *tcpListener) (err error) {
	dir := filepath.Join(c.dir, fmt.Sprintf("node-%d", id))
	st, rc, err := openStorage(dir, c.ids, c.cfg.Fsync)
	if err != nil {
		return err
	}
	st.disk = c.DiskRecorder
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	kv := workloads.NewKV(workloads.KVConfig{})
	if len(rc.snapshot.Data) > 0 {
		if err := kv.Restore(bytes.NewReader(rc.snapshot.Data)); err != nil {
			return fmt.Errorf("etcd engine: node %d: restore snapshot: %w", id, err)
		}
	}
	snapIndex := rc.snapshot.Metadata.Index
	rn, err := raft.NewRawNode(c.raftConfig(id, st.mem, snapIndex))
	if err != nil {
		return err
	}
	n := &node{id: id, c: c, async: c.async, kv: kv, st: st, rn: rn, in: newInbox(),
		stopc: make(chan struct{}), propBase: newPropBase(), term: rc.hs.Term}
	n.soft = raft.SoftState{RaftState: raft.StateFollower}
	n.ap = &applier{n: n, kv: kv, applied: snapIndex, term: rc.snapshot.Metadata.Term, snapIndex: snapIndex}
	n.publish()
	sinks := map[uint64]sink{}
	for _, peer := range c.ids {
		if peer == id {
			continue
		}
		if c.cfg.Transport == "tcp" {
			sinks[peer] = newTCPSink(c.addrs[peer], c.cfg.Seed+1, id, peer)
		} else {
			sinks[peer] = memSink{to: peer, deliver: c.receive}
		}
	}
	if c.cfg.Transport == "tcp" && ln == nil {
		if ln, err = c.listen(id, c.addrs[id]); err != nil {
			return err
		}
	}
	n.ln = ln
	n.tr = newTransport(id, sinks, c.isCut, n)
	if c.async {
		n.appendQ, n.applyQ = newJobQueue(), newJobQueue()
		n.wg.Add(2)
		go n.appendLoop()
		go n.applyLoop()
	}
	c.running[id].Store(n)
	n.wg.Add(1)
	go n.run()
	go func() {
		// A node whose storage failed stops itself; take it out of the
		// cluster as a crash would.
		<-n.stopc
		if n.failed.Load() {
			c.life.Lock()
			defer c.life.Unlock()
			if c.running[id].CompareAndSwap(n, nil) {
				n.stop()
			}
		}
	}()
	return nil
}

func (c *cluster) node(id uint64) (*node, error) {
	p := c.running[id]
	if p == nil {
		return nil, fmt.Errorf("etcd engine: no node %d", id)
	}
	n := p.Load()
	if n == nil {
		return nil, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown)
	}
	return n, nil
}

func (c *cluster) Nodes() []uint64 { return c.ids }

// WriteAsync proposes cmd on node id. A follower refuses at once with the
// leader it knows of; the leader queues the proposal for its loop, which
// steps every queued proposal in as one batch.
func (c *cluster) WriteAsync(ctx context.Context, id uint64, cmd []byte, done func(any, error)) {
	n, err := c.node(id)
	if err != nil {
		done(nil, err)
		return
	}
	if st := n.status.Load(); st.role != raft.StateLeader {
		done(nil, &bench.NotLeaderError{Leader: st.lead})
		return
	}
	p := &proposal{id: n.nextProposalID(), done: done}
	// The id goes in front of the command: one allocation, which the log
	// then owns.
	p.data = make([]byte, idBytes+len(cmd))
	binary.LittleEndian.PutUint64(p.data, p.id)
	copy(p.data[idBytes:], cmd)
	if ok, full := n.in.pushProposal(p); !ok {
		if full {
			done(nil, fmt.Errorf("etcd engine: node %d: proposal queue full: %w", id, errDropped))
		} else {
			done(nil, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown))
		}
	}
}

// ReadAsync reads key on node id. Log reads go through the log as a get
// command; every other mode asks etcd raft for a read index (ReadOnlySafe:
// lease reads fall back to it, see raftConfig) and reads the KV once that
// index is applied.
func (c *cluster) ReadAsync(ctx context.Context, id uint64, mode bench.ReadMode, key []byte, done func([]byte, bool, error)) {
	if mode == bench.ReadLog {
		bench.ReadThroughLog(func(cmd []byte, d func(any, error)) { c.WriteAsync(ctx, id, cmd, d) }, key, done)
		return
	}
	n, err := c.node(id)
	if err != nil {
		done(nil, false, err)
		return
	}
	if ok, full := n.in.pushRead(&readReq{key: key, done: done}); !ok {
		if full {
			done(nil, false, fmt.Errorf("etcd engine: node %d: read queue full: %w", id, errReadTimeout))
		} else {
			done(nil, false, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown))
		}
	}
}

func (c *cluster) Write(ctx context.Context, id uint64, cmd []byte) (any, error) {
	type answer struct {
		res any
		err error
	}
	ch := make(chan answer, 1)
	c.WriteAsync(ctx, id, cmd, func(res any, err error) { ch <- answer{res, err} })
	select {
	case a := <-ch:
		return a.res, a.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *cluster) Read(ctx context.Context, id uint64, mode bench.ReadMode, key []byte) ([]byte, bool, error) {
	type answer struct {
		v   []byte
		ok  bool
		err error
	}
	ch := make(chan answer, 1)
	c.ReadAsync(ctx, id, mode, key, func(v []byte, ok bool, err error) { ch <- answer{v, ok, err} })
	select {
	case a := <-ch:
		return a.v, a.ok, a.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// Leader is a running node that believes it leads, the one of the highest
// term if a partitioned old leader still believes it too.
func (c *cluster) Leader() uint64 {
	var lead, term uint64
	for _, id := range c.ids {
		if n := c.running[id].Load(); n != nil {
			if st := n.status.Load(); st.role == raft.StateLeader && st.term >= term {
				lead, term = id, st.term
			}
		}
	}
	return lead
}

func (c *cluster) Crash(id uint64) error {
	c.life.Lock()
	defer c.life.Unlock()
	p := c.running[id]
	if p == nil {
		return fmt.Errorf("etcd engine: no node %d", id)
	}
	n := p.Swap(nil)
	if n == nil {
		return fmt.Errorf("node %d: %w", id, bench.ErrNodeDown)
	}
	return n.stop()
}

func (c *cluster) Restart(id uint64) error {
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed {
		return errors.New("etcd engine: cluster closed")
	}
	p := c.running[id]
	if p == nil {
		return fmt.Errorf("etcd engine: no node %d", id)
	}
	if p.Load() != nil {
		return fmt.Errorf("etcd engine: node %d is running", id)
	}
	return c.start(id, nil)
}

// Partition cuts every link between nodes of different groups, both ways
// (nodes named in no group form one more group, as with the raft engine).
func (c *cluster) Partition(groups ...[]uint64) error {
	cut := bench.CutLinks(c.ids, groups...)
	c.cut.Store(&cut)
	return nil
}

func (c *cluster) Heal() error {
	c.cut.Store(nil)
	return nil
}

func (c *cluster) RoleChanges() <-chan bench.RoleChange { return c.roles }

func (c *cluster) Close() error {
	c.life.Lock()
	defer c.life.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, id := range c.ids {
		if n := c.running[id].Swap(nil); n != nil {
			errs = append(errs, n.stop())
		}
	}
	c.roleMu.Lock()
	c.rolesClosed = true
	close(c.roles)
	c.roleMu.Unlock()
	if c.tempDir {
		errs = append(errs, os.RemoveAll(c.dir))
	}
	return errors.Join(errs...)
}
