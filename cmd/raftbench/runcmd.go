package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/cpusplit"
	"github.com/raftbench/raftbench/bench/report"
)

func runRun(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	parse := runFlags(fs)
	startPyroscope := pyroscopeFlags(fs)
	startMetrics := metricsFlags(fs)
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: raftbench run [flags]\n\nStarts a Raft cluster in this process (real TCP on loopback and real fsync by")
		fmt.Fprintln(stdout, "default), drives it with the workload, and writes an HDR latency report.\n\nFlags:")
		fs.PrintDefaults()
		fmt.Fprintln(stdout, `
Examples:
  raftbench run                                            # 3 nodes, 64 clients, 10 s
  raftbench run --clients 512 --duration 30s --out results/sat
  raftbench run --rate 20000 --read-ratio 0.95 --read-mode lease
  raftbench run --transport mem --fsync=false --key-dist zipfian --zipf-s 1.2
  raftbench compare results/a results/b`)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg, err := parse()
	if err != nil {
		return err
	}
	// report.json records every setting as the flag that sets it, so a
	// run can be repeated exactly.
	cfg.flags = map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) { cfg.flags[f.Name] = f.Value.String() })
	delete(cfg.flags, "quiet")
	if len(cfg.engines) > 1 || cfg.repeat > 1 {
		return runMatrix(ctx, cfg, fs, stdout)
	}
	stopProfiles, err := startPyroscope(runTags(cfg))
	if err != nil {
		return err
	}
	defer stopProfiles()
	if cfg.metrics, err = startMetrics(); err != nil {
		return err
	}
	defer cfg.metrics.stop()
	return runLoad(ctx, cfg, stdout)
}

// outDir returns the output directory (out, or results/<kind>-<timestamp>)
// once it exists and holds no report: a run never overwrites one.
func outDir(out, kind string) (string, error) {
	dir := out
	if dir == "" {
		dir = filepath.Join("results", kind+"-"+time.Now().Format("20060102-150405"))
	}
	if _, err := os.Stat(filepath.Join(dir, "report.json")); err == nil {
		return "", fmt.Errorf("%s already holds a report; choose another --out (nothing was overwritten)", dir)
	}
	return dir, os.MkdirAll(dir, 0o755)
}

func runLoad(ctx context.Context, cfg runConfig, stdout io.Writer) error {
	dir, err := outDir(cfg.out, "run")
	if err != nil {
		return err
	}
	// Before the cluster starts: the load generator sizes its workers by it.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(runtimeProcs(cfg.gomaxprocs, cfg.cluster.Fsync)))
	if cfg.gogc > 0 {
		defer debug.SetGCPercent(debug.SetGCPercent(cfg.gogc))
	}
	c, err := cfg.metrics.engine(cfg.engine, engines[cfg.engine]()).Start(ctx, cfg.cluster)
	if err != nil {
		return fmt.Errorf("starting the %s cluster: %w", cfg.engine, err)
	}
	defer c.Close()
	go func() { // role changes are not needed here: keep the channel drained
		for range c.RoleChanges() {
		}
	}()
	deadline := time.Now().Add(20 * cfg.cluster.ElectionTimeoutMax)
	for c.Leader() == 0 {
		if time.Now().After(deadline) {
			return fmt.Errorf("no leader elected within %v", 20*cfg.cluster.ElectionTimeoutMax)
		}
		time.Sleep(5 * time.Millisecond)
	}

	var (
		mu   sync.Mutex
		recs []*report.Recorder
		bar  *progress
	)
	counted := &countingRecorders{}
	if !cfg.quiet && isTerminal(stdout) {
		bar = startProgress(stdout, cfg.load.Warmup+cfg.load.Duration)
		counted.progress = bar
	}
	var prof *phaseProfiler
	if d := cfg.pprofDir; d != "" {
		if d == "-" {
			d = dir
		}
		if prof, err = newPhaseProfiler(d); err != nil {
			return err
		}
	}
	var cpuStart time.Duration
	disk, _ := c.(bench.DiskReporter)
	if !cfg.cluster.Fsync {
		disk = nil // group commits without fdatasync: nothing to report
	}
	onPhase := func(ph bench.Phase) {
		if ph == bench.PhaseMeasure {
			cpuStart = cpuTime()
			if disk != nil {
				disk.ResetDiskStats()
			}
		}
		prof.onPhase(ph)
	}
	live := cfg.metrics.recorders(cfg.engine)
	res, err := bench.RunLoad(ctx, c, cfg.load, func(start time.Time) bench.Recorder {
		r := report.NewRecorder(start)
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
		return live(counted.wrap(r))
	}, onPhase)
	cpu := cpuTime() - cpuStart
	bar.finish()
	if perr := prof.finish(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}
	all := recs[0]
	all.Merge(recs[1:]...)
	config := map[string]any{"engine": cfg.engine, "flags": cfg.flags, "runtime": runtimeSettings()}
	if d, ok := c.(bench.Describer); ok {
		config["engine_settings"] = d.Settings()
	}
	rep := all.Report(filepath.Base(dir), res.MeasureEnd, config)
	rep.Resources = resources(cpu, rep.Ops)
	if disk != nil {
		rep.Disk = diskReport(disk.DiskStats(), rep.DurationSec)
	}
	if prof != nil {
		// A profile that cannot be split costs the report its split, not
		// the run its report.
		if rep.CPUProfile, err = cpuProfileReport(filepath.Join(prof.dir, "cpu.pprof"), rep.Ops); err != nil {
			fmt.Fprintf(os.Stderr, "raftbench: cpu profile not split: %v\n", err)
		}
	}
	if err := all.WriteDir(dir, rep); err != nil {
		return err
	}
	printSummary(stdout, dir, rep)
	if h := cfg.load.History; h != nil {
		return checkHistory(h, cfg.checkTimeout, dir, stdout)
	}
	return nil
}

// errViolation ends a --check run whose history is not linearizable.
var errViolation = errors.New("linearizability violation")

func checkHistory(h *bench.History, timeout time.Duration, dir string, stdout io.Writer) error {
	res := h.Check(timeout)
	switch {
	case res.Linearized:
		fmt.Fprintf(stdout, "linearizable: %d operations checked", res.Ops)
		if res.Dropped > 0 {
			fmt.Fprintf(stdout, " (%d more not recorded: --check-max-ops)", res.Dropped)
		}
		fmt.Fprintln(stdout)
		return nil
	case res.Unknown:
		return fmt.Errorf("linearizability check inconclusive: the checker ran out of --check-timeout %v on %d operations", timeout, res.Ops)
	}
	path := filepath.Join(dir, "linearizability.html")
	if err := res.Visualize(path); err != nil {
		return fmt.Errorf("%w (and writing %s failed: %v)", errViolation, path, err)
	}
	return fmt.Errorf("%w in %d operations: see %s", errViolation, res.Ops, path)
}

func printSummary(w io.Writer, dir string, rep report.Report) {
	l := rep.Latency
	fmt.Fprintf(w, "%d ops in %.1fs: %.0f ops/s, %d errors%s\n", rep.Ops, rep.DurationSec, rep.Throughput, rep.ErrorCount(), errorKinds(rep.Errors))
	fmt.Fprintf(w, "latency µs: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d  mean %.0f\n", l.P50, l.P90, l.P99, l.P999, l.Max, l.Mean)
	if g := rep.StartLag; g != nil {
		fmt.Fprintf(w, "of which sent late by the load generator, µs: p50 %d  p99 %d  max %d\n", g.P50, g.P99, g.Max)
	}
	if len(rep.ByOp) > 1 { // a mixed workload: each kind's own figures
		for _, kind := range []string{report.OpRead, report.OpWrite} {
			op := rep.ByOp[kind]
			fmt.Fprintf(w, "  %ss: %d ops (%.0f/s), %d errors, µs: p50 %d  p99 %d  max %d\n", kind, op.Ops, op.Throughput, op.Errors, op.Latency.P50, op.Latency.P99, op.Latency.Max)
		}
	}
	if d := rep.Disk; d != nil {
		f := d.FsyncUS
		fmt.Fprintf(w, "disk: %d fsyncs (%.0f/s, %.1f entries each), fdatasync µs: p50 %d  p99 %d  max %d\n", d.Fsyncs, d.FsyncsPerSec, d.EntriesPerFsync, f.P50, f.P99, f.Max)
	}
	if c := rep.CPUProfile; c != nil {
		fmt.Fprintf(w, "cpu µs/op (profile):")
		for _, p := range cpusplit.Parts {
			fmt.Fprintf(w, " %s %.2f", strings.ReplaceAll(string(p), "_", " "), c.USPerOp[string(p)])
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "report: %s (report.json, latency.hgrm, latency.hlog, bench.txt)\n", dir)
}

// errorKinds lists the error counts by kind, e.g. " (dropped 3, timeout 1)".
func errorKinds(errs map[string]int64) string {
	if len(errs) == 0 {
		return ""
	}
	kinds := make([]string, 0, len(errs))
	for k := range errs {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%s %d", k, errs[k])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// countingRecorders feeds the progress bar's counter.
type countingRecorders struct{ progress *progress }

func (c *countingRecorders) wrap(r *report.Recorder) bench.Recorder {
	if c.progress == nil {
		return r
	}
	return &countingRecorder{r: r, p: c.progress}
}

type countingRecorder struct {
	r *report.Recorder
	p *progress
}

func (c *countingRecorder) Record(at time.Time, lat time.Duration) {
	c.r.Record(at, lat)
	c.p.done.Add(1)
}
func (c *countingRecorder) Error(at time.Time, kind string)     { c.r.Error(at, kind) }
func (c *countingRecorder) Lag(at time.Time, lag time.Duration) { c.r.Lag(at, lag) }
func (c *countingRecorder) Op(write bool, lat time.Duration, errKind string) {
	c.r.Op(write, lat, errKind)
}

func runCompare(ctx context.Context, args []string, stdout io.Writer) error {
	fs := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	fs.SetOutput(stdout)
	format := fs.String("format", "text", "output format: text, markdown or csv")
	fs.Usage = func() {
		fmt.Fprintln(stdout, "Usage: raftbench compare [--format text|markdown|csv] RUN RUN...\n\nCompares run directories (or report.json files): throughput and latency")
		fmt.Fprintln(stdout, "percentiles of each, with ratios to the first.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return usageError{errors.New("want at least one run directory or report.json")}
	}
	var reps []report.Report
	var names []string
	for _, p := range fs.Args() {
		rep, err := report.Load(p)
		if err != nil {
			return usageError{err}
		}
		reps = append(reps, rep)
		names = append(names, p)
	}
	if err := report.Compare(stdout, *format, names, reps); err != nil {
		return usageError{err}
	}
	return nil
}

// usageError exits with status 2: the input was wrong.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }
