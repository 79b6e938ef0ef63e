package bench

import "github.com/raftbench/raftbench/raft/node"

// withPhaseLabel returns a phase callback that first sets the process-wide
// profile label phase=<phase> (raft/node's SetProfileLabel: the nodes'
// goroutines and the load generator's workers pick it up when they next
// wake), then calls onPhase (may be nil).
func withPhaseLabel(onPhase func(Phase)) func(Phase) {
	return func(ph Phase) {
		node.SetProfileLabel(node.LabelPhase, string(ph))
		if onPhase != nil {
			onPhase(ph)
		}
	}
}
