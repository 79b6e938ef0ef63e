// Package node runs one Raft core (package raft) for real: goroutines, a
// write-ahead log with group commit (raft/wal), snapshot files (raft/snap),
// a transport (raft/transport) and the application's state machine. It is
// the only part of the library that does I/O.
//
// # Goroutines
//
//	event loop (run)      fed by: proposals (Propose, ProposeAsync), reads
//	                      (ReadIndex, LeaseRead, ReadAsync), messages from
//	                      the transport handler,
//	                      the disk goroutine's durable marks, snapshot
//	                      senders' results, finished snapshots, its timer.
//	                      Owns: the core, the proposal futures not yet
//	                      committed, the pending read batches.
//	                      Drains every waiting proposal into one append and
//	                      every waiting message into one Ready. Sends the
//	                      Ready's messages at once (the leader's appends go
//	                      out while its own write is queued: its disk write
//	                      runs in parallel with replication), queues the
//	                      write to the disk goroutine and the committed
//	                      entries to the apply goroutine.
//	                      Stops: when Stop closes stopC; it then closes diskC
//	                      and applyC and fails what it owned. Stop fails the
//	                      requests still queued for it once every goroutine
//	                      has ended (a request submitted during Stop waits
//	                      for nothing: it is refused).
//
//	disk goroutine        fed by: diskC (one item per Ready, in order).
//	(diskLoop)            Owns: the WAL. Takes everything queued as one group
//	                      commit (one write, one fdatasync), then sends the
//	                      messages that had to wait for it (votes,
//	                      acknowledgements) and reports the newest durable
//	                      mark to the loop (never blocking: only the newest
//	                      mark matters). Stops: when diskC is closed and
//	                      drained, or on a write error (the node fails).
//
//	apply goroutine       fed by: applyC (committed entries, snapshots to
//	(applyLoop)           restore, confirmed read points), in log order.
//	                      Owns: the state machine. Applies entries,
//	                      completes each proposal's future with the state
//	                      machine's result, releases reads once the applied
//	                      index reaches their read point, and every
//	                      SnapshotEntries entries freezes the state machine
//	                      (O(1) copy-on-write view) for a snapshot writer.
//	                      Stops: when applyC is closed and drained.
//
//	snapshot writer       one per snapshot: serializes the frozen view to a
//	                      temp file, fsyncs, renames, then tells the loop,
//	                      which compacts the core's log (keeping
//	                      TrailingEntries) and has the disk goroutine mark
//	                      the WAL and drop its old segments. Stop waits for
//	                      it.
//
//	snapshot sender       one per MsgSnap the core emits: streams the newest
//	                      snapshot file to the follower in chunks through
//	                      the transport and reports success or failure to
//	                      the loop (ReportSnapshot). Stop cancels it.
//
//	transport goroutines  not the node's: they call the handler, which
//	                      pushes messages into the loop's channel (dropping
//	                      them, like a lossy network, if the loop is far
//	                      behind) and writes incoming snapshots to a file
//	                      before the core hears of them.
//
// # Reads
//
// ReadIndex waits until the local state machine has applied the leader's
// commit index as of the call, confirmed by one heartbeat round (concurrent
// reads share a round). LeaseRead skips the round while the leader's lease
// holds (CheckQuorum only; the lease assumes bounded clock drift, see
// package raft). Followers serve reads through ReadIndex too.
//
// # Asynchronous requests
//
// Propose returns a Future to wait on; ProposeAsync and ReadAsync instead
// call a function with the outcome, from whichever goroutine learns it.
// They are for callers with many requests in flight (a load generator, a
// server multiplexing clients): no goroutine per request waits, and none
// is woken per answer.
//
// # Restart
//
// Open restores the newest snapshot file into the state machine and reads
// the WAL's entries after it; the core re-applies the committed ones.
package node
