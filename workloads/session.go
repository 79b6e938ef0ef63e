package workloads

import "github.com/tidwall/btree"

// session is what the state machine remembers of one client: the last
// sequence number it applied and the result it gave. Values are immutable
// once stored (a use replaces the item), so a copy-on-write copy of the
// tables is a consistent point-in-time view.
type session struct {
	client    uint64
	seq       uint64
	lastIndex uint64  // index of the entry that last used the session
	result    *Result // answer to seq, repeated to retries
}

// sessions is the session table, kept twice: by client for lookups and by
// last use for expiry. Every applied entry uses at most one session, so
// lastIndex is unique among sessions and orders them exactly.
type sessions struct {
	byClient *btree.BTreeG[session]
	byIndex  *btree.BTreeG[session]
}

func newSessions() sessions {
	return sessions{
		byClient: btree.NewBTreeGOptions(func(a, b session) bool { return a.client < b.client }, btree.Options{NoLocks: true}),
		byIndex:  btree.NewBTreeGOptions(func(a, b session) bool { return a.lastIndex < b.lastIndex }, btree.Options{NoLocks: true}),
	}
}

func (s sessions) copy() sessions {
	return sessions{byClient: s.byClient.Copy(), byIndex: s.byIndex.Copy()}
}

func (s sessions) len() int { return s.byClient.Len() }

func (s sessions) get(client uint64) (session, bool) {
	return s.byClient.Get(session{client: client})
}

// put stores ss, replacing the client's previous session.
func (s sessions) put(ss session) {
	if prev, ok := s.byClient.Set(ss); ok {
		s.byIndex.Delete(prev)
	}
	s.byIndex.Set(ss)
}

func (s sessions) drop(ss session) {
	s.byClient.Delete(ss)
	s.byIndex.Delete(ss)
}

// expire applies the expiry rule before the entry at index is applied: it
// drops every session whose last use is ttlEntries or more entries old,
// then, least recently used first, the sessions beyond maxSessions.
func (s sessions) expire(index, ttlEntries uint64, maxSessions int) {
	for {
		oldest, ok := s.byIndex.Min()
		if !ok || (index-oldest.lastIndex < ttlEntries && s.byIndex.Len() <= maxSessions) {
			return
		}
		s.drop(oldest)
	}
}
