// Package etcd is the etcd raft baseline engine: a bench.Engine that runs
// clusters of go.etcd.io/raft/v3 in process, so that the load generator
// compares this project's raft library with etcd's under the same
// workload, on the same transport and disk, in one run.
//
// # The driver
//
// Each node is a raft.RawNode owned by one loop goroutine (RawNode rather
// than raft.Node: the documented way to drive etcd raft without a channel
// hop per proposal, and what high-throughput users of the library do).
// The loop waits for a tick (a time.Ticker calling Tick), or for work in
// its inbox; it then takes everything queued at once: messages from peers
// (Step), transport reports (ReportUnreachable, ReportSnapshot), proposals
// (all of them stepped as one MsgProp, many entries per Ready) and reads
// (one ReadIndex request for all of them, as etcd's server batches its
// linearizable reads). Then it handles Readies until there are none.
//
// Without async storage writes (Engine{}), a Ready is handled in the
// order etcd raft's documentation prescribes: the hard state, entries and
// snapshot are written to the WAL and made durable with one fdatasync (if
// ClusterConfig.Fsync) and put in the MemoryStorage; the messages are sent;
// the snapshot and the committed entries are applied to the KV and the
// waiting proposals and reads answered; then Advance.
//
// With async storage writes (Engine{AsyncStorageWrites: true}, etcd
// raft's Config.AsyncStorageWrites), the loop only routes: messages to
// peers leave at once (a leader replicates while its own write is in
// progress), MsgStorageAppend goes to an append goroutine and
// MsgStorageApply to an apply goroutine, each processed in order. The
// append goroutine writes every queued append with one write and one
// fsync (group commit), then releases their responses; the apply goroutine
// applies and releases its own.
//
// Every entry's data is an 8-byte proposal id then the command. The
// proposer's waiter learns its index from the Ready that carries its entry
// and is answered when that index applies: with the KV's result if the
// entry there carries its id, or as dropped (it can then never apply,
// since a proposal enters the log at one index only). Waiting is never cut
// short by a change of term alone, because an entry of an old term can
// still commit.
//
// # Goroutines
//
// Per node: the raft loop; with async storage writes the append and apply
// goroutines; a writer per peer (it takes the frames queued for its peer
// and writes them with one write call); with tcp an accept goroutine and a
// reader per incoming connection (decode, then push into the inbox); a
// snapshot writer while a snapshot is written. The cluster adds none.
// Nothing that other goroutines call blocks the loop: the inbox and the
// peer queues are bounded and drop (peer messages, which etcd raft
// tolerates losing) or refuse (proposals) when full, and the transport is
// told when a send failed so etcd raft probes instead of pipelining.
//
// # Storage
//
// The log is durable in this project's raft/wal (entries, hard states and
// snapshot markers as records; group commit; torn-tail recovery) and the
// state machine's snapshots in raft/snap files; etcd's own WAL lives in its
// server module, which would pull the whole server in. etcd raft reads a
// raft.MemoryStorage, rebuilt on restart from the latest snapshot and the
// WAL's entries after it. Every node starts from a snapshot at index 1,
// term 1 that holds the voters (membership is fixed), as etcd raft
// recommends over Bootstrap. A change of the commit index alone is not
// written (etcd raft's MustSync says it need not be); it rides with the
// next write.
//
// With ClusterConfig.SnapshotEntries > 0 the KV is snapshotted every that
// many applied entries (a copy-on-write view, written out on its own
// goroutine), the marker recorded in the WAL, the WAL compacted behind it
// and the MemoryStorage compacted to a catch-up margin before it (etcd's
// server keeps 5000 entries; here min(5000, SnapshotEntries)). A follower
// that needs compacted entries gets MsgSnap with the whole KV and restores
// it.
//
// # Reads
//
// readindex and follower reads use etcd raft's ReadIndex with
// ReadOnlySafe: the leader confirms its leadership with a heartbeat round,
// a follower's request is forwarded by etcd raft (MsgReadIndex) and the
// leader's index comes back to it; the read is answered once that index is
// applied locally. lease reads are served the same way: ReadOnlyOption is
// per node, and ReadOnlyLeaseBased would turn every ReadIndex into a lease
// read. log reads propose a get command.
//
// # Like and unlike etcd's server
//
// Like it: the Ready handling order, the raft configuration (PreVote,
// CheckQuorum, bounded messages, in-flight window, uncommitted size and
// apply batches), batched linearizable reads, snapshots with a catch-up
// margin, MsgSnap reported through ReportSnapshot, unreachable peers
// through ReportUnreachable. Unlike it: RawNode instead of raft.Node;
// proposals are refused on followers rather than forwarded; a binary frame
// transport instead of rafthttp's HTTP streams; the state machine is the
// in-memory workloads.KV (etcd's is bbolt, with its own backend commits);
// the snapshot travels inside MsgSnap instead of a separate stream; no
// leases, no membership changes, no leader transfer; the election timeout
// range is etcd's fixed [ElectionTick, 2*ElectionTick) ticks, so
// ClusterConfig.ElectionTimeoutMax has no effect and Seed does not seed it
// (Settings reports the effective values).
package etcd
