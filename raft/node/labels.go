package node

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/internal/proflabel"
)

// pprof labels on the node's goroutines, so that a CPU or goroutine
// profile can be cut by node, role and phase (Pyroscope turns them into
// tags).
//
// The event loop, the disk and apply goroutines and the TCP transport's
// reader and writer goroutines carry node=<id>; the node's own goroutines
// also carry role=<follower|pre-candidate|candidate|leader>. Process-wide
// labels (SetProfileLabel, e.g. phase=measure) and a node's own
// (Node.SetProfileLabel) are added to them. Goroutines started by these
// (snapshot writers and senders) inherit their labels when they start.
//
// Cost: labels are off until EnableProfileLabels(true). Each of these
// goroutines then checks one atomic counter each time it wakes up (the
// event loop: after each batch; about a nanosecond, no allocation,
// BenchmarkRefresh in raft/internal/proflabel); only when something changed (a phase, a
// role, on or off) does it rebuild its label set, a few hundred
// nanoseconds and a few small allocations, once per change. Off, the check
// is the same atomic load and always finds nothing changed. The event
// loop compares the core's role with the last one it labelled after every
// batch (a byte comparison). Heap, mutex and block profiles carry no
// goroutine labels in Go: only CPU and goroutine profiles can be cut by
// these.

// Profile label keys that this package sets.
const (
	LabelNode  = proflabel.KeyNode // the node's id, in decimal
	LabelRole  = "role"            // raft.Role's String: follower, pre-candidate, candidate, leader
	LabelPhase = "phase"           // set by the caller (SetProfileLabel), e.g. warmup, measure, failure, recovery
)

// ProfileLabelKeys lists the profile label keys the node's goroutines can
// carry: the dashboards filter on these.
var ProfileLabelKeys = []string{LabelNode, LabelRole, LabelPhase}

// EnableProfileLabels turns the pprof labels of every node's goroutines on
// or off (off by default). A profiler turns them on while it runs.
func EnableProfileLabels(on bool) { proflabel.Enable(on) }

// SetProfileLabel sets a process-wide label (value "" removes it) that every
// labelled goroutine carries from its next wake-up on, e.g.
// SetProfileLabel(LabelPhase, "measure").
func SetProfileLabel(key, value string) { proflabel.Set(key, value) }

// ProfileLabel returns the process-wide value of key ("" if unset).
func ProfileLabel(key string) string { return proflabel.Get(key) }

// SetProfileLabel sets a label (value "" removes it) on this node's own
// goroutines only, overriding a process-wide one of the same key: for
// callers that run several clusters at once, each in its own phase.
func (n *Node) SetProfileLabel(key, value string) {
	l := &n.labels
	l.mu.Lock()
	defer l.mu.Unlock()
	var next []string
	if p := l.pairs.Load(); p != nil {
		next = append(next, (*p)...)
	}
	found := false
	for i := 0; i+1 < len(next); i += 2 {
		if next[i] == key {
			next[i+1], found = value, true
		}
	}
	if !found {
		next = append(next, key, value)
	}
	l.pairs.Store(&next)
	proflabel.Bump()
}

// nodeLabels is a node's part of its goroutines' labels.
type nodeLabels struct {
	role     atomic.Uint32 // the role last labelled (raft.Role)
	lastRole raft.Role     // the event loop's copy
	mu       sync.Mutex
	pairs    atomic.Pointer[[]string] // Node.SetProfileLabel's; copy on write under mu
}

// goroutineLabels returns the labeller of one of the node's goroutines
// and installs its labels.
func (n *Node) goroutineLabels() *proflabel.Goroutine {
	id := strconv.FormatUint(n.id, 10)
	g := proflabel.NewGoroutine(func() []string {
		kv := []string{LabelNode, id, LabelRole, raft.Role(n.labels.role.Load()).String()}
		if p := n.labels.pairs.Load(); p != nil {
			for i := 0; i+1 < len(*p); i += 2 {
				if (*p)[i+1] != "" {
					kv = append(kv, (*p)[i], (*p)[i+1])
				}
			}
		}
		return kv
	})
	g.Refresh()
	return g
}

// noteRole is called by the event loop after every batch: a role change
// makes every labelled goroutine rebuild its labels (only while labels are
// on; a node changes role a few times a run at most).
func (n *Node) noteRole(r raft.Role) {
	if r != n.labels.lastRole {
		n.labels.lastRole = r
		n.labels.role.Store(uint32(r))
		proflabel.Bump()
	}
}

// GoroutineLabels keeps a goroutine outside the node (a load generator's
// worker, say) labelled with the process-wide labels and its own static
// ones. Call Refresh on the goroutine itself each time it wakes up: one
// atomic load when nothing changed.
type GoroutineLabels struct{ g *proflabel.Goroutine }

// NewGoroutineLabels returns labels for the calling goroutine with the
// given static key, value pairs on top of the process-wide ones, and
// installs them.
func NewGoroutineLabels(pairs ...string) *GoroutineLabels {
	if len(pairs)%2 != 0 {
		panic("node: NewGoroutineLabels wants key, value pairs")
	}
	var own func() []string
	if len(pairs) > 0 {
		own = func() []string { return pairs }
	}
	l := &GoroutineLabels{g: proflabel.NewGoroutine(own)}
	l.g.Refresh()
	return l
}

// Refresh installs the labels if they changed since the last call.
func (l *GoroutineLabels) Refresh() { l.g.Refresh() }
