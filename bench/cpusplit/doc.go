// Package cpusplit divides a run's CPU profile among the parts of the
// process, so that a comparison of engines can tell the engine's own cost
// from the costs every engine shares.
//
// A run drives an in-process cluster: the load generator, the state
// machine of every replica, the log storage and the engine all run in one
// process and share its cores. Throughput at saturation is set by their
// sum, and only one of them, the engine, differs between engines driven
// the same way. [Classify] attributes each sample of a CPU profile
// (runtime/pprof) to a [Part] by its stack, read from the leaf up: the
// first frame that belongs to a known part decides, so the runtime and
// standard-library frames (allocation, syscalls, channel operations)
// count for the code that called them.
//
// The parts:
//
//   - load: the load generator (package bench's workers and schedule,
//     workloads' key and command generation) and the recorders
//     (bench/report, HdrHistogram, bench/metrics, the command itself).
//   - state_machine: the KV state machine of package workloads, its
//     client sessions and its snapshot encoding: the same code for every
//     engine.
//   - log_storage: the write-ahead log (raft/wal, which the etcd engine
//     uses too; hashicorp's raft-wal).
//   - engine: the Raft implementation, its driver and its transport
//     (raft/..., bench's raft adapter, bench/baseline/..., go.etcd.io/raft,
//     hashicorp/raft).
//   - gc: the garbage collector's background work (its assists count for
//     the code whose allocation triggered them).
//   - runtime: scheduling and anything else with no caller among the
//     above.
package cpusplit
