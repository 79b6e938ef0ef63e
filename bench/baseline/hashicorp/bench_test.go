package hashicorp_test

import (
	"testing"

	"github.com/raftbench/raftbench/bench/baseline/hashicorp"
	"github.com/raftbench/raftbench/bench/enginetest"
)

// The load of every engine's benchmark (enginetest.BenchmarkLoad), so the
// figures compare.

func BenchmarkWriteTCP(b *testing.B) { enginetest.BenchmarkLoad(b, hashicorp.Engine{}, 0) }
func BenchmarkMixedTCP(b *testing.B) { enginetest.BenchmarkLoad(b, hashicorp.Engine{}, 0.5) }
