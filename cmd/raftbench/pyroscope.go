package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench/profiling"
	"github.com/raftbench/raftbench/raft/node"
)

// pyroscopeFlags registers --pyroscope-url, --pyroscope-app,
// --pyroscope-tags, --pyroscope-interval and --pyroscope-profiles on fs. The function it returns checks them and, with a
// URL, starts pushing profiles tagged with the run's static tags (plus the
// user's); stop pushes the last profiles and stops. Without a URL it does
// nothing and stop is a no-op. A failed push is one line on stderr and the
// run goes on.
func pyroscopeFlags(fs *pflag.FlagSet) func(static map[string]string) (stop func(), err error) {
	url := fs.String("pyroscope-url", "", "push continuous profiles (CPU, allocations, heap, goroutines, mutex, block) to this Pyroscope server, e.g. http://127.0.0.1:4040; CPU and goroutine profiles carry node, role and phase tags")
	app := fs.String("pyroscope-app", "raftbench", "with --pyroscope-url: the application name (Pyroscope's service_name)")
	tags := fs.String("pyroscope-tags", "", "with --pyroscope-url: more static tags, k=v,k2=v2 (keys [a-zA-Z_][a-zA-Z0-9_.]*); run_id, engine and workload are set already")
	types := fs.String("pyroscope-profiles", "", "with --pyroscope-url: profile types to push, comma-separated (default all: cpu, alloc_objects, alloc_space, inuse_objects, inuse_space, goroutines, mutex_count, mutex_duration, block_count, block_duration)")
	interval := fs.Duration("pyroscope-interval", 15*time.Second, "with --pyroscope-url: how often profiles are pushed")
	return func(static map[string]string) (func(), error) {
		user, err := profiling.ParseTags(*tags)
		if err != nil {
			return nil, fmt.Errorf("--pyroscope-tags: %w", err)
		}
		if *url == "" {
			if fs.Changed("pyroscope-tags") || fs.Changed("pyroscope-app") || fs.Changed("pyroscope-interval") || fs.Changed("pyroscope-profiles") {
				return nil, fmt.Errorf("--pyroscope-app, --pyroscope-tags, --pyroscope-interval and --pyroscope-profiles need --pyroscope-url")
			}
			return func() {}, nil
		}
		if *interval < time.Second {
			return nil, fmt.Errorf("--pyroscope-interval %v: want at least 1s", *interval)
		}
		if _, err := profiling.ParseServerURL(*url); err != nil {
			return nil, fmt.Errorf("--pyroscope-url: %w", err)
		}
		for _, f := range []string{"profile", "pprof-dir"} {
			if fs.Changed(f) {
				return nil, fmt.Errorf("--pyroscope-url and --%s both need Go's CPU profiler, which serves one at a time: choose one", f)
			}
		}
		var pts []profiling.ProfileType
		for _, t := range strings.Split(*types, ",") {
			if t = strings.TrimSpace(t); t != "" {
				pts = append(pts, profiling.ProfileType(t))
			}
		}
		all := map[string]string{}
		for k, v := range static {
			all[k] = profiling.TagValue(v)
		}
		for k, v := range user {
			all[k] = v // the user's win
		}
		p, err := profiling.Start(profiling.Config{ServerURL: *url, AppName: *app, Tags: all, UploadInterval: *interval, ProfileTypes: pts,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))})
		if err != nil {
			return nil, fmt.Errorf("--pyroscope-url: %w", err)
		}
		node.SetProfileLabel(node.LabelPhase, "setup")
		return func() {
			node.SetProfileLabel(node.LabelPhase, "")
			if err := p.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
		}, nil
	}
}

// runID names a run in its profiles: its output directory as given, or
// the name the default one gets.
func runID(out, kind string) string {
	if out == "" {
		return kind + "-" + time.Now().Format("20060102-150405")
	}
	return filepath.ToSlash(filepath.Clean(out))
}

// runTags are the static profile tags of `raftbench run`.
func runTags(cfg runConfig) map[string]string {
	f := cfg.flags
	loop := "closed" + f["clients"]
	if cfg.load.Rate > 0 {
		loop = "open" + f["rate"]
	}
	return map[string]string{
		profiling.TagRunID:    runID(cfg.out, "run"),
		profiling.TagEngine:   cfg.engine,
		profiling.TagWorkload: fmt.Sprintf("kv-read%s-value%s-%s-%s", f["read-ratio"], f["value-size"], f["key-dist"], loop),
	}
}

// electionTags are the static profile tags of `raftbench election`.
func electionTags(cfg electionConfig) map[string]string {
	return map[string]string{
		profiling.TagRunID:    runID(cfg.out, "election"),
		profiling.TagEngine:   "raft",
		profiling.TagWorkload: fmt.Sprintf("election-%s-%s", cfg.flags["failure"], cfg.exp.Mode),
	}
}
