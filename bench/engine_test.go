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

func TestCutLinks(t *testing.T) {
	cut := CutLinks([]uint64{1, 2, 3, 4}, []uint64{1}, []uint64{2})
	// 1, 2 and {3, 4} (named in no group) are three groups: every link
	// but 3-4 is cut, both ways.
	if len(cut) != 10 || cut[[2]uint64{3, 4}] || cut[[2]uint64{4, 3}] || !cut[[2]uint64{1, 2}] || !cut[[2]uint64{2, 1}] || !cut[[2]uint64{4, 1}] {
		t.Errorf("CutLinks = %v", cut)
	}
	if cut := CutLinks([]uint64{1, 2, 3}); len(cut) != 0 {
		t.Errorf("no groups cut %v", cut)
	}
}
