package hashicorp

import (
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/workloads"
)

// fsm is a workloads.KV as a raft.BatchingFSM, plus a list of reads
// waiting for the KV to apply a given command index.
//
// hashicorp/raft hands the FSM only command and configuration entries (the
// leader's no-op and barriers never reach it), so reads wait on the KV's
// own applied index, the index of its last command, against the index of
// the last command at or below their read index (see lastCommand).
type fsm struct {
	kv *workloads.KV

	nwait atomic.Int32 // len(waiters), read without the lock after every batch
	mu    sync.Mutex
	down  bool
	wait  []applyWaiter
}

type applyWaiter struct {
	index uint64
	fn    func(err error) // nil: applied; errNodeGone: the node crashed
}

var _ raft.BatchingFSM = (*fsm)(nil)

func newFSM() *fsm { return &fsm{kv: workloads.NewKV(workloads.KVConfig{})} }

// ApplyBatch applies a batch of committed entries; the answers go back to
// the futures of the entries this node proposed.
func (f *fsm) ApplyBatch(logs []*raft.Log) []any {
	res := make([]any, len(logs))
	for i, l := range logs {
		if l.Type == raft.LogCommand {
			res[i] = f.kv.Apply(l.Index, l.Data)
		}
	}
	f.wake()
	return res
}

func (f *fsm) Apply(l *raft.Log) any {
	var res any
	if l.Type == raft.LogCommand {
		res = f.kv.Apply(l.Index, l.Data)
	}
	f.wake()
	return res
}

// Snapshot freezes the KV in O(1) (copy on write); Persist writes it out
// while Apply goes on.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	v, err := f.kv.Snapshot()
	if err != nil {
		return nil, err
	}
	return snapshot{v}, nil
}

func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	if err := f.kv.Restore(rc); err != nil {
		return err
	}
	f.wake()
	return nil
}

type snapshot struct{ view node.SnapshotView }

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := s.view.WriteTo(sink); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s snapshot) Release() { s.view.Release() }

// waitApplied calls fn(nil) once the KV has applied the command at index
// (at once, on the caller's goroutine, if it has), or fn(errNodeGone) if
// the node crashes first. fn runs on the apply goroutine otherwise: it
// must not block.
func (f *fsm) waitApplied(index uint64, fn func(error)) {
	if f.kv.Applied() >= index {
		fn(nil)
		return
	}
	f.mu.Lock()
	switch {
	case f.down:
		f.mu.Unlock()
		fn(errNodeGone)
		return
	case f.kv.Applied() >= index: // applied since the first look
		f.mu.Unlock()
		fn(nil)
		return
	}
	f.wait = append(f.wait, applyWaiter{index: index, fn: fn})
	f.nwait.Store(int32(len(f.wait)))
	f.mu.Unlock()
}

// wake answers the waiters whose index is applied.
func (f *fsm) wake() {
	if f.nwait.Load() == 0 {
		return
	}
	applied := f.kv.Applied()
	var ready []applyWaiter
	f.mu.Lock()
	rest := f.wait[:0]
	for _, w := range f.wait {
		if w.index <= applied {
			ready = append(ready, w)
		} else {
			rest = append(rest, w)
		}
	}
	clear(f.wait[len(rest):])
	f.wait = rest
	f.nwait.Store(int32(len(rest)))
	f.mu.Unlock()
	for _, w := range ready {
		w.fn(nil)
	}
}

// crash answers every waiter with errNodeGone and refuses new ones.
func (f *fsm) crash() {
	f.mu.Lock()
	f.down = true
	ws := f.wait
	f.wait = nil
	f.nwait.Store(0)
	f.mu.Unlock()
	for _, w := range ws {
		w.fn(errNodeGone)
	}
}
