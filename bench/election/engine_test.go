package election

import (
	"context"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/raft/sim"
)

// The engine path, on this project's engine seen only through the engine
// interface: every trial elects a new leader, and its client write commits
// after that.
func TestEngineTrials(t *testing.T) {
	cfg := Config{Mode: ModeReal, Nodes: []int{3}, Ranges: []Range{{50 * time.Millisecond, 100 * time.Millisecond}},
		Trials: 4, Parallel: 2, MaxTime: 10 * time.Second, Seed: 1, Engine: bench.RaftEngine{},
		NetDelay: sim.Const(0), DiskDelay: sim.Const(0)}
	lines, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range lines[0].Trials {
		if tr.TimedOut {
			t.Errorf("trial %d timed out", tr.Index)
			continue
		}
		// At least one election timeout passes before anyone campaigns
		// (minus the part of it that ran before the crash, at most one
		// heartbeat interval, 25 ms).
		if tr.TimeWithoutLeader < 25*time.Millisecond || tr.TimeWithoutLeader > 5*time.Second {
			t.Errorf("trial %d: time without leader %v", tr.Index, tr.TimeWithoutLeader)
		}
		if tr.ClientRecovery < tr.TimeWithoutLeader || tr.Rounds < 1 {
			t.Errorf("trial %d: client recovery %v before the leader at %v, or rounds %d", tr.Index, tr.ClientRecovery, tr.TimeWithoutLeader, tr.Rounds)
		}
	}
}

func TestEngineRefusesWhatItCannotDo(t *testing.T) {
	base := Config{Mode: ModeReal, Nodes: []int{3}, Ranges: []Range{{50 * time.Millisecond, 100 * time.Millisecond}},
		Trials: 1, Engine: bench.RaftEngine{}}
	for name, mut := range map[string]func(*Config){
		"sim mode":  func(c *Config) { c.Mode = ModeSim },
		"partition": func(c *Config) { c.Failure = sim.FailLeaderPartition },
		"net delay": func(c *Config) { c.NetDelay = sim.Const(time.Millisecond) },
		"loss":      func(c *Config) { c.Loss = 0.1 },
		"eligible":  func(c *Config) { c.Eligible = 1 },
	} {
		cfg := base
		mut(&cfg)
		if _, err := Run(context.Background(), cfg, nil); err == nil {
			t.Errorf("%s: Run accepted it", name)
		}
	}
}
