package node

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// msgCampaign is a local request on recvC (never sent on the network).
const msgCampaign raft.MessageType = 255

// readBatch is the reads that share one ReadIndex request.
type readBatch struct {
	reqs  []readRequest
	asked time.Duration
}

// run is the event loop: the only goroutine that touches the core.
func (n *Node) run() {
	defer close(n.loopDone)
	var (
		core    = n.core
		timer   = time.NewTimer(max(n.core.NextDeadline()-n.now(), 0))
		futures futureQueue // proposals not yet handed to apply
		reads   = map[uint64]*readBatch{}
		readSeq uint64
		batch   = make([][]byte, 0, n.cfg.MaxProposalBatch)
		futs    = make([]*Future, 0, n.cfg.MaxProposalBatch)
		// delay runs while proposals wait in batch for ProposalDelay.
		delay    = time.NewTimer(time.Hour)
		delaying bool
	)
	delay.Stop()
	defer func() {
		timer.Stop()
		delay.Stop()
		for _, f := range futs {
			f.complete(nil, ErrStopped)
		}
		for _, f := range futures.q {
			f.complete(nil, ErrStopped)
		}
		for _, b := range reads {
			for _, r := range b.reqs {
				r.complete(ErrStopped)
			}
		}
		close(n.diskC)
		close(n.applyC)
	}()
	labels := n.goroutineLabels()
	for {
		// The time is read when the loop wakes, not before it waits: an input
		// stepped with the time the loop went to sleep would, for one, set
		// the election deadline as early as the loop had been idle.
		var now time.Duration
		select {
		case <-n.stopC:
			return

		case <-timer.C:
			now = n.now()
			// Messages that arrived while the loop was busy come first: a
			// heartbeat waiting in the channel must reset the election
			// timer before the timer is allowed to fire.
			n.stepWaiting(core, now)
			core.Tick(now)
			// Reads whose answer never came (a forwarded request lost, a
			// leader cut off) fail after two election timeouts.
			for id, b := range reads {
				if now-b.asked > 2*n.cfg.Raft.ElectionTimeoutMax {
					for _, r := range b.reqs {
						r.complete(ErrReadFailed)
					}
					delete(reads, id)
				}
			}

		case p := <-n.propC:
			now = n.now()
			// Drain every waiting proposal into one append, now or, with a
			// ProposalDelay while entries are in flight, when they commit,
			// the delay ends or the batch is full.
			batch, futs = append(batch, p.data), append(futs, p.fut)
		drain:
			for len(batch) < n.cfg.MaxProposalBatch {
				select {
				case p := <-n.propC:
					batch, futs = append(batch, p.data), append(futs, p.fut)
				default:
					break drain
				}
			}
			if n.cfg.ProposalDelay > 0 && len(batch) < n.cfg.MaxProposalBatch && inFlight(core) {
				if !delaying {
					delaying = true
					delay.Reset(n.cfg.ProposalDelay)
				}
				continue // nothing stepped: no Ready to handle
			}
			n.propose(core, now, &batch, &futs, &futures)
			if delaying {
				delay.Stop() // no stale tick can be received after Stop
				delaying = false
			}

		case <-delay.C:
			now = n.now()
			delaying = false
			n.propose(core, now, &batch, &futs, &futures)

		case r := <-n.readC:
			now = n.now()
			readSeq++
			n.handleReads(core, now, r, reads, readSeq)

		case msgs := <-n.recvC:
			now = n.now()
			n.step(core, now, msgs)
			// Take whatever else arrived: one Ready for many messages.
			n.stepWaiting(core, now)

		case <-n.persisted.notify:
			now = n.now()
			core.Persisted(now, n.persisted.take())

		case res := <-n.snapDoneC:
			now = n.now()
			core.ReportSnapshot(now, res.to, res.failed)

		case meta := <-n.compactC:
			now = n.now()
			// A snapshot is durable: drop the log behind it, keeping a
			// trailing window for followers that lag a little.
			if meta.Index > n.cfg.TrailingEntries {
				_ = core.Compact(meta.Index - n.cfg.TrailingEntries)
			}
			n.diskC <- diskWork{walSnap: &meta}
		}

		n.handleReady(core, now, &futures, reads)
		if delaying && !inFlight(core) {
			// The batch before has committed: this one need not wait longer.
			delay.Stop()
			delaying = false
			n.propose(core, now, &batch, &futs, &futures)
			n.handleReady(core, now, &futures, reads)
		}
		n.noteRole(core.Role())
		labels.Refresh()
		n.statusMu.Lock()
		n.status = core.Status()
		n.statusMu.Unlock()
		n.publishPeers(core)
		d := core.NextDeadline() - n.now()
		timer.Reset(max(d, 0))
	}
}

// inFlight reports whether core leads with entries not yet committed: a
// batch of proposals held for ProposalDelay waits only while one is. An
// idle leader appends a proposal at once, so the delay costs nothing at a
// light load; under load, batches form while the one before commits.
func inFlight(core *raft.Raft) bool {
	st := core.Status()
	return st.Role == raft.Leader && st.Commit < st.LastIndex
}

// propose appends the proposals in batch, hands their futures to futures
// (or fails them), and empties batch and futs.
func (n *Node) propose(core *raft.Raft, now time.Duration, batch *[][]byte, futs *[]*Future, futures *futureQueue) {
	first, _, err := core.Propose(now, *batch...)
	n.proposed(len(*batch), err)
	term := core.Term()
	for i, f := range *futs {
		if err != nil {
			f.complete(nil, err)
			continue
		}
		f.index, f.term = first+uint64(i), term
		futures.push(f)
	}
	clear(*batch)
	clear(*futs)
	*batch, *futs = (*batch)[:0], (*futs)[:0]
}

// stepWaiting steps every message already waiting in the channel.
func (n *Node) stepWaiting(core *raft.Raft, now time.Duration) {
	for {
		select {
		case msgs := <-n.recvC:
			n.step(core, now, msgs)
		default:
			return
		}
	}
}

func (n *Node) step(core *raft.Raft, now time.Duration, msgs []raft.Message) {
	for _, m := range msgs {
		if m.Type == msgCampaign {
			core.Campaign(now)
			continue
		}
		if err := core.Step(now, m); err != nil {
			n.cfg.Logger.Warn("refused message", "node", n.id, "err", err)
		}
	}
}

// handleReads takes every waiting read: lease reads that the lease covers
// are answered at once; the rest share one ReadIndex request.
func (n *Node) handleReads(core *raft.Raft, now time.Duration, r readRequest, reads map[uint64]*readBatch, seq uint64) {
	b := &readBatch{asked: now}
	var leased []readRequest
	leaseIndex, leaseOK := uint64(0), false
	// The batch takes at most what waits now: sized once, its slice does
	// not grow read by read (that growth was 2% of the CPU samples of a
	// read-heavy run).
	waiting := 1 + len(n.readC)
	add := func(r readRequest) {
		if r.lease {
			if !leaseOK {
				leaseIndex, leaseOK = core.LeaseRead(now)
			}
			if leaseOK {
				if leased == nil {
					leased = make([]readRequest, 0, waiting)
				}
				leased = append(leased, r)
				return
			}
		}
		if b.reqs == nil {
			b.reqs = make([]readRequest, 0, waiting)
		}
		b.reqs = append(b.reqs, r)
	}
	add(r)
	for more := true; more; {
		select {
		case r := <-n.readC:
			add(r)
		default:
			more = false
		}
	}
	if len(leased) > 0 {
		n.applyC <- applyWork{reads: []readWait{{index: leaseIndex, reqs: leased}}}
	}
	if len(b.reqs) == 0 {
		return
	}
	ctx := binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq)
	if err := core.ReadIndex(now, ctx); err != nil {
		for _, r := range b.reqs {
			r.complete(err)
		}
		return
	}
	reads[seq] = b
}

// handleReady carries out the core's output: messages now, the write to
// the disk goroutine (which sends the messages that wait for it), committed
// entries and read points to the apply goroutine.
func (n *Node) handleReady(core *raft.Raft, now time.Duration, futures *futureQueue, reads map[uint64]*readBatch) {
	for core.HasReady() {
		rd := core.Ready()
		if len(rd.Messages) > 0 {
			n.send(rd.Messages)
		}
		if rd.MustPersist() || len(rd.MessagesAfterPersist) > 0 {
			n.diskC <- diskWork{
				hard: rd.HardState, entries: rd.Entries, snap: rd.Snapshot, mark: rd.Mark,
				persist: rd.MustPersist(), after: rd.MessagesAfterPersist,
			}
		}
		var w applyWork
		if rd.Snapshot != nil {
			meta := rd.Snapshot.Meta
			w.restore = &meta
			// Proposals covered by the snapshot may or may not have been
			// applied (this node had lost leadership and fallen behind): we
			// cannot tell, and must not say "dropped".
			for _, f := range futures.popThrough(meta.Index) {
				f.complete(nil, ErrOutcomeUnknown)
			}
		}
		if len(rd.CommittedEntries) > 0 {
			w.entries = rd.CommittedEntries
			last := rd.CommittedEntries[len(rd.CommittedEntries)-1].Index
			// The apply goroutine matches them to entries by index and term.
			w.futures = append(w.futures, futures.popThrough(last)...)
		}
		for _, rs := range rd.ReadStates {
			seq := binary.BigEndian.Uint64(rs.Context)
			b, ok := reads[seq]
			if !ok {
				continue // answered twice (a duplicated message) or expired
			}
			delete(reads, seq)
			if rs.Index == 0 {
				for _, r := range b.reqs {
					r.complete(ErrReadFailed)
				}
				continue
			}
			w.reads = append(w.reads, readWait{index: rs.Index, reqs: b.reqs})
		}
		if w.restore != nil || len(w.entries) > 0 || len(w.reads) > 0 {
			n.applyC <- w
		}
	}
}

// send hands messages to the transport; snapshots go to a sender
// goroutine that streams the newest snapshot file.
func (n *Node) send(msgs []raft.Message) {
	k := 0
	for _, m := range msgs {
		if m.Type == raft.MsgSnap {
			n.sendSnapshot(m)
			continue
		}
		n.appendSent(&m)
		msgs[k] = m
		k++
	}
	if k > 0 {
		n.tr.Send(msgs[:k])
	}
}

type snapResult struct {
	to     uint64
	failed bool
}

func (n *Node) sendSnapshot(m raft.Message) {
	n.snapWG.Add(1)
	go func() {
		defer n.snapWG.Done()
		err := n.streamSnapshot(m)
		if err == nil {
			n.stats.SnapshotsSent.Add(1)
		}
		if err != nil {
			n.cfg.Logger.Warn("snapshot transfer failed", "node", n.id, "to", m.To, "err", err)
		}
		select {
		case n.snapDoneC <- snapResult{to: m.To, failed: err != nil}:
		case <-n.stopC:
		}
	}()
}

// streamSnapshot sends the newest snapshot file. It may be newer than the
// compaction point the core named: the follower answers with the index it
// installed, which is what the leader's progress needs.
func (n *Node) streamSnapshot(m raft.Message) error {
	meta, ok, err := n.snaps.Latest()
	if err != nil {
		return err
	}
	if !ok || meta.Index < m.Snapshot.Meta.Index {
		return errors.New("no snapshot file covers the compaction point")
	}
	body, _, err := n.snaps.OpenSnapshot(meta)
	if err != nil {
		return err
	}
	defer body.Close()
	m.Snapshot = &raft.Snapshot{Meta: meta}
	return n.tr.SendSnapshot(n.snapCtx, m, body)
}

// persistedMark hands the newest durable mark from the disk goroutine to
// the loop without ever blocking the disk: marks are monotonic, so only the
// latest matters.
type persistedMark struct {
	mu     sync.Mutex
	mark   raft.PersistMark
	notify chan struct{}
}

func (p *persistedMark) set(m raft.PersistMark) {
	p.mu.Lock()
	p.mark = m
	p.mu.Unlock()
	select {
	case p.notify <- struct{}{}:
	default:
	}
}

func (p *persistedMark) take() raft.PersistMark {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mark
}

// futureQueue holds the proposals waiting for their entries to commit, in
// index order: entries commit in order, so they leave from the front.
type futureQueue struct {
	q []*Future
}

// push adds f. An index at or below the last queued one means this node's
// log was cut back and the entries of the queued proposals from there on
// were replaced: as this node now leads and holds other entries there,
// they can never commit.
func (fq *futureQueue) push(f *Future) {
	for n := len(fq.q); n > 0 && fq.q[n-1].index >= f.index; n-- {
		fq.q[n-1].complete(nil, ErrDropped)
		fq.q[n-1] = nil
		fq.q = fq.q[:n-1]
	}
	fq.q = append(fq.q, f)
}

// popThrough removes and returns the proposals with index <= i. The result
// is only valid until the next push.
func (fq *futureQueue) popThrough(i uint64) []*Future {
	k := 0
	for k < len(fq.q) && fq.q[k].index <= i {
		k++
	}
	out := fq.q[:k:k]
	fq.q = fq.q[k:]
	if len(fq.q) == 0 {
		fq.q = nil // let the array go once drained
	}
	return out
}
