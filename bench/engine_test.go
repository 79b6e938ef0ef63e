package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// testCluster is the engine conformance suite: every engine must pass it.
func testEngine(t *testing.T, e Engine, transport string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := e.Start(ctx, ClusterConfig{Nodes: 3, Transport: transport, Seed: 1,
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond,
		Heartbeat: 20 * time.Millisecond, PreVote: true, CheckQuorum: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var roles []RoleChange
	drainRoles := func() {
		for {
			select {
			case rc := <-c.RoleChanges():
				roles = append(roles, rc)
			default:
				return
			}
		}
	}

	leader := waitLeader(t, c)
	seq := uint64(0)
	write := func(key, val string) {
		t.Helper()
		seq++
		cmd := workloads.EncodePut(7, seq, []byte(key), []byte(val))
		for {
			l := waitLeader(t, c)
			_, err := c.Write(ctx, l, cmd)
			if err == nil {
				return
			}
			if !errors.Is(err, ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("write %s: %v", key, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write("a", "1")
	for _, mode := range []ReadMode{ReadIndex, ReadLease, ReadLog, ReadFollower} {
		node := leader
		if mode == ReadFollower {
			node = other(c, leader)
		}
		v, ok, err := c.Read(ctx, node, mode, []byte("a"))
		if err != nil || !ok || string(v) != "1" {
			t.Errorf("%s read on %d = %q, %t, %v; want \"1\"", mode, node, v, ok, err)
		}
	}

	// Crash the leader: another takes over, writes go on, the old one
	// catches up after its restart.
	if err := c.Crash(leader); err != nil {
		t.Fatal(err)
	}
	next := waitLeader(t, c)
	if next == leader {
		t.Fatalf("crashed node %d still leads", leader)
	}
	write("b", "2")
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	// Partition the new leader away: the majority elects another.
	var rest []uint64
	for _, id := range c.Nodes() {
		if id != next {
			rest = append(rest, id)
		}
	}
	if err := c.Partition([]uint64{next}, rest); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l := c.Leader(); l != 0 && l != next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader among %v after partitioning %d away", rest, next)
		}
		time.Sleep(10 * time.Millisecond)
	}
	write("c", "3")
	if err := c.Heal(); err != nil {
		t.Fatal(err)
	}
	for _, id := range c.Nodes() {
		deadline := time.Now().Add(10 * time.Second)
		for {
			v, ok, err := c.Read(ctx, id, ReadFollower, []byte("c"))
			if err == nil && ok && string(v) == "3" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d never saw c=3: %q %t %v", id, v, ok, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	drainRoles()
	leaders := 0
	for i, rc := range roles {
		if rc.Role == "leader" {
			leaders++
		}
		if i > 0 && rc.At.Before(roles[i-1].At) {
			t.Errorf("role changes out of time order: %v after %v", rc, roles[i-1])
		}
	}
	if leaders < 3 {
		t.Errorf("observed %d leader changes, want >= 3 (start, crash, partition): %v", leaders, roles)
	}
}

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

func other(c Cluster, not uint64) uint64 {
	for _, id := range c.Nodes() {
		if id != not {
			return id
		}
	}
	return 0
}

func TestRaftEngineConformance(t *testing.T) {
	for _, tr := range []string{"mem", "tcp"} {
		t.Run(tr, func(t *testing.T) { testEngine(t, RaftEngine{}, tr) })
	}
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
