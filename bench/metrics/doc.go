// Package metrics exports a running cluster's figures and a load
// generator's to Prometheus (github.com/prometheus/client_golang), for
// `raftbench run --metrics-addr` and `raftbench election --mode real
// --metrics-addr`, and for the Grafana dashboard dashboards/raft-overview.json.
//
// # Use
//
// New registers every metric with a registry. Nodes(engine) is a
// bench.NodeObserver: give it to bench.RaftEngine{Observer: ...} and each
// node the engine runs reports its work (node.Metrics) and is read at every
// scrape for its state (node.Status, node.Inflight). Load(engine).Wrap
// wraps each load-generator worker's bench.Recorder so that the requests
// it records are counted too. Handler serves the registry for /metrics.
//
// # Metrics
//
// Every metric carries the labels engine (the engine's name: raft, or a
// baseline's) and, for a node's figures, node (its id). Node figures come
// only from engines that expose their nodes (the raft library's); load
// figures come from every engine.
//
// Read at each scrape from the running nodes (a node that stopped has
// none):
//
//	raftbench_raft_term{engine,node}                 gauge: current term
//	raftbench_raft_role{engine,node,role}            gauge: 1 for the node's role, 0 for the
//	                                                 others (role: follower, pre-candidate,
//	                                                 candidate, leader)
//	raftbench_raft_commit_index{engine,node}         gauge: highest index known committed
//	raftbench_raft_applied_index{engine,node}        gauge: highest index applied to the state machine
//	raftbench_raft_inflight_messages{engine,node,peer}
//	                                                 gauge: the leader's AppendEntries in flight
//	                                                 to peer (the pipelining window); leaders only
//
// Counted as it happens:
//
//	raftbench_raft_proposals_total{engine,node}      counter: entries proposed on the leader
//	raftbench_raft_entries_per_append{engine,node}   histogram: entries written per WAL group commit
//	                                                 (commits that write no entry, such as a vote,
//	                                                 are not observed)
//	raftbench_raft_entries_per_message{engine,node}  histogram: entries per AppendEntries sent
//	                                                 (0: a probe, or one that only carries the
//	                                                 commit index)
//	raftbench_raft_fsync_seconds{engine,node}        histogram: time of the fdatasync of each group
//	                                                 commit (near zero with --fsync=false)
//	raftbench_raft_elections_started_total{engine,node}  counter: times the node became a candidate
//	raftbench_raft_elections_won_total{engine,node}      counter: times it became the leader
//	raftbench_raft_leader_changes_total{engine,node}     counter: times it learned of a new leader
//	raftbench_raft_snapshots_total{engine,node}          counter: snapshots it took
//	raftbench_raft_snapshot_bytes_total{engine,node}     counter: bytes of those snapshots
//
//	raftbench_load_ops_total{engine,kind}            counter: measured requests that succeeded,
//	                                                 kind read or write
//	raftbench_load_errors_total{engine,kind}         counter: measured requests that failed, by
//	                                                 error kind (timeout, not_leader, dropped,
//	                                                 read_failed, other; see bench)
//	raftbench_load_latency_seconds{engine,kind}      histogram: latency of the successful ones,
//	                                                 from the intended send time, kind read or write
//
// Load figures count the measured phase only, as the run's report does.
// Bucket bounds: entries 0, 1, 2, 4, ... 8192; fsync 50 µs to 1.6 s and
// latency 50 µs to 6.6 s, each doubling.
//
// # Cost
//
// Everything on a request's path is an atomic add or a histogram
// observation on a child resolved once per node or worker (no label
// lookup, no lock, no allocation). A node with an observer also copies its
// leader's in-flight windows after every loop batch (a lock and a few
// words per follower). A scrape reads each node's status under its
// status lock.
package metrics
