// Package bench is raftbench's harness: it drives Raft clusters through an
// Engine (start a cluster, write, read, crash and restart a node,
// partition, observe role changes with their times), so that every Raft
// implementation is measured by the same load generator in one run. The
// raft library of this module is the first engine (RaftEngine); others plug
// in beside it as baselines.
//
// The engine conformance tests (testEngine) are the contract an engine
// must pass.
package bench
