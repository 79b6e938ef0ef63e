package node

import (
	"context"
	"errors"
)

var (
	// ErrStopped is returned for work the node could not finish because it
	// stopped.
	ErrStopped = errors.New("node: stopped")
	// ErrDropped means a proposal was lost: its entry was replaced by
	// another leader's before it committed. Retrying is safe only if the
	// command is idempotent (client sessions make it so).
	ErrDropped = errors.New("node: proposal dropped by a leadership change")
	// ErrOutcomeUnknown means the node lost track of a proposal: its entry
	// was covered by a snapshot from the leader before it was applied here.
	// It may or may not have been applied; with client sessions a retry is
	// safe and returns the first result.
	ErrOutcomeUnknown = errors.New("node: proposal outcome unknown (covered by a snapshot)")
	// ErrReadFailed means a linearizable read could not be confirmed
	// (leadership changed, or no answer in time); retry it.
	ErrReadFailed = errors.New("node: read not confirmed")
)

// Future is the pending result of a proposal. Each proposal allocates one
// (with its channel): it is the client's handle and cannot be shared.
type Future struct {
	done   chan struct{} // nil for a proposal made with ProposeAsync
	cb     func(result any, err error)
	index  uint64
	term   uint64
	result any
	err    error
}

func newFuture() *Future { return &Future{done: make(chan struct{})} }

func (f *Future) complete(result any, err error) {
	f.result, f.err = result, err
	if f.cb != nil {
		f.cb(result, err)
		return
	}
	close(f.done)
}

// Done is closed when the result is known.
func (f *Future) Done() <-chan struct{} { return f.done }

// Wait returns the state machine's result for the entry, once applied.
func (f *Future) Wait(ctx context.Context) (any, error) {
	select {
	case <-f.done:
		return f.result, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Index is the log index the proposal was given (0 if refused).
func (f *Future) Index() uint64 {
	select {
	case <-f.done:
	default:
	}
	return f.index
}

// readRequest waits until the local state machine may serve a
// linearizable read. It travels by value through the queues (three words):
// a read with ReadAsync allocates nothing in the node.
type readRequest struct {
	cb    func(err error) // ReadAsync's; nil for a blocking read
	errC  chan error      // a blocking read's answer (capacity 1)
	lease bool
}

func (r readRequest) complete(err error) {
	if r.cb != nil {
		r.cb(err)
		return
	}
	r.errC <- err
}
