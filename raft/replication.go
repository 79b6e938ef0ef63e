package raft

import "fmt"

// --- leader -----------------------------------------------------------------

func (r *Raft) stepLeader(m Message) error {
	pr := r.progress(m.From)
	if pr == nil {
		return nil // not a member (yet, or any more)
	}
	switch m.Type {
	case MsgAppResp:
		if !m.Reject && m.Index > r.log.lastIndex() {
			return fmt.Errorf("%w: %d acknowledges index %d beyond our last index %d", ErrProtocol, m.From, m.Index, r.log.lastIndex())
		}
		pr.RecentActive = true
		r.handleAppendResponse(pr, m)
	case MsgHeartbeatResp:
		pr.RecentActive = true
		pr.ProbeSent = false
		r.heartbeatAcked(pr, m.Context)
		if pr.State == StateReplicate && pr.Inflights.Full() {
			// The follower is alive but acknowledgements were lost: free a
			// slot so replication cannot stall on a full window.
			pr.Inflights.FreeFirstOne()
		}
		if pr.Match < r.log.lastIndex() {
			// Even with nothing new to send: an empty append from Next-1
			// makes a follower that lost our messages reject, which puts
			// it back in probe and resumes replication.
			r.sendAppend(pr, true)
		}
	}
	return nil
}

func (r *Raft) handleAppendResponse(pr *Progress, m Message) {
	if m.Reject {
		if pr.MaybeDecrTo(m.Index, r.nextFromHint(m)) {
			if pr.State == StateReplicate {
				next := pr.Next
				pr.BecomeProbe()
				pr.Next = next
			}
			r.sendAppend(pr, true)
		}
		return
	}
	if !pr.MaybeUpdate(m.Index) {
		return
	}
	switch pr.State {
	case StateProbe:
		pr.BecomeReplicate()
	case StateSnapshot:
		if pr.Match >= pr.PendingSnapshot {
			pr.BecomeReplicate()
		}
	case StateReplicate:
		pr.Inflights.FreeLE(m.Index)
	}
	committed := r.maybeCommit()
	for r.sendAppend(pr, false) {
	}
	if committed {
		r.notifyCommit()
	}
}

// notifyCommit sends a new commit index to the followers now, or, with
// CommitNotifyDelay, at the latest that long from now: every AppendEntries
// sent meanwhile carries it, and bcastCommit then skips the followers that
// got one.
func (r *Raft) notifyCommit() {
	if r.cfg.CommitNotifyDelay == 0 {
		r.bcastCommit()
		return
	}
	if r.commitNotifyAt == 0 {
		r.commitNotifyAt = r.now + r.cfg.CommitNotifyDelay
	}
}

// bcastCommit tells followers of a new commit index: each one that has not
// been sent it and is not paused gets an AppendEntries (empty if it is up
// to date). Without it, an idle follower would learn of the commit only at
// the next heartbeat, and follower reads would wait that long.
func (r *Raft) bcastCommit() {
	for _, pr := range r.prs {
		if pr.ID != r.id && pr.SentCommit < r.log.committed && !pr.IsPaused() {
			r.sendAppend(pr, true)
		}
	}
}

// nextFromHint turns a follower's conflict hint into the next index to try,
// skipping a whole term per round trip (§5.3, the optimisation the paper
// describes): if we hold entries of the follower's conflicting term, resume
// after our last one; otherwise resume at the first index of that term in
// the follower's log (or its end, when its log was too short).
func (r *Raft) nextFromHint(m Message) uint64 {
	if m.HintTerm != 0 {
		if last, ok := r.log.lastIndexOfTerm(m.HintTerm); ok {
			return last + 1
		}
	}
	return max(m.HintIndex, 1)
}

// acked is the durable index of a voter as the leader knows it: the leader's
// own entries count only once its own write completed.
func (r *Raft) acked(id uint64) uint64 {
	if id == r.id {
		return r.log.persisted
	}
	if p := r.progress(id); p != nil {
		return p.Match
	}
	return 0
}

// maybeCommit advances the commit index to what a quorum holds, but only
// through an entry of the leader's own term (Figure 8: counting replicas
// never commits an entry of an earlier term by itself).
func (r *Raft) maybeCommit() bool {
	ci := r.voters.CommittedIndex(r.acked)
	if ci <= r.log.committed {
		return false
	}
	if t, ok := r.log.term(ci); !ok || t != r.term {
		return false
	}
	r.log.commitTo(ci)
	r.startWaitingReads()
	return true
}

// bcastAppend sends what each follower is missing; with empty=true it sends
// an (empty) AppendEntries even to followers that are up to date.
func (r *Raft) bcastAppend(empty bool) {
	for _, pr := range r.prs {
		if pr.ID == r.id {
			continue
		}
		if r.sendAppend(pr, empty) {
			for r.sendAppend(pr, false) {
			}
		}
	}
}

// sendAppend sends one AppendEntries (or a snapshot) to pr unless it is
// paused. It reports whether a message with entries was sent, so callers can
// fill a pipelining window with a loop.
func (r *Raft) sendAppend(pr *Progress, sendIfEmpty bool) bool {
	if pr.IsPaused() {
		return false
	}
	prevIndex := pr.Next - 1
	prevTerm, ok := r.log.term(prevIndex)
	if !ok {
		r.sendSnapshot(pr)
		return false
	}
	ents := r.log.entriesFrom(pr.Next, r.cfg.MaxEntriesPerMsg, r.cfg.MaxBytesPerMsg)
	if len(ents) == 0 && !sendIfEmpty {
		return false
	}
	switch pr.State {
	case StateReplicate:
		if n := len(ents); n > 0 {
			last := ents[n-1].Index
			pr.Next = last + 1
			pr.Inflights.Add(last)
		}
	case StateProbe:
		pr.ProbeSent = true
	}
	pr.SentCommit = r.log.committed
	r.send(Message{Type: MsgApp, To: pr.ID, Index: prevIndex, LogTerm: prevTerm, Entries: ents, Commit: r.log.committed})
	return len(ents) > 0
}

func (r *Raft) sendSnapshot(pr *Progress) {
	meta := SnapshotMeta{Index: r.log.snapIndex, Term: r.log.snapTerm, Voters: append([]uint64(nil), r.voters[0]...)}
	pr.BecomeSnapshot(meta.Index)
	r.logger.Debug("sending snapshot", "to", pr.ID, "index", meta.Index)
	r.send(Message{Type: MsgSnap, To: pr.ID, Snapshot: &Snapshot{Meta: meta}})
}

func (r *Raft) bcastHeartbeat(ctx []byte) {
	for _, pr := range r.prs {
		if pr.ID == r.id {
			continue
		}
		// Never tell a follower to commit beyond what it is known to hold
		// in agreement with us: its log past Match may still be stale.
		r.send(Message{Type: MsgHeartbeat, To: pr.ID, Commit: min(pr.Match, r.log.committed), Context: ctx})
	}
}

// checkQuorum reports whether a quorum was heard from since the last round,
// and starts a new round.
func (r *Raft) checkQuorum() bool {
	res := r.voters.VoteResult(func(id uint64) (bool, bool) {
		if id == r.id {
			return true, true
		}
		p := r.progress(id)
		return p != nil && p.RecentActive, true
	})
	for _, p := range r.prs {
		p.RecentActive = false
	}
	return res == VoteWon
}

// --- follower ---------------------------------------------------------------

func (r *Raft) stepFollower(m Message) error {
	switch m.Type {
	case MsgApp, MsgHeartbeat, MsgSnap:
		// m.Term == r.term: this is our leader.
		r.lead = m.From
		r.leaderContact = r.now
		r.resetElectionTimer()
		switch m.Type {
		case MsgApp:
			return r.handleAppend(m)
		case MsgHeartbeat:
			r.handleHeartbeat(m)
		case MsgSnap:
			r.handleSnapshot(m)
		}
	}
	return nil
}

func (r *Raft) handleAppend(m Message) error {
	if m.Index < r.log.committed {
		// Everything up to our commit index matches any leader's log; say
		// where we are so the leader skips ahead.
		r.send(Message{Type: MsgAppResp, To: m.From, Index: r.log.committed})
		return nil
	}
	lastNew, ok, err := r.log.maybeAppend(m.Index, m.LogTerm, m.Entries)
	if err != nil {
		return fmt.Errorf("append from %d: %w", m.From, err)
	}
	if !ok {
		hintTerm, hintIndex := r.log.conflictHint(m.Index)
		r.send(Message{Type: MsgAppResp, To: m.From, Index: m.Index, Reject: true, HintTerm: hintTerm, HintIndex: hintIndex})
		return nil
	}
	r.log.commitTo(min(m.Commit, lastNew))
	r.send(Message{Type: MsgAppResp, To: m.From, Index: lastNew})
	return nil
}

func (r *Raft) handleHeartbeat(m Message) {
	r.log.commitTo(min(m.Commit, r.log.lastIndex()))
	r.send(Message{Type: MsgHeartbeatResp, To: m.From, Context: m.Context})
}

func (r *Raft) handleSnapshot(m Message) {
	s := m.Snapshot.Meta
	switch {
	case s.Index <= r.log.committed:
		// Nothing new: we already hold (and agree on) everything it covers.
		r.send(Message{Type: MsgAppResp, To: m.From, Index: r.log.committed})
	case r.log.matchTerm(s.Index, s.Term):
		// Our log already holds the snapshot's last entry: it is committed,
		// and so is everything before it; keep the rest of the log.
		r.log.commitTo(s.Index)
		r.send(Message{Type: MsgAppResp, To: m.From, Index: s.Index})
	default:
		r.logger.Debug("restoring snapshot", "index", s.Index, "term", s.Term)
		r.log.restore(s)
		if len(s.Voters) > 0 {
			r.setVoters(s.Voters)
		}
		r.snapToHand = m.Snapshot
		r.send(Message{Type: MsgAppResp, To: m.From, Index: s.Index})
	}
}
