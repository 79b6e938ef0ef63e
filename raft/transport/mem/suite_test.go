package mem

import (
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft/sim"
	"github.com/raftbench/raftbench/raft/transport"
	"github.com/raftbench/raftbench/raft/transport/transporttest"
)

func TestContract(t *testing.T) {
	for _, tt := range []struct {
		name  string
		model LinkModel
	}{
		{"no faults", LinkModel{}},
		{"delay jitter", LinkModel{Delay: sim.Uniform{Min: 0, Max: 500 * time.Microsecond}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			transporttest.Run(t, func(t *testing.T, h1, h2 transport.Handler) (transport.Transport, transport.Transport) {
				nw := NewNetwork(1)
				nw.SetDefaultLink(tt.model)
				a, b := nw.Join(1, h1), nw.Join(2, h2)
				t.Cleanup(func() { a.Close(); b.Close() })
				return a, b
			})
		})
	}
}
