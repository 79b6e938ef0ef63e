package raft

import "fmt"

// ProgressState is how the leader replicates to one follower.
type ProgressState uint8

const (
	// StateProbe: the leader does not know where the follower's log matches
	// its own; it sends one AppendEntries at a time and waits for the answer
	// (or a heartbeat response) before sending another.
	StateProbe ProgressState = iota
	// StateReplicate: the logs match up to Match; the leader streams entries
	// optimistically, up to a window of messages in flight (pipelining).
	StateReplicate
	// StateSnapshot: the follower needs entries the leader has compacted; a
	// snapshot is on its way and nothing else is sent until it is answered.
	StateSnapshot
)

func (s ProgressState) String() string {
	switch s {
	case StateProbe:
		return "probe"
	case StateReplicate:
		return "replicate"
	case StateSnapshot:
		return "snapshot"
	}
	return fmt.Sprintf("ProgressState(%d)", uint8(s))
}

// Progress is the leader's view of one follower.
type Progress struct {
	ID    uint64
	Match uint64 // highest index known to be durable on the follower
	Next  uint64 // next index to send
	State ProgressState

	// ProbeSent: in StateProbe, one message is out and the next must wait.
	ProbeSent bool
	// PendingSnapshot: in StateSnapshot, the index of the snapshot sent.
	PendingSnapshot uint64
	// RecentActive: the follower answered since the last CheckQuorum round.
	RecentActive bool
	// SentCommit is the highest commit index sent in an AppendEntries.
	SentCommit uint64
	// AckedRound is the newest heartbeat round the follower answered.
	AckedRound uint64

	Inflights Inflights
}

func newProgress(id, next uint64, window int) *Progress {
	return &Progress{ID: id, Next: next, Inflights: Inflights{buf: make([]uint64, window)}}
}

func (p *Progress) reset(next uint64) {
	p.Match, p.Next = 0, next
	p.State, p.ProbeSent, p.PendingSnapshot, p.RecentActive, p.SentCommit = StateProbe, false, 0, false, 0
	p.Inflights.Reset()
}

// BecomeProbe restarts probing from the best guess we have.
func (p *Progress) BecomeProbe() {
	if p.State == StateSnapshot {
		p.Next = max(p.Match+1, p.PendingSnapshot+1)
	} else {
		p.Next = p.Match + 1
	}
	p.State, p.ProbeSent, p.PendingSnapshot = StateProbe, false, 0
	p.Inflights.Reset()
}

// BecomeReplicate starts streaming right after Match.
func (p *Progress) BecomeReplicate() {
	p.State, p.ProbeSent, p.PendingSnapshot = StateReplicate, false, 0
	p.Next = p.Match + 1
	p.Inflights.Reset()
}

// BecomeSnapshot records that a snapshot at index is on its way.
func (p *Progress) BecomeSnapshot(index uint64) {
	p.State, p.ProbeSent, p.PendingSnapshot = StateSnapshot, false, index
	p.Inflights.Reset()
}

// MaybeUpdate records an acknowledgement of index; it reports whether Match
// moved.
func (p *Progress) MaybeUpdate(index uint64) bool {
	updated := false
	if p.Match < index {
		p.Match = index
		p.ProbeSent = false
		updated = true
	}
	p.Next = max(p.Next, index+1)
	return updated
}

// MaybeDecrTo handles a rejection of the message whose preceding index was
// rejected; next is the leader's guess from the follower's conflict hint. It
// reports false for a stale rejection (one that cannot be about the current
// state of the follower).
func (p *Progress) MaybeDecrTo(rejected, next uint64) bool {
	if p.State == StateReplicate {
		if rejected <= p.Match {
			return false // stale: everything up to Match was acknowledged
		}
		p.Next = max(min(rejected, next), p.Match+1)
		return true
	}
	// In probe (or snapshot) state only the answer to the latest probe counts.
	if p.Next-1 != rejected {
		return false
	}
	p.Next = max(min(rejected, next), p.Match+1)
	p.ProbeSent = false
	return true
}

// IsPaused reports whether the leader must not send entries now.
func (p *Progress) IsPaused() bool {
	switch p.State {
	case StateProbe:
		return p.ProbeSent
	case StateReplicate:
		return p.Inflights.Full()
	}
	return true
}

func (p *Progress) String() string {
	return fmt.Sprintf("%d: %s match=%d next=%d inflight=%d", p.ID, p.State, p.Match, p.Next, p.Inflights.Count())
}

// Inflights is a bounded ring of the last index carried by each
// AppendEntries in flight to one follower: the pipelining window.
type Inflights struct {
	buf   []uint64
	start int
	count int
}

// Add records a message whose last entry is index. Panics if full: callers
// check Full first (a broken invariant, not an environmental error).
func (in *Inflights) Add(index uint64) {
	if in.Full() {
		panic("raft: inflights overflow")
	}
	in.buf[(in.start+in.count)%len(in.buf)] = index
	in.count++
}

// FreeLE frees every message whose last index is <= index.
func (in *Inflights) FreeLE(index uint64) {
	for in.count > 0 && in.buf[in.start] <= index {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

// FreeFirstOne frees the oldest message (used when a heartbeat answer shows
// the follower alive while acknowledgements were lost).
func (in *Inflights) FreeFirstOne() {
	if in.count > 0 {
		in.start = (in.start + 1) % len(in.buf)
		in.count--
	}
}

// Full reports whether the window is full.
func (in *Inflights) Full() bool { return in.count == len(in.buf) }

// Count is the number of messages in flight.
func (in *Inflights) Count() int { return in.count }

// Reset empties the window.
func (in *Inflights) Reset() { in.start, in.count = 0, 0 }
