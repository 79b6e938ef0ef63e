package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/snap"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/wal"
)

// Node runs one Raft core with its disk, network and state machine. Create
// it with Open, connect a transport with Start, stop it with Stop.
type Node struct {
	cfg   Config
	id    uint64
	core  *raft.Raft // owned by the event loop once started
	wal   *wal.WAL   // owned by the disk goroutine once started
	snaps *snap.Store
	sm    StateMachine
	tr    transport.Transport
	start time.Time // the zero of the core's clock

	propC     chan proposal
	readC     chan readRequest
	recvC     chan []raft.Message
	diskC     chan diskWork
	applyC    chan applyWork
	snapDoneC chan snapResult
	compactC  chan raft.SnapshotMeta
	persisted persistedMark
	afterBuf  []raft.Message // the disk goroutine's send buffer

	stopC    chan struct{}
	stopOnce sync.Once
	// submit is read-locked by every request on its way into propC or
	// readC; Stop takes it once stopC is closed, so that none is left in a
	// queue that nobody reads.
	submit sync.RWMutex
	// handlers is read-locked by every incoming snapshot write; Stop takes
	// it to wait for them, so no write into the snapshot directory
	// outlives the node.
	handlers sync.RWMutex
	loopDone chan struct{}
	wg       sync.WaitGroup // disk and apply goroutines
	snapWG   sync.WaitGroup // snapshot senders and writers
	snapCtx  context.Context
	snapStop context.CancelFunc

	statusMu sync.Mutex
	status   raft.Status // the core's figures after the loop's last batch
	applied  atomic.Uint64
	stats    Stats
	err      atomic.Pointer[error] // the first fatal error (disk)
	labels   nodeLabels            // pprof labels (labels.go)
	peerView peerView              // in-flight windows, for Config.Metrics
}

type proposal struct {
	data []byte
	fut  *Future
}

// Open recovers a node from cfg.Dir (or creates it): the newest snapshot is
// restored into the state machine and the log after it is read from the
// WAL. The node does nothing until Start.
func Open(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	snaps, err := snap.Open(filepath.Join(cfg.Dir, "snap"), snap.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	w, st, err := wal.Open(filepath.Join(cfg.Dir, "wal"), wal.Options{NoSync: cfg.NoSync, SegmentBytes: cfg.WALSegmentBytes, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	snapMeta, haveSnap, err := snaps.Latest()
	if err != nil {
		w.Close()
		return nil, err
	}
	if haveSnap {
		if err := restore(cfg.StateMachine, snaps, snapMeta); err != nil {
			w.Close()
			return nil, err
		}
		walSnap := st.Snapshot.Index
		if st, err = reconcile(st, snapMeta); err != nil {
			w.Close()
			return nil, err
		}
		if walSnap < snapMeta.Index {
			// The snapshot file became durable but the WAL never heard of it
			// (a crash in between): mark it now, or the WAL would see the
			// entries after the snapshot as a gap.
			err := w.SaveSnapshot(snapMeta)
			if err == nil {
				err = w.Sync()
			}
			if err != nil {
				w.Close()
				return nil, err
			}
		}
	} else if st.Snapshot.Index > 0 {
		w.Close()
		return nil, fmt.Errorf("node: the WAL is compacted through index %d but %s holds no readable snapshot", st.Snapshot.Index, filepath.Join(cfg.Dir, "snap"))
	}
	rc := cfg.Raft
	if rc.Rand == nil {
		rc.Rand = rand.New(rand.NewPCG(cfg.Seed, rc.ID))
	}
	if rc.Logger == nil {
		rc.Logger = cfg.Logger
	}
	rc.OnRoleChange = observeRoles(cfg.Metrics, rc.OnRoleChange)
	n := &Node{
		cfg: cfg, id: rc.ID, wal: w, snaps: snaps, sm: cfg.StateMachine,
		start: time.Now(),
		propC: make(chan proposal, cfg.ProposalQueue),
		readC: make(chan readRequest, 1024),
		recvC: make(chan []raft.Message, cfg.queueLen()),
		// Deep enough that a disk stall (another node's fsync, a snapshot
		// being written) does not block the loop: a blocked loop sends no
		// heartbeats, and its followers would start an election.
		diskC:     make(chan diskWork, cfg.queueLen()),
		applyC:    make(chan applyWork, cfg.queueLen()),
		snapDoneC: make(chan snapResult, 16),
		compactC:  make(chan raft.SnapshotMeta, 4),
		stopC:     make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	n.persisted.notify = make(chan struct{}, 1)
	n.snapCtx, n.snapStop = context.WithCancel(context.Background())
	core, err := raft.New(rc, st, 0)
	if err != nil {
		w.Close()
		return nil, err
	}
	n.core = core
	n.applied.Store(st.Snapshot.Index)
	n.status = core.Status()
	return n, nil
}

// restore loads a snapshot into the state machine.
func restore(sm StateMachine, snaps *snap.Store, meta raft.SnapshotMeta) error {
	rc, _, err := snaps.OpenSnapshot(meta)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := sm.Restore(rc); err != nil {
		return fmt.Errorf("node: restoring snapshot %d: %w", meta.Index, err)
	}
	// The payload's checksum is verified at EOF: read to the end even if
	// Restore stopped early.
	if _, err := io.Copy(io.Discard, rc); err != nil {
		return fmt.Errorf("node: restoring snapshot %d: %w", meta.Index, err)
	}
	return nil
}

// reconcile joins the newest snapshot file and the WAL. The WAL's own
// compaction marker may be older than the snapshot (the marker is written
// after the file is durable); its entries then continue the snapshot only
// if it holds the snapshot's last entry with the same term.
func reconcile(st raft.State, s raft.SnapshotMeta) (raft.State, error) {
	if st.Snapshot.Index > s.Index {
		return st, fmt.Errorf("node: the WAL is compacted through index %d, past the newest readable snapshot %d", st.Snapshot.Index, s.Index)
	}
	var ents []raft.Entry
	for i, e := range st.Entries {
		if e.Index == s.Index {
			if e.Term == s.Term {
				ents = st.Entries[i+1:]
			}
			break
		}
		if e.Index > s.Index { // the WAL starts after the snapshot: contiguous
			if i == 0 && e.Index == s.Index+1 {
				ents = st.Entries
			}
			break
		}
	}
	st.Snapshot = s
	st.Entries = ents
	return st, nil
}

// Start connects the transport and starts the node's goroutines.
func (n *Node) Start(tr transport.Transport) {
	n.tr = tr
	n.wg.Add(2)
	go n.diskLoop()
	go n.applyLoop()
	go n.run()
}

// Handler is what the transport delivers to.
func (n *Node) Handler() transport.Handler { return (*handler)(n) }

// now is the core's clock: monotonic time since Open.
func (n *Node) now() time.Duration { return time.Since(n.start) }

// ID is the node's id.
func (n *Node) ID() uint64 { return n.id }

// Status is a recent copy of the core's figures (updated by the event loop
// after every batch of inputs).
func (n *Node) Status() raft.Status {
	n.statusMu.Lock()
	s := n.status
	n.statusMu.Unlock()
	s.Applied = n.applied.Load()
	return s
}

// Propose submits data and returns a future for the state machine's result.
// A full proposal queue blocks until ctx is done.
func (n *Node) Propose(ctx context.Context, data []byte) *Future {
	f := newFuture()
	n.submitProposal(ctx, proposal{data: data, fut: f})
	return f
}

// submitProposal queues p for the loop, or completes it if ctx ends or the
// node stops first. Stop completes whatever is still queued.
func (n *Node) submitProposal(ctx context.Context, p proposal) {
	n.submit.RLock()
	defer n.submit.RUnlock()
	select {
	case <-n.stopC:
		p.fut.complete(nil, ErrStopped)
		return
	default:
	}
	// The queue has room almost always: a send that cannot block is one
	// channel lock, where the select below locks three channels (it was
	// 5% of a read-heavy run's CPU on the read path).
	select {
	case n.propC <- p:
		return
	default:
	}
	select {
	case n.propC <- p:
	case <-ctx.Done():
		p.fut.complete(nil, ctx.Err())
	case <-n.stopC:
		p.fut.complete(nil, ErrStopped)
	}
}

// submitRead is submitProposal for reads.
func (n *Node) submitRead(ctx context.Context, r readRequest) {
	n.submit.RLock()
	defer n.submit.RUnlock()
	select {
	case <-n.stopC:
		r.complete(ErrStopped)
		return
	default:
	}
	select { // the fast path, as in submitProposal
	case n.readC <- r:
		return
	default:
	}
	select {
	case n.readC <- r:
	case <-ctx.Done():
		r.complete(ctx.Err())
	case <-n.stopC:
		r.complete(ErrStopped)
	}
}

// ProposeAsync proposes data and calls done exactly once with what Wait
// would have returned. It waits only while the proposal queue is full
// (back-pressure); if ctx ends first, done gets ctx's error. done runs on
// one of the node's goroutines (the apply goroutine, mostly), on the
// caller's (an immediate refusal) or on the one calling Stop (a request
// still queued): it must return at once, never block, and never call the
// node; hand the result to a queue.
//
// It is for callers with many requests in flight, such as a load
// generator: no goroutine has to wait on each request, and none has to be
// woken for each answer.
func (n *Node) ProposeAsync(ctx context.Context, data []byte, done func(result any, err error)) {
	n.submitProposal(ctx, proposal{data: data, fut: &Future{cb: done}})
}

// Apply proposes data and waits for its result.
func (n *Node) Apply(ctx context.Context, data []byte) (any, error) {
	return n.Propose(ctx, data).Wait(ctx)
}

// ReadIndex waits until the local state machine reflects every write
// committed before the call (a linearizable read point, confirmed by a
// heartbeat round of the leader). On a follower the leader confirms it.
func (n *Node) ReadIndex(ctx context.Context) error { return n.read(ctx, false) }

// LeaseRead is ReadIndex without the heartbeat round when this node is a
// leader holding a valid lease (CheckQuorum only; see package raft for the
// clock assumption). Otherwise it falls back to ReadIndex.
func (n *Node) LeaseRead(ctx context.Context) error { return n.read(ctx, true) }

// ReadAsync is ReadIndex (or, with lease, LeaseRead) that calls done
// exactly once with what the synchronous call would have returned, under
// the rules of ProposeAsync. The read has no deadline of its own: one the
// leader never confirms fails after two maximum election timeouts; a
// confirmed one waits for the apply goroutine to reach its index (or for
// Stop). A successful read's done runs on the apply goroutine, between two
// Applies: it may read the state machine as Apply does, without a lock.
func (n *Node) ReadAsync(ctx context.Context, lease bool, done func(err error)) {
	n.submitRead(ctx, readRequest{cb: done, lease: lease})
}

func (n *Node) read(ctx context.Context, lease bool) error {
	r := readRequest{errC: make(chan error, 1), lease: lease}
	n.submitRead(ctx, r)
	select {
	case err := <-r.errC:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats counts the node's work.
type Stats struct {
	SnapshotsTaken    atomic.Uint64
	SnapshotsSent     atomic.Uint64
	SnapshotsReceived atomic.Uint64
	GroupCommits      atomic.Uint64 // syncs of the WAL
	SyncNanos         atomic.Uint64 // time spent in those syncs, in total
	EntriesWritten    atomic.Uint64
	MessagesDropped   atomic.Uint64 // dropped because the loop was behind
}

// Stats returns the node's counters.
func (n *Node) Stats() *Stats { return &n.stats }

// Campaign makes the node start an election now.
func (n *Node) Campaign() {
	select {
	case n.recvC <- []raft.Message{{Type: msgCampaign}}:
	case <-n.stopC:
	}
}

// Err is the fatal error that stopped the node, if any.
func (n *Node) Err() error {
	if p := n.err.Load(); p != nil {
		return *p
	}
	return nil
}

func (n *Node) fail(err error) {
	n.err.CompareAndSwap(nil, &err)
	n.cfg.Logger.Error("node stopping", "node", n.id, "err", err)
	go n.Stop()
}

// Stop stops the node: the event loop exits, queued writes are finished,
// outstanding proposals and reads fail with ErrStopped, files are closed.
// It does not close the transport.
func (n *Node) Stop() error {
	n.stopOnce.Do(func() {
		close(n.stopC)
		n.snapStop()
		n.handlers.Lock() // incoming snapshots see stopC and abort
		n.handlers.Unlock()
		// Requests being submitted see stopC and give up; later ones see it
		// at once. After this, nothing enters propC or readC.
		n.submit.Lock()
		n.submit.Unlock()
		if n.tr == nil { // never started
			n.failQueued()
			n.wal.Close()
			return
		}
		<-n.loopDone
		// The apply goroutine starts snapshot writers: wait for it to end
		// before waiting for them (a WaitGroup's Add must not race its
		// Wait).
		n.wg.Wait()
		n.snapWG.Wait()
		n.failQueued()
		n.wal.Close()
	})
	return n.Err()
}

// failQueued completes the requests the loop never took, once it is gone.
func (n *Node) failQueued() {
	for {
		select {
		case p := <-n.propC:
			p.fut.complete(nil, ErrStopped)
		case r := <-n.readC:
			r.complete(ErrStopped)
		default:
			return
		}
	}
}

// handler receives from the transport on its goroutines.
type handler Node

func (h *handler) Deliver(msgs []raft.Message) {
	n := (*Node)(h)
	select {
	case n.recvC <- msgs:
	case <-n.stopC:
	default:
		// The loop is far behind: drop, as a lossy network would. Raft
		// retries; blocking here would stall the peer's connection.
		n.stats.MessagesDropped.Add(uint64(len(msgs)))
	}
}

// HandleSnapshot stores an incoming snapshot (temp file, fsync, rename)
// before the core hears of it, so that by the time the core asks to restore
// it the file is durable.
func (h *handler) HandleSnapshot(m raft.Message, body io.Reader) error {
	n := (*Node)(h)
	if m.Snapshot == nil {
		return fmt.Errorf("node %d: MsgSnap from %d without snapshot metadata", n.id, m.From)
	}
	n.handlers.RLock()
	defer n.handlers.RUnlock()
	select {
	case <-n.stopC:
		return ErrStopped
	default:
	}
	body = stopReader{r: body, stop: n.stopC}
	w, err := n.snaps.Create(m.Snapshot.Meta)
	switch {
	case errors.Is(err, fs.ErrExist):
		// We stored this snapshot before but the core did not take it (a
		// term changed in between, say): the file is durable already.
		if _, err := io.Copy(io.Discard, body); err != nil {
			return err
		}
	case err != nil:
		return err
	default:
		defer w.Abort() // no-op after Commit
		if _, err := io.Copy(w, body); err != nil {
			return err
		}
		if err := w.Commit(); err != nil {
			return err
		}
		n.stats.SnapshotsReceived.Add(1)
	}
	m.Snapshot = &raft.Snapshot{Meta: m.Snapshot.Meta}
	select {
	case n.recvC <- []raft.Message{m}:
		return nil
	case <-n.stopC:
		return ErrStopped
	}
}

// stopReader fails once the node stops, so that a snapshot stream being
// written does not outlive it.
type stopReader struct {
	r    io.Reader
	stop <-chan struct{}
}

func (s stopReader) Read(p []byte) (int, error) {
	select {
	case <-s.stop:
		return 0, ErrStopped
	default:
	}
	return s.r.Read(p)
}
