package election

import "github.com/raftbench/raftbench/raft/node"

// Profile phases of a real-mode trial, set on its nodes' goroutines (the
// phase profile label; see raft/node's SetProfileLabel): several trials
// run at once, each in its own phase, so the label is per node, not
// process-wide.
const (
	phaseSetup    = "setup"    // the cluster starts, elects, settles
	phaseFailure  = "failure"  // from the failure to the first leader of a later term
	phaseRecovery = "recovery" // from then until the trial has what it measures
)

// setPhase labels every node of the trial's cluster with phase.
func (c *realCluster) setPhase(phase string) {
	for _, n := range c.nodes {
		n.SetProfileLabel(node.LabelPhase, phase)
	}
}
