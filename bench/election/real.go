package election

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/raft/sim"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/tcp"
	"github.com/raftbench/raftbench/workloads"
)

// errSetup means a trial's cluster did not reach the starting state (a
// leader, the eligible followers caught up): it is built again.
var errSetup = errors.New("setup did not converge")

// realTrial runs one trial on real nodes: five (or Nodes) raft/node
// instances in this process, TCP on loopback, fsync, real timers, with the
// configured network and disk delays added on top.
func realTrial(ctx context.Context, cfg *Config, l *Line, seed uint64, dir string) (Trial, error) {
	for attempt := uint64(0); attempt < 20; attempt++ {
		t, err := realAttempt(ctx, cfg, l, seed+attempt<<40, filepath.Join(dir, fmt.Sprint(attempt)))
		if !errors.Is(err, errSetup) {
			return t, err
		}
	}
	return Trial{}, fmt.Errorf("real trial seed %d: no leader kept a settled cluster in 20 attempts (is the broadcast time near the election timeout?)", seed)
}

// realCluster is one trial's cluster and what the probes saw.
type realCluster struct {
	cfg      *Config
	n        int
	eligible int
	lead     uint64       // the leader the trial fails (once set up)
	nodes    []*node.Node // index id-1
	trs      []*tcp.Transport
	probes   []*probe
	rng      *rand.Rand

	mu         sync.Mutex
	filter     bool   // until the failure: node 1's entries reach only the eligible followers
	watch      bool   // node 1's next heartbeat broadcast is the trial's start
	oldTerm    uint64 // the failed leader's term (0 until the failure)
	failedAt   time.Time
	down       map[uint64]bool // crashed or cut off
	broadcast  chan time.Time  // node 1's heartbeat broadcasts after setup
	heard      map[uint64]time.Time
	answered   map[uint64]bool // followers that answered the leader's heartbeat
	newTerm    uint64
	candidates map[uint64]map[uint64]bool // term -> candidates
	clientTerm uint64
	clientAt   time.Time
	done       chan struct{} // closed when the trial has what it measures
	closed     bool
}

func realAttempt(ctx context.Context, cfg *Config, l *Line, seed uint64, dir string) (Trial, error) {
	eligible := cfg.Eligible
	if eligible == 0 {
		eligible = l.Nodes / 2
	}
	c := &realCluster{cfg: cfg, n: l.Nodes, eligible: eligible, rng: rand.New(rand.NewPCG(seed, 0x7ea1)),
		filter: true, down: map[uint64]bool{}, broadcast: make(chan time.Time, 1), heard: map[uint64]time.Time{}, answered: map[uint64]bool{},
		candidates: map[uint64]map[uint64]bool{}, done: make(chan struct{})}
	defer c.close(dir)
	if err := c.start(l, seed, dir); err != nil {
		return Trial{}, err
	}
	c.setPhase(phaseSetup)
	// Node 1 campaigns at once, but with short timeouts and slow votes
	// another may win the setup election: whoever leads is the trial's
	// leader, and the eligible followers are the ones after it.
	c.nodes[0].Campaign()
	var lead *node.Node
	settle := max(20*l.TimeoutMax, 5*time.Second) // split votes can take a while
	if !waitFor(ctx, settle, func() bool {
		for _, n := range c.nodes {
			if st := n.Status(); st.Role == raft.Leader && st.Commit >= st.LastIndex {
				lead = n
				return true
			}
		}
		return false
	}) {
		return Trial{}, errSetup
	}
	c.mu.Lock()
	c.lead = lead.ID()
	c.mu.Unlock()
	// A few entries, which the short-log followers never get.
	setupCtx, cancel := context.WithTimeout(ctx, settle)
	defer cancel()
	for i := range 3 {
		if _, err := lead.Apply(setupCtx, workloads.EncodePut(0, 0, []byte(fmt.Sprint("k", i)), []byte("v"))); err != nil {
			return Trial{}, errSetup
		}
	}
	if !waitFor(ctx, settle, func() bool {
		last := lead.Status().LastIndex
		for _, id := range c.eligibleIDs() {
			if c.nodes[id-1].Status().LastIndex < last {
				return false
			}
		}
		return lead.Status().Role == raft.Leader
	}) {
		return Trial{}, errSetup
	}
	oldTerm := lead.Status().Term
	// Every follower answers a heartbeat before the trial starts: a
	// connection still being dialed would drop the broadcast to it, and
	// its timer would run from the heartbeat before.
	if !waitFor(ctx, settle, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		return len(c.answered) == c.n-1
	}) {
		return Trial{}, errSetup
	}
	// The next heartbeat broadcast, then the failure at a uniformly random
	// moment of the heartbeat interval.
	drain(c.broadcast)
	c.mu.Lock()
	c.watch = true
	c.mu.Unlock()
	var broadcast time.Time
	select {
	case broadcast = <-c.broadcast:
	case <-time.After(4 * c.heartbeat(l)):
		return Trial{}, errSetup
	case <-ctx.Done():
		return Trial{}, ctx.Err()
	}
	if lead.Status().Role != raft.Leader || lead.Status().Term != oldTerm {
		return Trial{}, errSetup
	}
	failAt := broadcast.Add(time.Duration(c.rng.Int64N(int64(c.heartbeat(l)))))
	time.Sleep(time.Until(failAt))
	// The paper failed the leader of a quiet cluster. On a loaded machine
	// a follower's heartbeat can come late enough for it to campaign
	// before the failure; an election already under way would make the
	// trial look fast, so such a trial is set up again.
	for _, n := range c.nodes {
		if st := n.Status(); st.Term != oldTerm {
			return Trial{}, errSetup
		}
	}
	c.fail(oldTerm)

	maxTime := cfg.MaxTime
	if maxTime == 0 {
		maxTime = time.Minute
	}
	timedOut := false
	select {
	case <-c.done:
	case <-time.After(maxTime):
		timedOut = true
	case <-ctx.Done():
		return Trial{}, ctx.Err()
	}
	return c.result(timedOut, maxTime), nil
}

func (c *realCluster) heartbeat(l *Line) time.Duration {
	if c.cfg.Heartbeat > 0 {
		return c.cfg.Heartbeat
	}
	return l.TimeoutMin / 2
}

func (c *realCluster) start(l *Line, seed uint64, dir string) error {
	ids := make([]uint64, c.n)
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	for _, id := range ids {
		rc := raft.Config{ID: id, Voters: ids, ElectionTimeoutMin: l.TimeoutMin, ElectionTimeoutMax: l.TimeoutMax,
			HeartbeatInterval: c.cfg.Heartbeat, PreVote: c.cfg.PreVote, CheckQuorum: c.cfg.CheckQuorum,
			OnRoleChange: c.roleChange}
		if ct := c.cfg.CandidateTimeout; ct != nil {
			rc.CandidateTimeoutMin, rc.CandidateTimeoutMax = ct.Min, ct.Max
		}
		nc := node.Config{Raft: rc, Seed: seed + id, Dir: filepath.Join(dir, fmt.Sprint(id)),
			StateMachine: workloads.NewKV(workloads.KVConfig{}), WALSegmentBytes: 1 << 20,
			// A trial proposes four entries: small queues spare the memory
			// (and the time to zero it) of deep ones.
			ProposalQueue: 256, MaxProposalBatch: 256}
		if f := c.cfg.NodeMetrics; f != nil {
			nc.Metrics = f(id)
		}
		if d := c.cfg.DiskDelay; d != nil && d != sim.Dist(sim.Const(0)) {
			r := rand.New(rand.NewPCG(seed, id)) // the node's disk goroutine is its only user
			nc.DiskDelay = func() time.Duration { return d.Sample(r) }
		}
		n, err := node.Open(nc)
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
		p := &probe{c: c, id: id, inner: n.Handler()}
		c.probes = append(c.probes, p)
		tr, err := tcp.New(tcp.Config{ID: id, ClusterID: seed, ListenAddr: "127.0.0.1:0", Handler: p, Seed: seed + id})
		if err != nil {
			return err
		}
		c.trs = append(c.trs, tr)
		p.tr = tr
	}
	for i, tr := range c.trs {
		for j, other := range c.trs {
			if i != j {
				tr.AddPeer(uint64(j+1), other.Addr())
			}
		}
	}
	for i, n := range c.nodes {
		c.probes[i].startDelays(c.cfg.NetDelay, seed)
		n.Start(c.probes[i])
	}
	return nil
}

// fail injects the failure into node 1 (and, for two crashes, node n).
func (c *realCluster) fail(oldTerm uint64) {
	c.setPhase(phaseFailure)
	c.mu.Lock()
	c.oldTerm = oldTerm
	c.filter, c.watch = false, false
	c.failedAt = time.Now()
	c.down[c.lead] = true
	second := c.lead - 1 // the follower just before the leader: short-logged if any is
	if second == 0 {
		second = uint64(c.n)
	}
	if c.cfg.Failure == sim.FailLeaderAndFollowerCrash {
		c.down[second] = true
	}
	lead := c.lead
	c.mu.Unlock()
	// The probes drop everything to and from a failed node from now on;
	// a crashed one is stopped as well.
	if c.cfg.Failure != sim.FailLeaderPartition {
		go c.nodes[lead-1].Stop()
		if c.cfg.Failure == sim.FailLeaderAndFollowerCrash {
			go c.nodes[second-1].Stop()
		}
	}
}

// eligibleIDs are the followers that get every entry: the ones after the
// leader, cyclically.
func (c *realCluster) eligibleIDs() []uint64 {
	ids := make([]uint64, 0, c.eligible)
	for k := 1; k <= c.eligible; k++ {
		ids = append(ids, (c.lead-1+uint64(k))%uint64(c.n)+1)
	}
	return ids
}

// short reports whether id is a follower kept off the leader's entries.
// c.mu is held.
func (c *realCluster) short(id uint64) bool {
	if c.lead == 0 || id == c.lead {
		return false
	}
	return !slices.Contains(c.eligibleIDs(), id)
}

// roleChange is every core's hook (on its node's loop goroutine): a new
// leader after the failure gets the client's write at once.
func (c *realCluster) roleChange(rc raft.RoleChange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.oldTerm == 0 || rc.To != raft.Leader || rc.Term <= c.oldTerm || rc.Term <= c.clientTerm || !c.clientAt.IsZero() || c.down[rc.ID] {
		return
	}
	c.clientTerm = rc.Term
	c.setPhase(phaseRecovery)
	n := c.nodes[rc.ID-1]
	go n.ProposeAsync(context.Background(), workloads.EncodePut(0, 0, []byte("client"), []byte("write")), func(_ any, err error) {
		if err != nil {
			return // this leader lost it: the next one gets it again
		}
		c.mu.Lock()
		if c.clientAt.IsZero() {
			c.clientAt = time.Now()
		}
		c.checkDone()
		c.mu.Unlock()
	})
}

// checkDone closes done once every survivor heard the new leader and the
// client's write committed. c.mu is held.
func (c *realCluster) checkDone() {
	if c.closed || c.clientAt.IsZero() || len(c.heard) < c.n-len(c.down) {
		return
	}
	c.closed = true
	close(c.done)
}

func (c *realCluster) result(timedOut bool, maxTime time.Duration) Trial {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := Trial{TimedOut: timedOut || len(c.heard) < c.n-len(c.down)}
	if t.TimedOut {
		t.TimeWithoutLeader = maxTime
	} else {
		var last time.Time
		for _, at := range c.heard {
			if at.After(last) {
				last = at
			}
		}
		t.TimeWithoutLeader = last.Sub(c.failedAt)
	}
	t.ClientRecovery = maxTime
	if !c.clientAt.IsZero() {
		t.ClientRecovery = c.clientAt.Sub(c.failedAt)
	}
	if c.newTerm > c.oldTerm {
		t.Rounds = int(c.newTerm - c.oldTerm)
	}
	for term, cs := range c.candidates {
		if term < c.newTerm && len(cs) > 1 {
			t.SplitVotes++
		}
	}
	return t
}

func (c *realCluster) close(dir string) {
	var wg sync.WaitGroup
	for _, n := range c.nodes {
		wg.Add(1)
		go func() { defer wg.Done(); n.Stop() }()
	}
	wg.Wait()
	for _, p := range c.probes {
		p.stopDelays()
	}
	for _, tr := range c.trs {
		tr.Close()
	}
	os.RemoveAll(dir)
}

// probe sits between a node and its TCP transport: it watches what the
// node sends and receives, keeps node 1's entries off the short-log
// followers during setup, drops the traffic of a failed node, and delays
// each message by the configured network latency (in order per link).
type probe struct {
	c     *realCluster
	id    uint64
	tr    *tcp.Transport
	inner transport.Handler // the node's own handler

	links  map[uint64]chan delayed // by destination
	delay  func(to uint64) time.Time
	stop   chan struct{}
	linkWG sync.WaitGroup
}

type delayed struct {
	msgs []raft.Message
	at   time.Time
}

func (p *probe) startDelays(d sim.Dist, seed uint64) {
	p.stop = make(chan struct{})
	if d == nil || d == sim.Dist(sim.Const(0)) {
		return // no delay: straight to the transport
	}
	p.links = map[uint64]chan delayed{}
	for to := 1; to <= p.c.n; to++ {
		if uint64(to) == p.id {
			continue
		}
		ch := make(chan delayed, 256)
		p.links[uint64(to)] = ch
		p.linkWG.Add(1)
		go func() {
			defer p.linkWG.Done()
			t := time.NewTimer(time.Hour)
			defer t.Stop()
			for {
				select {
				case m := <-ch:
					if w := time.Until(m.at); w > 0 {
						t.Reset(w)
						select {
						case <-t.C:
						case <-p.stop:
							return
						}
					}
					p.tr.Send(m.msgs)
				case <-p.stop:
					return
				}
			}
		}()
	}
	r := rand.New(rand.NewPCG(seed, p.id<<8|0xde))
	var mu sync.Mutex
	last := map[uint64]time.Time{}
	p.delay = func(to uint64) time.Time {
		mu.Lock()
		defer mu.Unlock()
		at := time.Now().Add(d.Sample(r))
		if at.Before(last[to]) { // a link delivers in order
			at = last[to]
		}
		last[to] = at
		return at
	}
}

func (p *probe) stopDelays() {
	if p.stop != nil {
		close(p.stop)
		p.linkWG.Wait()
	}
}

// Send implements transport.Transport for the node.
func (p *probe) Send(msgs []raft.Message) {
	c := p.c
	now := time.Now()
	c.mu.Lock()
	if c.down[p.id] {
		c.mu.Unlock()
		return
	}
	keep := msgs[:0:0]
	for _, m := range msgs {
		switch {
		case c.down[m.To]:
			continue
		case c.filter && p.id == c.lead && m.Type == raft.MsgApp && len(m.Entries) > 0 && c.short(m.To):
			continue // short-log followers get heartbeats only
		case m.Type == raft.MsgHeartbeat && p.id == c.lead && c.watch:
			c.watch = false
			select {
			case c.broadcast <- now:
			default:
			}
		case m.Type == raft.MsgVote && c.oldTerm != 0 && m.Term > c.oldTerm:
			if c.candidates[m.Term] == nil {
				c.candidates[m.Term] = map[uint64]bool{}
			}
			c.candidates[m.Term][p.id] = true
		}
		keep = append(keep, m)
	}
	c.mu.Unlock()
	if len(keep) == 0 {
		return
	}
	if p.links == nil {
		p.tr.Send(keep)
		return
	}
	for _, m := range keep {
		ch, ok := p.links[m.To]
		if !ok {
			continue
		}
		select {
		case ch <- delayed{msgs: []raft.Message{m}, at: p.delay(m.To)}:
		default: // the link is far behind: lost, as on a congested network
		}
	}
}

func (p *probe) SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error {
	return p.tr.SendSnapshot(ctx, m, body)
}

func (p *probe) Close() error { return nil } // the cluster closes the TCP transport

// Deliver implements transport.Handler for the TCP transport.
func (p *probe) Deliver(msgs []raft.Message) {
	c := p.c
	now := time.Now()
	c.mu.Lock()
	if c.down[p.id] {
		c.mu.Unlock()
		return
	}
	for _, m := range msgs {
		if m.Type == raft.MsgHeartbeatResp && p.id == c.lead && c.oldTerm == 0 {
			c.answered[m.From] = true
		}
		if c.oldTerm == 0 || (m.Type != raft.MsgApp && m.Type != raft.MsgHeartbeat) || m.Term <= c.oldTerm || c.down[m.From] {
			continue
		}
		if m.Term > c.newTerm {
			c.newTerm = m.Term
			if _, ok := c.heard[m.From]; !ok {
				c.heard[m.From] = now // the leader needs no message from itself
			}
		}
		if _, ok := c.heard[m.To]; !ok {
			c.heard[m.To] = now
		}
	}
	c.checkDone()
	c.mu.Unlock()
	p.inner.Deliver(msgs)
}

func (p *probe) HandleSnapshot(m raft.Message, body io.Reader) error {
	return p.inner.HandleSnapshot(m, body)
}

func waitFor(ctx context.Context, limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

func drain(ch chan time.Time) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
