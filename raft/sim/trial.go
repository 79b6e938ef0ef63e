package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// TrialConfig sets up one leader-recovery trial as the Raft paper ran them
// for its Figure 16 (§9.3): a stable cluster whose survivors have different
// log lengths, one synchronized heartbeat broadcast, then the leader crashed
// at a uniformly random moment within its heartbeat interval.
type TrialConfig struct {
	// Nodes is the cluster size (default 5).
	Nodes int
	// Raft holds the timeouts and options under test (ID, Voters and Rand
	// are set per node). HeartbeatInterval defaults to half the minimum
	// election timeout, as in the paper.
	Raft raft.Config
	// NetDelay is the one-way message latency; Disk the persist latency.
	NetDelay Dist
	Disk     Dist
	// Eligible is how many survivors hold the longest log and so can win
	// (default Nodes/2: of the paper's four survivors, two).
	Eligible int
	// MaxTime caps the time measured after the crash (default 10 minutes
	// of virtual time).
	MaxTime time.Duration
	// Check runs the safety checker during the trial.
	Check bool
}

// TrialResult is the outcome of one trial.
type TrialResult struct {
	// TimeWithoutLeader runs from the crash until every survivor has
	// received an AppendEntries or heartbeat from the new leader.
	TimeWithoutLeader time.Duration
	// Rounds is the number of terms the survivors used to elect a leader
	// (1 = the first election succeeded).
	Rounds int
	// NewLeader is the node that won.
	NewLeader uint64
	// TimedOut is set when MaxTime passed without a new leader.
	TimedOut bool
	// Events is the number of simulator events the trial took.
	Events uint64
}

// RunElectionTrial runs one trial. The same config and seed give the same
// result.
func RunElectionTrial(cfg TrialConfig, seed uint64) (TrialResult, error) {
	if cfg.Nodes == 0 {
		cfg.Nodes = 5
	}
	if cfg.Eligible == 0 {
		cfg.Eligible = cfg.Nodes / 2
	}
	if cfg.MaxTime == 0 {
		cfg.MaxTime = 10 * time.Minute
	}
	if cfg.Nodes < 3 || cfg.Eligible < cfg.Nodes/2 || cfg.Eligible > cfg.Nodes-1 {
		return TrialResult{}, fmt.Errorf("sim: trial needs >= 3 nodes and Nodes/2 <= Eligible < Nodes, got %d nodes, %d eligible", cfg.Nodes, cfg.Eligible)
	}
	if cfg.Raft.HeartbeatInterval == 0 {
		cfg.Raft.HeartbeatInterval = cfg.Raft.ElectionTimeoutMin / 2
	}
	// Setting up needs node 1 to win the first election; with very short
	// timeouts another node occasionally times out first. Then the cluster
	// is built again from a derived seed.
	for attempt := uint64(0); attempt < 100; attempt++ {
		res, ok, err := runTrial(cfg, seed+attempt<<40)
		if err != nil || ok {
			return res, err
		}
	}
	return TrialResult{}, fmt.Errorf("sim: trial seed %d: node 1 never won the setup election", seed)
}

func runTrial(cfg TrialConfig, seed uint64) (TrialResult, bool, error) {
	c, err := New(Config{Seed: seed, Nodes: cfg.Nodes, Raft: cfg.Raft,
		Network: Network{Delay: cfg.NetDelay}, Disk: cfg.Disk, Check: cfg.Check})
	if err != nil {
		return TrialResult{}, false, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x7e1a))
	const leader = 1
	// Nodes 2..1+Eligible get every entry; the rest get heartbeats only, so
	// their logs stay shorter and they cannot win the next election.
	short := func(id uint64) bool { return id > uint64(1+cfg.Eligible) }
	c.Filter = func(m raft.Message) bool { return m.Type != raft.MsgApp || len(m.Entries) == 0 || !short(m.To) }

	c.Campaign(leader)
	setupLimit := 20 * cfg.Raft.ElectionTimeoutMax
	ready := func() bool {
		l := c.Node(leader)
		if l.Role() != raft.Leader || l.Status().Commit < l.LastIndex() {
			return false
		}
		for id := uint64(2); id <= uint64(1+cfg.Eligible); id++ {
			if c.Node(id).LastIndex() < l.LastIndex() {
				return false
			}
		}
		return true
	}
	ok, err := c.RunUntil(setupLimit, ready)
	if err != nil || !ok {
		return TrialResult{}, false, err
	}
	if c.Leader() != leader {
		return TrialResult{}, false, nil
	}

	// Wait for the next heartbeat broadcast, then crash the leader at a
	// uniformly random moment before the one after it.
	oldTerm := c.Node(leader).Term()
	setupDone := c.Now()
	var lastBroadcast time.Duration = -1
	c.OnSend = func(now time.Duration, m raft.Message) {
		if m.From == leader && m.Type == raft.MsgHeartbeat && now > setupDone {
			lastBroadcast = now
		}
	}
	if ok, err := c.RunUntil(setupDone+2*cfg.Raft.HeartbeatInterval, func() bool { return lastBroadcast >= 0 }); err != nil || !ok {
		return TrialResult{}, false, err
	}
	c.OnSend = nil
	crashAt := lastBroadcast + time.Duration(rng.Int64N(int64(cfg.Raft.HeartbeatInterval)))
	if _, err := c.RunUntil(crashAt, nil); err != nil {
		return TrialResult{}, false, err
	}
	c.Crash(leader)
	c.Filter = nil

	startEvents := c.Stats.Events

	// Time without leader: until every survivor has heard the new leader.
	heard := make([]bool, cfg.Nodes+1)
	var newLeader, newTerm uint64
	waiting := cfg.Nodes - 1
	c.OnDeliver = func(now time.Duration, m raft.Message) {
		if (m.Type != raft.MsgApp && m.Type != raft.MsgHeartbeat) || m.Term <= oldTerm {
			return
		}
		if m.Term > newTerm {
			newLeader, newTerm = m.From, m.Term
			if !heard[m.From] {
				heard[m.From] = true // the leader needs no message from itself
				waiting--
			}
		}
		if !heard[m.To] {
			heard[m.To] = true
			waiting--
		}
	}
	done, err := c.RunUntil(crashAt+cfg.MaxTime, func() bool { return waiting == 0 })
	if err != nil {
		return TrialResult{}, false, err
	}
	res := TrialResult{NewLeader: newLeader, Rounds: int(newTerm - oldTerm), Events: c.Stats.Events - startEvents}
	if !done {
		res.TimedOut = true
		res.TimeWithoutLeader = cfg.MaxTime
		res.Rounds = int(maxTerm(c) - oldTerm)
		return res, true, nil
	}
	res.TimeWithoutLeader = c.Now() - crashAt
	return res, true, nil
}

func maxTerm(c *Cluster) uint64 {
	var t uint64
	for _, id := range c.IDs() {
		if n := c.Node(id); n != nil {
			t = max(t, n.Term())
		}
	}
	return t
}
