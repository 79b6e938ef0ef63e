package raft

import (
	"fmt"
	"time"
)

// None is the zero node id: "no leader", "no vote".
const None uint64 = 0

// EntryType tells a normal client entry from one the protocol itself appends.
type EntryType uint8

const (
	// EntryNormal carries client data (possibly empty: the leader's no-op).
	EntryNormal EntryType = iota
	// EntryNoop is the empty entry a new leader appends at the start of its term
	// so that it can commit entries of earlier terms (Raft §5.4.2).
	EntryNoop
)

func (t EntryType) String() string {
	switch t {
	case EntryNormal:
		return "normal"
	case EntryNoop:
		return "noop"
	}
	return fmt.Sprintf("EntryType(%d)", uint8(t))
}

// Entry is one log entry. Data is owned by the log once proposed: neither the
// proposer nor the driver may modify it afterwards (the core hands the same
// bytes to the network, the disk and the state machine without copying).
type Entry struct {
	Term  uint64
	Index uint64
	Type  EntryType
	Data  []byte
}

// HardState is the state that must be durable before messages that depend on
// it leave the node: the current term, the vote cast in it, and the commit
// index (the commit index is durable only as a hint to speed up restart).
type HardState struct {
	Term   uint64
	Vote   uint64
	Commit uint64
}

// SnapshotMeta identifies a snapshot: the last log entry it includes and the
// cluster configuration at that point.
type SnapshotMeta struct {
	Index  uint64
	Term   uint64
	Voters []uint64
}

// Snapshot is a snapshot's identity plus its payload. The core never looks at
// Data: the leader's core emits MsgSnap with Data nil and the driver attaches
// (or streams) the state machine's serialized form.
type Snapshot struct {
	Meta SnapshotMeta
	Data []byte
}

// Role is a node's role in the protocol.
type Role uint8

const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

func (r Role) String() string {
	switch r {
	case Follower:
		return "follower"
	case PreCandidate:
		return "pre-candidate"
	case Candidate:
		return "candidate"
	case Leader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// MessageType enumerates the messages exchanged between cores.
type MessageType uint8

const (
	MsgApp           MessageType = iota + 1 // AppendEntries
	MsgAppResp                              // AppendEntries response (also answers MsgSnap)
	MsgVote                                 // RequestVote
	MsgVoteResp                             // RequestVote response
	MsgPreVote                              // PreVote request (term = candidate's term + 1, not adopted)
	MsgPreVoteResp                          // PreVote response
	MsgHeartbeat                            // heartbeat: leadership and commit index, no entries
	MsgHeartbeatResp                        // heartbeat response
	MsgSnap                                 // InstallSnapshot
	MsgReadIndex                            // a follower asks the leader for a read index
	MsgReadIndexResp                        // the leader's answer (Index, or Reject)
	msgTypeEnd
)

var messageTypeNames = [...]string{
	MsgApp:           "MsgApp",
	MsgAppResp:       "MsgAppResp",
	MsgVote:          "MsgVote",
	MsgVoteResp:      "MsgVoteResp",
	MsgPreVote:       "MsgPreVote",
	MsgPreVoteResp:   "MsgPreVoteResp",
	MsgHeartbeat:     "MsgHeartbeat",
	MsgHeartbeatResp: "MsgHeartbeatResp",
	MsgSnap:          "MsgSnap",
	MsgReadIndex:     "MsgReadIndex",
	MsgReadIndexResp: "MsgReadIndexResp",
}

func (t MessageType) String() string {
	if t > 0 && t < msgTypeEnd {
		return messageTypeNames[t]
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Valid reports whether t is a known message type (decoders use it).
func (t MessageType) Valid() bool { return t > 0 && t < msgTypeEnd }

// Message is one protocol message. It is a plain struct: transports encode it
// at the edge. Fields a message type does not use are zero.
//
//	MsgApp:         Index/LogTerm = the entry preceding Entries; Entries; Commit
//	MsgAppResp:     Index = last index the follower now holds (accept), or the
//	                rejected prevLogIndex (Reject); on reject, HintTerm is the
//	                term of the follower's entry at that index (0 if its log is
//	                too short) and HintIndex the first index of HintTerm in the
//	                follower's log (or its last index + 1 when too short).
//	MsgVote/MsgPreVote: Index/LogTerm = candidate's last entry
//	MsgVoteResp/MsgPreVoteResp: Reject
//	MsgHeartbeat:   Commit (never beyond what the follower is known to hold),
//	                Context (the heartbeat round, 8 bytes, for reads and leases)
//	MsgHeartbeatResp: Context echoed
//	MsgSnap:        Snapshot (Meta set by the core, Data by the driver)
//	MsgReadIndex:   Context (the follower's request id)
//	MsgReadIndexResp: Context echoed; Index = the read index, or Reject
type Message struct {
	Type      MessageType
	From      uint64
	To        uint64
	Term      uint64
	LogTerm   uint64
	Index     uint64
	Commit    uint64
	Reject    bool
	HintTerm  uint64
	HintIndex uint64
	Entries   []Entry
	Snapshot  *Snapshot
	Context   []byte
}

func (m Message) String() string {
	return fmt.Sprintf("%s %d->%d term=%d logterm=%d index=%d commit=%d reject=%t entries=%d",
		m.Type, m.From, m.To, m.Term, m.LogTerm, m.Index, m.Commit, m.Reject, len(m.Entries))
}

// PersistMark names the newest state a Ready asks the driver to make durable:
// the last log index and its term at the time the Ready was built. The driver
// hands it back to Persisted once that write (and every earlier one) is
// durable.
type PersistMark struct {
	Index uint64
	Term  uint64
}

// Status is a cheap copy of the figures an observer wants.
type Status struct {
	ID        uint64
	Role      Role
	Term      uint64
	Vote      uint64
	Leader    uint64
	Commit    uint64
	Applied   uint64 // last index handed to the driver for applying
	LastIndex uint64
	Persisted uint64 // last index known durable on this node's disk
}

// RoleChange is reported through Config.OnRoleChange each time the role, the
// term or the known leader changes. At is the driver's time of the input that
// caused the change.
type RoleChange struct {
	ID     uint64
	At     time.Duration
	From   Role
	To     Role
	Term   uint64
	Leader uint64
}

// ReadState answers a ReadIndex request: once the state machine has applied
// Index, a read reflects every write committed before the request was made.
// Index 0 means the request failed (leadership changed before it was
// confirmed): retry it.
type ReadState struct {
	Index   uint64
	Context []byte
}
