package node

import (
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// countMetrics counts what a node reports.
type countMetrics struct {
	mu     sync.Mutex
	counts metricCounts
}

type metricCounts struct {
	proposed, commits, commitEnt int
	syncTime                     time.Duration
	appends, appendEnt           int
	appendTo                     map[uint64]int
	started, won, leaders        int
	snapshots                    int
	snapBytes                    int64
}

func (m *countMetrics) Proposed(n int) { m.mu.Lock(); m.counts.proposed += n; m.mu.Unlock() }
func (m *countMetrics) GroupCommit(n int, d time.Duration) {
	m.mu.Lock()
	m.counts.commits++
	m.counts.commitEnt += n
	m.counts.syncTime += d
	m.mu.Unlock()
}
func (m *countMetrics) AppendSent(to uint64, n int) {
	m.mu.Lock()
	m.counts.appends++
	m.counts.appendEnt += n
	if m.counts.appendTo == nil {
		m.counts.appendTo = map[uint64]int{}
	}
	m.counts.appendTo[to]++
	m.mu.Unlock()
}
func (m *countMetrics) ElectionStarted(uint64)       { m.mu.Lock(); m.counts.started++; m.mu.Unlock() }
func (m *countMetrics) ElectionWon(uint64)           { m.mu.Lock(); m.counts.won++; m.mu.Unlock() }
func (m *countMetrics) LeaderChanged(uint64, uint64) { m.mu.Lock(); m.counts.leaders++; m.mu.Unlock() }
func (m *countMetrics) SnapshotTaken(_ uint64, b int64) {
	m.mu.Lock()
	m.counts.snapshots++
	m.counts.snapBytes += b
	m.mu.Unlock()
}

func (m *countMetrics) snapshot() metricCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.counts
	c.appendTo = maps.Clone(c.appendTo)
	return c
}

func TestMetricsHook(t *testing.T) {
	ms := map[uint64]*countMetrics{1: {}, 2: {}, 3: {}}
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) {
		cfg.Metrics = ms[cfg.Raft.ID]
		cfg.SnapshotEntries = 50
	})
	lead := c.leader()
	c.propose(values("v", 120)...)
	c.checkSame(values("v", 120))

	var won, leaders int
	for id, m := range ms {
		s := m.snapshot()
		won += s.won
		leaders += s.leaders
		if s.leaders < 1 {
			t.Errorf("node %d: %d leader changes, want >= 1", id, s.leaders)
		}
		// A follower may have caught up through a snapshot instead of
		// the entries: only the leader surely wrote all of them.
		if want := map[bool]int{true: 120, false: 1}[id == lead.ID()]; s.commits == 0 || s.commitEnt < want {
			t.Errorf("node %d: %d group commits of %d entries, want entries >= %d", id, s.commits, s.commitEnt, want)
		}
		if s.snapshots == 0 || s.snapBytes <= 0 {
			t.Errorf("node %d: %d snapshots of %d bytes, want some", id, s.snapshots, s.snapBytes)
		}
	}
	if won < 1 {
		t.Errorf("elections won: got %d, want >= 1", won)
	}
	s := ms[lead.ID()].snapshot()
	if s.started < 1 || s.won < 1 {
		t.Errorf("leader %d: started %d, won %d elections, want >= 1 each", lead.ID(), s.started, s.won)
	}
	if s.proposed != 120 {
		t.Errorf("leader proposed %d entries, want 120", s.proposed)
	}
	if s.appends == 0 || s.appendEnt < 2*120 {
		t.Errorf("leader sent %d appends carrying %d entries, want >= 240 entries", s.appends, s.appendEnt)
	}
	for _, id := range c.ids {
		if id != lead.ID() && s.appendTo[id] == 0 {
			t.Errorf("leader sent no append to %d", id)
		}
	}

	// The leader publishes its windows; followers publish none.
	in := lead.Inflight(nil)
	if len(in) != 2 {
		t.Errorf("leader's inflight windows: got %+v, want 2 followers", in)
	}
	for _, p := range in {
		if p.Peer == lead.ID() || p.Messages < 0 {
			t.Errorf("bad window %+v", p)
		}
	}
	f := c.nodes[c.follower(lead.ID())]
	if got := f.Inflight(nil); len(got) != 0 && f.Status().Role != raft.Leader {
		t.Errorf("follower's inflight windows: got %+v, want none", got)
	}
}

// TestObserveRoles checks the election and leader-change counts drawn from
// role changes, a single-node win included.
func TestObserveRoles(t *testing.T) {
	m := &countMetrics{}
	var seen int
	f := observeRoles(m, func(raft.RoleChange) { seen++ })
	for _, rc := range []raft.RoleChange{
		{From: raft.Follower, To: raft.PreCandidate, Term: 1},
		{From: raft.PreCandidate, To: raft.Candidate, Term: 2},
		{From: raft.Candidate, To: raft.Candidate, Term: 3}, // split vote, retried
		{From: raft.Candidate, To: raft.Leader, Term: 3, Leader: 1},
		{From: raft.Leader, To: raft.Follower, Term: 4, Leader: 2},
		{From: raft.Follower, To: raft.Follower, Term: 4, Leader: 2}, // nothing new
		{From: raft.Follower, To: raft.Leader, Term: 5, Leader: 1},   // at once
	} {
		f(rc)
	}
	s := m.snapshot()
	if seen != 7 || s.started != 3 || s.won != 2 || s.leaders != 3 {
		t.Errorf("callbacks %d, started %d, won %d, leader changes %d; want 7, 3, 2, 3", seen, s.started, s.won, s.leaders)
	}
	if observeRoles(nil, nil) != nil {
		t.Error("no metrics, no callback: want nil")
	}
}
