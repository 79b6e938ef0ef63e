package tcp

import (
	"testing"

	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/transporttest"
)

func TestContract(t *testing.T) {
	transporttest.Run(t, func(t *testing.T, h1, h2 transport.Handler) (transport.Transport, transport.Transport) {
		a := start(t, testConfig(1, h1))
		b := start(t, testConfig(2, h2))
		a.AddPeer(2, b.Addr())
		b.AddPeer(1, a.Addr())
		return a, b
	})
}
