package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport"
)

// network abstracts the transports the cluster tests run over.
type network interface {
	join(id uint64, h transport.Handler) transport.Transport
	partition(groups ...[]uint64)
	heal()
	close()
}

type testCluster struct {
	t     testing.TB
	net   network
	base  string
	cfg   func(id uint64) Config
	nodes map[uint64]*Node
	trs   map[uint64]transport.Transport
	sms   map[uint64]*listSM
	ids   []uint64
	// wrap, if set, wraps a node's handler before its transport gets it.
	wrap func(id uint64, h transport.Handler) transport.Handler
}

func testRaftConfig(id uint64, ids []uint64) raft.Config {
	return raft.Config{ID: id, Voters: ids,
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond,
		HeartbeatInterval: 20 * time.Millisecond}
}

func newTestCluster(t testing.TB, size int, net network, tune func(*Config)) *testCluster {
	t.Helper()
	c := &testCluster{t: t, net: net, base: t.TempDir(), nodes: map[uint64]*Node{},
		trs: map[uint64]transport.Transport{}, sms: map[uint64]*listSM{}}
	for i := 1; i <= size; i++ {
		c.ids = append(c.ids, uint64(i))
	}
	c.cfg = func(id uint64) Config {
		cfg := Config{Raft: testRaftConfig(id, c.ids), Seed: 7, Dir: filepath.Join(c.base, fmt.Sprint(id)), NoSync: true}
		if os.Getenv("NODE_DEBUG") != "" {
			cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		if tune != nil {
			tune(&cfg)
		}
		return cfg
	}
	for _, id := range c.ids {
		c.start(id)
	}
	t.Cleanup(func() {
		for _, id := range c.ids {
			c.stop(id)
		}
		net.close()
	})
	return c
}

// start opens node id from its directory (a restart if it ran before).
func (c *testCluster) start(id uint64) {
	c.t.Helper()
	cfg := c.cfg(id)
	sm := &listSM{}
	if cfg.StateMachine == nil {
		cfg.StateMachine = sm
	}
	n, err := Open(cfg)
	if err != nil {
		c.t.Fatalf("open node %d: %v", id, err)
	}
	h := n.Handler()
	if c.wrap != nil {
		h = c.wrap(id, h)
	}
	tr := c.net.join(id, h)
	n.Start(tr)
	c.nodes[id], c.trs[id], c.sms[id] = n, tr, sm
}

func (c *testCluster) stop(id uint64) {
	if n := c.nodes[id]; n != nil {
		if err := n.Stop(); err != nil {
			c.t.Errorf("stop node %d: %v", id, err)
		}
		c.trs[id].Close()
		delete(c.nodes, id)
	}
}

// leader waits until one running node leads and every running node
// agrees on it.
func (c *testCluster) leader() *Node {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var lead uint64
		agreed := true
		for _, n := range c.nodes {
			st := n.Status()
			if st.Role == raft.Leader {
				lead = n.ID()
			}
			if st.Leader == raft.None {
				agreed = false
			}
		}
		if lead != raft.None && agreed {
			for _, n := range c.nodes {
				if n.Status().Leader != lead {
					agreed = false
				}
			}
			if agreed {
				return c.nodes[lead]
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	var sts []raft.Status
	for _, n := range c.nodes {
		sts = append(sts, n.Status())
	}
	c.t.Fatalf("no agreed leader within 10s: %+v", sts)
	return nil
}

// follower returns a node other than lead.
func (c *testCluster) follower(lead uint64) uint64 {
	for _, id := range c.ids {
		if id != lead {
			return id
		}
	}
	return raft.None
}

// propose writes values through whoever leads, retrying on redirects.
func (c *testCluster) propose(values ...string) {
	c.t.Helper()
	for _, v := range values {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		for {
			_, err := c.leader().Apply(ctx, []byte(v))
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				c.t.Fatalf("proposal %q: %v", v, err)
			}
			if !errors.Is(err, raft.ErrNotLeader) && !errors.Is(err, ErrDropped) {
				c.t.Fatalf("proposal %q: %v", v, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}
}

// waitApplied waits until node id's state machine holds want values.
func (c *testCluster) waitApplied(id uint64, want int) {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(c.sms[id].items()) < want {
		if time.Now().After(deadline) {
			c.t.Fatalf("node %d applied %d values, want %d", id, len(c.sms[id].items()), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkSame checks that every running node holds exactly the values.
func (c *testCluster) checkSame(values []string) {
	c.t.Helper()
	for id := range c.nodes {
		c.waitApplied(id, len(values))
		got := c.sms[id].items()
		if len(got) != len(values) {
			c.t.Fatalf("node %d holds %d values, want %d", id, len(got), len(values))
		}
		for i, v := range values {
			if string(got[i]) != v {
				c.t.Fatalf("node %d value %d = %q, want %q", id, i, got[i], v)
			}
		}
	}
}

func values(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

func forEachNet(t *testing.T, f func(t *testing.T, net func() network)) {
	t.Helper()
	t.Run("mem", func(t *testing.T) { f(t, newMemNet) })
	t.Run("tcp", func(t *testing.T) { f(t, func() network { return newTCPNet(t) }) })
}

func TestCommitAndRestartWholeCluster(t *testing.T) {
	forEachNet(t, func(t *testing.T, net func() network) {
		c := newTestCluster(t, 3, net(), nil)
		vals := values("a", 50)
		c.propose(vals...)
		c.checkSame(vals)
		for _, id := range c.ids {
			c.stop(id)
		}
		for _, id := range c.ids {
			c.start(id)
		}
		c.leader()
		more := append(vals, values("b", 10)...)
		c.propose(more[len(vals):]...)
		c.checkSame(more)
	})
}

func TestLeaderCrashAndRecovery(t *testing.T) {
	forEachNet(t, func(t *testing.T, net func() network) {
		c := newTestCluster(t, 5, net(), nil)
		vals := values("a", 20)
		c.propose(vals...)
		old := c.leader().ID()
		c.stop(old)
		if l := c.leader().ID(); l == old {
			t.Fatalf("stopped leader %d still leads", old)
		}
		vals = append(vals, values("b", 20)...)
		c.propose(vals[20:]...)
		c.start(old)
		c.checkSame(vals)
	})
}

// newSnapshottingCluster starts 3 nodes that snapshot every 40 entries
// (keeping 10), and names the leader and a follower to make lag.
func newSnapshottingCluster(t *testing.T, net network) (c *testCluster, lead, lagger uint64) {
	c = newTestCluster(t, 3, net, func(cfg *Config) {
		cfg.SnapshotEntries = 40
		cfg.TrailingEntries = 10
	})
	lead = c.leader().ID()
	return c, lead, c.follower(lead)
}

// waitSnapshots waits until every running node has a snapshot at index or
// beyond.
func waitSnapshots(t *testing.T, c *testCluster, index uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range c.nodes {
		for {
			if meta, ok, _ := n.snaps.Latest(); ok && meta.Index >= index {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d took no snapshot past index %d", n.ID(), index)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestFollowerCatchesUpThroughSnapshot(t *testing.T) {
	forEachNet(t, func(t *testing.T, net func() network) {
		c, _, lagger := newSnapshottingCluster(t, net())
		vals := values("a", 10)
		c.propose(vals...)
		c.checkSame(vals)
		c.stop(lagger)
		vals = append(vals, values("b", 300)...)
		c.propose(vals[10:]...)
		// No running node's log reaches back to what the lagger has (whoever
		// leads when it returns): each has a snapshot far past it, and a
		// moment to compact behind it.
		waitSnapshots(t, c, 100)
		time.Sleep(100 * time.Millisecond)
		c.start(lagger)
		c.checkSame(vals)
		if got := c.nodes[lagger].Stats().SnapshotsReceived.Load(); got == 0 {
			t.Errorf("node %d caught up without receiving a snapshot", lagger)
		}
		// The sender counts a transfer once the receiver's verdict reaches
		// it, which may be after the receiver has installed and applied it.
		sent := func() (sum uint64) {
			for _, n := range c.nodes {
				sum += n.Stats().SnapshotsSent.Load()
			}
			return sum
		}
		for deadline := time.Now().Add(5 * time.Second); sent() == 0; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no node counted a snapshot as sent")
			}
		}
		// Restart it again: snapshot + WAL tail.
		c.stop(lagger)
		c.start(lagger)
		c.checkSame(vals)
	})
}

// A follower with a slow disk is outvoted: the fast quorum commits.
func TestSlowFollowerDiskDoesNotSlowCommits(t *testing.T) {
	forEachNet(t, testSlowFollowerDisk)
}

func testSlowFollowerDisk(t *testing.T, net func() network) {
	const slow = 300 * time.Millisecond
	c := newTestCluster(t, 3, net(), nil)
	lead := c.leader().ID()
	var slowID uint64
	for _, id := range c.ids {
		if id != lead {
			slowID = id
		}
	}
	c.stop(slowID)
	cfg := c.cfg
	c.cfg = func(id uint64) Config {
		x := cfg(id)
		if id == slowID {
			x.DiskDelay = func() time.Duration { return slow }
		}
		return x
	}
	c.start(slowID)
	c.leader()
	start := time.Now()
	c.propose(values("a", 20)...)
	if took := time.Since(start); took > 20*slow/4 {
		t.Errorf("20 sequential proposals took %v with one slow follower (%v per sync)", took, slow)
	}
}

// A leader cut off from the majority can complete neither a write nor a
// ReadIndex read.
func TestPartitionedLeaderCannotWriteOrRead(t *testing.T) {
	forEachNet(t, testPartitionedLeader)
}

func testPartitionedLeader(t *testing.T, newNet func() network) {
	net := newNet()
	c := newTestCluster(t, 3, net, nil)
	old := c.leader()
	c.propose("before")
	var rest []uint64
	for _, id := range c.ids {
		if id != old.ID() {
			rest = append(rest, id)
		}
	}
	net.partition([]uint64{old.ID()}, rest)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := old.Apply(ctx, []byte("lost")); err == nil {
		t.Fatalf("partitioned leader completed a write")
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := old.ReadIndex(ctx2); err == nil {
		t.Fatalf("partitioned leader completed a ReadIndex read")
	}
	net.heal()
	c.propose("after")
	c.checkSame([]string{"before", "after"})
}

func TestReads(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) { cfg.Raft.CheckQuorum = true })
	lead := c.leader()
	c.propose("x", "y")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		if err := n.ReadIndex(ctx); err != nil {
			t.Fatalf("ReadIndex on %d: %v", n.ID(), err)
		}
		// Once ReadIndex returns, the local state holds every earlier write.
		if got := len(c.sms[n.ID()].items()); got < 2 {
			t.Errorf("node %d: %d values visible after ReadIndex, want 2", n.ID(), got)
		}
	}
	if err := lead.LeaseRead(ctx); err != nil {
		t.Fatalf("LeaseRead on the leader: %v", err)
	}
}

func TestSnapshotByBytes(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) { cfg.SnapshotBytes = 2000 })
	vals := values("some-twenty-bytes-x", 200) // about 4.4 kB of data
	c.propose(vals...)
	c.checkSame(vals)
	deadline := time.Now().Add(5 * time.Second)
	for _, id := range c.ids {
		for c.nodes[id].Stats().SnapshotsTaken.Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("node %d took no snapshot after 4.4 kB with SnapshotBytes 2000", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// slowSnapshots reads incoming snapshot streams slowly and says when one
// has started, so a test can stop the node in the middle of a transfer.
type slowSnapshots struct {
	transport.Handler
	started chan struct{}
	once    sync.Once
}

func (h *slowSnapshots) HandleSnapshot(m raft.Message, body io.Reader) error {
	return h.Handler.HandleSnapshot(m, &slowReader{r: body, h: h})
}

type slowReader struct {
	r io.Reader
	h *slowSnapshots
}

func (s *slowReader) Read(p []byte) (int, error) {
	s.h.once.Do(func() { close(s.h.started) })
	time.Sleep(20 * time.Millisecond)
	return s.r.Read(p[:min(len(p), 16<<10)])
}

// A follower that restarts in the middle of a snapshot transfer leaves no
// partial snapshot behind and catches up with a fresh transfer.
func TestFollowerRestartsDuringSnapshotTransfer(t *testing.T) {
	forEachNet(t, func(t *testing.T, net func() network) {
		c, _, lagger := newSnapshottingCluster(t, net())
		c.stop(lagger)
		big := make([]string, 200)
		for i := range big {
			big[i] = fmt.Sprintf("%04d-%s", i, strings.Repeat("x", 4<<10))
		}
		c.propose(big...)
		// Snapshots are written in the background: wait until every
		// running node has one far past the lagger, and a moment to compact
		// behind it, or the lagger could catch up from the log alone.
		waitSnapshots(t, c, 150)
		time.Sleep(100 * time.Millisecond)
		slow := &slowSnapshots{started: make(chan struct{})}
		c.wrap = func(id uint64, h transport.Handler) transport.Handler {
			if id != lagger {
				return h
			}
			slow.Handler = h
			return slow
		}
		c.start(lagger)
		select {
		case <-slow.started:
		case <-time.After(10 * time.Second):
			t.Fatal("no snapshot transfer started")
		}
		time.Sleep(50 * time.Millisecond) // a few chunks in
		c.stop(lagger)
		c.wrap = nil
		c.start(lagger)
		c.checkSame(big)
		// A transfer may still be finishing (a temp file in use); none may
		// stay behind.
		deadline := time.Now().Add(5 * time.Second)
		for {
			tmps, _ := filepath.Glob(filepath.Join(c.base, fmt.Sprint(lagger), "snap", "*.tmp"))
			if len(tmps) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("partial snapshot files left behind: %v", tmps)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// A follower's election deadline counts from when a heartbeat arrives, not
// from when its loop last went idle: with heartbeats at 60 ms and timeouts
// of 100-110 ms, a follower that dated heartbeats from the start of its
// 60 ms idle wait would time out 40-50 ms after each one, before the next.
func TestHeartbeatsKeepFollowersFromCampaigning(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) {
		cfg.Raft.ElectionTimeoutMin, cfg.Raft.ElectionTimeoutMax = 100*time.Millisecond, 110*time.Millisecond
		cfg.Raft.HeartbeatInterval = 60 * time.Millisecond
	})
	lead := c.leader()
	term := lead.Status().Term
	time.Sleep(1500 * time.Millisecond)
	for _, n := range c.nodes {
		if st := n.Status(); st.Term != term {
			t.Fatalf("node %d is in term %d after 1.5 s of a healthy leader in term %d", n.ID(), st.Term, term)
		}
	}
}

// gatedSM is a listSM whose snapshots wait for gate before they write.
type gatedSM struct {
	listSM
	gate chan struct{}
}

func (s *gatedSM) Snapshot() (SnapshotView, error) {
	v, err := s.listSM.Snapshot()
	return gatedView{listView: v.(listView), gate: s.gate}, err
}

type gatedView struct {
	listView
	gate chan struct{}
}

func (v gatedView) WriteTo(w io.Writer) (int64, error) {
	<-v.gate
	return v.listView.WriteTo(w)
}

// A snapshot that falls due while the previous one is still being
// written is taken when that one finishes, even if no entry comes after.
func TestSnapshotDueWhileWritingIsTakenWhenIdle(t *testing.T) {
	sm := &gatedSM{gate: make(chan struct{})}
	c := newTestCluster(t, 1, newMemNet(), func(cfg *Config) {
		cfg.SnapshotEntries = 10
		cfg.TrailingEntries = 2
		cfg.StateMachine = sm
	})
	n := c.leader()
	c.propose(values("a", 25)...) // the first snapshot (at 10 or so) waits at the gate
	if meta, ok, _ := n.snaps.Latest(); ok {
		t.Fatalf("a snapshot at %d was written through the gate", meta.Index)
	}
	close(sm.gate) // the first snapshot completes; nothing else is proposed
	deadline := time.Now().Add(10 * time.Second)
	for {
		if meta, ok, _ := n.snaps.Latest(); ok && meta.Index >= 20 {
			return
		}
		if time.Now().After(deadline) {
			meta, _, _ := n.snaps.Latest()
			t.Fatalf("latest snapshot at %d after 25 applied entries and an idle node; want one at 20 or later", meta.Index)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// With StaggerSnapshots, the replicas take their first snapshot at
// different points of the interval (by their position among the voters)
// instead of all at the same index.
func TestStaggeredSnapshots(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) {
		cfg.SnapshotEntries = 30
		cfg.TrailingEntries = 5
		cfg.StaggerSnapshots = true
	})
	vals := values("a", 24) // with the leader's no-op: index 25
	c.propose(vals...)
	c.checkSame(vals)
	latest := func(id uint64) uint64 {
		meta, ok, _ := c.nodes[id].snaps.Latest()
		if !ok {
			return 0
		}
		return meta.Index
	}
	// Node 3 is due at 10, node 2 at 20, node 1 at 30.
	deadline := time.Now().Add(10 * time.Second)
	for latest(3) == 0 || latest(2) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("snapshots at %d, %d, %d; want nodes 2 and 3 to have one", latest(1), latest(2), latest(3))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := latest(3); s < 10 {
		t.Errorf("node 3 snapshot at %d, want >= 10", s)
	}
	if s := latest(2); s < 20 {
		t.Errorf("node 2 snapshot at %d, want >= 20", s)
	}
	if s := latest(1); s != 0 {
		t.Errorf("node 1 snapshot at %d before index 30, want none", s)
	}
	// Each later snapshot comes a whole interval after the node's last.
	first3 := latest(3)
	vals = append(vals, values("b", 10)...) // index 35
	c.propose(vals[24:]...)
	c.checkSame(vals)
	for latest(1) < 30 {
		if time.Now().After(deadline) {
			t.Fatalf("node 1 snapshot at %d, want one at 30 or beyond", latest(1))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s := latest(3); s != first3 && s < first3+30 {
		t.Errorf("node 3 snapshot at %d after its first at %d, want none before %d", s, first3, first3+30)
	}
}
