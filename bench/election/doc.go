// Package election runs leader-recovery experiments: the procedure of
// Figure 16 of the Raft paper (Ongaro and Ousterhout, 2014, §9.3) and
// variations on it.
//
// A trial starts from a settled cluster whose survivors have different log
// lengths (only Eligible of them hold the longest log), waits for one
// heartbeat broadcast of the leader, fails the leader at a uniformly random
// moment of its heartbeat interval (a crash, a partition, or a crash of the
// leader and a follower), and measures the time without leader: until every
// survivor has received the new leader's first AppendEntries or heartbeat.
// It also measures the client-visible recovery (until a write resent to
// each new leader the moment it is elected commits), the terms the
// election used and the split votes (terms with more than one candidate).
//
// Run executes every cluster size with every timeout range, in one of two
// modes:
//
//   - ModeSim runs the project's real core in the deterministic simulator
//     (raft/sim), with modelled network, disk and timer latencies. The same
//     config gives the same trials, whatever the parallelism.
//   - ModeReal starts a fresh cluster of real nodes (raft/node, the TCP
//     transport on loopback, the WAL with fdatasync, the KV state machine,
//     real timers) for every trial; a probe between each node and its
//     transport shapes the logs during setup, observes the messages and
//     adds any configured network delay, and the configured disk delay is
//     added after every real fsync. A trial is set up again if its cluster
//     is not quiet when the leader fails.
//
// The paper's ten lines are embedded (their quantiles at every whole
// percentile, read from the published figure) for the Kolmogorov-Smirnov
// distance and the plots. WriteReport writes report.json (schema
// "raftbench/election/v1") and trials.csv; WriteFigure draws the paper's
// two-panel CDF figure with its curves beside ours (SVG and PNG); WriteHTML
// puts the figure and the table on one self-contained page.
package election
