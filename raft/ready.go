package raft

// Ready is a batch of work for the driver. See the package documentation
// for the order in which the driver must carry it out.
type Ready struct {
	// HardState is set (non-zero) when the term or vote changed; it must be
	// durable before MessagesAfterPersist leave.
	HardState HardState
	// Snapshot, when non-nil, was received from the leader: persist it, then
	// restore the state machine from it before applying CommittedEntries.
	Snapshot *Snapshot
	// Entries to append to the durable log. If Entries[0].Index is not
	// beyond the last index written, the log is first truncated there.
	Entries []Entry
	// Mark identifies this batch's write; hand it to Persisted once the
	// write is durable.
	Mark PersistMark

	// Messages may be sent at once, in parallel with the write (the
	// leader's appends and heartbeats, pre-votes). The slice is valid until
	// the next call to Ready: send or copy the messages before that.
	Messages []Message
	// MessagesAfterPersist may be sent only when the write of this Ready
	// and of every earlier Ready is durable (votes, vote requests,
	// acknowledgements of entries).
	MessagesAfterPersist []Message

	// CommittedEntries are committed and durable here: apply them in order.
	CommittedEntries []Entry

	// ReadStates answer ReadIndex requests (see ReadState).
	ReadStates []ReadState
}

// MustPersist reports whether the Ready carries state to make durable.
func (rd *Ready) MustPersist() bool {
	return rd.HardState != (HardState{}) || rd.Snapshot != nil || len(rd.Entries) > 0
}

// HasReady reports whether Ready would return anything.
func (r *Raft) HasReady() bool {
	return len(r.msgs) > 0 || len(r.msgsAfter) > 0 || r.snapToHand != nil || len(r.readStates) > 0 ||
		r.log.hasUnstable() || r.log.hasToApply() || r.hardChanged()
}

func (r *Raft) hardChanged() bool {
	return r.term != r.hardHanded.Term || r.vote != r.hardHanded.Vote
}

// Ready hands the pending work to the driver. What it returns is the
// driver's: the core will not hand it out again nor modify it.
func (r *Raft) Ready() Ready {
	var rd Ready
	if r.hardChanged() {
		rd.HardState = r.hardState()
		r.hardHanded = rd.HardState
	}
	rd.Snapshot, r.snapToHand = r.snapToHand, nil
	rd.Entries = r.log.takeUnstable()
	rd.Mark = PersistMark{Index: r.log.lastIndex(), Term: r.log.lastTerm()}
	rd.CommittedEntries = r.log.takeToApply()
	if len(r.msgs) > 0 {
		// Double-buffered: Messages stay valid until the next call to
		// Ready, then their array is reused (the driver sends, or copies,
		// them before it gives the core another input). This saves an
		// allocation per Ready on the leader's hot path.
		rd.Messages = r.msgs
		r.msgs, r.msgsSpare = r.msgsSpare[:0], r.msgs
	}
	if len(r.msgsAfter) > 0 {
		rd.MessagesAfterPersist, r.msgsAfter = r.msgsAfter, nil
	}
	if len(r.readStates) > 0 {
		rd.ReadStates, r.readStates = r.readStates, nil
	}
	return rd
}
