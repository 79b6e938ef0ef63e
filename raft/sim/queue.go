package sim

import (
	"time"

	"github.com/raftbench/raftbench/raft"
)

type eventKind uint8

const (
	evDeliver  eventKind = iota + 1 // a message arrives at node
	evDiskDone                      // a write of node completes
	evTimer                         // node's deadline
	evCall                          // a scheduled function (fault injection, clients)
	evSnapDone                      // a snapshot transfer finished: tell the sender
)

// event is the payload of a queued event. Events live in a slab and are
// recycled, so a long run does not allocate per event.
type event struct {
	kind  eventKind
	node  uint64
	gen   uint32 // the node's incarnation when the event was created
	msg   raft.Message
	write *write
	fn    func()
	flag  bool
}

// write is one Ready's durable write on its way to a node's disk.
type write struct {
	hard    raft.HardState
	snap    *raft.Snapshot
	entries []raft.Entry
	mark    raft.PersistMark
	persist bool
	after   []raft.Message
}

type slot struct {
	at  time.Duration
	seq uint64
	idx int32
}

// queue is a binary min-heap of (time, sequence): equal times run in the
// order they were scheduled, which keeps runs deterministic.
type queue struct {
	heap []slot
	slab []event
	free []int32
	seq  uint64
}

func (q *queue) len() int { return len(q.heap) }

func (q *queue) push(at time.Duration, ev event) {
	var idx int32
	if n := len(q.free); n > 0 {
		idx = q.free[n-1]
		q.free = q.free[:n-1]
		q.slab[idx] = ev
	} else {
		idx = int32(len(q.slab))
		q.slab = append(q.slab, ev)
	}
	q.seq++
	q.heap = append(q.heap, slot{at: at, seq: q.seq, idx: idx})
	q.up(len(q.heap) - 1)
}

func (q *queue) peekTime() time.Duration { return q.heap[0].at }

// pop removes the earliest event; the returned copy is the caller's.
func (q *queue) pop() (time.Duration, event) {
	s := q.heap[0]
	n := len(q.heap) - 1
	q.heap[0] = q.heap[n]
	q.heap = q.heap[:n]
	if n > 0 {
		q.down(0)
	}
	ev := q.slab[s.idx]
	q.slab[s.idx] = event{} // drop references for the GC
	q.free = append(q.free, s.idx)
	return s.at, ev
}

func less(a, b slot) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

func (q *queue) up(i int) {
	h := q.heap
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) down(i int) {
	h := q.heap
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && less(h[r], h[l]) {
			m = r
		}
		if !less(h[m], h[i]) {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
