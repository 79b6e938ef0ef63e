package sim

import (
	"slices"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// paperTrial is the Figure 16 setup with the given timeout range: five
// servers, heartbeat at half the minimum timeout, a broadcast time of about
// 15 ms (one-way delay plus a disk write, each way).
func paperTrial(lo, hi time.Duration) TrialConfig {
	return TrialConfig{
		Nodes:    5,
		Raft:     raft.Config{ElectionTimeoutMin: lo, ElectionTimeoutMax: hi},
		NetDelay: Uniform{3 * time.Millisecond, 5 * time.Millisecond},
		Disk:     Uniform{2 * time.Millisecond, 6 * time.Millisecond},
	}
}

func runTrials(t testing.TB, cfg TrialConfig, n int) []TrialResult {
	out := make([]TrialResult, n)
	for i := range out {
		r, err := RunElectionTrial(cfg, uint64(i+1))
		if err != nil {
			t.Fatalf("trial %d: %v", i+1, err)
		}
		out[i] = r
	}
	return out
}

func quantile(rs []TrialResult, q float64) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = r.TimeWithoutLeader
	}
	slices.Sort(ds)
	return ds[int(q*float64(len(ds)-1))]
}

func TestElectionTrialShape(t *testing.T) {
	cfg := paperTrial(150*time.Millisecond, 300*time.Millisecond)
	cfg.Check = true
	rs := runTrials(t, cfg, 300)
	for i, r := range rs {
		if r.TimedOut || r.Rounds < 1 || r.NewLeader < 2 || r.NewLeader > 3 {
			t.Fatalf("trial %d: %+v: want a new leader among the two eligible nodes 2 and 3 in >= 1 round", i+1, r)
		}
		// The survivors' timers restarted at the last broadcast, at most one
		// heartbeat interval (75 ms) before the crash: no election can end
		// sooner than 150 - 75 ms after it.
		if r.TimeWithoutLeader < 75*time.Millisecond {
			t.Fatalf("trial %d: time without leader %v below the 75 ms floor", i+1, r.TimeWithoutLeader)
		}
	}
	// The paper's 150-300 line: median 171 ms, p90 244 ms, max 603 ms.
	if med := quantile(rs, 0.5); med < 120*time.Millisecond || med > 230*time.Millisecond {
		t.Errorf("median %v, want within 120-230 ms (paper: 171 ms)", med)
	}
	if p90 := quantile(rs, 0.9); p90 < 180*time.Millisecond || p90 > 320*time.Millisecond {
		t.Errorf("p90 %v, want within 180-320 ms (paper: 244 ms)", p90)
	}
}

// TestElectionTrialNarrowRangeSplitsVotes: with 150-155 ms timeouts several
// survivors time out together and split the vote, round after round (the
// paper: only 29% of trials done in the first round).
func TestElectionTrialNarrowRangeSplitsVotes(t *testing.T) {
	rs := runTrials(t, paperTrial(150*time.Millisecond, 155*time.Millisecond), 200)
	first := 0
	for _, r := range rs {
		if r.Rounds == 1 {
			first++
		}
	}
	if frac := float64(first) / float64(len(rs)); frac > 0.7 {
		t.Errorf("%.0f%% of trials elected in the first round, want split votes to be common", 100*frac)
	}
	if med := quantile(rs, 0.5); med < 150*time.Millisecond {
		t.Errorf("median %v, want above one extra round (paper: 287 ms)", med)
	}
}

func TestElectionTrialDeterministic(t *testing.T) {
	cfg := paperTrial(150*time.Millisecond, 200*time.Millisecond)
	a, err := RunElectionTrial(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	b, err := RunElectionTrial(cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatalf("same seed, different results: %+v vs %+v", a, b)
	}
}
