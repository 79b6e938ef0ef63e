package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench/election"
	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/sim"
)

type demoConfig struct {
	nodes       int
	seed        uint64
	timeoutMin  time.Duration
	timeoutMax  time.Duration
	netDelay    sim.Dist
	diskDelay   sim.Dist
	trials      int
	prevote     bool
	checkQuorum bool
}

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("demo", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	nodes := fs.Int("nodes", 5, "cluster size")
	seed := fs.Uint64("seed", 1, "seed of every random choice (same seed, same run)")
	timeout := fs.String("election-timeout", "150ms-300ms", "election timeout range MIN-MAX (ms if no unit)")
	net := fs.String("net-delay", "uniform:3ms-5ms", "one-way network latency: const:D, uniform:D-D or exp:D+D")
	disk := fs.String("disk-delay", "uniform:2ms-6ms", "persist latency of one write (term, vote, entries)")
	trials := fs.Int("trials", 1000, "leader-crash trials to run after the walkthrough (Figure 16 procedure)")
	prevote := fs.Bool("prevote", false, "enable PreVote")
	checkQuorum := fs.Bool("check-quorum", false, "enable CheckQuorum")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: raftbench demo [flags]\n\nRuns a Raft cluster inside the deterministic simulator (no server, no disk):")
		fmt.Fprintln(stdout, "elects a leader, commits entries, crashes the leader, shows the re-election,")
		fmt.Fprintln(stdout, "then runs leader-crash trials as the Raft paper did for its Figure 16.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stdout, "\nExamples:\n  raftbench demo\n  raftbench demo --election-timeout 150-155 --trials 300\n  raftbench demo --nodes 3 --prevote --net-delay uniform:0.1ms-0.5ms")
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := demoConfig{nodes: *nodes, seed: *seed, trials: *trials, prevote: *prevote, checkQuorum: *checkQuorum}
	var err error
	if cfg.timeoutMin, cfg.timeoutMax, err = parseRange(*timeout); err != nil {
		return fmt.Errorf("--election-timeout: %w", err)
	}
	if cfg.netDelay, err = sim.ParseDist(*net); err != nil {
		return fmt.Errorf("--net-delay: %w", err)
	}
	if cfg.diskDelay, err = sim.ParseDist(*disk); err != nil {
		return fmt.Errorf("--disk-delay: %w", err)
	}
	if cfg.nodes < 3 || cfg.nodes > 99 {
		return fmt.Errorf("--nodes %d: want 3 to 99", cfg.nodes)
	}
	if cfg.trials < 0 {
		return fmt.Errorf("--trials %d: want >= 0", cfg.trials)
	}
	return demo(ctx, cfg, stdout)
}

// parseRange parses "150ms-300ms" or "150-300" (milliseconds).
func parseRange(s string) (lo, hi time.Duration, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want MIN-MAX, e.g. 150ms-300ms", s)
	}
	if lo, err = parseMillis(a); err != nil {
		return 0, 0, err
	}
	if hi, err = parseMillis(b); err != nil {
		return 0, 0, err
	}
	if lo <= 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want 0 < MIN <= MAX", s)
	}
	return lo, hi, nil
}

func parseMillis(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Millisecond)), nil
	}
	return time.ParseDuration(s)
}

func (cfg demoConfig) raftConfig() raft.Config {
	return raft.Config{ElectionTimeoutMin: cfg.timeoutMin, ElectionTimeoutMax: cfg.timeoutMax,
		PreVote: cfg.prevote, CheckQuorum: cfg.checkQuorum}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func demo(ctx context.Context, cfg demoConfig, w io.Writer) error {
	rc := cfg.raftConfig()
	fmt.Fprintf(w, "Simulated %d-node Raft cluster: election timeout %v-%v, heartbeat %v, network %v, disk %v, seed %d\n",
		cfg.nodes, cfg.timeoutMin, cfg.timeoutMax, cfg.timeoutMin/2, cfg.netDelay, cfg.diskDelay, cfg.seed)
	c, err := sim.New(sim.Config{Seed: cfg.seed, Nodes: cfg.nodes, Raft: rc,
		Network: sim.Network{Delay: cfg.netDelay}, Disk: cfg.diskDelay, Check: true})
	if err != nil {
		return err
	}
	c.OnRoleChange = func(ch raft.RoleChange) {
		if ch.From != ch.To || ch.To == raft.Candidate {
			fmt.Fprintf(w, "  %10s  node %d: %s -> %s (term %d)\n", ms(ch.At), ch.ID, ch.From, ch.To, ch.Term)
		}
	}
	limit := 100 * cfg.timeoutMax
	fmt.Fprintln(w, "\n1. Boot: every node starts as a follower; the first to time out campaigns.")
	if ok, err := c.RunUntil(limit, func() bool { return c.Leader() != raft.None }); err != nil || !ok {
		return fmt.Errorf("no leader within %v: %v", limit, err)
	}
	lead := c.Leader()

	fmt.Fprintf(w, "\n2. Node %d proposes 64 entries as one batch; they commit once a majority has them on disk.\n", lead)
	data := make([][]byte, 64)
	for i := range data {
		data[i] = fmt.Appendf(nil, "entry-%d", i)
	}
	proposedAt := c.Now()
	_, last, err := c.Propose(lead, data...)
	if err != nil {
		return err
	}
	if ok, err := c.RunUntil(c.Now()+limit, func() bool { return c.Node(lead).Status().Commit >= last }); err != nil || !ok {
		return fmt.Errorf("entries not committed: %v", err)
	}
	fmt.Fprintf(w, "  %10s  committed through index %d, %s after the proposal\n", ms(c.Now()), last, ms(c.Now()-proposedAt))

	fmt.Fprintf(w, "\n3. Node %d (the leader) crashes; the survivors notice its silence and elect a new leader.\n", lead)
	crashAt := c.Now()
	c.Crash(lead)
	fmt.Fprintf(w, "  %10s  node %d crashed\n", ms(crashAt), lead)
	if ok, err := c.RunUntil(c.Now()+limit, func() bool { return c.Leader() != raft.None }); err != nil || !ok {
		return fmt.Errorf("no new leader within %v: %v", limit, err)
	}
	fmt.Fprintf(w, "  leader %d elected %s after the crash\n", c.Leader(), ms(c.Now()-crashAt))
	c.OnRoleChange = nil

	if cfg.trials == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n4. %d leader-crash trials (Raft paper §9.3, Figure 16 procedure: distinct log lengths, one\n", cfg.trials)
	fmt.Fprintln(w, "   heartbeat broadcast, leader crashed at a random moment within its heartbeat interval).")
	tc := sim.TrialConfig{Nodes: cfg.nodes, Raft: rc, NetDelay: cfg.netDelay, Disk: cfg.diskDelay, MaxTime: 10 * time.Minute}
	times := make([]time.Duration, 0, cfg.trials)
	rounds := 0
	started := time.Now()
	for i := range cfg.trials {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := sim.RunElectionTrial(tc, cfg.seed<<20+uint64(i))
		if err != nil {
			return err
		}
		times = append(times, r.TimeWithoutLeader)
		rounds += r.Rounds
	}
	slices.Sort(times)
	q := func(p float64) time.Duration { return times[int(p*float64(len(times)-1)+0.5)] }
	fmt.Fprintf(w, "   time without leader: min %s  p10 %s  median %s  p90 %s  p99 %s  max %s\n",
		ms(q(0)), ms(q(.1)), ms(q(.5)), ms(q(.9)), ms(q(.99)), ms(q(1)))
	fmt.Fprintf(w, "   election rounds per trial: %.2f on average; %d trials in %v of real time\n",
		float64(rounds)/float64(len(times)), len(times), time.Since(started).Round(time.Millisecond))
	if p, ok := election.Paper(election.FormatRange(cfg.timeoutMin, cfg.timeoutMax)); ok && cfg.nodes == 5 {
		q := p.Quantiles
		fmt.Fprintf(w, "   the paper's %s line (LogCabin, 5 servers): min %.0f ms  median %.0f ms  p90 %.0f ms  p99 %.0f ms  max %.0f ms\n",
			p.Range, q[0], q[50], q[90], q[99], q[100])
	}
	fmt.Fprintln(w, "   (raftbench election runs all ten lines with plots and the distance to the paper's curves)")
	return nil
}
