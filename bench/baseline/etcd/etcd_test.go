package etcd_test

import (
	"testing"

	"github.com/raftbench/raftbench/bench/baseline/etcd"
	"github.com/raftbench/raftbench/bench/enginetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"mem", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			enginetest.Conformance(t, etcd.Engine{}, tr)
		})
	}
}

func TestLinearizable(t *testing.T) {
	t.Parallel()
	enginetest.Linearizable(t, etcd.Engine{}, "tcp")
}

func TestAsyncConformance(t *testing.T) {
	t.Parallel()
	for _, tr := range []string{"mem", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			enginetest.Conformance(t, etcd.Engine{AsyncStorageWrites: true}, tr)
		})
	}
}

func TestAsyncLinearizable(t *testing.T) {
	t.Parallel()
	enginetest.Linearizable(t, etcd.Engine{AsyncStorageWrites: true}, "tcp")
}

func TestName(t *testing.T) {
	if got := (etcd.Engine{}).Name(); got != "etcd" {
		t.Errorf("Name() = %q, want etcd", got)
	}
	if got := (etcd.Engine{AsyncStorageWrites: true}).Name(); got != "etcd-async" {
		t.Errorf("Name() = %q, want etcd-async", got)
	}
}
