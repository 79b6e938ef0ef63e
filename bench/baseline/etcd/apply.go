package etcd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"

	rbnode "github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/workloads"
	"go.etcd.io/raft/v3/raftpb"
)

// idBytes is the proposal id every entry's data starts with.
const idBytes = 8

var (
	// errDropped: the entry was certainly not applied (another entry was
	// applied at its index, or it never entered the log). The load
	// generator counts it as dropped and its checker knows it had no effect.
	errDropped = fmt.Errorf("etcd engine: %w", rbnode.ErrDropped)
	// errStopped: the node stopped while the entry was in its log: it may
	// still commit, so the outcome is unknown.
	errStopped = fmt.Errorf("etcd engine: node stopped: %w", rbnode.ErrStopped)
	// errSnapshotted: a snapshot from the leader replaced the log around
	// the entry; whether the snapshot includes it is not known.
	errSnapshotted = errors.New("etcd engine: the log was replaced by a snapshot before the entry applied; outcome unknown")
	// errReadTimeout: no read index came back in time (the request or its
	// answer was lost, which etcd raft allows).
	errReadTimeout = fmt.Errorf("etcd engine: %w", rbnode.ErrReadFailed)
)

// proposal is a write waiting for its entry to apply.
type proposal struct {
	id    uint64
	index uint64 // set once the leader appended it
	data  []byte // id, then the command
	done  func(any, error)
}

// finish answers the proposer, turning the state machine's refusal of a
// command into an error as the engine interface wants.
func (p *proposal) finish(res any, err error) {
	if err == nil {
		if r, ok := res.(*workloads.Result); ok && r.Err != nil {
			err, res = r.Err, nil
		}
	}
	p.done(res, err)
}

// readReq is one linearizable read; reads that arrive together share one
// ReadIndex request (a readBatch), as etcd's server batches them.
type readReq struct {
	key  []byte
	done func([]byte, bool, error)
}

type readBatch struct {
	seq   uint64 // the request context: unique per node incarnation
	reqs  []*readReq
	tick  uint64 // when it was asked, in ticks
	index uint64
}

func (b *readBatch) fail(err error) {
	for _, r := range b.reqs {
		r.done(nil, false, err)
	}
}

// applier applies committed entries to the KV and answers the proposals
// and reads waiting on them. One goroutine owns it: the raft loop, or with
// async storage writes the apply goroutine.
type applier struct {
	n       *node
	kv      *workloads.KV
	applied uint64 // last entry applied (no-ops included) or restored
	term    uint64 // its term
	waiters []*proposal
	reads   []*readBatch
	// snapIndex is where the last snapshot was taken or restored;
	// snapping says one is being written (one at a time).
	snapIndex uint64
	restored  int // snapshots restored from the leader (tests read it once the node stopped)
}

// register adds proposals the leader appended. Within a term their
// indexes increase, so they go at the end; a node that leads again after
// its log was cut can propose at an index below older waiters', which
// then go after it.
func (a *applier) register(ps []*proposal) {
	for _, p := range ps {
		if n := len(a.waiters); n == 0 || a.waiters[n-1].index <= p.index {
			a.waiters = append(a.waiters, p)
			continue
		}
		i := sort.Search(len(a.waiters), func(i int) bool { return a.waiters[i].index > p.index })
		a.waiters = slices.Insert(a.waiters, i, p)
	}
}

// apply applies committed entries in order. An entry answers the waiter
// whose id it carries; a waiter at an applied index whose id the entry
// does not carry was dropped: each proposal enters the log once, at one
// index, so it can never apply anywhere else.
func (a *applier) apply(ents []raftpb.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Index <= a.applied {
			continue
		}
		var res any
		var id uint64
		if e.Type == raftpb.EntryNormal && len(e.Data) >= idBytes {
			id = binary.LittleEndian.Uint64(e.Data)
			res = a.kv.Apply(e.Index, e.Data[idBytes:])
		}
		// Entries without data are the leaders' no-ops; membership is
		// fixed, so there are no configuration changes to apply.
		a.applied, a.term = e.Index, e.Term
		k := 0
		for k < len(a.waiters) && a.waiters[k].index <= e.Index {
			p := a.waiters[k]
			a.waiters[k] = nil
			if p.index == e.Index && p.id == id && id != 0 {
				p.finish(res, nil)
			} else {
				p.finish(nil, errDropped)
			}
			k++
		}
		if k > 0 {
			a.waiters = a.waiters[k:]
		}
		if every := a.n.c.cfg.SnapshotEntries; every > 0 && a.applied-a.snapIndex >= every && !a.n.snapping.Load() {
			a.snapshot()
		}
	}
	a.answerReads()
}

// snapshot freezes the KV at the entry just applied (a copy-on-write view,
// O(1)) and writes it out on another goroutine.
func (a *applier) snapshot() {
	view, err := a.kv.Snapshot()
	if err != nil {
		a.n.fatal(err)
		return
	}
	a.snapIndex = a.applied
	a.n.snapping.Store(true)
	a.n.writeSnapshot(view, a.applied, a.term)
}

// restore replaces the state machine with a snapshot from the leader.
func (a *applier) restore(snap *raftpb.Snapshot) {
	md := snap.Metadata
	if md.Index <= a.applied {
		return
	}
	if err := a.kv.Restore(bytes.NewReader(snap.Data)); err != nil {
		a.n.fatal(fmt.Errorf("etcd engine: restore snapshot %d: %w", md.Index, err))
		return
	}
	a.applied, a.term, a.snapIndex = md.Index, md.Term, md.Index
	a.restored++
	k := 0
	for k < len(a.waiters) && a.waiters[k].index <= md.Index {
		a.waiters[k].finish(nil, errSnapshotted)
		a.waiters[k] = nil
		k++
	}
	a.waiters = a.waiters[k:]
	a.answerReads()
}

// addRead takes a batch whose read index is known: it is answered once
// that index is applied.
func (a *applier) addRead(index uint64, b *readBatch) {
	b.index = index
	if index <= a.applied {
		a.answer(b)
		return
	}
	a.reads = append(a.reads, b)
}

func (a *applier) answerReads() {
	k := 0
	for _, b := range a.reads {
		if b.index <= a.applied {
			a.answer(b)
		} else {
			a.reads[k] = b
			k++
		}
	}
	clear(a.reads[k:])
	a.reads = a.reads[:k]
}

func (a *applier) answer(b *readBatch) {
	for _, r := range b.reqs {
		v, ok := a.kv.Get(r.key)
		r.done(v, ok, nil)
	}
}

// failAll answers everything still waiting, once the node has stopped.
func (a *applier) failAll() {
	for _, p := range a.waiters {
		p.finish(nil, errStopped)
	}
	for _, b := range a.reads {
		b.fail(errStopped)
	}
	a.waiters, a.reads = nil, nil
}
