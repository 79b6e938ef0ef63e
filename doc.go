// Package raftbench is the root of the raftbench module: a Raft library and a
// toolkit to build, measure and tune Raft clusters. It holds no code; it
// exists so that repository-wide tests (such as the dependency-direction test
// in deps_test.go) have a home.
//
// The library is github.com/raftbench/raftbench/raft: the Raft protocol as a
// deterministic state machine (no goroutines, no I/O, no clock), with the
// deterministic simulator in raft/sim. The command-line tool is
// cmd/raftbench.
//
// Dependencies point one way: cmd -> bench -> workloads -> raft. Packages
// under raft/ import nothing else of this module, and the protocol core
// (package raft) imports no other package of this module at all.
package raftbench
