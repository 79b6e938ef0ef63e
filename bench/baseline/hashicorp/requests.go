package hashicorp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

var (
	// errNodeGone answers a read whose node crashed under it: the read
	// had no effect, and the client may try another node.
	errNodeGone = fmt.Errorf("hashicorp engine: node crashed with the read in flight: %w", bench.ErrNodeDown)
	// errCrashed answers a write whose node crashed under it. It does not
	// wrap bench.ErrNodeDown: the entry may have reached other nodes and
	// may yet commit, so the outcome is unknown.
	errCrashed = errors.New("hashicorp engine: node crashed with the write in flight (it may still commit)")
)

// op is one request in flight on a node, answered exactly once.
type op struct {
	answered atomic.Bool
	ops      *opSet
	write    bool
	fut      raft.ApplyFuture // write: set before the op is queued
	mode     bench.ReadMode
	key      []byte
	onWrite  func(any, error)
	onRead   func([]byte, bool, error)
}

func (o *op) claim() bool {
	if !o.answered.CompareAndSwap(false, true) {
		return false
	}
	o.ops.remove(o)
	return true
}

func (o *op) answerWrite(res any, err error) {
	if o.claim() {
		o.onWrite(res, err)
	}
}

func (o *op) answerRead(v []byte, found bool, err error) {
	if o.claim() {
		o.onRead(v, found, err)
	}
}

// opSet holds a node's requests in flight, so that its crash can answer
// those hashicorp/raft never will.
type opSet struct {
	mu     sync.Mutex
	closed bool
	m      map[*op]struct{}
}

func (s *opSet) add(o *op) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	o.ops = s
	s.m[o] = struct{}{}
	return true
}

func (s *opSet) remove(o *op) {
	s.mu.Lock()
	delete(s.m, o)
	s.mu.Unlock()
}

// close refuses new requests and returns those still in flight.
func (s *opSet) close() []*op {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	list := make([]*op, 0, len(s.m))
	for o := range s.m {
		list = append(list, o)
	}
	s.m = nil
	return list
}

// leaderHint is the leader node id knows of, for a redirect (0: none, or
// only itself, which has just stopped leading).
func (c *cluster) leaderHint(id uint64) uint64 {
	c.mu.RLock()
	m := c.members[id]
	c.mu.RUnlock()
	if m == nil {
		return 0
	}
	_, lid := m.r.LeaderWithID()
	if l := nodeID(lid); l != id {
		return l
	}
	return 0
}

func (m *member) notLeader() error { return &bench.NotLeaderError{Leader: m.c.leaderHint(m.id)} }

// writeErr maps a write's hashicorp/raft error.
//
// ErrNotLeader and ErrLeadershipTransferInProgress come before the entry
// was appended; ErrLeadershipLost after, when the outcome is unknown (the
// entry may have reached a majority and commit under the next leader: the
// error says MaybeApplied, so a history keeps the write). All three
// become a NotLeaderError, so the load generator redirects and sends
// the same command again: it carries the client's session and sequence
// number, so the KV applies it once whichever copies commit, and the
// retry's answer is the first one's.
func (c *cluster) writeErr(id uint64, err error) error {
	switch {
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return &bench.NotLeaderError{Leader: c.leaderHint(id)}
	case errors.Is(err, raft.ErrLeadershipLost):
		return &bench.NotLeaderError{Leader: c.leaderHint(id), MaybeApplied: true}
	case errors.Is(err, raft.ErrRaftShutdown):
		return errCrashed
	}
	return fmt.Errorf("node %d: %w", id, err)
}

// waitWrites answers the write futures of node id in submission order. It
// is given only what it needs, not the member: a waiter left blocked on a
// future that a crash orphaned (see member.stop) holds no node's state.
func waitWrites(c *cluster, id uint64, ops *opSet, q <-chan *op, quit <-chan struct{}) {
	for {
		var o *op
		select {
		case o = <-q:
		case <-quit:
			return
		}
		if err := o.fut.Error(); err != nil {
			o.answerWrite(nil, c.writeErr(id, err))
			continue
		}
		res := o.fut.Response()
		if r, ok := res.(*workloads.Result); ok && r.Err != nil {
			o.answerWrite(nil, r.Err)
			continue
		}
		o.answerWrite(res, nil)
	}
}

func (c *cluster) WriteAsync(ctx context.Context, id uint64, cmd []byte, done func(any, error)) {
	m, err := c.member(id)
	if err != nil {
		done(nil, err)
		return
	}
	if m.r.State() != raft.Leader {
		done(nil, m.notLeader())
		return
	}
	if err := ctx.Err(); err != nil {
		done(nil, err)
		return
	}
	o := &op{write: true, onWrite: done}
	if !m.ops.add(o) {
		done(nil, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown))
		return
	}
	// No enqueue timeout: with BatchApplyCh the send is into a buffer of
	// MaxAppendEntries, and a full buffer is back-pressure.
	o.fut = m.r.Apply(cmd, 0)
	select {
	case m.writeq <- o:
	case <-m.quit: // crashed: the reaper has answered it
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

func (c *cluster) ReadAsync(ctx context.Context, id uint64, mode bench.ReadMode, key []byte, done func([]byte, bool, error)) {
	if mode == bench.ReadLog {
		bench.ReadThroughLog(func(cmd []byte, d func(any, error)) { c.WriteAsync(ctx, id, cmd, d) }, key, done)
		return
	}
	m, err := c.member(id)
	if err != nil {
		done(nil, false, err)
		return
	}
	if mode != bench.ReadFollower && m.r.State() != raft.Leader {
		done(nil, false, m.notLeader())
		return
	}
	o := &op{mode: mode, key: key, onRead: done}
	if !m.ops.add(o) {
		done(nil, false, fmt.Errorf("node %d: %w", id, bench.ErrNodeDown))
		return
	}
	select {
	case m.readq <- o:
	case <-m.quit:
	}
}

func (c *cluster) Read(ctx context.Context, id uint64, mode bench.ReadMode, key []byte) ([]byte, bool, error) {
	type answer struct {
		v     []byte
		found bool
		err   error
	}
	ch := make(chan answer, 1)
	c.ReadAsync(ctx, id, mode, key, func(v []byte, found bool, err error) { ch <- answer{v, found, err} })
	select {
	case a := <-ch:
		return a.v, a.found, a.err
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// serveReads runs the reads queued on the node, one at a time; the node
// runs readers of them.
func (m *member) serveReads() {
	for {
		select {
		case o := <-m.readq:
			m.serveRead(o)
		case <-m.quit:
			return
		}
	}
}

func (m *member) serveRead(o *op) {
	var (
		index uint64
		err   error
	)
	if o.mode == bench.ReadFollower && m.r.State() != raft.Leader {
		index, err = m.c.forwardReadIndex(m)
	} else {
		index, err = m.readIndex()
	}
	if err != nil {
		o.answerRead(nil, false, err)
		return
	}
	m.fsm.waitApplied(index, func(err error) {
		if err != nil {
			o.answerRead(nil, false, fmt.Errorf("node %d: %w", m.id, err))
			return
		}
		v, found := m.fsm.kv.Get(o.key)
		o.answerRead(v, found, nil)
	})
}

// readIndex confirms that the node leads and returns the index its state
// machine must reach before a linearizable read: the last command at or
// below the commit index the leader had when the read arrived.
//
// The commit index is only a safe bound once the leader has committed an
// entry of its own term (until then it may lag what earlier leaders
// committed), so a new leader's reads wait for that first. VerifyLeader
// then asks a quorum, with a round of heartbeats, whether the node still
// leads; a term that changed meanwhile voids the answer.
func (m *member) readIndex() (uint64, error) {
	if m.r.State() != raft.Leader {
		return 0, m.notLeader()
	}
	term := m.r.CurrentTerm()
	commit, err := m.committedInTerm(term)
	if err != nil {
		return 0, err
	}
	// Counted, and not started once the node is stopping: see
	// member.settle.
	m.verifying.Add(1)
	select {
	case <-m.stopping:
		m.verifying.Add(-1)
		return 0, fmt.Errorf("node %d: %w", m.id, errNodeGone)
	default:
	}
	err = m.r.VerifyLeader().Error()
	m.verifying.Add(-1)
	if err != nil {
		if errors.Is(err, raft.ErrRaftShutdown) {
			return 0, fmt.Errorf("node %d: %w", m.id, errNodeGone)
		}
		return 0, m.notLeader() // ErrNotLeader, ErrLeadershipLost
	}
	if m.r.CurrentTerm() != term || m.r.State() != raft.Leader {
		return 0, m.notLeader()
	}
	return m.lastCommand(commit), nil
}

// committedInTerm waits until the leader's commit index holds an entry of
// term, and returns it. hashicorp/raft offers no signal for it, so this
// polls; it happens only in the first round trip of a new leader's term.
func (m *member) committedInTerm(term uint64) (uint64, error) {
	deadline := time.Now().Add(2 * m.c.knobs.electionTimeout)
	for {
		commit := m.r.CommitIndex()
		var l raft.Log
		if commit > 0 && m.logs.GetLog(commit, &l) == nil && l.Term == term {
			return commit, nil
		}
		switch {
		case m.r.State() != raft.Leader || m.r.CurrentTerm() != term:
			return 0, m.notLeader()
		case time.Now().After(deadline):
			return 0, &bench.NotLeaderError{}
		}
		select {
		case <-m.stopping:
			return 0, fmt.Errorf("node %d: %w", m.id, errNodeGone)
		case <-time.After(time.Millisecond):
		}
	}
}

// lastCommand is the index of the last command entry at or below index in
// the node's log. The KV sees only commands, so its applied index is the
// last command's; the no-op a leader appends at the start of its term and
// the configuration entries never reach it and must not be waited for. If
// the log no longer has an entry (compacted into a snapshot, which takes
// at least TrailingLogs more entries), that index is the conservative
// answer.
func (m *member) lastCommand(index uint64) uint64 {
	for j := index; j > 0; j-- {
		var l raft.Log
		if err := m.logs.GetLog(j, &l); err != nil || l.Type == raft.LogCommand {
			return j
		}
	}
	return 0
}

// forwardReadIndex serves a follower read on node f: hashicorp/raft has
// no follower read index, so f asks the leader it knows of for one, in
// process (the call stands in for an RPC and is refused across a cut
// link), and then waits for its own state machine to apply it. A follower
// that knows of no leader it can reach waits for one, as long as an
// election would take.
func (c *cluster) forwardReadIndex(f *member) (uint64, error) {
	deadline := time.Now().Add(2 * c.knobs.electionTimeout)
	for {
		if l := c.reachableLeader(f); l != nil {
			index, err := l.readIndex()
			if errors.Is(err, bench.ErrNodeDown) {
				// The leader crashed, not f.
				return 0, &bench.NotLeaderError{}
			}
			return index, err
		}
		if f.r.State() == raft.Leader {
			return f.readIndex()
		}
		if time.Now().After(deadline) {
			return 0, &bench.NotLeaderError{}
		}
		select {
		case <-f.stopping:
			return 0, fmt.Errorf("node %d: %w", f.id, errNodeGone)
		case <-time.After(time.Millisecond):
		}
	}
}

// reachableLeader is the running leader f knows of, if its link to f is
// not cut.
func (c *cluster) reachableLeader(f *member) *member {
	_, lid := f.r.LeaderWithID()
	lead := nodeID(lid)
	if lead == 0 || lead == f.id {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.cut[linkOf(f.id, lead)] {
		return nil
	}
	return c.members[lead]
}
