package raft

import (
	"encoding/binary"
	"time"
)

// Linearizable reads without writing to the log.
//
// ReadIndex (Raft §8, thesis §6.4): the leader notes its commit index, then
// confirms it is still the leader with one heartbeat round answered by a
// quorum; a read served once the state machine has applied that index is
// linearizable. Every heartbeat is a numbered round (its Context carries
// the number), so a read joins a round started for it and concurrent
// requests share rounds. Until the leader has committed an entry of its own
// term it does not know the full commit index, so reads wait for its no-op.
//
// Lease reads (thesis §6.4.1), only with CheckQuorum: a follower that
// answers a heartbeat refuses to vote for anyone else for
// ElectionTimeoutMin after receiving it (it is "in lease"), so no other
// leader can be elected before send time + ElectionTimeoutMin of the last
// round a quorum answered. Until then the leader may serve reads at its
// commit index with no round trip. This assumes bounded clock drift: no
// node's monotonic clock runs more than MaxClockDrift faster or slower than
// another's over one election timeout. It does not assume synchronized
// clocks. A node that restarts stays in lease for ElectionTimeoutMin after
// boot, since it no longer remembers the lease it granted before the crash.

// roundRing is how many recent heartbeat rounds remember their send time.
const roundRing = 16

type pendingRead struct {
	ctx   []byte
	from  uint64 // r.id for local requests
	index uint64
	round uint64 // 0 until the leader has committed in its term
}

// ReadIndex asks for a linearizable read point for the request ctx (an id
// chosen by the driver, unique among its outstanding reads). The answer
// comes in Ready.ReadStates. A follower forwards the request to its leader;
// a node that knows no leader refuses with *NotLeaderError.
func (r *Raft) ReadIndex(now time.Duration, ctx []byte) error {
	r.advanceClock(now)
	defer r.reportRoleChange()
	switch {
	case r.role == Leader:
		r.leaderRead(ctx, r.id)
	case r.lead != None:
		r.send(Message{Type: MsgReadIndex, To: r.lead, Context: ctx})
	default:
		return &NotLeaderError{Leader: None}
	}
	return nil
}

// LeaseRead returns the commit index if this node is a leader whose lease
// is valid now (CheckQuorum on, a quorum answered a heartbeat round sent
// less than the lease ago, and an entry of its term committed); then a read
// served once that index is applied is linearizable.
func (r *Raft) LeaseRead(now time.Duration) (index uint64, ok bool) {
	r.advanceClock(now)
	if r.role != Leader || !r.cfg.CheckQuorum || !r.committedInTerm() {
		return 0, false
	}
	sentAt, known := r.roundSentAt(r.quorumRound())
	if !known || now >= sentAt+r.leaseDuration() {
		return 0, false
	}
	return r.log.committed, true
}

func (r *Raft) leaseDuration() time.Duration {
	return time.Duration(float64(r.cfg.ElectionTimeoutMin) * (1 - r.cfg.MaxClockDrift))
}

func (r *Raft) committedInTerm() bool { return r.log.committed >= r.termStart }

func (r *Raft) leaderRead(ctx []byte, from uint64) {
	pr := pendingRead{ctx: ctx, from: from}
	if r.committedInTerm() {
		pr.index = r.log.committed
		pr.round = r.startRound()
	}
	r.pendingReads = append(r.pendingReads, pr)
	r.advanceReads()
}

// startRound broadcasts a heartbeat round and returns its number.
func (r *Raft) startRound() uint64 {
	r.hbRound++
	r.roundTimes[r.hbRound%roundRing] = r.now
	ctx := binary.BigEndian.AppendUint64(make([]byte, 0, 8), r.hbRound)
	r.bcastHeartbeat(ctx)
	return r.hbRound
}

func (r *Raft) roundSentAt(round uint64) (time.Duration, bool) {
	if round == 0 || round > r.hbRound || r.hbRound-round >= roundRing {
		return 0, false
	}
	return r.roundTimes[round%roundRing], true
}

// quorumRound is the newest round a quorum has answered (the leader counts
// as answering every round it sent).
func (r *Raft) quorumRound() uint64 {
	return r.voters.CommittedIndex(func(id uint64) uint64 {
		if id == r.id {
			return r.hbRound
		}
		if p := r.progress(id); p != nil {
			return p.AckedRound
		}
		return 0
	})
}

// advanceReads answers every read whose round a quorum has confirmed.
func (r *Raft) advanceReads() {
	if len(r.pendingReads) == 0 {
		return
	}
	q := r.quorumRound()
	kept := r.pendingReads[:0]
	for _, pr := range r.pendingReads {
		if pr.round == 0 || pr.round > q {
			kept = append(kept, pr)
			continue
		}
		r.answerRead(pr, pr.index, false)
	}
	clear(r.pendingReads[len(kept):])
	r.pendingReads = kept
}

// startWaitingReads gives the reads that waited for the leader's first
// commit in its term their index and a round.
func (r *Raft) startWaitingReads() {
	if !r.committedInTerm() {
		return
	}
	var round uint64
	for i := range r.pendingReads {
		if pr := &r.pendingReads[i]; pr.round == 0 {
			if round == 0 {
				round = r.startRound()
			}
			pr.index, pr.round = r.log.committed, round
		}
	}
	r.advanceReads()
}

// failReads answers every pending read with a failure (leadership lost).
func (r *Raft) failReads() {
	for _, pr := range r.pendingReads {
		r.answerRead(pr, 0, true)
	}
	clear(r.pendingReads)
	r.pendingReads = r.pendingReads[:0]
}

func (r *Raft) answerRead(pr pendingRead, index uint64, failed bool) {
	if pr.from == r.id {
		r.readStates = append(r.readStates, ReadState{Index: index, Context: pr.ctx})
		return
	}
	r.send(Message{Type: MsgReadIndexResp, To: pr.from, Index: index, Reject: failed, Context: pr.ctx})
}

// stepRead handles the read messages in every role.
func (r *Raft) stepRead(m Message) {
	switch m.Type {
	case MsgReadIndex:
		if r.role != Leader {
			r.send(Message{Type: MsgReadIndexResp, To: m.From, Reject: true, Context: m.Context})
			return
		}
		r.leaderRead(m.Context, m.From)
	case MsgReadIndexResp:
		index := m.Index
		if m.Reject {
			index = 0
		}
		r.readStates = append(r.readStates, ReadState{Index: index, Context: m.Context})
	}
}

// heartbeatAcked records that a follower answered a heartbeat round.
func (r *Raft) heartbeatAcked(pr *Progress, ctx []byte) {
	if len(ctx) != 8 {
		return
	}
	round := binary.BigEndian.Uint64(ctx)
	if round > r.hbRound || round <= pr.AckedRound {
		return
	}
	pr.AckedRound = round
	r.advanceReads()
}
