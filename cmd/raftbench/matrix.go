package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench/report"
)

// matrixOwnFlags are the flags runMatrix sets for each child itself.
var matrixOwnFlags = map[string]bool{"engine": true, "repeat": true, "out": true, "quiet": true, "pprof-dir": true}

// runMatrix runs the workload against every engine, --repeat rounds, each
// run in a child process of its own (so that one engine's heap, goroutines
// and page cache leave the next one's figures alone, and each run's peak
// RSS and CPU time are its own). Round r starts with the engine at
// position r mod len(engines), so every engine runs early and late as
// often: slow drift of the machine (thermal, other tenants) spreads over
// all of them. It writes one run directory per engine and round,
// <out>/<engine>-r<round>, and a comparison of the engines' medians over
// the rounds, with ratios to the first engine, as compare.txt,
// compare.md and compare.csv (the medians, one row per engine).
func runMatrix(ctx context.Context, cfg runConfig, fs *pflag.FlagSet, stdout io.Writer) error {
	dir, err := outDir(cfg.out, "compare")
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "compare.md")); err == nil {
		return fmt.Errorf("%s already holds a comparison; choose another --out (nothing was overwritten)", dir)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this program to run each engine: %w", err)
	}
	var common []string
	fs.Visit(func(f *pflag.Flag) {
		if !matrixOwnFlags[f.Name] {
			common = append(common, "--"+f.Name+"="+f.Value.String())
		}
	})
	byEngine := map[string][]report.Report{}
	var names []string
	var reps []report.Report
	for round := range cfg.repeat {
		for i := range cfg.engines {
			engine := cfg.engines[(i+round)%len(cfg.engines)]
			name := fmt.Sprintf("%s-r%d", engine, round+1)
			runDir := filepath.Join(dir, name)
			args := append([]string{"run", "--engine=" + engine, "--out=" + runDir, "--quiet"}, common...)
			if cfg.pprofDir != "" && cfg.pprofDir != "-" {
				args = append(args, "--pprof-dir="+filepath.Join(cfg.pprofDir, name))
			}
			fmt.Fprintf(stdout, "== %s (round %d of %d)\n", engine, round+1, cfg.repeat)
			if err := runChild(ctx, exe, args, stdout); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			rep, err := report.Load(runDir)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			byEngine[engine] = append(byEngine[engine], rep)
			names, reps = append(names, name), append(reps, rep)
		}
	}
	var medNames []string
	var meds []report.Report
	for _, e := range cfg.engines {
		label := e
		if cfg.repeat > 1 {
			label = fmt.Sprintf("%s (median of %d)", e, cfg.repeat)
		}
		medNames = append(medNames, label)
		meds = append(meds, report.Median(e, byEngine[e]))
	}
	var text, md, csv bytes.Buffer
	if err := report.Compare(&text, report.FormatText, medNames, meds); err != nil {
		return err
	}
	if err := report.Compare(&csv, report.FormatCSV, cfg.engines, meds); err != nil {
		return err
	}
	fmt.Fprintf(&md, "Command: `raftbench run %s`\n\n", strings.Join(append([]string{"--engine=" + strings.Join(cfg.engines, ","), fmt.Sprintf("--repeat=%d", cfg.repeat)}, common...), " "))
	if err := report.Compare(&md, report.FormatMarkdown, medNames, meds); err != nil {
		return err
	}
	if cfg.repeat > 1 {
		text.WriteString("\nEvery run, in the order they ran:\n")
		md.WriteString("\nEvery run, in the order they ran:\n\n")
		if err := report.Compare(&text, report.FormatText, names, reps); err != nil {
			return err
		}
		if err := report.Compare(&md, report.FormatMarkdown, names, reps); err != nil {
			return err
		}
	}
	if err := errors.Join(os.WriteFile(filepath.Join(dir, "compare.txt"), text.Bytes(), 0o644),
		os.WriteFile(filepath.Join(dir, "compare.md"), md.Bytes(), 0o644),
		os.WriteFile(filepath.Join(dir, "compare.csv"), csv.Bytes(), 0o644)); err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	stdout.Write(text.Bytes())
	fmt.Fprintf(stdout, "comparison: %s (compare.txt, compare.md, compare.csv; one run directory per engine and round)\n", dir)
	return nil
}

// runChild runs this program with args, its output going to stdout. An
// interrupt reaches the child too (same process group); ctx's end kills
// it.
func runChild(ctx context.Context, exe string, args []string, stdout io.Writer) error {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = stdout, stdout
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		return fmt.Errorf("raftbench run %s: %w", strings.Join(args[1:], " "), err)
	}
	return nil
}

// childEnv marks a child run of runMatrix: tests use it to make the test
// binary act as raftbench.
const childEnv = "RAFTBENCH_CHILD"
