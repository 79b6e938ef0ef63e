package etcd_test

import (
	"context"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/bench"
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

func TestDiskStats(t *testing.T) {
	t.Parallel()
	for _, async := range []bool{false, true} {
		enginetest.DiskStats(t, etcd.Engine{AsyncStorageWrites: async})
	}
}

func TestName(t *testing.T) {
	if got := (etcd.Engine{}).Name(); got != "etcd" {
		t.Errorf("Name() = %q, want etcd", got)
	}
	if got := (etcd.Engine{AsyncStorageWrites: true}).Name(); got != "etcd-async" {
		t.Errorf("Name() = %q, want etcd-async", got)
	}
}

func TestSettings(t *testing.T) {
	c, err := etcd.Engine{AsyncStorageWrites: true}.Start(context.Background(), enginetest.Config("mem", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.(bench.Describer).Settings()
	want := map[string]any{
		"tick": "10ms", "election_tick": 10, "heartbeat_tick": 2, "pre_vote": true, "check_quorum": true,
		"async_storage_writes": true, "read_only_option": "ReadOnlySafe", "fsync": false,
		"log_storage": "raftbench raft/wal + etcd MemoryStorage",
	}
	for k, v := range want {
		if s[k] != v {
			t.Errorf("Settings()[%q] = %v, want %v", k, s[k], v)
		}
	}
	if v, _ := s["etcd_raft_version"].(string); !strings.HasPrefix(v, "v3.") {
		t.Errorf("etcd_raft_version = %q", v)
	}
	t.Log(s)
}
