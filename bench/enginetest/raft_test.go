package enginetest_test

import (
	"testing"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/enginetest"
)

func TestRaftEngineConformance(t *testing.T) {
	for _, tr := range []string{"mem", "tcp"} {
		t.Run(tr, func(t *testing.T) { enginetest.Conformance(t, bench.RaftEngine{}, tr) })
	}
}

func TestRaftEngineLinearizable(t *testing.T) {
	enginetest.Linearizable(t, bench.RaftEngine{}, "mem")
}

func TestRaftEngineDiskStats(t *testing.T) { enginetest.DiskStats(t, bench.RaftEngine{}) }

func BenchmarkRaftWriteTCP(b *testing.B) { enginetest.BenchmarkLoad(b, bench.RaftEngine{}, 0) }
func BenchmarkRaftMixedTCP(b *testing.B) { enginetest.BenchmarkLoad(b, bench.RaftEngine{}, 0.5) }
