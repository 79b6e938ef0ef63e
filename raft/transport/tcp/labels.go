package tcp

import (
	"strconv"

	"github.com/raftbench/raftbench/raft/internal/proflabel"
)

// goroutineLabels labels a reader or writer goroutine with the node's id
// (node=<Config.ID>) and the process-wide profile labels (see raft/node's
// SetProfileLabel), so that a CPU profile cut by node includes the node's
// network work. Refresh costs one atomic load when nothing changed; it is
// called once per batch written or delivered. The role and a node's own
// labels are the node's business and are not on these goroutines.
func (t *Transport) goroutineLabels() *proflabel.Goroutine {
	pairs := []string{proflabel.KeyNode, strconv.FormatUint(t.cfg.ID, 10)}
	g := proflabel.NewGoroutine(func() []string { return pairs })
	g.Refresh()
	return g
}
