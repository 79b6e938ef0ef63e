package sim

import (
	"bytes"
	"fmt"
	"sort"

	"github.com/raftbench/raftbench/raft"
)

// checker verifies Raft's safety properties (Figure 3 of the paper) as the
// run goes:
//
//   - Election Safety: at most one leader per term.
//   - Log Matching: two logs holding an entry with the same index and term
//     are identical up to it. Checked through a registry: every (index,
//     term) ever written anywhere must always come with the same data and
//     the same preceding term; by induction, equal (index, term) then means
//     equal prefixes.
//   - Leader Completeness: an entry committed in term T is in the log of
//     every leader of a term above T.
//   - State Machine Safety: no two nodes apply different entries at one
//     index; committed entries never change.
type checker struct {
	leaders map[uint64]uint64 // term -> leader
	written map[[2]uint64]writtenEntry

	// committed[i] (i >= 1, slot 0 unused): the entry term at i and the
	// lowest term in which any node was seen to hold i committed. Since
	// commits are prefix-closed, commitTerm never decreases along i.
	committed []committedEntry
	applied   []raft.Entry // the first entry applied at each index
	states    []uint64     // the state machine's fingerprint after each index

	seenCommit map[uint64]uint64 // node -> highest commit index recorded
	readFloor  map[string]uint64 // read request -> commit index known when made
}

type writtenEntry struct {
	prevTerm uint64
	hasPrev  bool
	data     []byte
}

type committedEntry struct {
	term, commitTerm uint64
}

func newChecker() *checker {
	return &checker{
		leaders:    map[uint64]uint64{},
		written:    map[[2]uint64]writtenEntry{},
		committed:  []committedEntry{{}},
		applied:    []raft.Entry{{}},
		states:     []uint64{0},
		seenCommit: map[uint64]uint64{},
		readFloor:  map[string]uint64{},
	}
}

func violation(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvariant, fmt.Sprintf(format, args...))
}

// roleChange checks Election Safety as soon as a node becomes leader, and
// Leader Completeness for the new leader.
func (k *checker) roleChange(rc raft.RoleChange) error {
	if rc.To != raft.Leader {
		return nil
	}
	if other, ok := k.leaders[rc.Term]; ok && other != rc.ID {
		return violation("election safety: nodes %d and %d both leader in term %d", other, rc.ID, rc.Term)
	}
	k.leaders[rc.Term] = rc.ID
	return nil
}

// ready checks that the entries a node hands out are the ones its log holds.
func (k *checker) ready(n *node, rd *raft.Ready) error {
	// Record the node's commit index first: the Ready may apply entries.
	if err := k.commits(n, n.core.Status()); err != nil {
		return err
	}
	for _, e := range rd.Entries {
		if t, ok := n.core.LogTerm(e.Index); !ok || t != e.Term {
			return violation("node %d hands entry %d/%d that its log does not hold (term %d, %t)", n.id, e.Index, e.Term, t, ok)
		}
	}
	return nil
}

// durable checks Log Matching for entries that became durable on a node,
// against the registry of every entry ever made durable anywhere. (Entries
// that only ever lived in a crashed node's memory are not in any log: a
// single-node leader, which needs no one's vote, may reuse its term after a
// crash lost its undurable vote, but nothing it did in that term was ever
// durable or seen.)
func (k *checker) durable(n *node, ents []raft.Entry) error {
	for _, e := range ents {
		prev, hasPrev := n.durableTerm(e.Index - 1)
		key := [2]uint64{e.Index, e.Term}
		w, seen := k.written[key]
		if !seen {
			k.written[key] = writtenEntry{prevTerm: prev, hasPrev: hasPrev, data: e.Data}
			continue
		}
		if !bytes.Equal(w.data, e.Data) {
			return violation("log matching: node %d holds entry %d/%d with data %q, another node %q", n.id, e.Index, e.Term, e.Data, w.data)
		}
		if hasPrev && w.hasPrev && prev != w.prevTerm {
			return violation("log matching: node %d has term %d before entry %d/%d, another node term %d", n.id, prev, e.Index, e.Term, w.prevTerm)
		}
	}
	return nil
}

// afterEvent checks the node an event touched: its commit index (committed
// entries never change) and, if it leads, Leader Completeness and Election
// Safety.
func (k *checker) afterEvent(n *node) error {
	st := n.core.Status()
	if st.Role == raft.Leader {
		if other, ok := k.leaders[st.Term]; ok && other != n.id {
			return violation("election safety: nodes %d and %d both leader in term %d", other, n.id, st.Term)
		}
	}
	if err := k.commits(n, st); err != nil {
		return err
	}
	if st.Role == raft.Leader {
		return k.leaderComplete(n, st.Term)
	}
	return nil
}

// commits records the entries a node holds committed.
func (k *checker) commits(n *node, st raft.Status) error {
	from := k.seenCommit[n.id]
	if st.Commit > from {
		snapIndex, _ := n.core.SnapshotIndex()
		for i := from + 1; i <= st.Commit; i++ {
			var t uint64
			if i > snapIndex {
				t, _ = n.core.LogTerm(i)
			}
			if err := k.recordCommit(n.id, i, t, st.Term); err != nil {
				return err
			}
		}
		k.seenCommit[n.id] = st.Commit
	}
	return nil
}

// recordCommit records that node id holds index i (of term t; 0 when the
// node only knows it through a snapshot) committed while in term.
func (k *checker) recordCommit(id, i, t, term uint64) error {
	for uint64(len(k.committed)) <= i {
		k.committed = append(k.committed, committedEntry{})
	}
	c := &k.committed[i]
	switch {
	case c.commitTerm == 0:
		c.term, c.commitTerm = t, term
	case t != 0 && c.term == 0:
		c.term = t
		c.commitTerm = min(c.commitTerm, term)
	case t != 0 && c.term != t:
		return violation("state machine safety: node %d commits entry %d of term %d, committed before with term %d", id, i, t, c.term)
	default:
		c.commitTerm = min(c.commitTerm, term)
	}
	return nil
}

// leaderComplete checks that a leader of term holds every entry committed in
// an earlier term: it is enough to check the last such entry, since Log
// Matching (checked separately) makes equal entries imply equal prefixes.
func (k *checker) leaderComplete(n *node, term uint64) error {
	// The committed slice is ordered by commitTerm (prefix-closed commits),
	// except for slots not yet seen (commitTerm 0), which only trail.
	hi := sort.Search(len(k.committed)-1, func(i int) bool {
		c := k.committed[i+1]
		return c.commitTerm == 0 || c.commitTerm >= term
	})
	// hi entries (indexes 1..hi) were committed in terms below term.
	for i := uint64(hi); i >= 1; i-- {
		c := k.committed[i]
		if c.term == 0 {
			continue // known only through snapshots: look further back
		}
		snapIndex, _ := n.core.SnapshotIndex()
		if i <= snapIndex {
			return nil // compacted into the leader's snapshot: committed
		}
		t, ok := n.core.LogTerm(i)
		if !ok || t != c.term {
			return violation("leader completeness: leader %d of term %d lacks entry %d of term %d (committed in term %d; it has term %d, %t)",
				n.id, term, i, c.term, c.commitTerm, t, ok)
		}
		return nil
	}
	return nil
}

// apply checks State Machine Safety for one applied entry.
func (k *checker) apply(id uint64, e raft.Entry) error {
	for uint64(len(k.applied)) <= e.Index {
		k.applied = append(k.applied, raft.Entry{})
	}
	a := &k.applied[e.Index]
	if a.Term == 0 {
		*a = e
	} else if a.Term != e.Term || !bytes.Equal(a.Data, e.Data) {
		return violation("state machine safety: node %d applies %d/%d %q, another node applied %d/%d %q",
			id, e.Index, e.Term, e.Data, a.Index, a.Term, a.Data)
	}
	if uint64(len(k.committed)) <= e.Index || k.committed[e.Index].commitTerm == 0 {
		return violation("node %d applies entry %d that no node holds committed", id, e.Index)
	}
	return nil
}

// state checks that a node's state machine after applying index (or
// restoring a snapshot of it) is the same as every other node's there.
func (k *checker) state(id, index, fingerprint uint64) error {
	for uint64(len(k.states)) <= index {
		k.states = append(k.states, 0)
	}
	switch s := k.states[index]; {
	case s == 0:
		k.states[index] = fingerprint
	case s != fingerprint:
		return violation("state machine safety: node %d's state after index %d differs from another node's (%x vs %x)", id, index, fingerprint, s)
	}
	return nil
}

// maxCommitted is the highest index known committed anywhere.
func (k *checker) maxCommitted() uint64 { return uint64(len(k.committed) - 1) }

// readStart records what a read made now must see: linearizability asks
// that it reflect every write that completed before it, and any entry
// committed anywhere may already have been acknowledged to a client.
func (k *checker) readStart(ctx []byte) { k.readFloor[string(ctx)] = k.maxCommitted() }

func (k *checker) readDone(id uint64, rs raft.ReadState) error {
	floor, ok := k.readFloor[string(rs.Context)]
	if !ok {
		return violation("node %d answers unknown read %x", id, rs.Context)
	}
	// The request stays known: a duplicated message may answer it twice,
	// and every answer must be right.
	if rs.Index < floor {
		return violation("linearizable read: node %d answers read %x at index %d, but %d was committed before it was made", id, rs.Context, rs.Index, floor)
	}
	return nil
}

func (k *checker) leaseRead(id, index uint64) error {
	if floor := k.maxCommitted(); index < floor {
		return violation("lease read: leader %d grants index %d, but %d is committed", id, index, floor)
	}
	return nil
}
