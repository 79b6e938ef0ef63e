package etcd

import (
	"sync"

	"go.etcd.io/raft/v3/raftpb"
)

// Queue limits. A full queue refuses (proposals), or drops (messages from
// peers, which etcd raft tolerates losing); it never blocks the goroutine
// that pushes, so no network reader or client can stall the raft loop.
const (
	inboxRemoteMsgs = 8192
	inboxProposals  = 1 << 16
	inboxReads      = 1 << 16
)

type eventKind uint8

const (
	evUnreachable eventKind = iota + 1 // the transport could not reach peer
	evSnapshot                         // a MsgSnap to peer was sent (ok) or lost
	evLocalSnap                        // a local snapshot's file is durable (sync mode)
)

type event struct {
	kind eventKind
	peer uint64
	ok   bool
	snap localSnap
}

// localSnap is a snapshot of the state machine written to the snapshot
// store, for the WAL owner to record and compact behind.
type localSnap struct {
	index, term uint64
	data        []byte
}

// inbox is everything the raft loop is asked to do, pushed by other
// goroutines: messages (from peers, and with async storage writes from the
// node's own storage goroutines), proposals, reads and transport events.
// The loop takes it all at once by swapping slices, so a busy loop takes
// one lock per iteration, not one per item.
type inbox struct {
	wake chan struct{} // capacity 1

	mu     sync.Mutex
	closed bool
	msgs   []raftpb.Message
	remote int // messages from peers in msgs, bounded by inboxRemoteMsgs
	props  []*proposal
	reads  []*readReq
	events []event
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (in *inbox) signal() {
	select {
	case in.wake <- struct{}{}:
	default:
	}
}

// pushMsg queues a message; remote ones are dropped beyond the limit (or
// once the node is down).
func (in *inbox) pushMsg(m *raftpb.Message, remote bool) {
	in.mu.Lock()
	if in.closed || (remote && in.remote >= inboxRemoteMsgs) {
		in.mu.Unlock()
		return
	}
	in.msgs = append(in.msgs, *m)
	if remote {
		in.remote++
	}
	in.mu.Unlock()
	in.signal()
}

// pushProposal queues p; false if the node is down or the queue is full.
func (in *inbox) pushProposal(p *proposal) (ok, full bool) {
	in.mu.Lock()
	if in.closed || len(in.props) >= inboxProposals {
		full = !in.closed
		in.mu.Unlock()
		return false, full
	}
	in.props = append(in.props, p)
	in.mu.Unlock()
	in.signal()
	return true, false
}

func (in *inbox) pushRead(r *readReq) (ok, full bool) {
	in.mu.Lock()
	if in.closed || len(in.reads) >= inboxReads {
		full = !in.closed
		in.mu.Unlock()
		return false, full
	}
	in.reads = append(in.reads, r)
	in.mu.Unlock()
	in.signal()
	return true, false
}

func (in *inbox) pushEvent(ev event) {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return
	}
	in.events = append(in.events, ev)
	in.mu.Unlock()
	in.signal()
}

// take swaps the queues with the caller's empty ones.
func (in *inbox) take(msgs []raftpb.Message, props []*proposal, reads []*readReq, events []event) ([]raftpb.Message, []*proposal, []*readReq, []event) {
	in.mu.Lock()
	msgs, in.msgs = in.msgs, msgs
	props, in.props = in.props, props
	reads, in.reads = in.reads, reads
	events, in.events = in.events, events
	in.remote = 0
	in.mu.Unlock()
	return msgs, props, reads, events
}

// close refuses everything from now on and returns the proposals and reads
// that never reached raft.
func (in *inbox) close() ([]*proposal, []*readReq) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.closed = true
	props, reads := in.props, in.reads
	in.msgs, in.props, in.reads, in.events = nil, nil, nil, nil
	return props, reads
}

type jobKind uint8

const (
	jobAppend   jobKind = iota + 1 // MsgStorageAppend (append goroutine)
	jobLocal                       // a local snapshot to record (append goroutine)
	jobApply                       // MsgStorageApply (apply goroutine)
	jobRegister                    // proposals now in the log, to answer when applied
	jobRestore                     // a snapshot to restore the state machine from
	jobRead                        // reads to answer once applied reaches index
)

type job struct {
	kind  jobKind
	msg   raftpb.Message
	props []*proposal
	snap  localSnap
	index uint64
	reads *readBatch
}

// jobQueue feeds one of the async-storage-writes goroutines, in order. It
// is unbounded: its producers (the raft loop, the append goroutine) must
// never block on it, and what flows through it is bounded upstream by etcd
// raft's own limits (MaxInflightMsgs, MaxUncommittedEntriesSize,
// MaxCommittedSizePerReady).
type jobQueue struct {
	wake chan struct{}
	mu   sync.Mutex
	jobs []job
}

func newJobQueue() *jobQueue { return &jobQueue{wake: make(chan struct{}, 1)} }

func (q *jobQueue) push(j job) {
	q.mu.Lock()
	q.jobs = append(q.jobs, j)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *jobQueue) take(spare []job) []job {
	q.mu.Lock()
	jobs := q.jobs
	q.jobs = spare
	q.mu.Unlock()
	return jobs
}
