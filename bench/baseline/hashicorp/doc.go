// Package hashicorp is a baseline bench.Engine: clusters of
// github.com/hashicorp/raft (v1.8.0), driven by the same load generator,
// conformance and linearizability suites as the project's own library, so
// that a comparison between the two compares engines under one harness.
//
// # The driver
//
// Each member is one raft.Raft in this process, built the way HashiCorp's
// own products build theirs:
//
//   - log and stable store: github.com/hashicorp/raft-wal (one fsync per
//     StoreLogs batch) behind a raft.LogCache of 512 entries;
//   - snapshots: raft.NewFileSnapshotStore in the node's directory, two
//     retained; the FSM is a workloads.KV behind raft.BatchingFSM, whose
//     copy-on-write Snapshot lets Apply go on while Persist writes;
//   - transport: raft.NetworkTransport (MaxPool 3, 10 s I/O timeout, the
//     default pipelining window of 2 AppendEntries per follower) over a
//     StreamLayer on loopback TCP, or raft.InmemTransport for "mem";
//   - configuration: HeartbeatTimeout = ElectionTimeout = the cluster's
//     ElectionTimeoutMin (hashicorp/raft draws both timeouts from [T, 2T)),
//     LeaderLeaseTimeout = T/2 but at least 100 ms (and at most T),
//     CommitTimeout 50 ms, BatchApplyCh on, MaxAppendEntries =
//     MaxBatchBytes/128 (at most 1024), TrailingLogs 10240,
//     SnapshotThreshold = SnapshotEntries checked every 1-2 s, PreVote as
//     configured. CheckQuorum cannot be turned off: a leader that has not
//     heard from a quorum for LeaderLeaseTimeout steps down. The heartbeat
//     interval is fixed by the library at T/10 to T/5.
//
// Every setting is listed by the cluster's Settings method.
//
// Writes are raft.Apply futures; a small pool of goroutines per node (8)
// waits on them in submission order (a future can only be waited on with
// a blocking Error()). ReadIndex and lease reads call VerifyLeader (there
// is no lease read) once the leader has committed an entry of its term,
// on one of 256 reader goroutines per node (as many concurrent
// verifications as an application serving each request on its own
// goroutine would make; hashicorp/raft lets them share heartbeat rounds),
// and wait for the FSM to apply up to the commit index taken before it. Reads
// through the log are Apply of a get command. Follower reads ask the
// leader for that index in process, then wait on the follower's own FSM.
//
// Crashes close the node's transport and shut hashicorp/raft down without
// a snapshot; a restart reopens the directory on the same address. Every
// node is bootstrapped with the full configuration before its first start
// and never again (raft.HasExistingState). Partitions are enforced by the
// StreamLayer: each connection opens with the dialer's node id, dials and
// accepts across a cut are refused, and a partition closes the connections
// it cuts.
//
// # What is not like a production deployment
//
//   - All nodes share one process, one Go runtime and one disk; loopback
//     has no latency to speak of.
//   - A partition refuses connections rather than dropping packets, so a
//     cut is seen at once instead of after a timeout.
//   - A crash is a Shutdown, not a killed process: the page cache survives,
//     so without fsync nothing written is lost; with fsync the files are
//     what raft-wal synced.
//   - Follower reads are forwarded to the leader by a function call, where
//     an application would send an RPC.
//   - Without fsync, raft-wal's segment files are opened through a file
//     system whose Sync does nothing (raft-wal has no such option); its
//     metadata (term, vote, segment list) and snapshots still sync.
//   - After a crash, some futures of hashicorp/raft are never completed;
//     their waiter goroutines stay blocked (at most 8 per crash).
//   - A leader with reads in flight is crashed in two steps: its transport
//     closes at once, but its Shutdown waits until it has lost its lease
//     (about LeaderLeaseTimeout), because hashicorp/raft v1.8.0 can hang in
//     Shutdown while a verification's vote is being handed to the leader
//     loop (see member.settle).
package hashicorp
