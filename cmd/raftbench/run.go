package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

// runConfig is everything `raftbench run` was told.
type runConfig struct {
	engine  string   // the engine of this run
	engines []string // --engine: more than one, or --repeat > 1, runs each in a child process
	repeat  int
	cluster bench.ClusterConfig
	load    bench.LoadConfig
	out     string
	quiet   bool
	// pprofDir, if set, receives CPU and heap profiles of the measured
	// phase.
	pprofDir string
	flags    map[string]string // every flag's value, for the report
	metrics  *metricsServer    // --metrics-addr (nil: none)

	checkTimeout time.Duration
	gomaxprocs   int // --gomaxprocs (0: see runtimeProcs)
	gogc         int // --gogc (0: the runtime's)
}

func runFlags(fs *pflag.FlagSet) func() (runConfig, error) {
	nodes := fs.Int("nodes", 3, "cluster size")
	transport := fs.String("transport", "tcp", "transport between the nodes: mem (in process) or tcp (loopback)")
	fsync := fs.Bool("fsync", true, "fdatasync every group commit (durable); --fsync=false for the non-durable mode")
	dataDir := fs.String("data-dir", "", "keep the nodes' data here (default: a temporary directory, removed afterwards)")
	timeout := fs.String("election-timeout", "150ms-300ms", "election timeout range MIN-MAX, drawn uniformly")
	heartbeat := fs.Duration("heartbeat", 0, "heartbeat interval (default: half the minimum election timeout)")
	prevote := fs.Bool("prevote", true, "PreVote")
	checkQuorum := fs.Bool("check-quorum", true, "CheckQuorum (needed for --read-mode lease)")
	maxInflight := fs.Int("max-inflight", 256, "AppendEntries in flight per follower (pipelining window)")
	maxBatch := fs.Uint64("max-batch-bytes", 1<<20, "payload bytes per AppendEntries")
	snapEntries := fs.Uint64("snapshot-entries", 100_000, "snapshot and compact every this many entries (0: never)")
	proposalDelay := fs.Duration("proposal-delay", time.Millisecond, "raft engine: how long a leader with entries in flight may hold new proposals for more to join their batch; they go when the entries before commit, the delay ends or the batch is full (0: at once)")
	commitDelay := fs.Duration("commit-delay", time.Millisecond, "raft engine: how long a leader may hold a commit index for the next AppendEntries with entries to carry it, instead of a commit-only message (0: at once)")

	clients := fs.Int("clients", 64, "closed loop: clients, each waiting for its reply; open loop: workers")
	rate := fs.Float64("rate", 0, "open loop: requests per second on a fixed schedule (0: closed loop)")
	duration := fs.Duration("duration", 10*time.Second, "measured phase")
	warmup := fs.Duration("warmup", 2*time.Second, "warm-up before the measured phase, not recorded")
	valueSize := fs.String("value-size", "128", "value bytes: N, or MIN-MAX for a uniform range")
	keys := fs.Uint64("keys", 100_000, "key-space size")
	keyDist := fs.String("key-dist", "uniform", "key distribution: uniform, zipfian, sequential or hotspot")
	zipfS := fs.Float64("zipf-s", 1.1, "zipfian exponent (> 1)")
	hotKeys := fs.Float64("hot-keys", 0.01, "hotspot: fraction of keys that are hot")
	hotProb := fs.Float64("hot-prob", 0.9, "hotspot: probability that an access goes to a hot key")
	readRatio := fs.Float64("read-ratio", 0.5, "fraction of requests that are reads")
	readMode := fs.String("read-mode", "readindex", "linearizable reads: readindex, lease, log or follower")
	seed := fs.Uint64("seed", 1, "seed of every random choice")

	check := fs.Bool("check", false, "record the client history and check it is linearizable (porcupine); writes distinct small values")
	checkOps := fs.Int("check-max-ops", 200_000, "with --check: operations recorded at most")
	checkTimeout := fs.Duration("check-timeout", time.Minute, "with --check: time the checker may take")
	out := fs.String("out", "", "run directory (default results/run-<timestamp>)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	gomaxprocs := fs.Int("gomaxprocs", 0, "Go runtime Ps (GOMAXPROCS) of the run's process (0: twice the default with --fsync, because every node's disk goroutine holds a P through each fdatasync; the default without; a GOMAXPROCS variable in the environment counts as set)")
	gogc := fs.Int("gogc", 0, "Go GC target percentage (GOGC) of the run's process (0: the runtime's, 100 or the GOGC variable); a higher one collects less often for more memory")
	profile := fs.Bool("profile", false, "write CPU and heap profiles of the measured phase (cpu.pprof, heap.pprof) into the run directory")
	pprofDir := fs.String("pprof-dir", "", "write the profiles here instead (implies --profile)")
	engine := fs.String("engine", "raft", "engine(s) to drive, comma-separated: "+engineNames()+"; several run in turn, each in its own process, with a combined comparison")
	repeat := fs.Int("repeat", 1, "rounds over the engines, alternating their order to cancel machine drift; each round of each engine is a run directory under --out")

	return func() (runConfig, error) {
		var cfg runConfig
		lo, hi, err := parseRange(*timeout)
		if err != nil {
			return cfg, fmt.Errorf("--election-timeout: %w", err)
		}
		if *nodes < 1 || *nodes > 15 {
			return cfg, fmt.Errorf("--nodes %d: want 1 to 15", *nodes)
		}
		if *transport != "mem" && *transport != "tcp" {
			return cfg, fmt.Errorf("--transport %q: want mem or tcp", *transport)
		}
		if *heartbeat < 0 || (*heartbeat > 0 && *heartbeat >= lo) {
			return cfg, fmt.Errorf("--heartbeat %v: want 0 < heartbeat < the minimum election timeout %v", *heartbeat, lo)
		}
		if *commitDelay < 0 || *commitDelay >= lo {
			return cfg, fmt.Errorf("--commit-delay %v: want 0 <= delay < the minimum election timeout %v", *commitDelay, lo)
		}
		if *proposalDelay < 0 || *proposalDelay >= lo {
			return cfg, fmt.Errorf("--proposal-delay %v: want 0 <= delay < the minimum election timeout %v", *proposalDelay, lo)
		}
		if *maxInflight < 1 {
			return cfg, fmt.Errorf("--max-inflight %d: want >= 1", *maxInflight)
		}
		vmin, vmax, err := parseSizeRange(*valueSize)
		if err != nil {
			return cfg, fmt.Errorf("--value-size: %w", err)
		}
		if *readRatio < 0 || *readRatio > 1 {
			return cfg, fmt.Errorf("--read-ratio %v: want 0 to 1", *readRatio)
		}
		mode, err := bench.ParseReadMode(*readMode)
		if err != nil {
			return cfg, fmt.Errorf("--read-mode: %w", err)
		}
		if mode == bench.ReadLease && !*checkQuorum {
			return cfg, fmt.Errorf("--read-mode lease needs --check-quorum")
		}
		if cfg.engines, err = parseEngines(*engine); err != nil {
			return cfg, fmt.Errorf("--engine: %w", err)
		}
		cfg.engine = cfg.engines[0]
		if *repeat < 1 || *repeat > 100 {
			return cfg, fmt.Errorf("--repeat %d: want 1 to 100", *repeat)
		}
		cfg.repeat = *repeat
		cfg.cluster = bench.ClusterConfig{Nodes: *nodes, Transport: *transport, Fsync: *fsync, DataDir: *dataDir,
			ElectionTimeoutMin: lo, ElectionTimeoutMax: hi, Heartbeat: *heartbeat, PreVote: *prevote,
			CheckQuorum: *checkQuorum, MaxInflight: *maxInflight, MaxBatchBytes: *maxBatch,
			SnapshotEntries: *snapEntries, CommitNotifyDelay: *commitDelay, ProposalDelay: *proposalDelay, Seed: *seed}
		cfg.load = bench.LoadConfig{Clients: *clients, Rate: *rate, Duration: *duration, Warmup: *warmup, ReadMode: mode,
			Workload: workloads.GeneratorConfig{Seed: *seed, ValueBytesMin: vmin, ValueBytesMax: vmax, ReadRatio: *readRatio,
				Keys: workloads.KeyConfig{Distribution: workloads.Distribution(*keyDist), Keys: *keys, ZipfS: *zipfS,
					HotKeysFraction: *hotKeys, HotAccessProbability: *hotProb}}}
		// Let the generator check the workload now: a bad flag is one
		// clear line before any cluster starts.
		if _, err := workloads.NewGenerator(cfg.load.Workload); err != nil {
			return cfg, fmt.Errorf("workload: %w", err)
		}
		if cfg.load.Clients < 1 || cfg.load.Duration <= 0 || cfg.load.Warmup < 0 || cfg.load.Rate < 0 {
			return cfg, fmt.Errorf("want --clients >= 1, --duration > 0, --warmup >= 0, --rate >= 0")
		}
		if *gomaxprocs < 0 {
			return cfg, fmt.Errorf("--gomaxprocs %d: want >= 0", *gomaxprocs)
		}
		cfg.gomaxprocs = *gomaxprocs
		if *gogc < 0 {
			return cfg, fmt.Errorf("--gogc %d: want >= 0 (0: the runtime's)", *gogc)
		}
		cfg.gogc = *gogc
		cfg.out, cfg.quiet = *out, *quiet
		switch {
		case *pprofDir != "":
			cfg.pprofDir = *pprofDir
		case *profile:
			cfg.pprofDir = "-" // the run directory, known once it exists
		}
		if *check {
			if *checkOps < 1 || *checkTimeout <= 0 {
				return cfg, fmt.Errorf("--check-max-ops and --check-timeout must be positive")
			}
			cfg.load.History = bench.NewHistory(*checkOps)
			cfg.checkTimeout = *checkTimeout
		}
		return cfg, nil
	}
}

// parseSizeRange parses "128" or "64-256".
func parseSizeRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(strings.TrimSpace(a)); err != nil {
		return 0, 0, fmt.Errorf("%q: want N or MIN-MAX bytes", s)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("%q: want N or MIN-MAX bytes", s)
		}
	}
	if lo < 0 || hi < lo {
		return 0, 0, fmt.Errorf("%q: want 0 <= MIN <= MAX", s)
	}
	return lo, hi, nil
}

// progress prints a one-line progress bar on a terminal.
type progress struct {
	w       io.Writer
	total   time.Duration
	start   time.Time
	done    atomic.Int64
	stop    chan struct{}
	stopped chan struct{}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func startProgress(w io.Writer, total time.Duration) *progress {
	p := &progress{w: w, total: total, start: time.Now(), stop: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				fmt.Fprint(p.w, "\r\033[K")
				return
			case <-t.C:
				el := time.Since(p.start)
				frac := float64(el) / float64(p.total)
				fmt.Fprintf(p.w, "\r%s  %v / %v  %d ops", progressBar(frac), el.Round(time.Second), p.total, p.done.Load())
			}
		}
	}()
	return p
}

// progressBar draws frac (0..1) as "[=====     ]  50%".
func progressBar(frac float64) string {
	const width = 30
	frac = min(max(frac, 0), 1)
	n := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%%", strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.stopped
}
