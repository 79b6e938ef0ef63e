package workloads

import "github.com/tidwall/btree"

// session is what the state machine remembers of one client: the last
// sequence number it applied and the result it gave. Values are immutable
// once stored (a use replaces the item), so a copy-on-write copy of the
// table is a consistent point-in-time view.
type session struct {
	client    uint64
	seq       uint64
	lastIndex uint64  // index of the entry that last used the session
	result    *Result // answer to seq, repeated to retries
}

// sessions is the session table: a copy-on-write B-tree by client, and a
// queue of uses in index order for expiry and least-recently-used
// eviction. Every use appends to the queue; the record of an earlier use
// of the same session goes stale (its index is no longer the session's
// lastIndex) and is skipped when it reaches the front. A B-tree ordered by
// last use would do the same job, but a queue's pattern (delete at one
// end, insert at the other) makes its nodes split and merge on nearly
// every use.
//
// The live table also keeps byID, a map holding the same sessions: an
// apply looks a session up four to five times (its own, and the queue's
// front and compaction checks), and a map lookup costs a fraction of a
// tree search (the searches were 13% of a write-heavy run's CPU). The
// tree is kept for its O(1) frozen copies; a copy has no map and reads
// the tree.
type sessions struct {
	byClient *btree.BTreeG[session]
	byID     map[uint64]session // the live table's index; nil in a copy
	uses     useQueue
}

func newSessions() sessions {
	return sessions{
		byClient: btree.NewBTreeGOptions(func(a, b session) bool { return a.client < b.client }, btree.Options{NoLocks: true}),
		byID:     map[uint64]session{},
	}
}

// copy returns a frozen copy in O(1).
func (s *sessions) copy() sessions {
	return sessions{byClient: s.byClient.Copy(), uses: s.uses}
}

func (s *sessions) len() int { return s.byClient.Len() }

func (s *sessions) get(client uint64) (session, bool) {
	if s.byID != nil {
		ss, ok := s.byID[client]
		return ss, ok
	}
	return s.byClient.Get(session{client: client})
}

// put stores ss, replacing the client's previous session. Its lastIndex
// must be above every other session's.
func (s *sessions) put(ss session) {
	s.byClient.Set(ss)
	s.byID[ss.client] = ss
	s.uses.push(use{index: ss.lastIndex, client: ss.client})
	if s.uses.len() > 2*s.byClient.Len()+2*useChunkLen {
		s.compact()
	}
}

// delete drops client's session.
func (s *sessions) delete(client uint64) {
	s.byClient.Delete(session{client: client})
	delete(s.byID, client)
}

// live reports whether u is the last use of a session that exists.
func (s *sessions) live(u use) bool {
	ss, ok := s.get(u.client)
	return ok && ss.lastIndex == u.index
}

// expire applies the expiry rule before the entry at index is applied: it
// drops every session whose last use is ttlEntries or more entries old,
// then, least recently used first, the sessions beyond maxSessions.
func (s *sessions) expire(index, ttlEntries uint64, maxSessions int) {
	for s.uses.len() > 0 {
		u := s.uses.front()
		switch {
		case !s.live(u):
		case index-u.index >= ttlEntries || s.byClient.Len() > maxSessions:
			s.delete(u.client)
		default:
			return
		}
		s.uses.pop()
	}
}

// compact rebuilds the queue without its stale records, in new chunks
// (frozen copies may still read the old ones).
func (s *sessions) compact() {
	var q useQueue
	s.uses.scan(func(u use) {
		if s.live(u) {
			q.push(u)
		}
	})
	s.uses = q
}

// scan calls f for each session, least recently used first.
func (s *sessions) scan(f func(session)) {
	s.uses.scan(func(u use) {
		if ss, ok := s.get(u.client); ok && ss.lastIndex == u.index {
			f(ss)
		}
	})
}

// use records that the entry at index used client's session.
type use struct {
	index, client uint64
}

const useChunkLen = 256

// useQueue is a FIFO of uses in fixed-size chunks. Its copies are frozen
// views: push writes only past every copy's tail, pop moves only the
// copy's own head, and nothing written is ever changed, so a copy can be
// read on another goroutine while the original goes on.
type useQueue struct {
	chunks []*[useChunkLen]use
	head   int // position of the front in chunks[0]
	tail   int // position past the back, counted from chunks[0]'s start
}

func (q *useQueue) len() int { return q.tail - q.head }

func (q *useQueue) push(u use) {
	if q.tail == len(q.chunks)*useChunkLen {
		q.chunks = append(q.chunks, new([useChunkLen]use))
	}
	q.chunks[q.tail/useChunkLen][q.tail%useChunkLen] = u
	q.tail++
}

func (q *useQueue) front() use { return q.chunks[0][q.head] }

func (q *useQueue) pop() {
	q.head++
	if q.head == useChunkLen {
		q.chunks = q.chunks[1:]
		q.head = 0
		q.tail -= useChunkLen
	}
	if q.head == q.tail { // empty: start over (cheap, and frees the chunks)
		*q = useQueue{}
	}
}

func (q *useQueue) scan(f func(use)) {
	for p := q.head; p < q.tail; p++ {
		f(q.chunks[p/useChunkLen][p%useChunkLen])
	}
}
