package bench

import "github.com/raftbench/raftbench/raft/node"

// NodeObserver watches the nodes a RaftEngine runs (RaftEngine.Observer):
// package bench/metrics exports their figures to Prometheus. Each method is
// called once per node start or stop, never on a request's path.
type NodeObserver interface {
	// NodeMetrics returns the observer of node id's work, set in its
	// node.Config before it opens (nil: none).
	NodeMetrics(id uint64) node.Metrics
	// NodeRunning is told of node id once it runs, again after each
	// restart; NodeStopped once it has stopped (crashed, or closed with
	// its cluster).
	NodeRunning(id uint64, n *node.Node)
	NodeStopped(id uint64, n *node.Node)
}
