package raft

import (
	"fmt"
	"sort"
)

// raftLog is the in-memory log between the compaction point and the last
// index, with the watermarks the core tracks about it:
//
//	snapIndex <= applied <= committed <= lastIndex
//	snapIndex <= persisted <= lastIndex
//	unstable: first index not yet handed to the driver to persist
//
// Entries are never modified in place once written to the slice: truncation
// cuts the slice's capacity so the next append copies to a new array. Slices
// handed to the driver (Ready.Entries, message entries) therefore stay valid
// and unchanged whatever the log does next.
type raftLog struct {
	snapIndex uint64
	snapTerm  uint64
	entries   []Entry // entries[i].Index == snapIndex + 1 + i

	committed uint64
	applied   uint64 // highest index handed to the driver for applying
	persisted uint64 // highest index durable on disk and still in the log
	unstable  uint64 // first index not yet handed to the driver
}

func newLog(snap SnapshotMeta, ents []Entry, commit uint64) raftLog {
	l := raftLog{snapIndex: snap.Index, snapTerm: snap.Term}
	l.entries = append([]Entry(nil), ents...)
	for i, e := range l.entries {
		if e.Index != snap.Index+1+uint64(i) {
			panic(fmt.Sprintf("raft: restored entries not contiguous: entry %d has index %d after snapshot %d", i, e.Index, snap.Index))
		}
	}
	last := l.lastIndex()
	l.committed = min(max(commit, snap.Index), last)
	l.applied = snap.Index
	l.persisted = last
	l.unstable = last + 1
	return l
}

func (l *raftLog) firstIndex() uint64 { return l.snapIndex + 1 }
func (l *raftLog) lastIndex() uint64  { return l.snapIndex + uint64(len(l.entries)) }

func (l *raftLog) lastTerm() uint64 {
	if n := len(l.entries); n > 0 {
		return l.entries[n-1].Term
	}
	return l.snapTerm
}

// term returns the term of entry i; ok is false when i is compacted away or
// beyond the last index.
func (l *raftLog) term(i uint64) (t uint64, ok bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.lastIndex():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

func (l *raftLog) matchTerm(i, t uint64) bool {
	lt, ok := l.term(i)
	return ok && lt == t
}

// isUpToDate is the election restriction (§5.4.1): a candidate whose last
// entry is (index, term) is at least as up to date as this log.
func (l *raftLog) isUpToDate(index, term uint64) bool {
	lt := l.lastTerm()
	return term > lt || (term == lt && index >= l.lastIndex())
}

// slice returns entries [lo, hi), capped so appends by the caller cannot
// reach the log's backing array.
func (l *raftLog) slice(lo, hi uint64) []Entry {
	if lo >= hi {
		return nil
	}
	if lo <= l.snapIndex || hi > l.lastIndex()+1 {
		panic(fmt.Sprintf("raft: slice [%d,%d) out of log [%d,%d]", lo, hi, l.firstIndex(), l.lastIndex()))
	}
	a, b := lo-l.snapIndex-1, hi-l.snapIndex-1
	return l.entries[a:b:b]
}

// entriesFrom returns up to maxEntries entries starting at lo whose data
// totals at most maxBytes (at least one entry when any exists).
func (l *raftLog) entriesFrom(lo uint64, maxEntries int, maxBytes uint64) []Entry {
	last := l.lastIndex()
	if lo > last {
		return nil
	}
	hi := min(last+1, lo+uint64(maxEntries))
	a := lo - l.snapIndex - 1
	var size uint64
	for i := a; i < hi-l.snapIndex-1; i++ {
		size += uint64(len(l.entries[i].Data))
		if size > maxBytes && i > a {
			hi = l.snapIndex + 1 + i
			break
		}
	}
	return l.slice(lo, hi)
}

// append adds entries that follow the last index.
func (l *raftLog) append(ents ...Entry) {
	l.reserve(len(ents))
	l.entries = append(l.entries, ents...)
}

// reserve makes room for n more entries. It doubles the array (the runtime's
// append grows large slices by only 1.25x, which copies each entry about
// five times over a long run; doubling copies it about once).
func (l *raftLog) reserve(n int) {
	need := len(l.entries) + n
	if need <= cap(l.entries) {
		return
	}
	grown := make([]Entry, len(l.entries), max(2*cap(l.entries), need, 64))
	copy(grown, l.entries)
	l.entries = grown
}

// truncateFrom removes entries >= i. The capacity is cut so that the next
// append copies to a new array instead of overwriting entries that earlier
// Readies or messages still reference.
func (l *raftLog) truncateFrom(i uint64) {
	if i <= l.committed {
		panic(fmt.Sprintf("raft: truncating committed entry %d (committed %d)", i, l.committed))
	}
	k := i - l.snapIndex - 1
	l.entries = l.entries[:k:k]
	l.unstable = min(l.unstable, i)
	l.persisted = min(l.persisted, i-1)
}

// maybeAppend handles the entries of an AppendEntries whose preceding entry
// is (prevIndex, prevTerm). It returns the index of the last entry the
// message covers and whether the log matched.
//
// A conflict at or below the commit index cannot happen between correct
// peers (committed entries are in every later leader's log); it is refused
// with ErrProtocol and the log is left unchanged.
func (l *raftLog) maybeAppend(prevIndex, prevTerm uint64, ents []Entry) (lastNew uint64, ok bool, err error) {
	if !l.matchTerm(prevIndex, prevTerm) {
		return 0, false, nil
	}
	lastNew = prevIndex + uint64(len(ents))
	// Skip the entries we already hold; truncate at the first conflict.
	for i, e := range ents {
		if e.Index <= l.snapIndex {
			continue // compacted, hence committed, hence identical
		}
		t, ok := l.term(e.Index)
		if ok && t == e.Term {
			continue
		}
		if ok {
			if e.Index <= l.committed {
				return 0, false, fmt.Errorf("%w: entry %d of term %d conflicts with committed entry of term %d", ErrProtocol, e.Index, e.Term, t)
			}
			l.truncateFrom(e.Index)
		}
		l.append(ents[i:]...)
		break
	}
	return lastNew, true, nil
}

// conflictHint tells a leader where to retry after a rejection of prevIndex:
// the term of our entry there and the first index of that term, or (0,
// lastIndex+1) when our log is too short.
func (l *raftLog) conflictHint(prevIndex uint64) (hintTerm, hintIndex uint64) {
	t, ok := l.term(prevIndex)
	if !ok || prevIndex <= l.snapIndex {
		return 0, min(prevIndex, l.lastIndex()+1)
	}
	// Terms never decrease along the log: binary search for the first
	// entry with term >= t.
	n := int(prevIndex - l.snapIndex)
	k := sort.Search(n, func(i int) bool { return l.entries[i].Term >= t })
	return t, l.snapIndex + 1 + uint64(k)
}

// lastIndexOfTerm returns the last index whose term is t, if the log has one
// (beyond the compaction point).
func (l *raftLog) lastIndexOfTerm(t uint64) (uint64, bool) {
	n := len(l.entries)
	k := sort.Search(n, func(i int) bool { return l.entries[i].Term > t })
	if k == 0 || l.entries[k-1].Term != t {
		return 0, false
	}
	return l.snapIndex + uint64(k), true
}

func (l *raftLog) commitTo(i uint64) bool {
	if i <= l.committed {
		return false
	}
	if i > l.lastIndex() {
		panic(fmt.Sprintf("raft: commit %d beyond last index %d", i, l.lastIndex()))
	}
	l.committed = i
	return true
}

// persistedTo records that the driver made durable everything up to a mark.
// A mark whose entry the log no longer holds (it was truncated and replaced
// while the write was in flight) moves nothing: the write that replaced it
// will report its own mark.
func (l *raftLog) persistedTo(m PersistMark) bool {
	if m.Index <= l.persisted || !l.matchTerm(m.Index, m.Term) {
		return false
	}
	l.persisted = m.Index
	return true
}

// hasUnstable reports whether entries wait to be handed to the driver.
func (l *raftLog) hasUnstable() bool { return l.unstable <= l.lastIndex() }

func (l *raftLog) takeUnstable() []Entry {
	if !l.hasUnstable() {
		return nil
	}
	ents := l.slice(l.unstable, l.lastIndex()+1)
	l.unstable = l.lastIndex() + 1
	return ents
}

// applyLimit is the highest index that may be applied: the commit index.
// A committed entry is durable on a quorum, so a node may apply it before
// its own write of it completes: if it crashes first, it restarts from its
// durable snapshot and log and learns the entry again. This keeps the
// leader's own fsync off the path from commit to the client's answer.
func (l *raftLog) applyLimit() uint64 { return l.committed }

func (l *raftLog) hasToApply() bool { return l.applied < l.applyLimit() }

func (l *raftLog) takeToApply() []Entry {
	hi := l.applyLimit()
	if l.applied >= hi {
		return nil
	}
	ents := l.slice(l.applied+1, hi+1)
	l.applied = hi
	return ents
}

// restore replaces the whole log with a snapshot's compaction point.
func (l *raftLog) restore(s SnapshotMeta) {
	l.snapIndex, l.snapTerm = s.Index, s.Term
	l.entries = nil
	l.committed, l.applied, l.persisted = s.Index, s.Index, s.Index
	l.unstable = s.Index + 1
}

// compact drops entries <= i (which must be applied).
func (l *raftLog) compact(i uint64) error {
	if i <= l.snapIndex {
		return nil
	}
	if i > l.applied {
		return fmt.Errorf("raft: compact %d beyond applied %d", i, l.applied)
	}
	t, _ := l.term(i)
	k := i - l.snapIndex
	rest := l.entries[k:]
	// Copy when most of the array is garbage, so compaction frees memory.
	// The new array keeps the old capacity: the log will grow back to its
	// size before the next compaction, and this way it grows without copies.
	if len(rest) < cap(l.entries)/2 {
		rest = append(make([]Entry, 0, max(cap(l.entries), 2*len(rest))), rest...)
	}
	l.entries = rest
	l.snapIndex, l.snapTerm = i, t
	return nil
}
