package node

import (
	"fmt"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// diskWork is one Ready's durable write, the messages that wait for it, and
// (walSnap) a snapshot marker that lets the WAL drop old segments.
type diskWork struct {
	hard    raft.HardState
	entries []raft.Entry
	snap    *raft.Snapshot // a snapshot received from the leader
	mark    raft.PersistMark
	persist bool
	after   []raft.Message
	walSnap *raft.SnapshotMeta // our own snapshot is durable
}

// maxGroup bounds the writes merged into one group commit, so that the
// first of them does not wait behind an unbounded batch.
const maxGroup = 1024

// diskLoop is the disk goroutine: it owns the WAL. Everything queued when
// it wakes goes out as one group commit: one write and one fdatasync.
func (n *Node) diskLoop() {
	defer n.wg.Done()
	group := make([]diskWork, 0, maxGroup)
	labels := n.goroutineLabels()
	for w := range n.diskC {
		labels.Refresh()
		group = append(group[:0], w)
	drain:
		for len(group) < maxGroup {
			select {
			case w, ok := <-n.diskC:
				if !ok {
					break drain
				}
				group = append(group, w)
			default:
				break drain
			}
		}
		if err := n.commitGroup(group); err != nil {
			// A failed write leaves the durable state unknown: stop
			// rather than acknowledge what may not be on disk.
			n.fail(fmt.Errorf("node %d: write-ahead log: %w", n.id, err))
			for range n.diskC {
			}
			return
		}
		clear(group)
	}
}

func (n *Node) commitGroup(group []diskWork) error {
	var (
		last      raft.PersistMark
		persisted bool
		compact   uint64
		entries   int
	)
	for i := range group {
		w := &group[i]
		if w.snap != nil {
			if err := n.wal.SaveSnapshot(w.snap.Meta); err != nil {
				return err
			}
		}
		if w.walSnap != nil {
			if err := n.wal.SaveSnapshot(*w.walSnap); err != nil {
				return err
			}
			compact = w.walSnap.Index
		}
		if w.persist {
			if err := n.wal.Save(w.hard, w.entries); err != nil {
				return err
			}
			last, persisted = w.mark, true
			entries += len(w.entries)
			n.stats.EntriesWritten.Add(uint64(len(w.entries)))
		}
	}
	syncStart := time.Now()
	if err := n.wal.Sync(); err != nil {
		return err
	}
	syncTime := time.Since(syncStart)
	n.stats.SyncNanos.Add(uint64(syncTime))
	n.stats.GroupCommits.Add(1)
	if m := n.cfg.Metrics; m != nil {
		m.GroupCommit(entries, syncTime)
	}
	if n.cfg.DiskDelay != nil {
		if d := n.cfg.DiskDelay(); d > 0 {
			time.Sleep(d)
		}
	}
	n.sendAfter(group)
	if persisted {
		n.persisted.set(last)
	}
	if compact > 0 {
		if err := n.wal.Compact(compact); err != nil {
			return err
		}
	}
	return nil
}

// sendAfter sends the messages that waited for the group's write. Several
// acknowledgements to one leader in one term say no more than the last of
// them (an acknowledgement of index i implies every earlier one), so only
// that one is sent: the leader handles one answer per group commit
// instead of one per AppendEntries.
func (n *Node) sendAfter(group []diskWork) {
	n.afterBuf = n.afterBuf[:0]
	for i := range group {
		n.afterBuf = append(n.afterBuf, group[i].after...)
	}
	msgs := n.afterBuf
	k := 0
	for i, m := range msgs {
		if m.Type == raft.MsgAppResp && !m.Reject && supersededAck(msgs[i+1:], m) {
			continue
		}
		msgs[k] = m
		k++
	}
	if k > 0 {
		n.send(msgs[:k])
	}
	clear(msgs)
}

func supersededAck(later []raft.Message, m raft.Message) bool {
	for _, l := range later {
		if l.Type == raft.MsgAppResp && !l.Reject && l.To == m.To && l.Term == m.Term && l.Index >= m.Index {
			return true
		}
	}
	return false
}
