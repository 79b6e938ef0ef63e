package enginetest

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

// Config is the cluster the suite starts: three nodes on transport with
// timeouts short enough for a quick test, and the commit and proposal
// delays `raftbench run` uses by default (engines without them ignore
// them).
func Config(transport string, seed uint64) bench.ClusterConfig {
	return bench.ClusterConfig{Nodes: 3, Transport: transport, Seed: seed, Fsync: false,
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond,
		Heartbeat: 20 * time.Millisecond, PreVote: true, CheckQuorum: true,
		CommitNotifyDelay: time.Millisecond, ProposalDelay: time.Millisecond}
}

// WaitLeader waits up to 10s for a node that believes it leads.
func WaitLeader(t testing.TB, c bench.Cluster) uint64 {
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

func other(c bench.Cluster, not uint64) uint64 {
	for _, id := range c.Nodes() {
		if id != not {
			return id
		}
	}
	return 0
}

func others(c bench.Cluster, not uint64) []uint64 {
	var rest []uint64
	for _, id := range c.Nodes() {
		if id != not {
			rest = append(rest, id)
		}
	}
	return rest
}

// Conformance runs the engine through proposals, every read mode, a leader
// crash and restart, and a partition of the leader, and checks the role
// changes it reported.
func Conformance(t *testing.T, e bench.Engine, transport string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := e.Start(ctx, Config(transport, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var roles []bench.RoleChange
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

	leader := WaitLeader(t, c)
	seq := uint64(0)
	write := func(key, val string) {
		t.Helper()
		seq++
		cmd := workloads.EncodePut(7, seq, []byte(key), []byte(val))
		for {
			l := WaitLeader(t, c)
			_, err := c.Write(ctx, l, cmd)
			if err == nil {
				return
			}
			if !errors.Is(err, bench.ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) &&
				!errors.Is(err, bench.ErrNodeDown) {
				t.Fatalf("write %s: %v", key, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("write %s: %v", key, ctx.Err())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	write("a", "1")
	leader = WaitLeader(t, c)
	for _, mode := range []bench.ReadMode{bench.ReadIndex, bench.ReadLease, bench.ReadLog, bench.ReadFollower} {
		node := leader
		if mode == bench.ReadFollower {
			node = other(c, leader)
		}
		v, ok, err := c.Read(ctx, node, mode, []byte("a"))
		if err != nil || !ok || string(v) != "1" {
			t.Errorf("%s read on %d = %q, %t, %v; want \"1\"", mode, node, v, ok, err)
		}
	}
	// A read of a key never written is found=false, not an error.
	if _, ok, err := c.Read(ctx, leader, bench.ReadIndex, []byte("never-written")); err != nil || ok {
		t.Errorf("read of a missing key = found %t, %v; want false, nil", ok, err)
	}
	// A follower refuses a write and names the leader it knows of.
	if _, err := c.Write(ctx, other(c, leader), workloads.EncodePut(8, 1, []byte("x"), []byte("y"))); err == nil {
		t.Error("a follower accepted a write")
	} else if !errors.Is(err, bench.ErrNotLeader) {
		t.Errorf("write on a follower: %v, want ErrNotLeader", err)
	}

	// Crash the leader: another takes over, writes go on, the old one
	// catches up after its restart.
	if err := c.Crash(leader); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(ctx, leader, workloads.EncodePut(8, 2, []byte("x"), []byte("y"))); !errors.Is(err, bench.ErrNodeDown) {
		t.Errorf("write on a crashed node: %v, want ErrNodeDown", err)
	}
	next := WaitLeader(t, c)
	if next == leader {
		t.Fatalf("crashed node %d still leads", leader)
	}
	write("b", "2")
	if err := c.Restart(leader); err != nil {
		t.Fatal(err)
	}
	// Partition the new leader away: the majority elects another.
	next = WaitLeader(t, c)
	if err := c.Partition([]uint64{next}, others(c, next)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l := c.Leader(); l != 0 && l != next {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no leader among %v after partitioning %d away", others(c, next), next)
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
			v, ok, err := c.Read(ctx, id, bench.ReadFollower, []byte("c"))
			if err == nil && ok && string(v) == "3" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d never saw c=3: %q %t %v", id, v, ok, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// The restarted node kept what it had before its crash.
	if v, ok, err := c.Read(ctx, leader, bench.ReadFollower, []byte("a")); err != nil || !ok || string(v) != "1" {
		t.Errorf("restarted node %d: a = %q, %t, %v; want \"1\"", leader, v, ok, err)
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
	if err := c.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}

// Linearizable drives the engine with the load generator in each read mode
// while a fault loop partitions the leader, heals, crashes a node and
// restarts it, and checks that the history the clients saw is
// linearizable.
func Linearizable(t *testing.T, e bench.Engine, transport string, modes ...bench.ReadMode) {
	if len(modes) == 0 {
		modes = []bench.ReadMode{bench.ReadIndex, bench.ReadLease, bench.ReadLog, bench.ReadFollower}
	}
	for _, mode := range modes {
		t.Run(string(mode), func(t *testing.T) {
			c, err := e.Start(context.Background(), Config(transport, 3))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			WaitLeader(t, c)
			h := bench.NewHistory(50_000)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				Faults(c, 250*time.Millisecond, stop)
			}()
			wl := workloads.GeneratorConfig{Seed: 1, Keys: workloads.KeyConfig{Keys: 50},
				ValueBytesMin: 64, ValueBytesMax: 64, ReadRatio: 0.5}
			rec := &counter{errs: map[string]int{}}
			_, err = bench.RunLoad(context.Background(), c, bench.LoadConfig{Clients: 4, Duration: 1200 * time.Millisecond,
				ReadMode: mode, Workload: wl, Timeout: time.Second, History: h},
				func(time.Time) bench.Recorder { return rec }, nil)
			close(stop)
			<-done
			c.Heal()
			if err != nil {
				t.Fatal(err)
			}
			res := h.Check(30 * time.Second)
			if res.Ops < 50 {
				t.Fatalf("only %d operations recorded (%d ok, errors %v)", res.Ops, rec.ok, rec.errs)
			}
			if !res.Linearized {
				path := filepath.Join(t.TempDir(), "violation.html")
				res.Visualize(path)
				t.Fatalf("%d operations: linearizable=%t unknown=%t (visualization: %s)", res.Ops, res.Linearized, res.Unknown, path)
			}
			t.Logf("%d operations linearizable (%d ok, errors %v)", res.Ops, rec.ok, rec.errs)
		})
	}
}

// Faults cycles through partitioning the leader away, healing, crashing
// the leader and restarting every node, one step each interval, until stop
// is closed.
func Faults(c bench.Cluster, interval time.Duration, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(interval):
		}
		l := c.Leader()
		if l == 0 {
			continue
		}
		switch i % 4 {
		case 0:
			c.Partition([]uint64{l}, others(c, l))
		case 1:
			c.Heal()
		case 2:
			c.Crash(l)
		case 3:
			for _, id := range c.Nodes() {
				c.Restart(id) // the crashed one comes back; the others refuse
			}
		}
	}
}

// counter counts answers (every worker records into this one, so it
// locks): all of them, and those intended from start on.
type counter struct {
	mu       sync.Mutex
	start    time.Time
	ok       int
	measured int
	errs     map[string]int
}

func (r *counter) Record(intended time.Time, _ time.Duration) {
	r.mu.Lock()
	r.ok++
	if !intended.Before(r.start) {
		r.measured++
	}
	r.mu.Unlock()
}

func (r *counter) Error(_ time.Time, kind string) { r.mu.Lock(); r.errs[kind]++; r.mu.Unlock() }
