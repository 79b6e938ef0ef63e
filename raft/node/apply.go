package node

import (
	"fmt"

	"github.com/raftbench/raftbench/raft"
)

// applyWork is handed from the loop to the apply goroutine, in log order.
type applyWork struct {
	restore *raft.SnapshotMeta // restore this snapshot first
	entries []raft.Entry
	futures []*Future // proposals among entries, in index order
	reads   []readWait
}

// readWait is a confirmed read point and the reads waiting for it.
type readWait struct {
	index uint64
	reqs  []readRequest
}

// applyLoop is the apply goroutine: it owns the state machine, applies
// committed entries, completes futures and reads, and takes snapshots.
func (n *Node) applyLoop() {
	defer n.wg.Done()
	var (
		applied  = n.applied.Load()
		term     uint64
		waiting  []readWait // read points not yet applied, in arrival order
		snapAt   = applied
		early    = n.snapshotStagger() // the first snapshot comes this many entries early
		snapping bool
		snapDone = make(chan uint64, 1)
		bytes    uint64 // entry data applied since the last snapshot
	)
	labels := n.goroutineLabels()
	defer func() {
		for _, rw := range waiting {
			for _, r := range rw.reqs {
				r.complete(ErrStopped)
			}
		}
	}()
	snapshotDone := func(at uint64) {
		snapping, early = false, 0
		snapAt = max(snapAt, at)
	}
	maybeSnapshot := func() {
		byEntries := n.cfg.SnapshotEntries > 0 && applied+early >= snapAt+n.cfg.SnapshotEntries
		byBytes := n.cfg.SnapshotBytes > 0 && bytes >= n.cfg.SnapshotBytes
		if !snapping && applied > snapAt && (byEntries || byBytes) {
			bytes = 0
			if err := n.takeSnapshot(applied, term, snapDone); err != nil {
				n.cfg.Logger.Error("snapshot failed", "node", n.id, "err", err)
				snapAt = applied // try again after another interval
			} else {
				snapping = true
			}
		}
	}
	for {
		var w applyWork
		select {
		case at := <-snapDone:
			// A snapshot finished while no work came: the entries applied
			// while it was written may already call for the next one.
			// Without this wake-up a node that goes idle just then would
			// keep its log (and an old snapshot) until the next write.
			snapshotDone(at)
			maybeSnapshot()
			continue
		case work, ok := <-n.applyC:
			if !ok {
				return
			}
			w = work
		}
		labels.Refresh()
		if w.restore != nil {
			if err := restore(n.sm, n.snaps, *w.restore); err != nil {
				n.fail(err)
				continue
			}
			applied, term, snapAt, bytes = w.restore.Index, w.restore.Term, w.restore.Index, 0
		}
		fi := 0
		for _, e := range w.entries {
			if e.Index <= applied {
				continue // covered by a restored snapshot
			}
			var result any
			if e.Type == raft.EntryNormal {
				result = n.sm.Apply(e.Index, e.Data)
				bytes += uint64(len(e.Data))
			}
			applied, term = e.Index, e.Term
			for fi < len(w.futures) && w.futures[fi].index <= e.Index {
				f := w.futures[fi]
				fi++
				switch {
				case f.index < e.Index:
					// Its entry was covered by a restored snapshot.
					f.complete(nil, ErrOutcomeUnknown)
				case f.term == e.Term:
					f.complete(result, nil)
				default:
					// Another term's entry committed at its index: ours
					// never will.
					f.complete(nil, ErrDropped)
				}
			}
		}
		for _, f := range w.futures[fi:] {
			// Their entries were covered by a restored snapshot: applied
			// or not, we cannot tell.
			f.complete(nil, ErrOutcomeUnknown)
		}
		n.applied.Store(applied)

		waiting = append(waiting, w.reads...)
		k := 0
		for _, rw := range waiting {
			if rw.index <= applied {
				for _, r := range rw.reqs {
					r.complete(nil)
				}
				continue
			}
			waiting[k] = rw
			k++
		}
		clear(waiting[k:])
		waiting = waiting[:k]

		select {
		case at := <-snapDone:
			snapshotDone(at)
		default:
		}
		maybeSnapshot()
	}
}

// takeSnapshot freezes the state machine at index (O(1), copy-on-write)
// and writes it out on a goroutine while applies continue; when the file is
// durable the loop compacts the log and the WAL.
func (n *Node) takeSnapshot(index, term uint64, done chan<- uint64) error {
	view, err := n.sm.Snapshot()
	if err != nil {
		return err
	}
	meta := raft.SnapshotMeta{Index: index, Term: term, Voters: append([]uint64(nil), n.cfg.Raft.Voters...)}
	n.snapWG.Add(1)
	go func() {
		defer n.snapWG.Done()
		defer view.Release()
		err := n.writeSnapshot(meta, view)
		if err != nil {
			n.cfg.Logger.Error("writing snapshot", "node", n.id, "index", index, "err", err)
		}
		done <- index
		if err == nil {
			select {
			case n.compactC <- meta:
			case <-n.stopC:
			}
		}
	}()
	return nil
}

func (n *Node) writeSnapshot(meta raft.SnapshotMeta, view SnapshotView) error {
	w, err := n.snaps.Create(meta)
	if err != nil {
		return err
	}
	size, err := view.WriteTo(w)
	if err != nil {
		w.Abort()
		return fmt.Errorf("serializing: %w", err)
	}
	if err := w.Commit(); err != nil {
		return err
	}
	n.stats.SnapshotsTaken.Add(1)
	if m := n.cfg.Metrics; m != nil {
		m.SnapshotTaken(meta.Index, size)
	}
	return nil
}

// snapshotStagger is how many entries early this node takes its first
// snapshot with StaggerSnapshots: its position among the initial voters,
// as a fraction of the interval (0 without the option, or when the node
// does not know the voters, e.g. restarted from a snapshot alone).
func (n *Node) snapshotStagger() uint64 {
	voters := n.cfg.Raft.Voters
	if !n.cfg.StaggerSnapshots || n.cfg.SnapshotEntries == 0 || len(voters) < 2 {
		return 0
	}
	pos := 0
	for _, v := range voters {
		if v < n.id {
			pos++
		}
	}
	return n.cfg.SnapshotEntries * uint64(pos) / uint64(len(voters))
}
