package sim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// Config describes a simulated cluster.
type Config struct {
	// Seed decides every random choice of the run: same seed, same run.
	Seed uint64
	// Nodes is the cluster size; node ids are 1..Nodes.
	Nodes int
	// Raft is the template for every node's core config; ID, Voters and
	// Rand are filled in by the simulator.
	Raft raft.Config
	// Network is the network model.
	Network Network
	// Disk is the persist latency of one write (a term, a vote, entries):
	// a write is durable only when it completes; writes of one node complete
	// in order. Nil means zero.
	Disk Dist
	// TimerJitter, if set, delays each deadline's wake-up by a sample: a
	// real driver's timer fires late by the OS's and the scheduler's
	// latency, a little differently every time. Nil means exact timers.
	TimerJitter Dist
	// SnapshotEvery, if non-zero, makes each node snapshot its state machine
	// and compact its log once that many entries were applied since the last
	// snapshot.
	SnapshotEvery uint64
	// Check runs the safety invariants after every event.
	Check bool
	// Trace, if non-nil, receives one line per event.
	Trace io.Writer
}

// Network is the network model: every message gets an independent delay
// drawn from the link's distribution, may be lost or duplicated, and is
// dropped if its link is cut.
type Network struct {
	// Delay is the one-way latency of every link without its own.
	Delay Dist
	// Links overrides Delay for some links (from, to).
	Links map[[2]uint64]Dist
	// Loss and Duplicate are probabilities per message.
	Loss      float64
	Duplicate float64
	// Reorder is the probability that a message is held back by an extra
	// ReorderDelay, so that later messages overtake it.
	Reorder      float64
	ReorderDelay Dist
}

// ErrInvariant wraps every safety violation the checker finds.
var ErrInvariant = errors.New("sim: invariant violated")

// Cluster runs many cores on one goroutine under a virtual clock.
type Cluster struct {
	cfg   Config
	now   time.Duration
	q     queue
	rng   *rand.Rand // network and disk randomness
	nodes []*node    // index id-1
	cut   map[[2]uint64]bool
	check *checker
	err   error
	hash  uint64 // running trace hash (FNV-1a over event fields)
	buf   [64]byte
	reads uint64 // read requests made (their ids)

	// Filter, if set, drops every message for which it returns false (used
	// by experiments to shape logs, e.g. keep entries off some nodes).
	Filter func(m raft.Message) bool
	// OnDeliver is called for every message delivered to a running node,
	// before the node sees it.
	OnDeliver func(now time.Duration, m raft.Message)
	// OnSend is called for every message a node hands to the network.
	OnSend func(now time.Duration, m raft.Message)
	// OnRoleChange is called for every role change of every core.
	OnRoleChange func(rc raft.RoleChange)
	// OnApply is called for every entry a node applies.
	OnApply func(id uint64, e raft.Entry)
	// OnReadState is called for every answer to a ReadIndex request.
	OnReadState func(id uint64, rs raft.ReadState)

	Stats Stats
}

// Stats counts what happened in a run.
type Stats struct {
	Events, Delivered, Dropped, Writes, Applied, Snapshots uint64
	Reads, ReadsFailed                                     uint64
}

type node struct {
	id   uint64
	core *raft.Raft
	up   bool
	gen  uint32

	// Durable state: what survives a crash.
	hard    raft.HardState
	snap    raft.Snapshot
	entries []raft.Entry // after snap.Meta.Index

	diskFree  time.Duration // when the disk finishes what is queued
	writes    int           // writes queued and not yet complete
	timerAt   time.Duration // deadline of the earliest pending timer event; -1 if none
	timerFire time.Duration // when that event fires (timerAt plus jitter)

	// The state machine: the applied index and a hash chain over the
	// applied entries (enough to compare replicas and to snapshot).
	applied   uint64
	stateHash uint64
	snapAt    uint64 // applied index of the last snapshot taken
}

// New builds a cluster. Nodes start with empty logs at time 0.
func New(cfg Config) (*Cluster, error) {
	if cfg.Nodes < 1 {
		return nil, fmt.Errorf("sim: need at least one node, got %d", cfg.Nodes)
	}
	if cfg.Network.Delay == nil {
		cfg.Network.Delay = Const(0)
	}
	if cfg.Network.ReorderDelay == nil {
		cfg.Network.ReorderDelay = Const(0)
	}
	if cfg.Disk == nil {
		cfg.Disk = Const(0)
	}
	c := &Cluster{
		cfg:  cfg,
		rng:  rand.New(rand.NewPCG(cfg.Seed, 0x5eed)),
		cut:  map[[2]uint64]bool{},
		hash: 14695981039346656037,
	}
	if cfg.Check {
		c.check = newChecker()
	}
	voters := make([]uint64, cfg.Nodes)
	for i := range voters {
		voters[i] = uint64(i + 1)
	}
	c.cfg.Raft.Voters = voters
	for _, id := range voters {
		n := &node{id: id, timerAt: -1}
		c.nodes = append(c.nodes, n)
		if err := c.boot(n); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) boot(n *node) error {
	rc := c.cfg.Raft
	rc.ID = n.id
	// Each incarnation gets its own stream, derived from the seed.
	rc.Rand = rand.New(rand.NewPCG(c.cfg.Seed, n.id<<32|uint64(n.gen)))
	userHook := rc.OnRoleChange
	rc.OnRoleChange = func(ch raft.RoleChange) {
		if c.check != nil {
			c.setErr(c.check.roleChange(ch))
		}
		if userHook != nil {
			userHook(ch)
		}
		if c.OnRoleChange != nil {
			c.OnRoleChange(ch)
		}
	}
	st := raft.State{HardState: n.hard, Snapshot: n.snap.Meta, Entries: n.entries}
	core, err := raft.New(rc, st, c.now)
	if err != nil {
		return err
	}
	n.core, n.up = core, true
	n.applied, n.stateHash, n.snapAt = 0, 0, 0
	if n.snap.Meta.Index > 0 {
		n.restore(n.snap)
	}
	n.writes, n.diskFree = 0, c.now
	c.afterInput(n)
	return nil
}

// --- control ------------------------------------------------------------------

// Now is the virtual time.
func (c *Cluster) Now() time.Duration { return c.now }

// Err is the first invariant violation found, if any.
func (c *Cluster) Err() error { return c.err }

// TraceHash summarizes every event processed so far.
func (c *Cluster) TraceHash() uint64 { return c.hash }

// Node returns the core of node id, or nil while it is down.
func (c *Cluster) Node(id uint64) *raft.Raft {
	n := c.nodes[id-1]
	if !n.up {
		return nil
	}
	return n.core
}

// IDs lists the node ids.
func (c *Cluster) IDs() []uint64 {
	ids := make([]uint64, len(c.nodes))
	for i := range ids {
		ids[i] = uint64(i + 1)
	}
	return ids
}

// Up reports whether node id is running.
func (c *Cluster) Up(id uint64) bool { return c.nodes[id-1].up }

// Applied is the last index node id applied to its state machine.
func (c *Cluster) Applied(id uint64) uint64 { return c.nodes[id-1].applied }

// Leader returns a running leader of the highest term, or None.
func (c *Cluster) Leader() uint64 {
	var best, term uint64
	for _, n := range c.nodes {
		if n.up && n.core.Role() == raft.Leader && n.core.Term() >= term {
			best, term = n.id, n.core.Term()
		}
	}
	return best
}

// Crash stops node id at once: everything not durable is lost, including
// the writes still queued on its disk.
func (c *Cluster) Crash(id uint64) {
	n := c.nodes[id-1]
	if !n.up {
		return
	}
	c.traceEvent("crash", id, nil)
	n.up = false
	n.gen++ // events of the old incarnation are ignored from now on
	n.core = nil
	n.writes = 0
	n.timerAt = -1
}

// Restart boots a crashed node from its durable state.
func (c *Cluster) Restart(id uint64) error {
	n := c.nodes[id-1]
	if n.up {
		return nil
	}
	c.traceEvent("restart", id, nil)
	return c.boot(n)
}

// Cut drops every message from one node to another (a one-way partition).
func (c *Cluster) Cut(from, to uint64) { c.cut[[2]uint64{from, to}] = true }

// Mend restores the link from one node to another.
func (c *Cluster) Mend(from, to uint64) { delete(c.cut, [2]uint64{from, to}) }

// Partition cuts every link between groups (symmetric); nodes not named
// form a group of their own.
func (c *Cluster) Partition(groups ...[]uint64) {
	group := map[uint64]int{}
	for gi, g := range groups {
		for _, id := range g {
			group[id] = gi + 1
		}
	}
	for _, a := range c.nodes {
		for _, b := range c.nodes {
			if a != b && group[a.id] != group[b.id] {
				c.Cut(a.id, b.id)
			}
		}
	}
}

// Heal mends every link.
func (c *Cluster) Heal() { clear(c.cut) }

// SetNetwork replaces the network model (e.g. to stop loss after a test's
// fault phase).
func (c *Cluster) SetNetwork(nw Network) {
	if nw.Delay == nil {
		nw.Delay = Const(0)
	}
	if nw.ReorderDelay == nil {
		nw.ReorderDelay = Const(0)
	}
	c.cfg.Network = nw
}

// Propose hands data to node id as one batch.
func (c *Cluster) Propose(id uint64, data ...[]byte) (first, last uint64, err error) {
	n := c.nodes[id-1]
	if !n.up {
		return 0, 0, fmt.Errorf("sim: node %d is down", id)
	}
	c.traceEvent("propose", id, nil)
	first, last, err = n.core.Propose(c.now, data...)
	c.afterInput(n)
	return first, last, err
}

// ReadIndex asks node id for a linearizable read point. With Check on, the
// answer is verified when it comes: its index must cover every entry known
// committed anywhere when the request was made.
func (c *Cluster) ReadIndex(id uint64) error {
	n := c.nodes[id-1]
	if !n.up {
		return fmt.Errorf("sim: node %d is down", id)
	}
	c.reads++
	ctx := binary.BigEndian.AppendUint64(nil, c.reads)
	if c.check != nil {
		c.check.readStart(ctx)
	}
	c.traceEvent("read", id, nil)
	err := n.core.ReadIndex(c.now, ctx)
	c.afterInput(n)
	return err
}

// LeaseRead asks leader id for a lease-based read point; with Check on, a
// granted one must cover every entry known committed anywhere.
func (c *Cluster) LeaseRead(id uint64) (uint64, bool) {
	n := c.nodes[id-1]
	if !n.up {
		return 0, false
	}
	index, ok := n.core.LeaseRead(c.now)
	if ok {
		c.Stats.Reads++
		if c.check != nil {
			c.setErr(c.check.leaseRead(id, index))
		}
	}
	return index, ok
}

// Campaign makes node id start an election now.
func (c *Cluster) Campaign(id uint64) {
	n := c.nodes[id-1]
	if n.up {
		n.core.Campaign(c.now)
		c.afterInput(n)
	}
}

// At schedules fn at virtual time t (at least now).
func (c *Cluster) At(t time.Duration, fn func()) {
	c.q.push(max(t, c.now), event{kind: evCall, fn: fn})
}

// Step processes the next event; it returns false when there is none or
// an invariant was violated.
func (c *Cluster) Step() bool {
	if c.err != nil || c.q.len() == 0 {
		return false
	}
	at, ev := c.q.pop()
	c.now = at
	c.Stats.Events++
	c.handle(ev)
	return c.err == nil
}

// RunUntil processes events up to and including time t, or until cond
// (checked after every event, may be nil) holds. It reports whether cond
// held and returns the first invariant violation.
func (c *Cluster) RunUntil(t time.Duration, cond func() bool) (bool, error) {
	for c.err == nil {
		if cond != nil && cond() {
			return true, nil
		}
		if c.q.len() == 0 || c.q.peekTime() > t {
			c.now = max(c.now, t)
			break
		}
		c.Step()
	}
	return cond != nil && cond(), c.err
}

// RunFor runs the cluster for d of virtual time.
func (c *Cluster) RunFor(d time.Duration) error {
	_, err := c.RunUntil(c.now+d, nil)
	return err
}

// --- event handling ------------------------------------------------------------

func (c *Cluster) handle(ev event) {
	switch ev.kind {
	case evCall:
		c.traceEvent("call", 0, nil)
		ev.fn()
		return
	}
	n := c.nodes[ev.node-1]
	if !n.up || n.gen != ev.gen {
		if ev.kind == evDeliver {
			c.Stats.Dropped++
			if ev.msg.Type == raft.MsgSnap {
				// The transfer failed: tell the sender, as a real
				// snapshot stream would.
				c.q.push(c.now, event{kind: evSnapDone, node: ev.msg.From, gen: c.nodes[ev.msg.From-1].gen, msg: raft.Message{From: n.id}, flag: true})
			}
		}
		return // the node crashed since: the event died with it
	}
	switch ev.kind {
	case evDeliver:
		c.traceEvent("deliver", n.id, &ev.msg)
		c.Stats.Delivered++
		if c.OnDeliver != nil {
			c.OnDeliver(c.now, ev.msg)
		}
		if err := n.core.Step(c.now, ev.msg); err != nil {
			c.setErr(fmt.Errorf("node %d rejected %v: %w", n.id, ev.msg, err))
			return
		}
		if ev.msg.Type == raft.MsgSnap {
			c.q.push(c.now, event{kind: evSnapDone, node: ev.msg.From, gen: c.nodes[ev.msg.From-1].gen, msg: raft.Message{From: n.id}})
		}
	case evSnapDone:
		c.traceEvent("snapdone", n.id, nil)
		n.core.ReportSnapshot(c.now, ev.msg.From, ev.flag)
	case evDiskDone:
		c.traceEvent("disk", n.id, nil)
		c.completeWrite(n, ev.write)
	case evTimer:
		if n.timerAt < 0 || n.timerFire != c.now {
			return // superseded by an earlier timer
		}
		n.timerAt = -1
		if c.now >= n.core.NextDeadline() {
			c.traceEvent("tick", n.id, nil)
			n.core.Tick(c.now)
		}
	}
	c.afterInput(n)
}

// afterInput takes the node's Ready, carries it out, and reschedules the
// node's deadline.
func (c *Cluster) afterInput(n *node) {
	for n.up && n.core.HasReady() {
		rd := n.core.Ready()
		c.handleReady(n, &rd)
		if c.err != nil {
			return
		}
	}
	if !n.up {
		return
	}
	if c.check != nil {
		c.setErr(c.check.afterEvent(n))
	}
	if d := n.core.NextDeadline(); n.timerAt < 0 || d < n.timerAt {
		n.timerAt = d
		n.timerFire = max(d, c.now)
		if c.cfg.TimerJitter != nil {
			n.timerFire += c.cfg.TimerJitter.Sample(c.rng)
		}
		c.q.push(n.timerFire, event{kind: evTimer, node: n.id, gen: n.gen})
	}
}

func (c *Cluster) handleReady(n *node, rd *raft.Ready) {
	if c.check != nil {
		c.setErr(c.check.ready(n, rd))
	}
	for i := range rd.Messages {
		c.send(n, rd.Messages[i])
	}
	if rd.MustPersist() || len(rd.MessagesAfterPersist) > 0 {
		w := &write{hard: rd.HardState, snap: rd.Snapshot, entries: rd.Entries, mark: rd.Mark,
			persist: rd.MustPersist(), after: rd.MessagesAfterPersist}
		switch {
		case w.persist:
			// Writes of one node complete in order: each waits for the ones
			// queued before it.
			done := max(c.now, n.diskFree) + c.cfg.Disk.Sample(c.rng)
			n.diskFree = done
			n.writes++
			c.Stats.Writes++
			c.q.push(done, event{kind: evDiskDone, node: n.id, gen: n.gen, write: w})
		case n.writes > 0:
			// Nothing to write, but the messages must wait for the writes
			// already queued (they may acknowledge what those carry).
			n.writes++
			c.q.push(n.diskFree, event{kind: evDiskDone, node: n.id, gen: n.gen, write: w})
		default:
			for i := range w.after {
				c.send(n, w.after[i])
			}
		}
	}
	if rd.Snapshot != nil {
		n.restore(*rd.Snapshot)
		if c.check != nil {
			c.setErr(c.check.state(n.id, n.applied, n.stateHash))
		}
	}
	for _, e := range rd.CommittedEntries {
		c.apply(n, e)
	}
	for _, rs := range rd.ReadStates {
		if c.OnReadState != nil {
			c.OnReadState(n.id, rs)
		}
		if rs.Index == 0 {
			c.Stats.ReadsFailed++
			continue
		}
		c.Stats.Reads++
		if c.check != nil {
			c.setErr(c.check.readDone(n.id, rs))
		}
	}
	c.maybeSnapshot(n)
}

func (c *Cluster) completeWrite(n *node, w *write) {
	n.writes--
	if w.persist {
		if w.snap != nil {
			n.snap = *w.snap
			n.entries = n.entries[:0]
		}
		if len(w.entries) > 0 {
			first := w.entries[0].Index
			keep := int(first - n.snap.Meta.Index - 1)
			if keep < 0 || keep > len(n.entries) {
				c.setErr(fmt.Errorf("%w: node %d wrote entry %d with durable log (%d, %d]",
					ErrInvariant, n.id, first, n.snap.Meta.Index, n.snap.Meta.Index+uint64(len(n.entries))))
				return
			}
			n.entries = n.entries[:keep]
			if need := keep + len(w.entries); need > cap(n.entries) {
				// Double, as the core's log does, rather than grow by 1.25x.
				grown := make([]raft.Entry, keep, max(2*cap(n.entries), need, 64))
				copy(grown, n.entries)
				n.entries = grown
			}
			n.entries = append(n.entries, w.entries...)
			if c.check != nil {
				c.setErr(c.check.durable(n, w.entries))
			}
		}
		if w.hard != (raft.HardState{}) {
			n.hard = w.hard
		}
	}
	for i := range w.after {
		c.send(n, w.after[i])
	}
	if w.persist {
		n.core.Persisted(c.now, w.mark)
	}
}

func (c *Cluster) send(n *node, m raft.Message) {
	if c.OnSend != nil {
		c.OnSend(c.now, m)
	}
	if m.Type == raft.MsgSnap {
		// The core sends the snapshot's identity; the driver attaches the
		// state machine's image.
		if n.snap.Meta.Index != m.Snapshot.Meta.Index {
			c.setErr(fmt.Errorf("%w: node %d sends snapshot %d but holds %d", ErrInvariant, n.id, m.Snapshot.Meta.Index, n.snap.Meta.Index))
			return
		}
		s := &raft.Snapshot{Meta: m.Snapshot.Meta, Data: n.snap.Data}
		m.Snapshot = s
	}
	nw := &c.cfg.Network
	if c.cut[[2]uint64{m.From, m.To}] || (c.Filter != nil && !c.Filter(m)) || (nw.Loss > 0 && c.rng.Float64() < nw.Loss) {
		c.Stats.Dropped++
		if m.Type == raft.MsgSnap {
			c.q.push(c.now, event{kind: evSnapDone, node: n.id, gen: n.gen, msg: raft.Message{From: m.To}, flag: true})
		}
		return
	}
	copies := 1
	if nw.Duplicate > 0 && c.rng.Float64() < nw.Duplicate {
		copies = 2
	}
	dist := nw.Delay
	if d, ok := nw.Links[[2]uint64{m.From, m.To}]; ok {
		dist = d
	}
	to := c.nodes[m.To-1]
	for range copies {
		delay := dist.Sample(c.rng)
		if nw.Reorder > 0 && c.rng.Float64() < nw.Reorder {
			delay += nw.ReorderDelay.Sample(c.rng)
		}
		c.q.push(c.now+delay, event{kind: evDeliver, node: m.To, gen: to.gen, msg: m})
	}
}

// --- the state machine ---------------------------------------------------------

func (c *Cluster) apply(n *node, e raft.Entry) {
	if e.Index != n.applied+1 {
		c.setErr(fmt.Errorf("%w: node %d applies %d after %d", ErrInvariant, n.id, e.Index, n.applied))
		return
	}
	if c.check != nil {
		c.setErr(c.check.apply(n.id, e))
	}
	n.applied = e.Index
	n.stateHash = chain(n.stateHash, e)
	if c.check != nil {
		c.setErr(c.check.state(n.id, e.Index, n.stateHash))
	}
	c.Stats.Applied++
	if c.OnApply != nil {
		c.OnApply(n.id, e)
	}
}

// chain folds an entry into a state fingerprint. It only has to tell
// different histories apart in tests, so it is a cheap multiply-xor over
// 8-byte words rather than a cryptographic hash.
func chain(h uint64, e raft.Entry) uint64 {
	const prime = 0x100000001b3
	h = (h ^ e.Term) * prime
	h = (h ^ e.Index) * prime
	d := e.Data
	for len(d) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(d)) * prime
		h ^= h >> 29
		d = d[8:]
	}
	for _, b := range d {
		h = (h ^ uint64(b)) * prime
	}
	return h
}

// durableTerm is the term of entry i in the node's durable log.
func (n *node) durableTerm(i uint64) (uint64, bool) {
	si := n.snap.Meta.Index
	switch {
	case i == si:
		return n.snap.Meta.Term, true
	case i < si || i > si+uint64(len(n.entries)):
		return 0, false
	}
	return n.entries[i-si-1].Term, true
}

func (n *node) restore(s raft.Snapshot) {
	n.applied = s.Meta.Index
	n.snapAt = s.Meta.Index
	if len(s.Data) >= 8 {
		n.stateHash = binary.LittleEndian.Uint64(s.Data)
	}
}

// maybeSnapshot takes a snapshot (durable at once: the simulated snapshot
// store writes atomically) and compacts the core's log and the durable log.
func (c *Cluster) maybeSnapshot(n *node) {
	every := c.cfg.SnapshotEvery
	if every == 0 || n.applied < n.snapAt+every {
		return
	}
	idx := n.applied
	term, ok := n.core.LogTerm(idx)
	if !ok {
		return
	}
	data := make([]byte, 8)
	binary.LittleEndian.PutUint64(data, n.stateHash)
	voters := append([]uint64(nil), n.core.Voters()[0]...)
	// Entries may be applied before they are durable here (they are durable
	// on a quorum). The simulated snapshot store compacts the durable log at
	// once, so wait until the log durably holds idx, as the real node's
	// ordering of writes guarantees.
	if dt, ok := n.durableTerm(idx); !ok || dt != term {
		return
	}
	k := int(idx - n.snap.Meta.Index)
	n.snap = raft.Snapshot{Meta: raft.SnapshotMeta{Index: idx, Term: term, Voters: voters}, Data: data}
	n.entries = append(make([]raft.Entry, 0, max(cap(n.entries), 2*(len(n.entries)-k))), n.entries[k:]...)
	n.snapAt = idx
	if err := n.core.Compact(idx); err != nil {
		c.setErr(err)
	}
	c.Stats.Snapshots++
}

// --- tracing ---------------------------------------------------------------------

func (c *Cluster) setErr(err error) {
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("at %v: %w", c.now, err)
	}
}

// traceEvent folds an event into the trace hash and, if tracing, prints it.
func (c *Cluster) traceEvent(what string, id uint64, m *raft.Message) {
	b := c.buf[:0]
	b = binary.LittleEndian.AppendUint64(b, uint64(c.now))
	b = append(b, what...)
	b = binary.LittleEndian.AppendUint64(b, id)
	if m != nil {
		b = append(b, byte(m.Type), byte(len(m.Entries)))
		b = binary.LittleEndian.AppendUint64(b, m.From<<32|m.Term)
		b = binary.LittleEndian.AppendUint64(b, m.Index)
		b = binary.LittleEndian.AppendUint64(b, m.Commit)
	}
	h := c.hash
	for _, x := range b {
		h ^= uint64(x)
		h *= 1099511628211
	}
	c.hash = h
	if c.cfg.Trace != nil {
		if m != nil {
			fmt.Fprintf(c.cfg.Trace, "%v %s %d %v\n", c.now, what, id, *m)
		} else {
			fmt.Fprintf(c.cfg.Trace, "%v %s %d\n", c.now, what, id)
		}
	}
}

// describe summarizes every node's state (for failure messages).
func (c *Cluster) describe() string {
	var b []byte
	for _, n := range c.nodes {
		if !n.up {
			b = fmt.Appendf(b, "[%d down] ", n.id)
			continue
		}
		st := n.core.Status()
		b = fmt.Appendf(b, "[%d %s term=%d lead=%d commit=%d applied=%d last=%d persisted=%d", n.id, st.Role, st.Term, st.Leader, st.Commit, n.applied, st.LastIndex, st.Persisted)
		if st.Role == raft.Leader {
			for _, id := range c.IDs() {
				if p := n.core.Progress(id); p != nil && id != n.id {
					b = fmt.Appendf(b, " {%v}", p)
				}
			}
		}
		b = append(b, "] "...)
	}
	return string(b)
}
