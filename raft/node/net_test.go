package node

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/fault"
	"github.com/raftbench/raftbench/raft/transport/mem"
	"github.com/raftbench/raftbench/raft/transport/tcp"
)

type memNet struct{ nw *mem.Network }

func newMemNet() network { return &memNet{nw: mem.NewNetwork(1)} }

func (m *memNet) join(id uint64, h transport.Handler) transport.Transport { return m.nw.Join(id, h) }
func (m *memNet) partition(groups ...[]uint64)                            { m.nw.Partition(groups...) }
func (m *memNet) heal()                                                   { m.nw.Heal() }
func (m *memNet) close()                                                  {}

// tcpNet runs every node's transport on loopback; a restarted node listens
// on the address it had, so its peers reconnect to it. Partitions cut links
// in each node's fault wrapper.
type tcpNet struct {
	t      testing.TB
	mu     sync.Mutex
	addrs  map[uint64]string
	live   map[uint64]*tcp.Transport
	faults map[uint64]*fault.Transport
}

func newTCPNet(t testing.TB) network {
	return &tcpNet{t: t, addrs: map[uint64]string{}, live: map[uint64]*tcp.Transport{}, faults: map[uint64]*fault.Transport{}}
}

func (n *tcpNet) join(id uint64, h transport.Handler) transport.Transport {
	n.mu.Lock()
	defer n.mu.Unlock()
	addr, known := n.addrs[id]
	if !known {
		addr = "127.0.0.1:0"
	}
	peers := map[uint64]string{}
	for pid, a := range n.addrs {
		if pid != id {
			peers[pid] = a
		}
	}
	// Redial a restarted peer well within an election timeout.
	tr, err := tcp.New(tcp.Config{ID: id, ClusterID: 1, ListenAddr: addr, Peers: peers, Handler: h, Seed: id,
		BackoffMin: 5 * time.Millisecond, BackoffMax: 50 * time.Millisecond})
	if err != nil {
		n.t.Fatalf("tcp transport for %d: %v", id, err)
	}
	if !known {
		n.addrs[id] = tr.Addr()
		for pid, other := range n.live {
			if pid != id {
				other.AddPeer(id, tr.Addr())
			}
		}
	}
	n.live[id] = tr
	n.faults[id] = fault.Wrap(tr)
	return n.faults[id]
}

func (n *tcpNet) partition(groups ...[]uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, g := range groups {
		for id, f := range n.faults {
			if slices.Contains(g, id) {
				for other := range n.addrs {
					if !slices.Contains(g, other) {
						f.Cut(other)
					}
				}
			}
		}
	}
}

func (n *tcpNet) heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, f := range n.faults {
		f.Mend()
	}
}

func (n *tcpNet) close() {}
