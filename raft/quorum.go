package raft

import "slices"

// VoteResult is the outcome of counting votes in a configuration.
type VoteResult uint8

const (
	VotePending VoteResult = iota // neither won nor lost yet
	VoteLost                      // enough rejections that winning is impossible
	VoteWon                       // a quorum granted
)

// MajorityConfig is a set of voters decided by simple majority.
type MajorityConfig []uint64

// CommittedIndex returns the largest index that a majority of the voters
// hold, given each voter's acknowledged (durable) index. An empty config
// returns the maximum uint64, so that in a joint config it never limits the
// other half.
func (c MajorityConfig) CommittedIndex(acked func(id uint64) uint64) uint64 {
	n := len(c)
	if n == 0 {
		return ^uint64(0)
	}
	// Sort on the stack for up to 7 voters so that small clusters never
	// allocate on the commit path.
	var stack [7]uint64
	var idx []uint64
	if n <= len(stack) {
		idx = stack[:n]
	} else {
		idx = make([]uint64, n)
	}
	for i, id := range c {
		idx[i] = acked(id)
	}
	// Insertion sort: n is tiny and this avoids the generic sort's overhead.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && idx[j-1] > idx[j]; j-- {
			idx[j-1], idx[j] = idx[j], idx[j-1]
		}
	}
	// Ascending order: the element at n - quorum is held by a quorum.
	return idx[n-(n/2+1)]
}

// VoteResult counts votes: vote(id) returns (granted, responded).
func (c MajorityConfig) VoteResult(vote func(id uint64) (granted, responded bool)) VoteResult {
	if len(c) == 0 {
		return VoteWon // an empty half of a joint config never blocks
	}
	granted, missing := 0, 0
	for _, id := range c {
		g, ok := vote(id)
		switch {
		case !ok:
			missing++
		case g:
			granted++
		}
	}
	q := len(c)/2 + 1
	if granted >= q {
		return VoteWon
	}
	if granted+missing >= q {
		return VotePending
	}
	return VoteLost
}

// Contains reports whether id is a voter.
func (c MajorityConfig) Contains(id uint64) bool { return slices.Contains(c, id) }

// JointConfig is a pair of majority configs that must both agree: the
// outgoing and incoming voters of a membership change. When no change is in
// progress the second half is empty and the pair behaves like the first.
type JointConfig [2]MajorityConfig

// CommittedIndex is the smaller of the two halves' committed indexes.
func (c JointConfig) CommittedIndex(acked func(id uint64) uint64) uint64 {
	return min(c[0].CommittedIndex(acked), c[1].CommittedIndex(acked))
}

// VoteResult wins only if both halves win and loses if either loses.
func (c JointConfig) VoteResult(vote func(id uint64) (granted, responded bool)) VoteResult {
	r0, r1 := c[0].VoteResult(vote), c[1].VoteResult(vote)
	switch {
	case r0 == VoteWon && r1 == VoteWon:
		return VoteWon
	case r0 == VoteLost || r1 == VoteLost:
		return VoteLost
	}
	return VotePending
}

// Contains reports whether id votes in either half.
func (c JointConfig) Contains(id uint64) bool { return c[0].Contains(id) || c[1].Contains(id) }

// IDs returns the union of both halves, sorted, without duplicates.
func (c JointConfig) IDs() []uint64 {
	ids := make([]uint64, 0, len(c[0])+len(c[1]))
	ids = append(ids, c[0]...)
	ids = append(ids, c[1]...)
	slices.Sort(ids)
	return slices.Compact(ids)
}
