package node

import (
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// Metrics observes a node's work as it happens: Config.Metrics, nil for
// none (each place that reports then costs one nil check). The node calls
// it from its own goroutines (the event loop, the disk goroutine, snapshot
// writers), possibly at the same time: an implementation must be safe for
// concurrent use, must return at once and must not call the node. It is
// told counts, never entries, so that no call is made per entry.
//
// Figures that are states rather than events (term, role, commit and
// applied index, the in-flight window per follower) are read on demand
// with Status and Inflight.
type Metrics interface {
	// Proposed: the leader appended a batch of entries proposals (one
	// call per batch the event loop drains into one append).
	Proposed(entries int)
	// GroupCommit: the disk goroutine wrote entries entries (0 for a
	// commit of only a term, a vote or a snapshot marker) and synced them
	// with one fdatasync that took sync (close to nothing with NoSync).
	GroupCommit(entries int, sync time.Duration)
	// AppendSent: an AppendEntries carrying entries entries (0 for a
	// probe or one that only advances the commit index) left for peer to.
	AppendSent(to uint64, entries int)
	// ElectionStarted: the node became a candidate in term (after a
	// successful pre-vote, with PreVote).
	ElectionStarted(term uint64)
	// ElectionWon: the node became the leader of term.
	ElectionWon(term uint64)
	// LeaderChanged: the node learned of a leader (itself included) other
	// than the last one it knew.
	LeaderChanged(leader, term uint64)
	// SnapshotTaken: a snapshot of the state machine through index is
	// durable; its file holds bytes bytes of state.
	SnapshotTaken(index uint64, bytes int64)
}

// observeRoles returns the core's role-change callback: next (which may be
// nil) first, then the elections and leader changes m is told of.
func observeRoles(m Metrics, next func(raft.RoleChange)) func(raft.RoleChange) {
	if m == nil {
		return next
	}
	// The loop's goroutine only: the core calls back synchronously.
	var lastLeader, lastWon uint64
	return func(rc raft.RoleChange) {
		if next != nil {
			next(rc)
		}
		// A report is made when the role, the term or the leader changes: a
		// candidate's is always a new election (a candidate that times out
		// starts another in a higher term), a leader's always a new term.
		switch rc.To {
		case raft.Candidate:
			m.ElectionStarted(rc.Term)
		case raft.Leader:
			if rc.From != raft.Leader || rc.Term != lastWon {
				lastWon = rc.Term
				if rc.From != raft.Candidate {
					// Candidate and leader within one input (a
					// single-node cluster wins its own vote at once).
					m.ElectionStarted(rc.Term)
				}
				m.ElectionWon(rc.Term)
			}
		}
		if rc.Leader != raft.None && rc.Leader != lastLeader {
			lastLeader = rc.Leader
			m.LeaderChanged(rc.Leader, rc.Term)
		}
	}
}

// PeerInflight is the leader's pipelining window to one follower.
type PeerInflight struct {
	Peer uint64
	// Messages is the AppendEntries messages sent and not yet
	// acknowledged (at most raft.Config.MaxInflightMsgs).
	Messages int
}

// peerView is the leader's in-flight windows as of the loop's last batch.
// With Config.Metrics set the loop copies them after every batch: a lock
// and a few words per follower, no allocation once the slice has grown.
// Without it nothing is copied and Inflight reports nothing.
type peerView struct {
	mu    sync.Mutex
	peers []PeerInflight
}

// publishPeers copies the in-flight windows from the core (the event loop
// only). A node that does not lead publishes none.
func (n *Node) publishPeers(core *raft.Raft) {
	if n.cfg.Metrics == nil {
		return
	}
	v := &n.peerView
	v.mu.Lock()
	defer v.mu.Unlock()
	v.peers = v.peers[:0]
	if core.Role() != raft.Leader {
		return
	}
	for _, half := range core.Voters() {
		for _, id := range half {
			if id == n.id || containsPeer(v.peers, id) {
				continue
			}
			if pr := core.Progress(id); pr != nil {
				v.peers = append(v.peers, PeerInflight{Peer: id, Messages: pr.Inflights.Count()})
			}
		}
	}
}

func containsPeer(ps []PeerInflight, id uint64) bool {
	for _, p := range ps {
		if p.Peer == id {
			return true
		}
	}
	return false
}

// Inflight appends to dst the leader's in-flight AppendEntries per
// follower, as of the event loop's last batch, and returns it. It reports
// nothing on a node that does not lead, and nothing unless Config.Metrics
// is set (the loop copies the windows only for an observer).
func (n *Node) Inflight(dst []PeerInflight) []PeerInflight {
	v := &n.peerView
	v.mu.Lock()
	defer v.mu.Unlock()
	return append(dst, v.peers...)
}

// proposed reports an appended batch of proposals.
func (n *Node) proposed(entries int, err error) {
	if m := n.cfg.Metrics; m != nil && err == nil {
		m.Proposed(entries)
	}
}

// appendSent reports an AppendEntries on its way out.
func (n *Node) appendSent(msg *raft.Message) {
	if m := n.cfg.Metrics; m != nil && msg.Type == raft.MsgApp {
		m.AppendSent(msg.To, len(msg.Entries))
	}
}
