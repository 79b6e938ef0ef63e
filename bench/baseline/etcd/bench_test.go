package etcd_test

import (
	"testing"

	"github.com/raftbench/raftbench/bench/baseline/etcd"
	"github.com/raftbench/raftbench/bench/enginetest"
)

// The load of every engine's benchmark (enginetest.BenchmarkLoad), so the
// figures compare.

func BenchmarkWriteTCP(b *testing.B) { enginetest.BenchmarkLoad(b, etcd.Engine{}, 0) }
func BenchmarkWriteTCPAsync(b *testing.B) {
	enginetest.BenchmarkLoad(b, etcd.Engine{AsyncStorageWrites: true}, 0)
}
func BenchmarkMixedTCP(b *testing.B) { enginetest.BenchmarkLoad(b, etcd.Engine{}, 0.5) }
func BenchmarkMixedTCPAsync(b *testing.B) {
	enginetest.BenchmarkLoad(b, etcd.Engine{AsyncStorageWrites: true}, 0.5)
}
