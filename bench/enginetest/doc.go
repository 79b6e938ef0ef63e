// Package enginetest is the conformance suite every bench.Engine must pass:
// the raft library's engine and each baseline run the same tests, so that a
// comparison between them compares engines that all behave as the load
// generator and the experiments expect.
//
// Conformance checks proposals, every read mode, a leader crash and
// restart, a partition, and the role-change events. Linearizable drives
// the engine with the load generator while partitions and crashes come and
// go, and checks the clients' history with porcupine.
package enginetest
