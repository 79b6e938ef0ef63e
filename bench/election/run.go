package election

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/raft/sim"
)

// Mode says where the trials run.
type Mode string

const (
	// ModeSim runs the real core in the deterministic simulator: virtual
	// time, modelled network and disk.
	ModeSim Mode = "sim"
	// ModeReal runs real nodes with real timers, TCP on loopback and
	// fsync.
	ModeReal Mode = "real"
)

// Range is an election-timeout range: timeouts are drawn uniformly and
// continuously from [Min, Max].
type Range struct{ Min, Max time.Duration }

func (r Range) String() string { return FormatRange(r.Min, r.Max) }

// Config describes an experiment: every cluster size with every range.
type Config struct {
	Mode   Mode
	Nodes  []int
	Ranges []Range
	// Trials per line; 0 gives the paper's counts: 1000, and 100 for a
	// range of zero width (150-150), whose trials can take minutes each.
	Trials int
	// Heartbeat interval; 0: half the range's minimum, as in the paper.
	Heartbeat time.Duration
	// NetDelay is the one-way message latency, DiskDelay the latency of a
	// durable write (term, vote, entries). In real mode they are added to
	// the real network's and the real fsync's.
	NetDelay, DiskDelay sim.Dist
	// TimerJitter (sim only) delays every timer's wake-up by a sample, as
	// a real driver's timers fire late by a varying few microseconds to
	// milliseconds. Real mode has its own.
	TimerJitter          sim.Dist
	PreVote, CheckQuorum bool
	// CandidateTimeout, if set, is the range a candidate draws its retry
	// timeout from after a split vote (Howard et al., "Raft Refloated").
	CandidateTimeout *Range
	Failure          sim.Failure
	// Eligible is how many survivors hold the longest log (0: Nodes/2, as
	// in the paper: two of the four survivors).
	Eligible int
	// Loss is the probability of losing a message after the failure.
	Loss float64
	Seed uint64
	// Parallel is how many trials run at once (0: one per CPU).
	Parallel int
	// MaxTime caps one trial's time after the failure (0: 10 minutes; the
	// paper's slowest 150-150 trial took 528 s).
	MaxTime time.Duration
	// NodeMetrics, if set, gives each real-mode node (by id; every trial
	// cluster has nodes 1..n) its node.Config.Metrics.
	NodeMetrics func(id uint64) node.Metrics
	// Engine, if set (real mode only), runs the trials on clusters of
	// another engine (a baseline), seen through bench.Cluster alone: a
	// leader crash, no added delays, the new leader's own report as the
	// end of the time without leader (see engineTrial).
	Engine bench.Engine
}

// DefaultRanges are the paper's ten lines.
func DefaultRanges() []Range {
	rs := make([]Range, len(PaperRanges))
	for i, s := range PaperRanges {
		r, err := ParseRange(s)
		if err != nil {
			panic(err)
		}
		rs[i] = r
	}
	return rs
}

func (cfg *Config) validate() error {
	if cfg.Mode != ModeSim && cfg.Mode != ModeReal {
		return fmt.Errorf("mode %q: want sim or real", cfg.Mode)
	}
	if len(cfg.Nodes) == 0 || len(cfg.Ranges) == 0 {
		return errors.New("no cluster sizes or no timeout ranges")
	}
	for _, n := range cfg.Nodes {
		if n < 3 {
			return fmt.Errorf("cluster size %d: a leader election needs at least 3 nodes", n)
		}
		if cfg.Eligible != 0 && (cfg.Eligible < n/2 || cfg.Eligible > n-1) {
			return fmt.Errorf("eligible %d with %d nodes: want %d..%d (a majority must survive with the longest log)", cfg.Eligible, n, n/2, n-1)
		}
	}
	for _, r := range cfg.Ranges {
		if r.Min <= 0 || r.Max < r.Min {
			return fmt.Errorf("timeout range %v: want 0 < min <= max", r)
		}
		if cfg.Heartbeat >= r.Min {
			return fmt.Errorf("heartbeat %v is not below the minimum election timeout of %v", cfg.Heartbeat, r)
		}
	}
	if cfg.Engine != nil {
		switch {
		case cfg.Mode != ModeReal:
			return fmt.Errorf("engine %s: another engine runs in real mode only", cfg.Engine.Name())
		case cfg.Failure != sim.FailLeaderCrash:
			return fmt.Errorf("engine %s: only a leader crash can be injected through the engine interface", cfg.Engine.Name())
		case !noDelay(cfg.NetDelay) || !noDelay(cfg.DiskDelay):
			return fmt.Errorf("engine %s: no network or disk delay can be added through the engine interface", cfg.Engine.Name())
		case cfg.Loss > 0 || cfg.CandidateTimeout != nil || cfg.Eligible != 0:
			return fmt.Errorf("engine %s: loss, candidate timeouts and log shaping (eligible) need the raft engine", cfg.Engine.Name())
		}
	}
	if cfg.Trials < 0 {
		return fmt.Errorf("trials %d: want >= 0", cfg.Trials)
	}
	if cfg.Loss < 0 || cfg.Loss >= 1 {
		return fmt.Errorf("loss %v: want in [0, 1)", cfg.Loss)
	}
	return nil
}

// noDelay reports whether d adds nothing.
func noDelay(d sim.Dist) bool {
	c, ok := d.(sim.Const)
	return d == nil || ok && c == 0
}

// trials is the line's trial count.
func (cfg *Config) trials(r Range) int {
	switch {
	case cfg.Trials > 0:
		return cfg.Trials
	case r.Min == r.Max:
		return 100
	}
	return 1000
}

// Progress is told how many trials of the whole experiment are done.
type Progress func(done, total int)

// Run runs the experiment and returns one Line per cluster size and range,
// in the order of cfg.Nodes, then cfg.Ranges. The same config gives the
// same trials, whatever Parallel is.
func Run(ctx context.Context, cfg Config, progress Progress) ([]Line, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var lines []Line
	total := 0
	for _, n := range cfg.Nodes {
		for _, r := range cfg.Ranges {
			l := Line{Nodes: n, TimeoutMin: r.Min, TimeoutMax: r.Max, Panels: paperPanels(r.Min, r.Max), KS: math.NaN()}
			l.Trials = make([]Trial, cfg.trials(r))
			total += len(l.Trials)
			lines = append(lines, l)
		}
	}
	parallel := cfg.Parallel
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
		if cfg.Mode == ModeReal {
			// A real trial mostly waits on timers and uses about 30 ms
			// of CPU: eight clusters at once keep two cores below
			// saturation, and their timings match one cluster's (see
			// results/figure16/README.md).
			parallel = 8
		}
	}
	var realDir string
	if cfg.Mode == ModeReal {
		var err error
		if realDir, err = os.MkdirTemp("", "raftbench-election-"); err != nil {
			return nil, err
		}
		defer os.RemoveAll(realDir)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var done atomic.Int64
	for li := range lines {
		l := &lines[li]
		tc := cfg.trialConfig(l)
		for i := range l.Trials {
			g.Go(func() error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				seed := trialSeed(cfg.Seed, l.Nodes, Range{l.TimeoutMin, l.TimeoutMax}, i)
				if cfg.Engine != nil {
					t, err := engineTrial(ctx, &cfg, l, seed, filepath.Join(realDir, fmt.Sprintf("%d-%s-%d", l.Nodes, l.Range(), i)))
					if err != nil {
						return fmt.Errorf("%s, %d nodes, trial %d: %w", l.Range(), l.Nodes, i, err)
					}
					t.Index = i
					l.Trials[i] = t
				} else if cfg.Mode == ModeReal {
					t, err := realTrial(ctx, &cfg, l, seed, filepath.Join(realDir, fmt.Sprintf("%d-%s-%d", l.Nodes, l.Range(), i)))
					if err != nil {
						return fmt.Errorf("%s, %d nodes, trial %d: %w", l.Range(), l.Nodes, i, err)
					}
					t.Index = i
					l.Trials[i] = t
				} else {
					res, err := sim.RunElectionTrial(tc, seed)
					if err != nil {
						return fmt.Errorf("%s, %d nodes, trial %d (seed %d): %w", l.Range(), l.Nodes, i, seed, err)
					}
					l.Trials[i] = Trial{Index: i, TimeWithoutLeader: res.TimeWithoutLeader, ClientRecovery: res.ClientRecovery,
						Rounds: res.Rounds, SplitVotes: res.SplitVotes, TimedOut: res.TimedOut,
						StaleLeader: res.StaleLeader, StaleLeaderCapped: res.StaleLeaderCapped}
				}
				if progress != nil {
					progress(int(done.Add(1)), total)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for li := range lines {
		finish(&lines[li])
	}
	return lines, nil
}

// finish fills in a line's stats and its comparison with the paper.
func finish(l *Line) {
	l.Stats = Summarize(l.Trials)
	if p, ok := Paper(l.Range()); ok && l.Nodes == 5 {
		l.Paper = p.Quantiles
		l.KS = KSDistance(l.TimesMS(), p.Quantiles)
	}
}

func (cfg *Config) trialConfig(l *Line) sim.TrialConfig {
	rc := raft.Config{
		ElectionTimeoutMin: l.TimeoutMin, ElectionTimeoutMax: l.TimeoutMax,
		HeartbeatInterval: cfg.Heartbeat, PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum,
	}
	if ct := cfg.CandidateTimeout; ct != nil {
		rc.CandidateTimeoutMin, rc.CandidateTimeoutMax = ct.Min, ct.Max
	}
	return sim.TrialConfig{Nodes: l.Nodes, Raft: rc, NetDelay: cfg.NetDelay, Disk: cfg.DiskDelay, TimerJitter: cfg.TimerJitter,
		Loss: cfg.Loss, Failure: cfg.Failure, ClientWrite: true, Eligible: cfg.Eligible, MaxTime: cfg.MaxTime}
}

// trialSeed derives a trial's seed from the experiment's, so that a trial
// does not depend on which others ran or in what order.
func trialSeed(seed uint64, nodes int, r Range, trial int) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range []uint64{seed, uint64(nodes), uint64(r.Min), uint64(r.Max), uint64(trial)} {
		h ^= v
		h *= 1099511628211
		h ^= h >> 29
	}
	return h
}
