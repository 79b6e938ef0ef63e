// Package bench is raftbench's harness.
//
// Engines: bench drives Raft clusters only through the Engine and Cluster
// interfaces (start a cluster, write, read with a read mode, crash and
// restart a node, partition, observe role changes with their times), so
// that every Raft implementation is measured by the same load generator in
// one run. The raft library of this module is the first engine
// (RaftEngine); others plug in beside it as baselines. Package
// bench/enginetest is the conformance suite every engine must pass. A
// cluster may also describe its settings (Describer) and count its nodes'
// group commits and fdatasync times (DiskReporter, with a DiskRecorder),
// which the run's report then carries.
//
// Load: RunLoad drives a cluster closed loop (each client waits for its
// reply) or open loop (requests on a fixed schedule; latency counts from
// the intended send time, so a stalled cluster cannot hide its queueing).
// Each client has a session (client id, sequence number), so a write it
// retries after a redirect applies once; it follows the leader it is told
// about and forgets a node that went down. Every failure is counted by kind
// (timeout, not_leader, dropped, read_failed, other); warm-up is not
// recorded. Clients are logical: a few workers (one per CPU) each keep
// their clients' requests in flight through the engine's asynchronous
// calls (AsyncCluster), so that hundreds of clients cost a few goroutines
// rather than hundreds competing with the cluster for the CPU; an engine
// without them gets a goroutine per request. Measurements go to one
// Recorder per worker (package bench/report), merged at the end.
//
// Linearizability: with LoadConfig.History, RunLoad records every request
// and its answer, and History.Check runs porcupine over it, partitioned by
// key. Writes whose outcome is unknown may take effect at any point after
// their call; writes no node accepted, or whose entry was replaced, are
// left out.
package bench
