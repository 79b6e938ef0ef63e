package bench

import (
	"context"
	"testing"
	"time"
)

func waitLeader(t *testing.T, c Cluster) uint64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if l := c.Leader(); l != 0 {
			return l
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("no leader within 10s")
	return 0
}

func TestRaftEngineBadConfig(t *testing.T) {
	for _, cfg := range []ClusterConfig{{Nodes: 0}, {Nodes: 3, Transport: "udp"}} {
		if c, err := (RaftEngine{}).Start(context.Background(), cfg); err == nil {
			c.Close()
			t.Errorf("Start(%+v) succeeded, want an error", cfg)
		}
	}
	if _, err := ParseReadMode("bogus"); err == nil {
		t.Error("ParseReadMode(bogus) succeeded")
	}
}
