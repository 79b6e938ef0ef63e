package hashicorp_test

import (
	"testing"

	"github.com/raftbench/raftbench/bench/baseline/hashicorp"
	"github.com/raftbench/raftbench/bench/enginetest"
)

func TestConformance(t *testing.T) {
	for _, tr := range []string{"tcp", "mem"} {
		t.Run(tr, func(t *testing.T) { enginetest.Conformance(t, hashicorp.Engine{}, tr) })
	}
}

func TestLinearizable(t *testing.T) {
	enginetest.Linearizable(t, hashicorp.Engine{}, "tcp")
}
