package node

import (
	"sync"
	"testing"

	"github.com/raftbench/raftbench/raft/transport"
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
// on the address it had, so its peers reconnect to it.
type tcpNet struct {
	t     testing.TB
	mu    sync.Mutex
	addrs map[uint64]string
	live  map[uint64]*tcp.Transport
}

func newTCPNet(t testing.TB) network {
	return &tcpNet{t: t, addrs: map[uint64]string{}, live: map[uint64]*tcp.Transport{}}
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
	tr, err := tcp.New(tcp.Config{ID: id, ClusterID: 1, ListenAddr: addr, Peers: peers, Handler: h, Seed: id})
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
	return tr
}

func (n *tcpNet) partition(...[]uint64) { n.t.Fatal("tcpNet does not partition") }
func (n *tcpNet) heal()                 {}
func (n *tcpNet) close()                {}
