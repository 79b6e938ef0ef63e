package hashicorp

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
	"github.com/raftbench/raftbench/bench"
)

const (
	// writeWaiters and readers are the goroutines per node that wait on
	// hashicorp/raft's futures, whose only way to wait is a blocking
	// Error(). Apply futures complete in log order, so a few waiters taking
	// them in submission order keep up with any number in flight; reads
	// hold theirs for one VerifyLeader round.
	writeWaiters = 8
	readers      = 256
	// queueLen bounds the requests queued for the waiters and readers of
	// a node; a full queue makes the submitter wait.
	queueLen = 8192
	// reapGrace is how long a crashed node's waiters may go on answering
	// futures that completed before the shutdown, before the rest are
	// answered with a crash error (see member.stop).
	reapGrace = 50 * time.Millisecond
	// shutdownWait bounds the wait for hashicorp/raft's Shutdown.
	shutdownWait = 5 * time.Second
)

// member is one running node.
type member struct {
	id       uint64
	c        *cluster
	r        *raft.Raft
	fsm      *fsm
	logs     raft.LogStore // the LogCache in front of store
	store    *wal.WAL
	meta     *metadb.BoltMetaDB // the WAL's metadata (term, vote, segments)
	trans    raft.Transport
	memTrans *raft.InmemTransport // mem only
	obs      *raft.Observer

	ops       opSet
	verifying atomic.Int32 // VerifyLeader calls in flight (see settle)
	writeq    chan *op
	readq     chan *op
	stopping  chan struct{} // closed when the crash begins
	quit      chan struct{} // closed when the waiters and readers must go
}

// start opens node id from its directory (bootstrapping it on its first
// start) and connects it. sl is its TCP stream layer if already listening.
func (c *cluster) start(id uint64, sl *streamLayer) (err error) {
	c.mu.RLock()
	closed, addr := c.closed, c.addrs[id]
	c.mu.RUnlock()
	if closed {
		if sl != nil {
			sl.Close()
		}
		return errors.New("hashicorp engine: cluster closed")
	}
	m := &member{id: id, c: c, fsm: newFSM(),
		writeq: make(chan *op, queueLen), readq: make(chan *op, queueLen),
		stopping: make(chan struct{}), quit: make(chan struct{})}
	m.ops.m = map[*op]struct{}{}

	var cleanup []func()
	defer func() {
		if err != nil {
			for i := len(cleanup) - 1; i >= 0; i-- {
				cleanup[i]()
			}
		}
	}()
	if c.mem {
		_, m.memTrans = raft.NewInmemTransportWithTimeout(addr, memRPCTimeout)
		m.trans = m.memTrans
	} else {
		if sl == nil {
			if sl, err = listen(c.nw, id, string(addr)); err != nil {
				return fmt.Errorf("node %d: listen on %s: %w", id, addr, err)
			}
		}
		m.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			ServerAddressProvider: c, Logger: c.logger, Stream: sl,
			MaxPool: maxPool, Timeout: transportTimeout,
		})
	}
	cleanup = append(cleanup, func() { closeTransport(m.trans) })

	dir := filepath.Join(c.dir, fmt.Sprintf("node-%d", id))
	walDir := filepath.Join(dir, "wal")
	if err := os.MkdirAll(walDir, 0o755); err != nil {
		return err
	}
	// The WAL's metadata database is ours to close: WAL.Close leaves it
	// open, and its file lock would keep a restart from opening it.
	m.meta = &metadb.BoltMetaDB{}
	cleanup = append(cleanup, func() { m.meta.Close() })
	if c.cfg.Fsync {
		m.store, err = wal.Open(walDir, wal.WithLogger(c.logger), wal.WithMetaStore(m.meta))
	} else {
		m.store, err = wal.Open(walDir, wal.WithLogger(c.logger), wal.WithMetaStore(m.meta),
			wal.WithSegmentFiler(segment.NewFiler(walDir, noSyncVFS{fs.New()})))
	}
	if err != nil {
		return fmt.Errorf("node %d: raft-wal: %w", id, err)
	}
	cleanup = append(cleanup, func() { m.store.Close() })
	if m.logs, err = raft.NewLogCache(logCacheEntries, m.store); err != nil {
		return err
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, snapshotsRetained, c.logger)
	if err != nil {
		return fmt.Errorf("node %d: snapshot store: %w", id, err)
	}
	conf := c.raftConfig(id)
	existing, err := raft.HasExistingState(m.logs, m.store, snaps)
	if err != nil {
		return fmt.Errorf("node %d: %w", id, err)
	}
	if !existing {
		// Every node is bootstrapped with the same configuration before its
		// first start; a restart finds its state and never bootstraps.
		if err := raft.BootstrapCluster(conf, m.logs, m.store, snaps, m.trans, c.configuration()); err != nil {
			return fmt.Errorf("node %d: bootstrap: %w", id, err)
		}
	}
	if m.r, err = raft.NewRaft(conf, m.fsm, m.logs, m.store, snaps, m.trans); err != nil {
		return fmt.Errorf("node %d: %w", id, err)
	}
	cleanup = append(cleanup, func() { m.r.Shutdown().Error() })
	m.obs = raft.NewObserver(nil, false, m.observe)
	m.r.RegisterObserver(m.obs)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return errors.New("hashicorp engine: cluster closed")
	}
	c.members[id] = m
	if c.mem {
		// Connect the new transport both ways, and the peers' to it.
		c.wireMemLocked()
	}
	c.mu.Unlock()
	for range writeWaiters {
		go waitWrites(c, id, &m.ops, m.writeq, m.quit)
	}
	for range readers {
		go m.serveReads()
	}
	return nil
}

func closeTransport(t raft.Transport) {
	if c, ok := t.(raft.WithClose); ok {
		c.Close()
	}
}

// observe is the observer's filter: it runs synchronously on the raft
// goroutine that changed the node's state or leader, so the change is
// stamped when it happens. It turns the observation into a RoleChange and
// never queues anything (it returns false).
func (m *member) observe(o *raft.Observation) bool {
	switch d := o.Data.(type) {
	case raft.RaftState:
		var role string
		switch d {
		case raft.Follower:
			role = "follower"
		case raft.Candidate: // PreVote runs in this state too
			role = "candidate"
		case raft.Leader:
			role = "leader"
		default: // Shutdown: a crash or close, not a role
			return false
		}
		rc := bench.RoleChange{Node: m.id, Role: role, Term: o.Raft.CurrentTerm()}
		if d == raft.Leader {
			rc.Leader = m.id
		}
		m.c.roleChange(rc)
	case raft.LeaderObservation:
		// A follower learning of a leader. The leader's own
		// observation follows its state change, and a cleared leader
		// comes with one: neither is news.
		lead := nodeID(d.LeaderID)
		if lead == 0 || lead == m.id || o.Raft.State() != raft.Follower {
			return false
		}
		m.c.roleChange(bench.RoleChange{Node: m.id, Role: "follower", Term: o.Raft.CurrentTerm(), Leader: lead})
	}
	return false
}

// stop crashes the node: the transport goes first (peers see the
// connections drop at once), then hashicorp/raft shuts down without a
// snapshot and the stores close; what raft-wal made durable is what the
// restart finds. Requests in flight are answered: reads with an error
// wrapping bench.ErrNodeDown (a read has no effect), writes whose future
// never completes with errCrashed (the entry may yet commit elsewhere).
//
// hashicorp/raft leaves some futures forever unanswered after Shutdown
// (entries still in the buffered applyCh or queued for the FSM goroutine),
// and a future offers no way to wait other than a blocking Error(). A
// waiter blocked on one of those stays blocked: at most writeWaiters
// goroutines per crash, holding a future and the op set, not the node.
func (m *member) stop() error {
	close(m.stopping)
	m.r.DeregisterObserver(m.obs)
	if m.memTrans != nil {
		m.c.mu.RLock()
		for _, p := range m.c.members {
			p.memTrans.Disconnect(m.memTrans.LocalAddr())
		}
		m.c.mu.RUnlock()
	}
	closeTransport(m.trans)
	m.settle()
	m.shutdown()
	m.fsm.crash()
	err := errors.Join(m.store.Close(), m.meta.Close())
	m.c.reapers.Add(1)
	go func() {
		defer m.c.reapers.Done()
		time.Sleep(reapGrace)
		close(m.quit)
		for _, o := range m.ops.close() {
			if o.write {
				o.answerWrite(nil, errCrashed)
			} else {
				o.answerRead(nil, false, fmt.Errorf("node %d: %w", m.id, errNodeGone))
			}
		}
	}()
	return err
}

// settle lets a leader with VerifyLeader calls in flight lose its
// leadership before the shutdown. hashicorp/raft v1.8.0 can hang in
// Shutdown otherwise: a heartbeat goroutine hands a verification's vote
// to the leader loop with a blocking send, which only the leader or
// follower loop receives, and Shutdown waits for that goroutine. With the
// transport closed the leader loses its lease and steps down, its pending
// verifications fail, and the follower loop takes any vote still being
// handed over.
func (m *member) settle() {
	if m.verifying.Load() == 0 {
		return
	}
	deadline := time.Now().Add(2*m.c.knobs.leaderLease + 100*time.Millisecond)
	for m.verifying.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond) // the follower loop's turn
}

// shutdown stops hashicorp/raft, waiting at most shutdownWait: should a
// goroutine of it still hang (see settle), the node is abandoned to it
// rather than the cluster stalled.
func (m *member) shutdown() {
	done := make(chan struct{})
	go func() {
		m.r.Shutdown().Error()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(shutdownWait):
		m.c.logger.Error("hashicorp/raft did not finish shutting down; abandoning its goroutines", "node", m.id, "waited", shutdownWait)
	}
}

// noSyncVFS is raft-wal's file system with Sync turned off, for clusters
// run without fsync: raft-wal itself always syncs on StoreLogs.
type noSyncVFS struct{ types.VFS }

type noSyncFile struct{ types.WritableFile }

func (noSyncFile) Sync() error { return nil }

func (v noSyncVFS) Create(dir, name string, size uint64) (types.WritableFile, error) {
	f, err := v.VFS.Create(dir, name, size)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}

func (v noSyncVFS) OpenWriter(dir, name string) (types.WritableFile, error) {
	f, err := v.VFS.OpenWriter(dir, name)
	if err != nil {
		return nil, err
	}
	return noSyncFile{f}, nil
}
