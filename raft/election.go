package raft

// campaign starts an election: through PreVote when enabled, else directly.
func (r *Raft) campaign() {
	if r.cfg.PreVote {
		r.becomePreCandidate()
		r.requestVotes(MsgPreVote, r.term+1)
		return
	}
	r.startElection()
}

// startElection bumps the term, votes for itself and asks every voter.
func (r *Raft) startElection() {
	r.becomeCandidate()
	r.requestVotes(MsgVote, r.term)
}

func (r *Raft) requestVotes(t MessageType, term uint64) {
	r.logger.Debug("campaigning", "type", t, "term", term)
	if r.poll(r.id, true) == VoteWon {
		r.electionWon(t)
		return
	}
	last, lastTerm := r.log.lastIndex(), r.log.lastTerm()
	for _, id := range r.voters.IDs() {
		if id != r.id {
			r.send(Message{Type: t, To: id, Term: term, Index: last, LogTerm: lastTerm})
		}
	}
}

func (r *Raft) electionWon(t MessageType) {
	if t == MsgPreVote {
		r.startElection()
	} else {
		r.becomeLeader()
	}
}

// poll records one answer and returns the tally.
func (r *Raft) poll(id uint64, granted bool) VoteResult {
	seen := false
	for _, v := range r.votes {
		if v.id == id {
			seen = true
			break
		}
	}
	if !seen {
		r.votes = append(r.votes, vote{id, granted})
	}
	return r.voters.VoteResult(func(id uint64) (bool, bool) {
		for _, v := range r.votes {
			if v.id == id {
				return v.granted, true
			}
		}
		return false, false
	})
}

// handleVoteRequest answers MsgVote and MsgPreVote (after the term checks:
// m.Term >= r.term here).
func (r *Raft) handleVoteRequest(m Message) {
	respType := MsgVoteResp
	if m.Type == MsgPreVote {
		respType = MsgPreVoteResp
	}
	// One vote per term: we may grant again only to the one we voted for.
	// A node that knows a leader in this term votes for nobody else. A
	// pre-vote for a future term is hypothetical and binds nothing.
	canVote := r.vote == m.From ||
		(r.vote == None && r.lead == None) ||
		(m.Type == MsgPreVote && m.Term > r.term)
	if canVote && r.log.isUpToDate(m.Index, m.LogTerm) {
		if m.Type == MsgVote {
			r.vote = m.From
			r.resetElectionTimer()
		}
		// A granted pre-vote answers with the term asked about, so the
		// pre-candidate can tell it apart from stale answers.
		r.send(Message{Type: respType, To: m.From, Term: m.Term})
		return
	}
	r.send(Message{Type: respType, To: m.From, Term: r.term, Reject: true})
}

// stepCandidate handles messages for a candidate or pre-candidate (m.Term >=
// r.term, except granted pre-vote answers which carry r.term+1).
func (r *Raft) stepCandidate(m Message) error {
	want := MsgVoteResp
	if r.role == PreCandidate {
		want = MsgPreVoteResp
	}
	switch m.Type {
	case MsgApp, MsgHeartbeat, MsgSnap:
		// A leader exists in our term (m.Term == r.term).
		r.becomeFollower(m.Term, m.From)
		return r.stepFollower(m)
	case want:
		switch r.poll(m.From, !m.Reject) {
		case VoteWon:
			if r.role == PreCandidate {
				r.startElection()
			} else {
				r.becomeLeader()
			}
		case VoteLost:
			// Return to follower and wait for the timeout drawn when the
			// campaign started.
			r.becomeFollower(r.term, None)
		}
	}
	return nil
}
