package etcd

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/raftbench/raftbench/bench"
	rbnode "github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/workloads"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// status is what other goroutines may know of a node's raft state: the
// loop publishes it whenever it changes.
type status struct {
	role raft.StateType
	lead uint64
	term uint64
}

// node is one incarnation of a cluster member: from start to crash (or
// close). A restart makes a new one from the same directory.
type node struct {
	id    uint64
	c     *cluster
	async bool
	kv    *workloads.KV
	st    *storage
	rn    *raft.RawNode // owned by the loop goroutine
	tr    *transport
	ln    *tcpListener // nil with the mem transport
	in    *inbox
	ap    *applier // owned by the loop, or with async writes by the apply goroutine

	status   atomic.Pointer[status]
	snapping atomic.Bool
	propBase uint64 // random: ids of this incarnation never meet an earlier one's
	propSeq  atomic.Uint64

	stopc   chan struct{}
	wg      sync.WaitGroup
	errMu   sync.Mutex
	err     error // the first storage failure, which stopped the node
	failed  atomic.Bool
	stopOne sync.Once

	// Async storage writes: the queues of the append and apply goroutines.
	appendQ, applyQ *jobQueue

	// Owned by the loop goroutine.
	soft      raft.SoftState
	term      uint64
	ticks     uint64
	unindexed []*proposal  // stepped into the log, index not yet known
	pending   []*readBatch // ReadIndex asked, ReadState not yet back
	held      []*readReq   // reads that came while no leader was known
	heldTick  uint64
	readSeq   uint64
}

func (n *node) publish() {
	n.status.Store(&status{role: n.soft.RaftState, lead: n.soft.Lead, term: n.term})
}

func (n *node) nextProposalID() uint64 {
	id := n.propBase + n.propSeq.Add(1)
	if id == 0 { // 0 marks "no id"; skip it
		id = n.propBase + n.propSeq.Add(1)
	}
	return id
}

// fatal records a storage failure and stops the node's goroutines: a node
// that cannot write its log must not go on.
func (n *node) fatal(err error) {
	n.errMu.Lock()
	if n.err == nil {
		n.err = err
	}
	n.errMu.Unlock()
	n.failed.Store(true)
	n.stopOne.Do(func() { close(n.stopc) })
}

func (n *node) stopped() bool {
	select {
	case <-n.stopc:
		return true
	default:
		return false
	}
}

// unreachable and snapshotSent are the transport's reports (on writer
// goroutines); the loop passes them to etcd raft.
func (n *node) unreachable(to uint64) { n.in.pushEvent(event{kind: evUnreachable, peer: to}) }
func (n *node) snapshotSent(to uint64, ok bool) {
	n.in.pushEvent(event{kind: evSnapshot, peer: to, ok: ok})
}

// run is the raft loop: the only goroutine that touches the RawNode. Each
// iteration takes everything queued (messages, proposals, reads, events),
// steps it in, then handles Readies until there are none. A time.Ticker
// drives Tick.
func (n *node) run() {
	defer n.wg.Done()
	ticker := time.NewTicker(n.c.timing.tick)
	defer ticker.Stop()
	var (
		msgs   []raftpb.Message
		props  []*proposal
		reads  []*readReq
		events []event
	)
	for {
		select {
		case <-n.stopc:
			return
		case <-ticker.C:
			n.rn.Tick()
			n.ticks++
			n.expireReads()
		case <-n.in.wake:
		}
		msgs, props, reads, events = n.in.take(msgs[:0], props[:0], reads[:0], events[:0])
		for i := range msgs {
			// Errors are for messages raft will not take (local types from
			// the network, responses from unknown peers): drop them.
			_ = n.rn.Step(msgs[i])
		}
		clear(msgs) // the loop keeps the slice: drop the entries it points to
		for _, ev := range events {
			n.handleEvent(ev)
		}
		clear(events)
		n.propose(props)
		clear(props)
		n.readIndex(reads)
		clear(reads)
		n.handleReadies()
		if len(n.held) > 0 && n.soft.Lead != raft.None {
			// A leader became known: the reads held for one go now.
			held := n.held
			n.held = nil
			n.readIndex(held)
			n.handleReadies()
		}
	}
}

func (n *node) handleReadies() {
	for n.rn.HasReady() && !n.stopped() {
		if n.async {
			n.readyAsync()
		} else {
			n.readySync()
		}
	}
}

func (n *node) handleEvent(ev event) {
	switch ev.kind {
	case evUnreachable:
		n.rn.ReportUnreachable(ev.peer)
	case evSnapshot:
		st := raft.SnapshotFinish
		if !ev.ok {
			st = raft.SnapshotFailure
		}
		n.rn.ReportSnapshot(ev.peer, st)
	case evLocalSnap:
		if err := n.st.saveLocalSnapshot(ev.snap.index, ev.snap.term, ev.snap.data, catchUpEntries(n.c.cfg)); err != nil {
			n.fatal(err)
		}
	}
}

// propose steps every waiting proposal into the log as one MsgProp: one
// append, one Ready, one disk write for the batch. A node that does not
// lead refuses them and names the leader it knows.
func (n *node) propose(props []*proposal) {
	if len(props) == 0 {
		return
	}
	if n.soft.RaftState != raft.StateLeader {
		for _, p := range props {
			p.finish(nil, &bench.NotLeaderError{Leader: n.soft.Lead})
		}
		return
	}
	// A new slice each time: etcd raft keeps it as its unstable log.
	ents := make([]raftpb.Entry, len(props))
	for i, p := range props {
		ents[i].Data = p.data
	}
	if err := n.rn.Step(raftpb.Message{Type: raftpb.MsgProp, From: n.id, Entries: ents}); err != nil {
		// ErrProposalDropped: not the leader after all (the messages just
		// stepped changed that), a leadership transfer, or the
		// uncommitted-size limit. Nothing was appended.
		for _, p := range props {
			if n.soft.Lead != n.id && n.soft.Lead != raft.None {
				p.finish(nil, &bench.NotLeaderError{Leader: n.soft.Lead})
			} else {
				p.finish(nil, errDropped)
			}
		}
		return
	}
	n.unindexed = append(n.unindexed, props...)
}

// indexed takes the proposals stepped since the last Ready and finds them
// among the Ready's new entries (in order: the leader appended them so),
// which gives each its index.
func (n *node) indexed(ents []raftpb.Entry) []*proposal {
	if len(n.unindexed) == 0 {
		return nil
	}
	k := 0
	for i := range ents {
		if k == len(n.unindexed) {
			break
		}
		if e := &ents[i]; len(e.Data) >= idBytes && binary.LittleEndian.Uint64(e.Data) == n.unindexed[k].id {
			n.unindexed[k].index = e.Index
			k++
		}
	}
	if k != len(n.unindexed) {
		panic(fmt.Sprintf("etcd engine: node %d: %d of %d proposals stepped in are not in the next Ready", n.id, len(n.unindexed)-k, len(n.unindexed)))
	}
	ps := n.unindexed
	n.unindexed = nil
	return ps
}

// readIndex asks for one read index for every waiting read. Reads on a
// follower go the same way: etcd raft forwards MsgReadIndex to the leader
// and hands back its answer as a ReadState.
func (n *node) readIndex(reads []*readReq) {
	if len(reads) == 0 {
		return
	}
	if n.soft.Lead == raft.None {
		// etcd raft would drop the request; hold it until a leader is
		// known (or expireReads gives up), as etcd's server waits.
		if len(n.held) == 0 {
			n.heldTick = n.ticks
		}
		n.held = append(n.held, reads...)
		return
	}
	n.readSeq++
	b := &readBatch{seq: n.readSeq, reqs: append([]*readReq(nil), reads...), tick: n.ticks}
	rctx := make([]byte, 8) // etcd raft keeps it until the ReadState
	binary.LittleEndian.PutUint64(rctx, b.seq)
	n.rn.ReadIndex(rctx)
	n.pending = append(n.pending, b)
}

// readStates matches read indexes to their batches and hands them to the
// applier, which answers once the index is applied.
func (n *node) readStates(rss []raft.ReadState, hand func(index uint64, b *readBatch)) {
	for _, rs := range rss {
		if len(rs.RequestCtx) != 8 {
			continue
		}
		seq := binary.LittleEndian.Uint64(rs.RequestCtx)
		for i, b := range n.pending {
			if b.seq == seq {
				n.pending = append(n.pending[:i], n.pending[i+1:]...)
				hand(rs.Index, b)
				break
			}
		}
	}
}

// failPending answers the reads still waiting for a read index: after a
// change of leader their request or its answer may be lost for good.
func (n *node) failPending(err error) {
	for _, b := range n.pending {
		b.fail(err)
	}
	n.pending = nil
}

// expireReads fails read batches that waited longer than two maximal
// election timeouts for their index: etcd raft drops a MsgReadIndex it
// cannot serve (no leader, or a lost message) without a word.
func (n *node) expireReads() {
	limit := uint64(4 * n.c.timing.electionTicks)
	if len(n.held) > 0 && n.ticks-n.heldTick > limit {
		for _, r := range n.held {
			r.done(nil, false, &bench.NotLeaderError{})
		}
		n.held = nil
	}
	for len(n.pending) > 0 && n.ticks-n.pending[0].tick > limit {
		b := n.pending[0]
		n.pending = n.pending[1:]
		if n.soft.RaftState != raft.StateLeader && n.soft.Lead != raft.None {
			b.fail(&bench.NotLeaderError{Leader: n.soft.Lead})
		} else {
			b.fail(errReadTimeout)
		}
	}
}

// observe notes changes of term, role and leader from a Ready, publishes
// them and reports role changes.
func (n *node) observe(rd *raft.Ready) {
	changed := false
	if !raft.IsEmptyHardState(rd.HardState) && rd.Term != n.term {
		n.term = rd.Term
		changed = true
	}
	if ss := rd.SoftState; ss != nil && (ss.RaftState != n.soft.RaftState || ss.Lead != n.soft.Lead) {
		n.soft = *ss
		changed = true
		n.c.roleChange(bench.RoleChange{Node: n.id, Role: roleName(ss.RaftState), Term: n.term, Leader: ss.Lead})
		if len(n.pending) > 0 {
			n.failPending(&bench.NotLeaderError{Leader: ss.Lead})
		}
	}
	if changed {
		n.publish()
	}
}

func roleName(s raft.StateType) string {
	switch s {
	case raft.StateFollower:
		return "follower"
	case raft.StatePreCandidate:
		return "pre-candidate"
	case raft.StateCandidate:
		return "candidate"
	case raft.StateLeader:
		return "leader"
	}
	return s.String()
}

// readySync handles one Ready in the order etcd raft's documentation
// prescribes: persist the hard state, entries and snapshot (one fsync),
// send the messages, apply the snapshot and the committed entries, answer
// the reads whose index is applied, Advance.
func (n *node) readySync() {
	rd := n.rn.Ready()
	n.observe(&rd)
	n.ap.register(n.indexed(rd.Entries))
	if err := n.st.save(rd.HardState, rd.Entries, &rd.Snapshot); err != nil {
		n.fatal(err)
		return
	}
	if err := n.st.sync(); err != nil {
		n.fatal(err)
		return
	}
	if err := n.st.install(rd.HardState, rd.Entries, &rd.Snapshot); err != nil {
		n.fatal(err)
		return
	}
	for i := range rd.Messages {
		n.tr.send(&rd.Messages[i])
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		n.ap.restore(&rd.Snapshot)
	}
	n.ap.apply(rd.CommittedEntries)
	n.readStates(rd.ReadStates, n.ap.addRead)
	n.rn.Advance(rd)
}

// readyAsync handles one Ready with async storage writes: the loop only
// routes. Storage work goes to the append and apply goroutines as the
// MsgStorageAppend and MsgStorageApply messages etcd raft emits, in order;
// their responses come back to the loop's inbox once the work is done.
// Messages to peers leave at once: a leader's MsgApp goes out while its
// own disk write is in progress (etcd raft counts its own vote for the
// entries only once MsgStorageAppend's response is back).
func (n *node) readyAsync() {
	rd := n.rn.Ready()
	n.observe(&rd)
	if ps := n.indexed(rd.Entries); len(ps) > 0 {
		n.applyQ.push(job{kind: jobRegister, props: ps})
	}
	for i := range rd.Messages {
		m := &rd.Messages[i]
		switch m.To {
		case raft.LocalAppendThread:
			n.appendQ.push(job{kind: jobAppend, msg: *m})
		case raft.LocalApplyThread:
			n.applyQ.push(job{kind: jobApply, msg: *m})
		default:
			n.tr.send(m)
		}
	}
	n.readStates(rd.ReadStates, func(index uint64, b *readBatch) {
		n.applyQ.push(job{kind: jobRead, index: index, reads: b})
	})
}

// deliver releases a storage message's responses: to this node's loop, or
// to a peer.
func (n *node) deliver(resps []raftpb.Message) {
	for i := range resps {
		if m := &resps[i]; m.To == n.id {
			n.in.pushMsg(m, false)
		} else {
			n.tr.send(m)
		}
	}
}

// appendLoop is the append goroutine (async storage writes): it takes
// every MsgStorageAppend queued, writes them to the WAL with one write and
// one fsync (group commit), makes them visible in the MemoryStorage, then
// releases their responses, in order.
func (n *node) appendLoop() {
	defer n.wg.Done()
	var jobs []job
	for {
		select {
		case <-n.stopc:
			return
		case <-n.appendQ.wake:
		}
		jobs = n.appendQ.take(jobs[:0])
		for i := range jobs {
			j := &jobs[i]
			var err error
			switch j.kind {
			case jobAppend:
				err = n.st.save(hardState(&j.msg), j.msg.Entries, j.msg.Snapshot)
			case jobLocal:
				err = n.st.saveLocalSnapshot(j.snap.index, j.snap.term, j.snap.data, catchUpEntries(n.c.cfg))
			}
			if err != nil {
				n.fatal(err)
				return
			}
		}
		if err := n.st.sync(); err != nil {
			n.fatal(err)
			return
		}
		for i := range jobs {
			j := &jobs[i]
			if j.kind != jobAppend {
				continue
			}
			if err := n.st.install(hardState(&j.msg), j.msg.Entries, j.msg.Snapshot); err != nil {
				n.fatal(err)
				return
			}
			if s := j.msg.Snapshot; s != nil && !raft.IsEmptySnap(*s) {
				// The state machine takes the snapshot before anything
				// after it applies: the apply queue is in order, and etcd
				// raft hands out entries above the snapshot only once the
				// response below is back.
				n.applyQ.push(job{kind: jobRestore, msg: raftpb.Message{Snapshot: s}})
			}
			n.deliver(j.msg.Responses)
		}
		clear(jobs)
	}
}

func hardState(m *raftpb.Message) raftpb.HardState {
	return raftpb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}
}

// applyLoop is the apply goroutine (async storage writes): committed
// entries, snapshots, proposals to answer and reads to answer, in order.
func (n *node) applyLoop() {
	defer n.wg.Done()
	var jobs []job
	for {
		select {
		case <-n.stopc:
			return
		case <-n.applyQ.wake:
		}
		jobs = n.applyQ.take(jobs[:0])
		for i := range jobs {
			if n.stopped() {
				// Leave the rest to stop, which fails them.
				n.applyQ.mu.Lock()
				n.applyQ.jobs = append(jobs[i:], n.applyQ.jobs...)
				n.applyQ.mu.Unlock()
				return
			}
			j := &jobs[i]
			switch j.kind {
			case jobRegister:
				n.ap.register(j.props)
			case jobApply:
				n.ap.apply(j.msg.Entries)
				n.deliver(j.msg.Responses)
			case jobRestore:
				n.ap.restore(j.msg.Snapshot)
			case jobRead:
				n.ap.addRead(j.index, j.reads)
			}
		}
		clear(jobs)
	}
}

// writeSnapshot writes a frozen view of the KV to the snapshot store on
// its own goroutine, then hands it to the WAL owner, which records the
// marker and compacts. Applies go on meanwhile (the view is copy-on-write).
func (n *node) writeSnapshot(view rbnode.SnapshotView, index, term uint64) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer n.snapping.Store(false)
		var buf bytes.Buffer
		_, err := view.WriteTo(&buf)
		view.Release()
		if err != nil {
			n.fatal(err)
			return
		}
		data := buf.Bytes()
		if n.stopped() {
			return
		}
		if err := n.st.saveSnapshotFile(&raftpb.Snapshot{Data: data, Metadata: raftpb.SnapshotMetadata{
			Index: index, Term: term, ConfState: n.st.conf}}); err != nil {
			n.fatal(err)
			return
		}
		ls := localSnap{index: index, term: term, data: data}
		if n.async {
			n.appendQ.push(job{kind: jobLocal, snap: ls})
		} else {
			n.in.pushEvent(event{kind: evLocalSnap, snap: ls})
		}
	}()
}

// stop ends the incarnation abruptly: the network is cut first, the
// goroutines stop where they are (a write or fsync in progress completes;
// nothing after it starts), and everything still waiting is answered.
// Requests that never reached raft get ErrNodeDown (they had no effect);
// the others an error that leaves the outcome open.
func (n *node) stop() error {
	props, reads := n.in.close()
	down := fmt.Errorf("node %d: %w", n.id, bench.ErrNodeDown)
	for _, p := range props {
		p.finish(nil, down)
	}
	for _, r := range reads {
		r.done(nil, false, down)
	}
	n.stopOne.Do(func() { close(n.stopc) })
	if n.ln != nil {
		n.ln.close()
	}
	n.tr.close()
	n.wg.Wait()
	// Every goroutine has returned: what is left is ours alone.
	for _, p := range n.unindexed {
		p.finish(nil, errStopped)
	}
	n.failPending(errStopped)
	for _, r := range n.held {
		r.done(nil, false, down)
	}
	if n.async {
		for _, j := range n.applyQ.take(nil) {
			switch j.kind {
			case jobRegister:
				n.ap.register(j.props)
			case jobRead:
				j.reads.fail(errStopped)
			}
		}
	}
	n.ap.failAll()
	err := n.st.close()
	n.errMu.Lock()
	defer n.errMu.Unlock()
	if n.err != nil {
		return n.err
	}
	return err
}

// newPropBase draws the id base of an incarnation. Not seeded: ids only
// have to differ from every other incarnation's, and nothing in a run
// depends on their values.
func newPropBase() uint64 { return rand.Uint64() }
