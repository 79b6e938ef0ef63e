// Command raftbench builds, measures and tunes Raft clusters.
//
// Usage:
//
//	raftbench run [flags]             drive a cluster, write an HDR latency report
//	raftbench compare RUN RUN...      compare reports
//	raftbench demo [flags]            simulated election demo on an embedded cluster
//
// Run "raftbench <command> --help" for a command's flags. The command is
// thin: each subcommand parses its flags (pflag, no package-level flag
// variables) and calls into the library.
package main
