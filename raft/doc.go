// Package raft is the Raft consensus protocol as a deterministic state
// machine: one node's state, changed only by inputs, producing batches of
// output. It starts no goroutines, does no I/O, reads no clock and uses no
// global random source (a test enforces this). The same code runs inside the
// real node (package raft/node) and inside the simulator (package raft/sim).
//
// # Inputs
//
// Every input carries now, a monotonic time.Duration chosen by the driver
// (nanosecond resolution; it must never go backwards):
//
//   - Tick(now): time passed. Call it when NextDeadline() is reached.
//   - Step(now, msg): a message from a peer.
//   - Propose(now, data...): a batch of client commands, appended as one
//     batch on a leader; refused with *NotLeaderError elsewhere.
//   - Persisted(now, mark): a write the driver was asked for is durable.
//   - ReportSnapshot, Compact, Campaign: snapshot and election hooks.
//
// Election timeouts are drawn uniformly and continuously from
// [ElectionTimeoutMin, ElectionTimeoutMax] with Config.Rand at every reset.
//
// # Output and the driver's contract
//
// After any input, HasReady reports whether there is work and Ready returns
// it as a batch. Ready hands the batch over: it is not returned again. For
// each Ready, in the order the Readies were returned, the driver:
//
//  1. Sends Messages at once. They never depend on durable state: they are
//     the leader's AppendEntries and heartbeats (the leader's own write of
//     the same entries may proceed in parallel), pre-votes and heartbeat
//     answers.
//  2. If MustPersist, writes Snapshot (if any), then Entries (truncating the
//     durable log at Entries[0].Index first if that index was written
//     before), then HardState (if non-zero), as one write queued behind the
//     writes of earlier Readies. Writes complete in order.
//  3. Once this write and every earlier one is durable, sends
//     MessagesAfterPersist and calls Persisted(now, rd.Mark). These
//     messages state durable facts: a vote (one vote per term), a
//     candidate's request for votes in a term it adopted, a follower's
//     acknowledgement of entries. A follower therefore acknowledges only
//     what it has persisted, and a term or vote change is durable before any
//     message that depends on it leaves. If a Ready has nothing to persist,
//     its MessagesAfterPersist still wait for the earlier writes.
//  4. Restores the state machine from Snapshot (if any), then applies
//     CommittedEntries in order. Committed entries are durable on a quorum,
//     so they may be applied before this node's own write of them
//     completes (a leader may commit through its followers while its own
//     write is in flight: its own match index counts only after Persisted).
//     A node that crashes first restarts from its durable state and learns
//     them again.
//
// A crash loses whatever was not durable; the node restarts with New from
// the durable State (hard state, snapshot, entries).
//
// The core never copies entry data: the slices in Ready and in messages
// share the proposer's bytes and must be treated as read-only.
//
// # Protocol
//
// Leader election with the election restriction and one vote per term;
// optional PreVote (a pre-candidate bumps its term only after a majority
// says it would vote; a voter in contact with a live leader within
// ElectionTimeoutMin refuses) and CheckQuorum (a leader that has not heard
// from a quorum within ElectionTimeoutMin steps down). Log replication with
// prevLogIndex/prevLogTerm checks, rejections carrying a conflict hint (term
// and its first index, so the leader skips a term per round trip),
// per-follower progress (probe / replicate / snapshot), a bounded window of
// in-flight AppendEntries per follower (pipelining) and limits on entries
// and bytes per message (batching). A new leader appends a no-op and commits
// only by counting replicas of entries of its own term (Figure 8). Quorum
// arithmetic (MajorityConfig, JointConfig) works for joint configurations.
//
// # Observation
//
// Status, Role, Term, Leader and the log accessors are cheap; Config.
// OnRoleChange is called with the driver's time whenever the role, term or
// known leader changes.
package raft
