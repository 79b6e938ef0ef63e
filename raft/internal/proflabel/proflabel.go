// Package proflabel keeps the pprof labels of long-lived goroutines in step
// with a process-wide set that can change while they run (a benchmark's
// phase, say), at the cost of one atomic load each time such a goroutine
// wakes up.
//
// Labels are off until Enable(true): a goroutine's Refresh then sees the
// same generation it saw last and does nothing. Every change (Enable, Set,
// Bump) increments the generation; the next Refresh of each goroutine
// rebuilds its label set (a few small allocations, only on a change) and
// installs it with pprof.SetGoroutineLabels. Goroutines started by a
// labelled goroutine inherit its labels, as with any pprof label.
//
// It imports only the standard library, so every package of raft/ may use
// it.
package proflabel

import (
	"context"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
)

// KeyNode is the label key of a node's id, shared by the node and its
// transport.
const KeyNode = "node"

var (
	gen atomic.Uint64 // incremented by every change; 0: never enabled
	on  atomic.Bool

	mu    sync.Mutex
	pairs atomic.Pointer[[]string] // process-wide key, value pairs; copy on write under mu
)

// Enable turns labels on or off. Off, Refresh removes the labels it set.
func Enable(enable bool) {
	mu.Lock()
	defer mu.Unlock()
	if on.Load() == enable {
		return
	}
	on.Store(enable)
	gen.Add(1)
}

// On reports whether labels are on.
func On() bool { return on.Load() }

// Set sets the process-wide label key to value ("" removes it). It may be
// called whether labels are on or not; goroutines pick it up on their
// next Refresh once they are.
func Set(key, value string) {
	mu.Lock()
	defer mu.Unlock()
	var next []string
	if p := pairs.Load(); p != nil {
		next = slices.Clone(*p)
	}
	next = setPair(next, key, value)
	pairs.Store(&next)
	if on.Load() {
		gen.Add(1)
	}
}

// Get returns the process-wide value of key ("" if unset).
func Get(key string) string {
	if p := pairs.Load(); p != nil {
		for i := 0; i+1 < len(*p); i += 2 {
			if (*p)[i] == key {
				return (*p)[i+1]
			}
		}
	}
	return ""
}

// Bump tells every goroutine to rebuild its labels, for a change in what
// their own function returns (a node's role). It does nothing while labels
// are off.
func Bump() {
	if on.Load() {
		gen.Add(1)
	}
}

// setPair sets key to value in a flat key, value list ("" removes it).
func setPair(kv []string, key, value string) []string {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == key {
			if value == "" {
				return slices.Delete(kv, i, i+2)
			}
			kv[i+1] = value
			return kv
		}
	}
	if value == "" {
		return kv
	}
	return append(kv, key, value)
}

// Goroutine is one goroutine's view of the labels. It is owned by that
// goroutine: only it calls Refresh, which sets the labels of the calling
// goroutine.
type Goroutine struct {
	seen uint64
	// own returns the goroutine's own key, value pairs (node, role); they
	// are set after the process-wide ones and win over them. May be nil.
	own func() []string
}

// NewGoroutine returns a Goroutine whose own pairs come from own (may be
// nil; called only when the labels change).
func NewGoroutine(own func() []string) *Goroutine {
	return &Goroutine{own: own}
}

// Refresh installs the current labels on the calling goroutine if anything
// changed since its last call. Its cost when nothing changed is one atomic
// load and a comparison; it never allocates then.
func (g *Goroutine) Refresh() {
	if v := gen.Load(); v != g.seen {
		g.seen = v
		g.apply()
	}
}

func (g *Goroutine) apply() {
	kv := g.labels()
	if kv == nil {
		pprof.SetGoroutineLabels(context.Background())
		return
	}
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels(kv...)))
}

// labels returns the pairs the goroutine carries now (nil while off).
func (g *Goroutine) labels() []string {
	if !on.Load() {
		return nil
	}
	kv := []string{}
	if p := pairs.Load(); p != nil {
		kv = append(kv, *p...)
	}
	if g.own != nil {
		own := g.own()
		for i := 0; i+1 < len(own); i += 2 {
			kv = setPair(kv, own[i], own[i+1])
		}
	}
	return kv
}
