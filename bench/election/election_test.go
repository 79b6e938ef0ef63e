package election

import (
	"context"
	"encoding/csv"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft/sim"
)

// originalTrials reads every trial of the paper's Figure 16 from the
// project's shared material (not part of the repository), by range.
func originalTrials(t *testing.T) map[string][]float64 {
	t.Helper()
	const path = "../../../shared/figure16/original-trials.csv"
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("the paper's original trials are not here (%v): they live beside the repository, not in it", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float64{}
	for _, r := range recs[1:] { // timeout_range_ms,panel,trials,rank,cum_fraction,time_without_leader_ms
		ms, err := strconv.ParseFloat(r[5], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[r[0]] = append(out[r[0]], ms)
	}
	for _, ms := range out {
		slices.Sort(ms)
	}
	return out
}

// The paper's own trials are at a distance of about the quantiles'
// rounding from the carried quantiles, and a line 20% slower is far off.
func TestKSDistanceToThePaper(t *testing.T) {
	trials := originalTrials(t)
	for _, rng := range PaperRanges {
		p, ok := Paper(rng)
		if !ok {
			t.Fatalf("no paper line for %s", rng)
		}
		orig := trials[rng]
		if len(orig) != p.Trials {
			t.Errorf("%s: %d original trials, the quantiles say %d", rng, len(orig), p.Trials)
		}
		if d := KSDistance(orig, p.Quantiles); d > 0.02 {
			t.Errorf("%s: KS(original trials, paper quantiles) = %.3f, want <= 0.02", rng, d)
		}
		slower := make([]float64, len(orig))
		for i, v := range orig {
			slower[i] = 1.2 * v
		}
		if d := KSDistance(slower, p.Quantiles); d < 0.1 {
			t.Errorf("%s: KS of the trials 20%% slower = %.3f, want >= 0.1", rng, d)
		}
	}
}

// KSDistance against exact quantiles of a uniform distribution: a large
// sample is close, a shifted one is as far as the shift.
func TestKSDistanceUniform(t *testing.T) {
	q := make([]float64, 101)
	for p := range q {
		q[p] = 100 + float64(p) // U(100, 200)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	sample := make([]float64, 20000)
	shifted := make([]float64, len(sample))
	for i := range sample {
		sample[i] = 100 + 100*rng.Float64()
		shifted[i] = sample[i] + 30
	}
	slices.Sort(sample)
	slices.Sort(shifted)
	if d := KSDistance(sample, q); d > 0.015 {
		t.Errorf("KS of a uniform sample = %.4f, want <= 0.015", d)
	}
	if d := KSDistance(shifted, q); math.Abs(d-0.3) > 0.015 {
		t.Errorf("KS of a sample shifted by 30%% of the range = %.4f, want about 0.3", d)
	}
	if d := KSDistance(nil, q); !math.IsNaN(d) {
		t.Errorf("KS of an empty sample = %v, want NaN", d)
	}
}

func simConfig(ranges ...string) Config {
	cfg := Config{Mode: ModeSim, Nodes: []int{5}, Seed: 7, Trials: 200,
		NetDelay:  sim.Uniform{Min: 120 * time.Microsecond, Max: 450 * time.Microsecond},
		DiskDelay: sim.Exponential{Min: 500 * time.Microsecond, Mean: 4 * time.Millisecond}, TimerJitter: sim.Exponential{Mean: 30 * time.Microsecond}}
	for _, s := range ranges {
		r, err := ParseRange(s)
		if err != nil {
			panic(err)
		}
		cfg.Ranges = append(cfg.Ranges, r)
	}
	return cfg
}

// The same seed gives the same trials, however many run at once.
func TestRunDeterministic(t *testing.T) {
	cfg := simConfig("150-155", "25-50")
	cfg.Trials = 60
	var runs [][]Line
	for _, parallel := range []int{1, 4} {
		cfg.Parallel = parallel
		lines, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, lines)
	}
	for li := range runs[0] {
		a, b := runs[0][li].Trials, runs[1][li].Trials
		if !slices.Equal(a, b) {
			t.Fatalf("%s: trials differ between --parallel 1 and 4", runs[0][li].Range())
		}
	}
	cfg.Seed++
	other, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other[0].Trials, runs[0][0].Trials) {
		t.Error("another seed gave the same trials")
	}
}

// The leader fails at a random moment of its heartbeat interval (half the
// minimum timeout), just after a broadcast at worst: the smallest downtime
// is about half the minimum timeout, plus one election's messages.
func TestSmallestDowntimeIsAboutHalfTheMinimumTimeout(t *testing.T) {
	lines, err := Run(context.Background(), simConfig("150-300", "50-100"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		half := durMS(l.TimeoutMin) / 2
		if l.Stats.Min < half || l.Stats.Min > half+25 {
			t.Errorf("%s: smallest downtime %.1f ms, want between %.0f and %.0f", l.Range(), l.Stats.Min, half, half+25)
		}
		if l.Stats.TimedOut != 0 {
			t.Errorf("%s: %d trials timed out", l.Range(), l.Stats.TimedOut)
		}
	}
}

// Every trial ends with exactly one leader, whatever the failure.
func TestEveryTrialEndsWithOneLeader(t *testing.T) {
	for _, failure := range []sim.Failure{sim.FailLeaderCrash, sim.FailLeaderPartition, sim.FailLeaderAndFollowerCrash} {
		ec := simConfig("150-155")
		cfg := ec.trialConfig(&Line{Nodes: 5, TimeoutMin: 150 * time.Millisecond, TimeoutMax: 155 * time.Millisecond})
		cfg.Failure = failure
		cfg.Check = true // and the safety checker watches every event
		for i := range 100 {
			res, err := sim.RunElectionTrial(cfg, uint64(i))
			if err != nil {
				t.Fatalf("failure %d, trial %d: %v", failure, i, err)
			}
			if res.TimedOut || res.Leaders != 1 {
				t.Fatalf("failure %d, trial %d: %d leaders at the end (timed out: %v), want 1", failure, i, res.Leaders, res.TimedOut)
			}
			if res.ClientRecovery < res.TimeWithoutLeader/2 {
				t.Errorf("failure %d, trial %d: a write committed %v after the failure, before a leader could be elected (%v without leader)",
					failure, i, res.ClientRecovery, res.TimeWithoutLeader)
			}
		}
	}
}

// The narrow ranges split votes; the candidate timeout range of Raft
// Refloated lets the candidates of a split retry before any follower and
// ends most splits in the next round.
func TestCandidateTimeoutShortensNarrowRanges(t *testing.T) {
	cfg := simConfig("150-151")
	plain, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CandidateTimeout = &Range{10 * time.Millisecond, 40 * time.Millisecond}
	fast, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, f := plain[0].Stats, fast[0].Stats
	if p.SplitVotes == 0 {
		t.Fatalf("150-151 without the option split no votes in %d trials", p.Trials)
	}
	if f.Median > p.Median/3 {
		t.Errorf("150-151 median %.0f ms with a 10-40 ms candidate timeout, %.0f ms without: want at most a third", f.Median, p.Median)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, mod := range map[string]func(*Config){
		"mode":      func(c *Config) { c.Mode = "fast" },
		"nodes":     func(c *Config) { c.Nodes = []int{2} },
		"no ranges": func(c *Config) { c.Ranges = nil },
		"range":     func(c *Config) { c.Ranges = []Range{{200 * time.Millisecond, 100 * time.Millisecond}} },
		"heartbeat": func(c *Config) { c.Heartbeat = time.Second },
		"eligible":  func(c *Config) { c.Eligible = 5 },
		"loss":      func(c *Config) { c.Loss = 1 },
		"trials":    func(c *Config) { c.Trials = -1 },
	} {
		cfg := simConfig("150-300")
		mod(&cfg)
		if _, err := Run(context.Background(), cfg, nil); err == nil {
			t.Errorf("%s: Run accepted a bad config", name)
		}
	}
	for _, s := range []string{"150", "a-b", "300-150", "0-10", "-"} {
		if _, err := ParseRange(s); err == nil {
			t.Errorf("ParseRange(%q) succeeded", s)
		}
	}
	if r, err := ParseRange("0.5s-1s"); err != nil || r != (Range{500 * time.Millisecond, time.Second}) {
		t.Errorf("ParseRange(0.5s-1s) = %v, %v", r, err)
	}
}

// Real mode end to end on a few trials: real nodes, TCP, fsync, timers.
func TestRealModeTrials(t *testing.T) {
	if testing.Short() {
		t.Skip("real nodes and timers: skipped with -short")
	}
	for _, failure := range []sim.Failure{sim.FailLeaderCrash, sim.FailLeaderPartition} {
		cfg := Config{Mode: ModeReal, Nodes: []int{5}, Ranges: []Range{{50 * time.Millisecond, 100 * time.Millisecond}},
			Trials: 4, Parallel: 2, Seed: 3, Failure: failure, CheckQuorum: true, MaxTime: 10 * time.Second}
		lines, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatalf("failure %d: %v", failure, err)
		}
		for _, tr := range lines[0].Trials {
			// Followers wait at least the minimum timeout after their last
			// heartbeat, which came at most a heartbeat interval (25 ms)
			// before the failure.
			if tr.TimedOut || tr.TimeWithoutLeader < 20*time.Millisecond || tr.TimeWithoutLeader > 5*time.Second || tr.Rounds < 1 {
				t.Errorf("failure %d, trial %d: %+v", failure, tr.Index, tr)
			}
			if tr.ClientRecovery < tr.TimeWithoutLeader/2 || tr.ClientRecovery >= cfg.MaxTime {
				t.Errorf("failure %d, trial %d: client recovery %v with %v without leader", failure, tr.Index, tr.ClientRecovery, tr.TimeWithoutLeader)
			}
		}
	}
}

// A partitioned leader with CheckQuorum steps down within about an
// election timeout; without it, it goes on believing it leads.
func TestPartitionedLeaderStaleness(t *testing.T) {
	for _, cq := range []bool{true, false} {
		cfg := simConfig("150-300")
		cfg.Trials, cfg.Failure, cfg.CheckQuorum = 50, sim.FailLeaderPartition, cq
		lines, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := lines[0].Stats
		switch {
		case cq && (s.StaleLeaderCapped != 0 || s.StaleLeaderMax > 2*150 || s.StaleLeaderMedian < 150/2):
			t.Errorf("with CheckQuorum: stale leader median %.0f ms, max %.0f ms, %d capped; want within about one 150 ms timeout", s.StaleLeaderMedian, s.StaleLeaderMax, s.StaleLeaderCapped)
		case !cq && s.StaleLeaderCapped != s.Trials:
			t.Errorf("without CheckQuorum: %d of %d trials capped, want all", s.StaleLeaderCapped, s.Trials)
		}
	}
}
