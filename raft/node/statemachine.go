package node

import "io"

// StateMachine is the application the log drives. Apply is called on the
// node's apply goroutine only, in log order; Snapshot too (between two
// Apply calls), so that the view it returns is exactly the state after the
// last applied entry.
type StateMachine interface {
	// Apply applies one committed entry and returns the result handed to
	// its proposer.
	Apply(index uint64, data []byte) any
	// Snapshot returns a point-in-time view of the state in O(1) (a
	// copy-on-write structure: later Applies must not change the view). The
	// node serializes the view on another goroutine while Apply goes on.
	Snapshot() (SnapshotView, error)
	// Restore replaces the whole state with a serialized snapshot.
	Restore(r io.Reader) error
}

// SnapshotView is a frozen state, written out in the background.
type SnapshotView interface {
	// WriteTo serializes the view (called once, on a snapshot goroutine).
	WriteTo(w io.Writer) (int64, error)
	// Release frees the view (after WriteTo, or if the snapshot is
	// abandoned).
	Release()
}
