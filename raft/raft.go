package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// ErrNotLeader is returned (wrapped in *NotLeaderError) for a proposal made
// to a node that is not the leader.
var ErrNotLeader = errors.New("raft: not the leader")

// ErrProtocol wraps the error returned for a message that no correct peer
// sends (malformed, or contradicting committed state). The core ignores such
// a message and stays consistent.
var ErrProtocol = errors.New("raft: protocol violation")

// NotLeaderError carries the leader this node knows of (None if it knows of
// none), so that a client can redirect.
type NotLeaderError struct{ Leader uint64 }

func (e *NotLeaderError) Error() string {
	if e.Leader == None {
		return "raft: not the leader (leader unknown)"
	}
	return fmt.Sprintf("raft: not the leader (leader is %d)", e.Leader)
}

func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }

// State is what a node reloads from disk on restart.
type State struct {
	HardState HardState
	Snapshot  SnapshotMeta // zero when there is none
	Entries   []Entry      // the durable log after Snapshot.Index, contiguous
}

// Raft is one node's protocol state. It is not safe for concurrent use: one
// driver goroutine owns it (see the package documentation for the contract).
type Raft struct {
	id     uint64
	cfg    Config
	logger *slog.Logger

	term uint64
	vote uint64
	role Role
	lead uint64

	log    raftLog
	voters JointConfig
	prs    []*Progress // one per voter, self included; used while leader

	votes []vote // the current campaign's answers

	now               time.Duration
	electionDeadline  time.Duration
	heartbeatDeadline time.Duration
	quorumDeadline    time.Duration // next CheckQuorum round
	commitNotifyAt    time.Duration // leader: when held-back commit updates go out (0: none held)
	leaderContact     time.Duration // last time we heard from the leader

	// Reads (see read.go).
	termStart    uint64 // index of this leader's no-op
	hbRound      uint64
	roundTimes   [roundRing]time.Duration
	pendingReads []pendingRead
	readStates   []ReadState
	bootedAt     time.Duration

	msgs         []Message
	msgsSpare    []Message // the array handed out by the previous Ready
	msgsAfter    []Message
	hardHanded   HardState // last hard state handed to the driver
	snapToHand   *Snapshot
	lastReported RoleChange
}

type vote struct {
	id      uint64
	granted bool
}

// New creates a core from its durable state at time now. A node with no
// state starts as a follower at term 0 with the voters of cfg.
func New(cfg Config, st State, now time.Duration) (*Raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	voters := cfg.Voters
	if st.Snapshot.Index > 0 && len(st.Snapshot.Voters) > 0 {
		voters = st.Snapshot.Voters
	}
	if len(voters) == 0 {
		return nil, fmt.Errorf("%w: no voters in config or snapshot", ErrInvalidConfig)
	}
	if n := len(st.Entries); n > 0 && st.Entries[0].Index != st.Snapshot.Index+1 {
		return nil, fmt.Errorf("raft: first entry %d does not follow snapshot %d", st.Entries[0].Index, st.Snapshot.Index)
	}
	r := &Raft{
		id:       cfg.ID,
		cfg:      cfg,
		logger:   cfg.Logger.With("node", cfg.ID),
		term:     st.HardState.Term,
		vote:     st.HardState.Vote,
		log:      newLog(st.Snapshot, st.Entries, st.HardState.Commit),
		now:      now,
		bootedAt: now,
	}
	r.setVoters(voters)
	r.hardHanded = r.hardState()
	r.becomeFollower(r.term, None)
	r.resetElectionTimer()
	r.lastReported = r.roleChange()
	return r, nil
}

func (r *Raft) setVoters(ids []uint64) {
	r.voters = JointConfig{append(MajorityConfig(nil), ids...)}
	r.prs = r.prs[:0]
	for _, id := range r.voters.IDs() {
		r.prs = append(r.prs, newProgress(id, r.log.lastIndex()+1, r.cfg.MaxInflightMsgs))
	}
}

func (r *Raft) progress(id uint64) *Progress {
	for _, p := range r.prs {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func (r *Raft) hardState() HardState {
	return HardState{Term: r.term, Vote: r.vote, Commit: r.log.committed}
}

// --- inputs -------------------------------------------------------------

// Tick tells the core the time is now; it acts on every deadline that has
// passed. Call it when NextDeadline is reached (calling it more often is
// harmless).
func (r *Raft) Tick(now time.Duration) {
	r.advanceClock(now)
	switch r.role {
	case Leader:
		if r.cfg.CheckQuorum && now >= r.quorumDeadline {
			r.quorumDeadline = now + r.cfg.ElectionTimeoutMin
			if !r.checkQuorum() {
				r.logger.Debug("stepping down: no quorum heard within election timeout", "term", r.term)
				r.becomeFollower(r.term, None)
				break
			}
		}
		if r.commitNotifyAt != 0 && now >= r.commitNotifyAt {
			r.commitNotifyAt = 0
			r.bcastCommit()
		}
		if now >= r.heartbeatDeadline {
			r.heartbeatDeadline = now + r.cfg.HeartbeatInterval
			r.startRound()
		}
	default:
		if now >= r.electionDeadline {
			r.resetElectionTimer()
			if r.isVoter() {
				r.campaign()
			}
		}
	}
	r.reportRoleChange()
}

// NextDeadline is the time at which the core next needs Tick.
func (r *Raft) NextDeadline() time.Duration {
	if r.role != Leader {
		return r.electionDeadline
	}
	d := r.heartbeatDeadline
	if r.cfg.CheckQuorum {
		d = min(d, r.quorumDeadline)
	}
	if r.commitNotifyAt != 0 {
		d = min(d, r.commitNotifyAt)
	}
	return d
}

// Campaign starts an election now (through PreVote when enabled), as if the
// election timeout had elapsed. A leader ignores it, and so, with
// CheckQuorum, does a node in lease: it has answered a live leader within
// ElectionTimeoutMin, and its own vote must not help elect another leader
// while that leader may serve lease reads.
func (r *Raft) Campaign(now time.Duration) {
	r.advanceClock(now)
	if r.role != Leader && r.isVoter() && !(r.cfg.CheckQuorum && r.inLease()) {
		r.resetElectionTimer()
		r.campaign()
	}
	r.reportRoleChange()
}

// Propose appends one entry per element of data as a single batch. It
// returns the indexes given to the first and last entry. On a non-leader it
// returns a *NotLeaderError naming the leader it knows. The core keeps the
// data slices without copying them.
func (r *Raft) Propose(now time.Duration, data ...[]byte) (first, last uint64, err error) {
	r.advanceClock(now)
	if r.role != Leader {
		return 0, 0, &NotLeaderError{Leader: r.lead}
	}
	if len(data) == 0 {
		return 0, 0, nil
	}
	first = r.log.lastIndex() + 1
	r.log.reserve(len(data))
	for i, d := range data {
		r.log.entries = append(r.log.entries, Entry{Term: r.term, Index: first + uint64(i), Type: EntryNormal, Data: d})
	}
	last = r.log.lastIndex()
	r.bcastAppend(false)
	return first, last, nil
}

// Step feeds one message received from a peer.
func (r *Raft) Step(now time.Duration, m Message) error {
	r.advanceClock(now)
	defer r.reportRoleChange()
	if err := validate(m); err != nil {
		return err
	}
	if m.To != r.id {
		return fmt.Errorf("%w: %s for %d delivered to %d", ErrProtocol, m.Type, m.To, r.id)
	}
	if m.From == r.id {
		return fmt.Errorf("%w: %s from this node itself", ErrProtocol, m.Type)
	}

	// Term handling common to every role.
	switch {
	case m.Term > r.term:
		if (m.Type == MsgVote && r.cfg.CheckQuorum || m.Type == MsgPreVote) && r.inLease() {
			// We heard from a live leader within the minimum election
			// timeout: a candidate asking now would disrupt a healthy
			// cluster. Ignore it without adopting its term.
			r.logger.Debug("ignoring vote request in lease", "from", m.From, "type", m.Type, "term", m.Term)
			return nil
		}
		switch {
		case m.Type == MsgPreVote:
			// A pre-vote never changes our term.
		case m.Type == MsgPreVoteResp && !m.Reject:
			// A granted pre-vote carries the future term the pre-candidate
			// asked about; it is counted below, not adopted.
		case m.Type == MsgApp || m.Type == MsgHeartbeat || m.Type == MsgSnap:
			r.becomeFollower(m.Term, m.From)
		default:
			r.becomeFollower(m.Term, None)
		}
	case m.Term < r.term:
		switch {
		case (r.cfg.CheckQuorum || r.cfg.PreVote) && (m.Type == MsgApp || m.Type == MsgHeartbeat):
			// A stale leader: answer with our term so it steps down. Without
			// this, a leader cut off by PreVote/CheckQuorum would never learn
			// of the newer term.
			r.send(Message{Type: MsgAppResp, To: m.From})
		case m.Type == MsgPreVote:
			r.send(Message{Type: MsgPreVoteResp, To: m.From, Term: r.term, Reject: true})
		}
		return nil
	}

	switch m.Type {
	case MsgVote, MsgPreVote:
		r.handleVoteRequest(m)
		return nil
	case MsgReadIndex, MsgReadIndexResp:
		r.stepRead(m)
		return nil
	}
	switch r.role {
	case Leader:
		return r.stepLeader(m)
	case Candidate, PreCandidate:
		return r.stepCandidate(m)
	}
	return r.stepFollower(m)
}

// validate refuses messages that no correct peer sends, so that a corrupt
// or hostile message cannot break the core's invariants.
func validate(m Message) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s from %d: %s", ErrProtocol, m.Type, m.From, fmt.Sprintf(format, args...))
	}
	switch {
	case !m.Type.Valid():
		return fmt.Errorf("%w: unknown message type %d from %d", ErrProtocol, m.Type, m.From)
	case m.Term == 0:
		return bad("no term")
	case m.From == None:
		return bad("no sender")
	}
	switch m.Type {
	case MsgApp:
		if m.LogTerm > m.Term {
			return bad("previous entry's term %d above the message's term %d", m.LogTerm, m.Term)
		}
		prevTerm := m.LogTerm
		for i, e := range m.Entries {
			if e.Index != m.Index+1+uint64(i) {
				return bad("entry %d has index %d, want %d", i, e.Index, m.Index+1+uint64(i))
			}
			if e.Term < prevTerm || e.Term > m.Term {
				return bad("entry %d has term %d, want %d..%d", e.Index, e.Term, prevTerm, m.Term)
			}
			prevTerm = e.Term
		}
	case MsgVote, MsgPreVote:
		if m.LogTerm > m.Term {
			return bad("last log term %d above the candidate's term %d", m.LogTerm, m.Term)
		}
	case MsgSnap:
		if m.Snapshot == nil {
			return bad("no snapshot")
		}
		if s := m.Snapshot.Meta; s.Index == 0 || s.Term == 0 || s.Term > m.Term {
			return bad("snapshot index %d term %d", s.Index, s.Term)
		}
	}
	return nil
}

// Persisted tells the core that the write of the Ready whose Mark is m, and
// of every earlier Ready, is durable.
func (r *Raft) Persisted(now time.Duration, m PersistMark) {
	r.advanceClock(now)
	if r.log.persistedTo(m) && r.role == Leader && r.maybeCommit() {
		r.notifyCommit()
	}
	r.reportRoleChange()
}

// ReportSnapshot tells a leader whether the snapshot it asked the driver to
// send to id was delivered (failed=false) or not.
func (r *Raft) ReportSnapshot(now time.Duration, id uint64, failed bool) {
	r.advanceClock(now)
	pr := r.progress(id)
	if r.role != Leader || pr == nil || pr.State != StateSnapshot {
		return
	}
	if failed {
		pr.PendingSnapshot = 0
	}
	pr.BecomeProbe()
	// Wait for the follower's answer to the snapshot before probing.
	pr.ProbeSent = !failed
}

// Compact discards log entries up to and including index, which the driver
// has captured in a snapshot of the state machine. index must be applied.
func (r *Raft) Compact(index uint64) error {
	return r.log.compact(index)
}

func (r *Raft) advanceClock(now time.Duration) {
	if now < r.now {
		panic(fmt.Sprintf("raft: time went backwards: %v after %v", now, r.now))
	}
	r.now = now
}

// --- role transitions ---------------------------------------------------

func (r *Raft) isVoter() bool { return r.voters.Contains(r.id) }

// resetElectionTimer draws a fresh timeout, uniformly and continuously from
// [min, max] with nanosecond resolution.
// A candidate (or pre-candidate) with Config.CandidateTimeoutMax set
// draws from the candidate range instead.
func (r *Raft) resetElectionTimer() {
	lo, hi := r.cfg.ElectionTimeoutMin, r.cfg.ElectionTimeoutMax
	if r.cfg.CandidateTimeoutMax > 0 && (r.role == Candidate || r.role == PreCandidate) {
		lo, hi = r.cfg.CandidateTimeoutMin, r.cfg.CandidateTimeoutMax
	}
	span := int64(hi - lo)
	d := lo
	if span > 0 {
		d += time.Duration(r.cfg.Rand.Int64N(span + 1))
	}
	r.electionDeadline = r.now + d
}

// inLease reports whether we heard from a live leader (or are one) within
// the minimum election timeout.
func (r *Raft) inLease() bool {
	if r.lead == None {
		// After a restart we no longer know whether we answered a leader
		// whose lease is still running: keep it for one timeout.
		return r.cfg.CheckQuorum && r.now-r.bootedAt < r.cfg.ElectionTimeoutMin
	}
	return r.lead == r.id || r.now-r.leaderContact < r.cfg.ElectionTimeoutMin
}

// becomeFollower adopts term and lead. The election timer keeps running
// (Figure 2: only hearing from the current leader or granting a vote resets
// it); a candidate that learns of a higher term and refuses its vote
// request will therefore still time out when it planned to. A leader had no
// timer running, so it draws a fresh one.
func (r *Raft) becomeFollower(term, lead uint64) {
	if term != r.term {
		r.term = term
		r.vote = None
	}
	wasLeader := r.role == Leader
	if wasLeader {
		r.failReads()
		r.commitNotifyAt = 0
	}
	r.role = Follower
	r.lead = lead
	if lead != None {
		r.leaderContact = r.now
	}
	r.votes = r.votes[:0]
	if wasLeader {
		r.resetElectionTimer()
	}
}

func (r *Raft) becomePreCandidate() {
	// The term does not change: a pre-candidate only asks.
	r.role = PreCandidate
	r.lead = None
	r.votes = r.votes[:0]
	r.resetElectionTimer()
}

func (r *Raft) becomeCandidate() {
	r.term++
	r.vote = r.id
	r.role = Candidate
	r.lead = None
	r.votes = r.votes[:0]
	r.resetElectionTimer()
}

func (r *Raft) becomeLeader() {
	r.role = Leader
	r.lead = r.id
	r.votes = r.votes[:0]
	next := r.log.lastIndex() + 1
	for _, p := range r.prs {
		p.reset(next)
	}
	// The no-op of the new term (§5.4.2, §8): committing it commits every
	// earlier entry, and it tells the leader what is committed.
	r.log.append(Entry{Term: r.term, Index: next, Type: EntryNoop})
	r.termStart = next
	for _, p := range r.prs {
		p.AckedRound = r.hbRound
	}
	r.heartbeatDeadline = r.now + r.cfg.HeartbeatInterval
	r.quorumDeadline = r.now + r.cfg.ElectionTimeoutMin
	r.logger.Debug("became leader", "term", r.term, "last", r.log.lastIndex())
	r.bcastAppend(true)
	r.maybeCommit() // a single-node cluster commits on its own write
}

// --- output helpers -------------------------------------------------------

// send queues m. Messages that state a durable fact (a vote, a term this
// node adopted as a candidate, entries it acknowledges) wait until the
// driver has persisted everything handed out so far; the leader's own
// messages and pre-votes may leave at once.
func (r *Raft) send(m Message) {
	m.From = r.id
	if m.Term == 0 {
		m.Term = r.term
	}
	switch m.Type {
	case MsgVote, MsgVoteResp, MsgAppResp:
		r.msgsAfter = append(r.msgsAfter, m)
	default:
		r.msgs = append(r.msgs, m)
	}
}

func (r *Raft) roleChange() RoleChange {
	return RoleChange{ID: r.id, At: r.now, To: r.role, Term: r.term, Leader: r.lead}
}

func (r *Raft) reportRoleChange() {
	prev := r.lastReported
	if prev.To == r.role && prev.Term == r.term && prev.Leader == r.lead {
		return
	}
	rc := r.roleChange()
	rc.From = prev.To
	r.lastReported = rc
	if r.cfg.OnRoleChange != nil {
		r.cfg.OnRoleChange(rc)
	}
}

// --- observation ------------------------------------------------------------

// ID is this node's id.
func (r *Raft) ID() uint64 { return r.id }

// Status returns the node's figures; it does not allocate.
func (r *Raft) Status() Status {
	return Status{
		ID: r.id, Role: r.role, Term: r.term, Vote: r.vote, Leader: r.lead,
		Commit: r.log.committed, Applied: r.log.applied,
		LastIndex: r.log.lastIndex(), Persisted: r.log.persisted,
	}
}

// Role is the node's current role.
func (r *Raft) Role() Role { return r.role }

// Term is the node's current term.
func (r *Raft) Term() uint64 { return r.term }

// Leader is the leader this node knows of, or None.
func (r *Raft) Leader() uint64 { return r.lead }

// Voters returns the current voting configuration.
func (r *Raft) Voters() JointConfig { return r.voters }

// FirstIndex is the first index held in the log (compaction point + 1).
func (r *Raft) FirstIndex() uint64 { return r.log.firstIndex() }

// LastIndex is the last index in the log.
func (r *Raft) LastIndex() uint64 { return r.log.lastIndex() }

// Snapshot returns the log's compaction point.
func (r *Raft) SnapshotIndex() (index, term uint64) { return r.log.snapIndex, r.log.snapTerm }

// LogTerm returns the term of entry i, if the log holds it (or i is the
// compaction point).
func (r *Raft) LogTerm(i uint64) (uint64, bool) { return r.log.term(i) }

// Entries returns the entries [lo, hi) for reading; the caller must not
// modify them.
func (r *Raft) Entries(lo, hi uint64) []Entry { return r.log.slice(lo, hi) }

// Progress returns the leader's progress for follower id (nil if unknown).
// The caller must not modify it.
func (r *Raft) Progress(id uint64) *Progress { return r.progress(id) }
