package raft

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Timing used by every test unless a test says otherwise.
const (
	testTimeoutMin = 100 * time.Millisecond
	testTimeoutMax = 200 * time.Millisecond
)

// testConfig returns a valid config for node id of the given voters, with a
// random source seeded from the id so that runs are reproducible.
func testConfig(id uint64, voters []uint64) Config {
	return Config{
		ID:                 id,
		Voters:             voters,
		ElectionTimeoutMin: testTimeoutMin,
		ElectionTimeoutMax: testTimeoutMax,
		Rand:               rand.New(rand.NewPCG(id, id)),
	}
}

// ids returns 1..n.
func ids(n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i + 1)
	}
	return out
}

// entsOfTerms builds a log whose entry i+1 has term terms[i].
func entsOfTerms(terms ...uint64) []Entry {
	out := make([]Entry, len(terms))
	for i, t := range terms {
		out[i] = Entry{Term: t, Index: uint64(i + 1)}
	}
	return out
}

// logTerms returns the terms of r's log from its first index to its last.
func logTerms(r *Raft) []uint64 {
	var out []uint64
	for i := r.FirstIndex(); i <= r.LastIndex(); i++ {
		t, ok := r.LogTerm(i)
		if !ok {
			panic(fmt.Sprintf("no term for index %d in [%d,%d]", i, r.FirstIndex(), r.LastIndex()))
		}
		out = append(out, t)
	}
	return out
}

func termsOf(ents []Entry) []uint64 {
	out := make([]uint64, len(ents))
	for i, e := range ents {
		out[i] = e.Term
	}
	return out
}

// newTestRaft creates a core from st, failing the test on error.
func newTestRaft(t testing.TB, cfg Config, st State) *Raft {
	t.Helper()
	r, err := New(cfg, st, 0)
	if err != nil {
		t.Fatalf("New(%d): %v", cfg.ID, err)
	}
	return r
}

// drain takes every pending Ready of r as if its writes completed at once:
// it returns all the messages of those Readies (Messages first, then
// MessagesAfterPersist, Ready by Ready) and calls Persisted for each.
func drain(r *Raft, now time.Duration) []Message {
	var msgs []Message
	for r.HasReady() {
		rd := r.Ready()
		msgs = append(msgs, rd.Messages...)
		r.Persisted(now, rd.Mark)
		msgs = append(msgs, rd.MessagesAfterPersist...)
	}
	return msgs
}

// filterMsgs returns the messages of type t.
func filterMsgs(msgs []Message, t MessageType) []Message {
	var out []Message
	for _, m := range msgs {
		if m.Type == t {
			out = append(out, m)
		}
	}
	return out
}

// --- cluster harness --------------------------------------------------------

// disk is what a node has made durable.
type disk struct {
	hs      HardState
	snap    SnapshotMeta
	entries []Entry
}

func (d *disk) state() State {
	return State{HardState: d.hs, Snapshot: d.snap, Entries: slices.Clone(d.entries)}
}

// write applies one Ready's write as the driver contract describes:
// snapshot, then entries (truncating first), then hard state.
func (d *disk) write(rd Ready) {
	if rd.Snapshot != nil {
		d.snap = rd.Snapshot.Meta
		d.entries = nil
	}
	if len(rd.Entries) > 0 {
		first := rd.Entries[0].Index
		if first <= d.snap.Index {
			panic(fmt.Sprintf("write of entry %d at or below snapshot %d", first, d.snap.Index))
		}
		keep := first - d.snap.Index - 1
		if keep > uint64(len(d.entries)) {
			panic(fmt.Sprintf("write of entry %d leaves a gap after %d", first, d.snap.Index+uint64(len(d.entries))))
		}
		d.entries = append(d.entries[:keep:keep], rd.Entries...)
	}
	if rd.HardState != (HardState{}) {
		d.hs = rd.HardState
	}
}

// hnode is one node of the harness.
type hnode struct {
	id   uint64
	cfg  Config
	r    *Raft
	disk disk

	// holdPersist keeps this node's writes pending (not durable) until
	// release: MessagesAfterPersist and Persisted wait with them.
	holdPersist bool
	pending     []Ready

	readies []Ready // every Ready handed out, for assertions
	applied []Entry // entries handed to the state machine, in order
	snaps   []SnapshotMeta
}

// harness runs cores with instant, in-order delivery. Nothing happens unless
// the test asks: Campaign, Propose, advance time, then stabilize.
type harness struct {
	t     testing.TB
	now   time.Duration
	nodes map[uint64]*hnode
	ids   []uint64

	queue     []Message
	isolated  map[uint64]bool
	filter    func(m Message) bool // false drops the message
	delivered []Message
	dropped   []Message

	// snapReports, when true (the default), reports each MsgSnap to its
	// sender as delivered or failed right after delivery.
	snapReports bool
}

// newHarness builds a cluster of n nodes with configs from testConfig,
// changed by opt (if non-nil) and started from states[id] (if present).
func newHarness(t testing.TB, n int, opt func(*Config), states map[uint64]State) *harness {
	t.Helper()
	h := &harness{t: t, nodes: map[uint64]*hnode{}, isolated: map[uint64]bool{}, snapReports: true}
	voters := ids(n)
	for _, id := range voters {
		cfg := testConfig(id, voters)
		if opt != nil {
			opt(&cfg)
		}
		st := states[id]
		r, err := New(cfg, st, h.now)
		if err != nil {
			t.Fatalf("New(%d): %v", id, err)
		}
		h.nodes[id] = &hnode{id: id, cfg: cfg, r: r, disk: disk{hs: st.HardState, snap: st.Snapshot, entries: slices.Clone(st.Entries)}}
		h.ids = append(h.ids, id)
	}
	return h
}

func (h *harness) node(id uint64) *Raft { return h.nodes[id].r }

// isolate cuts id off from every other node (in both directions).
func (h *harness) isolate(id uint64) { h.isolated[id] = true }

// heal reconnects id.
func (h *harness) heal(id uint64) { delete(h.isolated, id) }

// campaign makes id start an election now and runs the cluster until idle.
func (h *harness) campaign(id uint64) {
	h.node(id).Campaign(h.now)
	h.stabilize()
}

// propose proposes data on id and runs the cluster until idle.
func (h *harness) propose(id uint64, data ...[]byte) (first, last uint64) {
	h.t.Helper()
	first, last, err := h.node(id).Propose(h.now, data...)
	if err != nil {
		h.t.Fatalf("Propose on %d: %v", id, err)
	}
	h.stabilize()
	return first, last
}

// elect makes id the leader and fails the test if it does not win.
func (h *harness) elect(id uint64) {
	h.t.Helper()
	if r := h.node(id); r.cfg.CheckQuorum && h.now < r.cfg.ElectionTimeoutMin {
		// With CheckQuorum a freshly booted node refuses votes for one
		// timeout (boot lease, see read.go): campaign once it is over.
		h.now = r.cfg.ElectionTimeoutMin
	}
	h.campaign(id)
	if r := h.node(id); r.Role() != Leader {
		h.t.Fatalf("node %d: role %v after campaign, want leader", id, r.Role())
	}
}

// handle processes one Ready of n: messages leave at once, the write is
// queued and, unless held, completed at once.
func (h *harness) handle(n *hnode, rd Ready) {
	n.readies = append(n.readies, rd)
	h.queue = append(h.queue, rd.Messages...)
	n.pending = append(n.pending, rd)
	if !n.holdPersist {
		h.flush(n)
	}
}

// flush completes n's pending writes in order: each becomes durable, its
// MessagesAfterPersist leave, Persisted is called and its committed entries
// are applied.
func (h *harness) flush(n *hnode) {
	for len(n.pending) > 0 {
		rd := n.pending[0]
		n.pending = n.pending[1:]
		n.disk.write(rd)
		h.queue = append(h.queue, rd.MessagesAfterPersist...)
		n.r.Persisted(h.now, rd.Mark)
		if rd.Snapshot != nil {
			n.snaps = append(n.snaps, rd.Snapshot.Meta)
		}
		n.applied = append(n.applied, rd.CommittedEntries...)
	}
}

// release makes n's held writes durable and stops holding further ones.
func (h *harness) release(id uint64) {
	n := h.nodes[id]
	n.holdPersist = false
	h.flush(n)
	h.stabilize()
}

// processReadies handles every pending Ready; it reports whether any existed.
func (h *harness) processReadies() bool {
	any := false
	for _, id := range h.ids {
		n := h.nodes[id]
		for n.r.HasReady() {
			any = true
			h.handle(n, n.r.Ready())
		}
	}
	return any
}

// deliverOne delivers (or drops) the oldest queued message.
func (h *harness) deliverOne() {
	m := h.queue[0]
	h.queue = h.queue[1:]
	if h.isolated[m.From] || h.isolated[m.To] || (h.filter != nil && !h.filter(m)) {
		h.dropped = append(h.dropped, m)
		if m.Type == MsgSnap && h.snapReports {
			h.node(m.From).ReportSnapshot(h.now, m.To, true)
		}
		return
	}
	h.delivered = append(h.delivered, m)
	if err := h.node(m.To).Step(h.now, m); err != nil {
		h.t.Fatalf("Step(%v): %v", m, err)
	}
	if m.Type == MsgSnap && h.snapReports {
		h.node(m.From).ReportSnapshot(h.now, m.To, false)
	}
}

// stabilize runs the cluster at the current time until no node has work and
// no message is in flight.
func (h *harness) stabilize() {
	h.t.Helper()
	for i := 0; ; i++ {
		if i > 1_000_000 {
			h.t.Fatalf("cluster did not stabilize")
		}
		if h.processReadies() {
			continue
		}
		if len(h.queue) == 0 {
			return
		}
		h.deliverOne()
	}
}

// advance moves time forward to `to`, ticking every node at each of its
// deadlines on the way (in time order, ties by id) and stabilizing after
// each tick.
func (h *harness) advance(to time.Duration) {
	h.t.Helper()
	for {
		var next *hnode
		for _, id := range h.ids {
			n := h.nodes[id]
			if d := n.r.NextDeadline(); d <= to && (next == nil || d < next.r.NextDeadline()) {
				next = n
			}
		}
		if next == nil {
			break
		}
		h.now = max(h.now, next.r.NextDeadline())
		next.r.Tick(h.now)
		h.stabilize()
	}
	h.now = to
	h.stabilize()
}

// restart crashes id (its pending writes are lost) and starts it again from
// its durable state.
func (h *harness) restart(id uint64) {
	h.t.Helper()
	n := h.nodes[id]
	n.pending = nil
	n.holdPersist = false
	r, err := New(n.cfg, n.disk.state(), h.now)
	if err != nil {
		h.t.Fatalf("restart %d: %v", id, err)
	}
	n.r = r
}

// leaders returns the ids of the nodes that believe they lead.
func (h *harness) leaders() []uint64 {
	var out []uint64
	for _, id := range h.ids {
		if h.node(id).Role() == Leader {
			out = append(out, id)
		}
	}
	return out
}

// countMsgs counts delivered messages matching pred.
func (h *harness) countMsgs(pred func(Message) bool) int {
	n := 0
	for _, m := range h.delivered {
		if pred(m) {
			n++
		}
	}
	return n
}
