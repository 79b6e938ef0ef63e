package mem

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft/transport"
)

// Dist is a latency distribution; the simulator's distributions (sim.Const,
// sim.Uniform, sim.Exponential, sim.ParseDist) satisfy it.
type Dist interface {
	Sample(r *rand.Rand) time.Duration
	String() string
}

// LinkModel is the behaviour of a one-way link.
type LinkModel struct {
	// Delay is the one-way latency of each message (nil: none).
	Delay Dist
	// Loss and Duplicate are per-message probabilities. A duplicate is a
	// second copy with its own delay, delivered after the first.
	Loss      float64
	Duplicate float64
	// Reorder is the probability that a message leaves the link's FIFO
	// order: it is held back by an extra ReorderDelay and later messages
	// may overtake it. Without it, a link delivers in the order sent (a
	// message never arrives before the one sent ahead of it).
	Reorder float64
	// ReorderDelay is the extra delay of a reordered message (nil: one more
	// sample of Delay).
	ReorderDelay Dist
}

func (m LinkModel) validate() {
	for _, p := range []float64{m.Loss, m.Duplicate, m.Reorder} {
		if !(p >= 0 && p <= 1) {
			panic(fmt.Sprintf("mem: probability %v outside [0, 1] in %+v", p, m))
		}
	}
}

// DefaultQueueLen bounds the messages in flight to one endpoint.
const DefaultQueueLen = 1 << 16

// Network is an in-process network: endpoints join it by id and exchange
// messages in real time under a fault model that tests change at run time.
// All its methods are safe for concurrent use.
type Network struct {
	mu       sync.Mutex
	rng      *rand.Rand
	def      LinkModel
	links    map[[2]uint64]LinkModel
	cut      map[[2]uint64]bool
	group    map[uint64]int // partition group of each named node; others are in group 0
	split    bool           // a partition is in force
	nodes    map[uint64]*Endpoint
	queueLen int
}

// NewNetwork returns an empty network whose random choices (delays, loss,
// duplication, reordering) come from seed.
func NewNetwork(seed uint64) *Network {
	return &Network{
		rng:      rand.New(rand.NewPCG(seed, 0x6d656d)),
		links:    map[[2]uint64]LinkModel{},
		cut:      map[[2]uint64]bool{},
		group:    map[uint64]int{},
		nodes:    map[uint64]*Endpoint{},
		queueLen: DefaultQueueLen,
	}
}

// SetQueueLen bounds the messages in flight to each endpoint; beyond it,
// messages are dropped and counted.
func (n *Network) SetQueueLen(messages int) {
	if messages < 1 {
		panic(fmt.Sprintf("mem: queue length %d", messages))
	}
	n.mu.Lock()
	n.queueLen = messages
	n.mu.Unlock()
}

// SetDefaultLink sets the model of every link without one of its own.
func (n *Network) SetDefaultLink(m LinkModel) {
	m.validate()
	n.mu.Lock()
	n.def = m
	n.mu.Unlock()
}

// SetLink sets the model of the one-way link from -> to.
func (n *Network) SetLink(from, to uint64, m LinkModel) {
	m.validate()
	n.mu.Lock()
	n.links[[2]uint64{from, to}] = m
	n.mu.Unlock()
}

// ResetLinks removes every per-link model: all links use the default.
func (n *Network) ResetLinks() {
	n.mu.Lock()
	clear(n.links)
	n.mu.Unlock()
}

// Cut drops every message from one node to another (a one-way partition),
// until Mend or Heal.
func (n *Network) Cut(from, to uint64) {
	n.mu.Lock()
	n.cut[[2]uint64{from, to}] = true
	n.mu.Unlock()
}

// Mend restores the link from one node to another after Cut.
func (n *Network) Mend(from, to uint64) {
	n.mu.Lock()
	delete(n.cut, [2]uint64{from, to})
	n.mu.Unlock()
}

// Partition splits the network into groups (symmetric): messages between
// nodes of different groups are dropped. Nodes not named, including nodes
// that join later, form one more group together. It replaces any earlier
// partition; cuts made with Cut stay.
func (n *Network) Partition(groups ...[]uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.group)
	for gi, g := range groups {
		for _, id := range g {
			n.group[id] = gi + 1
		}
	}
	n.split = true
}

// Heal removes the partition and every cut.
func (n *Network) Heal() {
	n.mu.Lock()
	clear(n.cut)
	clear(n.group)
	n.split = false
	n.mu.Unlock()
}

// blocked reports whether from -> to is partitioned or cut. n.mu is held.
func (n *Network) blocked(from, to uint64) bool {
	return n.cut[[2]uint64{from, to}] || (n.split && n.group[from] != n.group[to])
}

// link returns the model of from -> to. n.mu is held.
func (n *Network) link(from, to uint64) LinkModel {
	if m, ok := n.links[[2]uint64{from, to}]; ok {
		return m
	}
	return n.def
}

// sample draws from d (zero if d is nil). n.mu is held.
func (n *Network) sample(d Dist) time.Duration {
	if d == nil {
		return 0
	}
	return max(d.Sample(n.rng), 0)
}

// chance reports true with probability p. n.mu is held.
func (n *Network) chance(p float64) bool { return p > 0 && n.rng.Float64() < p }

// Join attaches a node to the network. Messages for id are delivered to h
// from now on. A node that left (Close) may join again, as after a
// restart; joining with an id in use is a programmer error and panics.
func (n *Network) Join(id uint64, h transport.Handler) *Endpoint {
	if id == 0 || h == nil {
		panic("mem: Join needs a non-zero id and a handler")
	}
	e := newEndpoint(n, id, h)
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.nodes[id]; ok {
		panic(fmt.Sprintf("mem: node %d joined twice", id))
	}
	n.nodes[id] = e
	go e.run()
	return e
}

// leave detaches e if it is still the endpoint of its id.
func (n *Network) leave(e *Endpoint) {
	n.mu.Lock()
	if n.nodes[e.id] == e {
		delete(n.nodes, e.id)
	}
	n.mu.Unlock()
}
