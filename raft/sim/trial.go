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
	// TimerJitter delays each timer's wake-up (see Config.TimerJitter).
	TimerJitter Dist
	// Loss is the probability that a message is lost, from the failure on
	// (the setup runs without loss, so every trial starts alike).
	Loss float64
	// Failure is what happens to the leader (default FailLeaderCrash).
	Failure Failure
	// ClientWrite also measures the client-visible recovery: see
	// TrialResult.ClientRecovery.
	ClientWrite bool
	// Eligible is how many survivors hold the longest log and so can win
	// (default Nodes/2: of the paper's four survivors, two).
	Eligible int
	// MaxTime caps the time measured after the crash (default 10 minutes
	// of virtual time).
	MaxTime time.Duration
	// Check runs the safety checker during the trial.
	Check bool
}

// Failure is the fault a trial injects at its failure moment.
type Failure int

const (
	// FailLeaderCrash crashes the leader (the paper's experiment).
	FailLeaderCrash Failure = iota
	// FailLeaderPartition cuts the leader off from every other node; it
	// keeps running (with CheckQuorum it steps down on its own).
	FailLeaderPartition
	// FailLeaderAndFollowerCrash crashes the leader and the follower with
	// the highest id (a short-log one when there is one): the survivors
	// are then a bare majority of five.
	FailLeaderAndFollowerCrash
)

// TrialResult is the outcome of one trial.
type TrialResult struct {
	// TimeWithoutLeader runs from the crash until every survivor has
	// received an AppendEntries or heartbeat from the new leader.
	TimeWithoutLeader time.Duration
	// Rounds is the number of terms the survivors used to elect a leader
	// (1 = the first election succeeded).
	Rounds int
	// SplitVotes counts the terms before the winning one in which more
	// than one candidate asked for votes.
	SplitVotes int
	// ClientRecovery (with ClientWrite) runs from the failure until a
	// write commits: a client sends it at the failure and, as an ideal
	// client, resends it to each new leader the moment it is elected, so
	// this is the earliest any client sees a write succeed (the new
	// leader commits its no-op and the write together or in turn).
	ClientRecovery time.Duration
	// StaleLeader (FailLeaderPartition only) is how long the cut-off old
	// leader went on believing it leads, from the partition: with
	// CheckQuorum about an election timeout; without it, the whole
	// partition. Capped at ten maximum election timeouts (StaleLeaderCapped
	// is then set).
	StaleLeader       time.Duration
	StaleLeaderCapped bool
	// NewLeader is the node that won.
	NewLeader uint64
	// TimedOut is set when MaxTime passed without a new leader.
	TimedOut bool
	// Events is the number of simulator events the trial took.
	Events uint64
	// Leaders is how many reachable running nodes believe they lead when
	// the trial ends (a partitioned old leader is not counted): one, for
	// a trial that did not time out.
	Leaders int
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
	if cfg.Failure == FailLeaderAndFollowerCrash && cfg.Nodes < 5 {
		return TrialResult{}, fmt.Errorf("sim: crashing the leader and a follower needs >= 5 nodes, got %d", cfg.Nodes)
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
		Network: Network{Delay: cfg.NetDelay}, Disk: cfg.Disk, TimerJitter: cfg.TimerJitter, Check: cfg.Check})
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
	heard := make([]bool, cfg.Nodes+1) // survivors that heard the new leader
	heard[leader] = true               // the old leader is not waited for
	waiting := cfg.Nodes - 1
	switch cfg.Failure {
	case FailLeaderCrash:
		c.Crash(leader)
	case FailLeaderPartition:
		c.Partition([]uint64{leader})
	case FailLeaderAndFollowerCrash:
		last := uint64(cfg.Nodes)
		c.Crash(leader)
		c.Crash(last)
		heard[last] = true
		waiting--
	default:
		return TrialResult{}, false, fmt.Errorf("sim: unknown failure %d", cfg.Failure)
	}
	c.Filter = nil
	if cfg.Loss > 0 {
		nw := c.cfg.Network
		nw.Loss = cfg.Loss
		c.SetNetwork(nw)
	}

	startEvents := c.Stats.Events

	// Candidates per term, for split votes.
	candidates := map[uint64]map[uint64]bool{}
	c.OnSend = func(now time.Duration, m raft.Message) {
		if m.Type == raft.MsgVote && m.Term > oldTerm {
			if candidates[m.Term] == nil {
				candidates[m.Term] = map[uint64]bool{}
			}
			candidates[m.Term][m.From] = true
		}
	}

	// Time without leader: until every survivor has heard the new leader.
	var newLeader, newTerm uint64
	var heardAt time.Duration = -1
	c.OnDeliver = func(now time.Duration, m raft.Message) {
		if (m.Type != raft.MsgApp && m.Type != raft.MsgHeartbeat) || m.Term <= oldTerm || heardAt >= 0 {
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
		if waiting == 0 {
			heardAt = now
		}
	}

	// The client's write: resent to every new leader of a later term the
	// moment it is elected, done once one of them applies it.
	var clientAt time.Duration = -1
	if cfg.ClientWrite {
		client := []byte("client-write")
		var sentTerm uint64
		c.OnRoleChange = func(rc raft.RoleChange) {
			if rc.To != raft.Leader || rc.Term <= oldTerm || rc.Term <= sentTerm || clientAt >= 0 {
				return
			}
			sentTerm = rc.Term
			id := rc.ID
			c.At(c.Now(), func() { _, _, _ = c.Propose(id, client) })
		}
		c.OnApply = func(id uint64, e raft.Entry) {
			if clientAt < 0 && e.Term > oldTerm && string(e.Data) == string(client) && c.Node(id).Role() == raft.Leader {
				clientAt = c.Now()
			}
		}
	}
	var staleAt time.Duration = -1
	stale := func() bool { // polled after every event
		if cfg.Failure == FailLeaderPartition && staleAt < 0 && c.Node(leader).Role() != raft.Leader {
			staleAt = c.Now()
		}
		return staleAt >= 0
	}
	done, err := c.RunUntil(crashAt+cfg.MaxTime, func() bool {
		stale()
		return heardAt >= 0 && (!cfg.ClientWrite || clientAt >= 0)
	})
	if err != nil {
		return TrialResult{}, false, err
	}
	if cfg.Failure == FailLeaderPartition && staleAt < 0 {
		if _, err := c.RunUntil(crashAt+10*cfg.Raft.ElectionTimeoutMax, stale); err != nil {
			return TrialResult{}, false, err
		}
	}
	res := TrialResult{NewLeader: newLeader, Rounds: int(newTerm - oldTerm), Events: c.Stats.Events - startEvents}
	if cfg.Failure == FailLeaderPartition {
		if staleAt >= 0 {
			res.StaleLeader = staleAt - crashAt
		} else {
			res.StaleLeader, res.StaleLeaderCapped = 10*cfg.Raft.ElectionTimeoutMax, true
		}
	}
	if heardAt < 0 {
		res.TimedOut = true
		res.TimeWithoutLeader = cfg.MaxTime
		res.Rounds = int(maxTerm(c) - oldTerm)
	} else {
		res.TimeWithoutLeader = heardAt - crashAt
	}
	if cfg.ClientWrite {
		res.ClientRecovery = cfg.MaxTime
		if done {
			res.ClientRecovery = clientAt - crashAt
		}
	}
	for _, id := range c.IDs() {
		if n := c.Node(id); n != nil && n.Role() == raft.Leader && !(cfg.Failure == FailLeaderPartition && id == leader) {
			res.Leaders++
		}
	}
	last := newTerm
	if res.TimedOut {
		last = maxTerm(c) + 1
	}
	for term, cs := range candidates {
		if term < last && len(cs) > 1 {
			res.SplitVotes++
		}
	}
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
