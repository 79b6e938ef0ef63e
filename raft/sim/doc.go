// Package sim is a deterministic simulator for Raft clusters: it runs many
// real cores (package raft) on one goroutine under a virtual clock.
//
// Everything that happens is an event in one queue ordered by (virtual
// time, sequence number): a message delivery, the completion of a node's
// disk write, a node's deadline, or a scheduled call (fault injection,
// clients). Each node is driven exactly as the raft package's contract
// says: messages that may leave at once are put on the network, writes go
// to the node's disk, and messages that depend on a write leave when it
// completes.
//
// The models:
//
//   - Network: per-link latency distributions (Dist), loss, duplication,
//     reordering (a held-back message is overtaken by later ones), and
//     symmetric or one-way partitions (Partition, Cut, Heal).
//   - Disk: a persist-latency distribution; a node's writes complete in
//     order, and a term, a vote or an entry is durable only when its write
//     completes. Crash drops everything not durable, including queued
//     writes and the volatile state machine; Restart boots a new core from
//     the durable state.
//   - State machine: a fingerprint chained over the applied entries, which
//     snapshots capture and restore (SnapshotEvery), so snapshot transfer and
//     log compaction run too.
//
// With Config.Check, a checker verifies Election Safety, Log Matching,
// Leader Completeness and State Machine Safety after every event and stops
// the run at the first violation (Cluster.Err).
//
// Same seed, same run: every random choice (latencies, loss, the cores'
// election timeouts) comes from sources derived from Config.Seed, and the
// trace (Config.Trace, Cluster.TraceHash) is identical from run to run.
//
// RunElectionTrial runs the leader-crash procedure of the Raft paper's
// Figure 16 on a fresh cluster, for the election experiments.
package sim
