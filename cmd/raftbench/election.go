package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench/election"
	"github.com/raftbench/raftbench/raft/sim"
)

type electionConfig struct {
	exp   election.Config
	out   string
	quiet bool
	flags map[string]string
}

func runElection(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("election", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	parse := electionFlags(fs)
	startPyroscope := pyroscopeFlags(fs)
	startMetrics := metricsFlags(fs)
	realDefaults := func() {
		// Real trials run in real time: the narrowest ranges (150-150 takes
		// a minute a trial) are left out unless asked for, and one trial is
		// capped at a minute.
		if fs.Lookup("mode").Value.String() == "real" {
			if !fs.Changed("timeouts") {
				fs.Set("timeouts", strings.Join(realRanges, ","))
			}
			if !fs.Changed("max-time") {
				fs.Set("max-time", "1m")
			}
			// The machine's own network and fsync supply the latency and
			// its spread; nothing is added unless asked for.
			if !fs.Changed("net-delay") {
				fs.Set("net-delay", "const:0")
			}
			if !fs.Changed("disk-delay") {
				fs.Set("disk-delay", "const:0")
			}
		}
	}
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: raftbench election [flags]\n\nLeader-recovery experiments as in Figure 16 of the Raft paper: a stable")
		fmt.Fprintln(stdout, "cluster whose survivors have different log lengths, one synchronized heartbeat,")
		fmt.Fprintln(stdout, "the leader crashed at a random moment of its heartbeat interval; the time")
		fmt.Fprintln(stdout, "without leader runs until every survivor has heard the new leader. Writes")
		fmt.Fprintln(stdout, "report.json, trials.csv, figure16.svg/.png (with the paper's curves) and index.html.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stdout, `
Examples:
  raftbench election                                   # the paper's ten lines, simulated
  raftbench election --timeouts 150-155,150-300 --trials 300
  raftbench election --nodes 3,5,7,9 --timeouts 150-300 --out results/sizes
  raftbench election --timeouts 150-151 --candidate-timeout 10-20
  raftbench election --failure leader-partition --check-quorum --prevote`)
	}
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	realDefaults()
	cfg, err := parse()
	if err != nil {
		return usageError{err}
	}
	cfg.flags = map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) { cfg.flags[f.Name] = f.Value.String() })
	delete(cfg.flags, "quiet")
	stopProfiles, err := startPyroscope(electionTags(cfg))
	if err != nil {
		return usageError{err}
	}
	defer stopProfiles()
	ms, err := startMetrics()
	if err != nil {
		return usageError{err}
	}
	defer ms.stop()
	if err := ms.observeElection(&cfg.exp); err != nil {
		return usageError{err}
	}
	return electionRun(ctx, cfg, stdout)
}

// realRanges are real mode's default lines: the paper's, but for the two
// narrowest.
var realRanges = []string{"150-155", "150-175", "150-200", "150-300", "12-24", "25-50", "50-100", "100-200"}

func electionFlags(fs *pflag.FlagSet) func() (electionConfig, error) {
	mode := fs.String("mode", "sim", "sim (the real core in the deterministic simulator) or real (real nodes, TCP on loopback, fsync, timers; the delays are added on top)")
	nodes := fs.String("nodes", "5", "cluster sizes, comma-separated")
	timeouts := fs.String("timeouts", strings.Join(election.PaperRanges, ","), "election-timeout ranges in ms, comma-separated, drawn uniformly and continuously (real mode: all but 150-150 and 150-151)")
	trials := fs.Int("trials", 0, "trials per line (default 1000, and 100 for a zero-width range such as 150-150)")
	heartbeat := fs.Duration("heartbeat", 0, "heartbeat interval (default: half the range's minimum timeout)")
	// The sim defaults are the model that fits the paper's ten lines best
	// (results/figure16/README.md): a LAN's one-way latency, an SSD's
	// fsync with a long tail, timers that wake a few tens of µs late.
	netDelay := fs.String("net-delay", "uniform:0.13ms-0.47ms", "one-way network latency: const:D, uniform:D-D or exp:D+D (D plus an exponential of mean D); real mode: added to loopback's, default none")
	diskDelay := fs.String("disk-delay", "exp:0.5ms+4ms", "latency of a durable write (term, vote, entries); real mode: added to the real fsync's, default none")
	timerJitter := fs.String("timer-jitter", "exp:0ms+0.03ms", "sim: how late each timer wakes (real mode has the OS's own)")
	prevote := fs.Bool("prevote", false, "PreVote")
	checkQuorum := fs.Bool("check-quorum", false, "CheckQuorum")
	candidate := fs.String("candidate-timeout", "", "range a candidate draws its retry timeout from, e.g. 10-20 (Howard et al. 2015); default: the election timeout range")
	failure := fs.String("failure", "leader-crash", "leader-crash, leader-partition or leader-and-follower-crash")
	eligible := fs.Int("eligible", 0, "survivors that hold the longest log (default: half the cluster, as in the paper)")
	loss := fs.Float64("loss", 0, "probability that a message is lost after the failure")
	seed := fs.Uint64("seed", 1, "seed of every random choice (same seed, same trials)")
	parallel := fs.Int("parallel", 0, "trials at once (default: one per CPU; real mode: 8 clusters)")
	maxTime := fs.Duration("max-time", 10*time.Minute, "cap on one trial's time after the failure (real mode: 1m)")
	out := fs.String("out", "", "output directory (default results/election-<timestamp>)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	engine := fs.String("engine", "raft", "real mode: the engine whose clusters run the trials ("+engineNames()+"); another than raft is seen through the engine interface: a leader crash, no added delays")

	return func() (electionConfig, error) {
		var cfg electionConfig
		e := &cfg.exp
		e.Mode = election.Mode(*mode)
		if e.Mode != election.ModeSim && e.Mode != election.ModeReal {
			return cfg, fmt.Errorf("--mode %q: want sim or real", *mode)
		}
		for _, s := range strings.Split(*nodes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || n < 3 || n > 15 {
				return cfg, fmt.Errorf("--nodes %q: want sizes from 3 to 15, comma-separated", *nodes)
			}
			e.Nodes = append(e.Nodes, n)
		}
		for _, s := range strings.Split(*timeouts, ",") {
			r, err := election.ParseRange(strings.TrimSpace(s))
			if err != nil {
				return cfg, fmt.Errorf("--timeouts: %w", err)
			}
			e.Ranges = append(e.Ranges, r)
		}
		if *trials < 0 {
			return cfg, fmt.Errorf("--trials %d: want >= 1", *trials)
		}
		e.Trials = *trials
		if *heartbeat < 0 {
			return cfg, fmt.Errorf("--heartbeat %v: want > 0", *heartbeat)
		}
		e.Heartbeat = *heartbeat
		var err error
		if e.NetDelay, err = sim.ParseDist(*netDelay); err != nil {
			return cfg, fmt.Errorf("--net-delay: %w", err)
		}
		if e.DiskDelay, err = sim.ParseDist(*diskDelay); err != nil {
			return cfg, fmt.Errorf("--disk-delay: %w", err)
		}
		if e.TimerJitter, err = sim.ParseDist(*timerJitter); err != nil {
			return cfg, fmt.Errorf("--timer-jitter: %w", err)
		}
		e.PreVote, e.CheckQuorum = *prevote, *checkQuorum
		if *candidate != "" {
			r, err := election.ParseRange(*candidate)
			if err != nil {
				return cfg, fmt.Errorf("--candidate-timeout: %w", err)
			}
			e.CandidateTimeout = &r
		}
		switch *failure {
		case "leader-crash":
			e.Failure = sim.FailLeaderCrash
		case "leader-partition":
			e.Failure = sim.FailLeaderPartition
		case "leader-and-follower-crash":
			e.Failure = sim.FailLeaderAndFollowerCrash
			for _, n := range e.Nodes {
				if n < 5 {
					return cfg, fmt.Errorf("--failure leader-and-follower-crash needs clusters of 5 or more, got --nodes %d", n)
				}
			}
		default:
			return cfg, fmt.Errorf("--failure %q: want leader-crash, leader-partition or leader-and-follower-crash", *failure)
		}
		e.Eligible = *eligible
		if *loss < 0 || *loss >= 1 {
			return cfg, fmt.Errorf("--loss %v: want in [0, 1)", *loss)
		}
		e.Loss = *loss
		e.Seed = *seed
		if *parallel < 0 {
			return cfg, fmt.Errorf("--parallel %d: want >= 1", *parallel)
		}
		e.Parallel = *parallel
		if *engine != "raft" {
			mk, ok := engines[*engine]
			if !ok {
				return cfg, fmt.Errorf("--engine %q: want one of %s", *engine, engineNames())
			}
			if e.Mode != election.ModeReal {
				return cfg, fmt.Errorf("--engine %s runs in --mode real only (the simulator runs this project's core)", *engine)
			}
			e.Engine = mk()
		}
		if *maxTime <= 0 {
			return cfg, fmt.Errorf("--max-time %v: want > 0", *maxTime)
		}
		e.MaxTime = *maxTime
		cfg.out, cfg.quiet = *out, *quiet
		return cfg, nil
	}
}

func electionRun(ctx context.Context, cfg electionConfig, stdout io.Writer) error {
	dir, err := outDir(cfg.out, "election")
	if err != nil {
		return err
	}
	var bar *trialProgress
	if !cfg.quiet && isTerminal(stdout) {
		bar = &trialProgress{w: stdout}
	}
	start := time.Now()
	lines, err := election.Run(ctx, cfg.exp, bar.update)
	bar.finish()
	if err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return err
	}
	end := time.Now()
	rep := election.NewReport(cfg.flags, start, end, lines)
	if err := election.WriteReport(dir, rep, lines); err != nil {
		return err
	}
	title := fmt.Sprintf("Time without leader after a %s (%s mode)", strings.ReplaceAll(cfg.flags["failure"], "-", " "), cfg.exp.Mode)
	if err := election.WriteFigure(dir, title, lines); err != nil {
		return err
	}
	svg, err := os.ReadFile(filepath.Join(dir, "figure16.svg"))
	if err != nil {
		return err
	}
	if err := election.WriteHTML(filepath.Join(dir, "index.html"), title, electionIntro(cfg), lines, svg); err != nil {
		return err
	}
	printElection(stdout, dir, rep)
	return nil
}

func electionIntro(cfg electionConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Mode %s; failure %s; network one-way %s; durable write %s; PreVote %v; CheckQuorum %v; seed %d.",
		cfg.exp.Mode, cfg.flags["failure"], cfg.flags["net-delay"], cfg.flags["disk-delay"], cfg.exp.PreVote, cfg.exp.CheckQuorum, cfg.exp.Seed)
	if cfg.exp.CandidateTimeout != nil {
		fmt.Fprintf(&b, " Candidates retry after a timeout drawn from %v ms.", cfg.exp.CandidateTimeout)
	}
	b.WriteString(" Dashed curves: Figure 16 of the Raft paper (Ongaro and Ousterhout, 2014, §9.3).")
	return b.String()
}

func printElection(w io.Writer, dir string, rep election.Report) {
	fmt.Fprintf(w, "%d trials in %.1fs (%.0f trials/s)\n", rep.TrialsRun, rep.WallSec, rep.TrialsPerS)
	fmt.Fprintf(w, "%-5s %-9s %6s %8s %8s %8s %8s %8s %6s %5s %6s\n", "nodes", "range ms", "trials", "min", "median", "p90", "p99", "max", "rounds", "split", "KS")
	for _, l := range rep.Lines {
		ks := "-"
		if l.KSToPaper != nil {
			ks = fmt.Sprintf("%.3f", *l.KSToPaper)
		}
		fmt.Fprintf(w, "%-5d %-9s %6d %8s %8s %8s %8s %8s %6.2f %5d %6s\n", l.Nodes, l.TimeoutRangeMS, l.Trials,
			fmtMS(l.MinMS), fmtMS(l.MedianMS), fmtMS(l.P90MS), fmtMS(l.P99MS), fmtMS(l.MaxMS), l.RoundsMean, l.SplitVotes, ks)
	}
	fmt.Fprintf(w, "report: %s (report.json, trials.csv, figure16.svg, figure16.png, index.html)\n", dir)
}

func fmtMS(ms float64) string {
	if math.Abs(ms) >= 1000 {
		return strconv.FormatFloat(ms, 'f', 0, 64)
	}
	return strconv.FormatFloat(ms, 'f', 1, 64)
}

// trialProgress prints a progress bar of trials done on a terminal.
type trialProgress struct {
	w    io.Writer
	last atomic.Int64 // unix ms of the last print
}

func (p *trialProgress) update(done, total int) {
	if p == nil {
		return
	}
	now := time.Now().UnixMilli()
	if last := p.last.Load(); now-last < 200 && done < total || !p.last.CompareAndSwap(last, now) {
		return
	}
	fmt.Fprintf(p.w, "\r%s %d / %d trials", progressBar(float64(done)/float64(total)), done, total)
}

func (p *trialProgress) finish() {
	if p != nil {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
