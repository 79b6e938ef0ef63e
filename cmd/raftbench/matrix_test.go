package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/bench/report"
)

// TestMain lets the test binary act as raftbench when runMatrix starts it
// as a child.
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestMatrixRunsEveryRoundInItsOwnProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cmp")
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"run", "--engine", "raft", "--repeat", "2", "--transport", "mem", "--fsync=false",
		"--duration", "300ms", "--warmup", "100ms", "--clients", "4", "--out", dir}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	for _, name := range []string{"raft-r1", "raft-r2"} {
		rep, err := report.Load(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Ops == 0 || rep.Resources == nil || rep.Resources.MaxRSSBytes <= 0 || rep.Resources.CPUSeconds <= 0 {
			t.Errorf("%s: ops %d, resources %+v", name, rep.Ops, rep.Resources)
		}
	}
	md, err := os.ReadFile(filepath.Join(dir, "compare.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "compare.csv")); err != nil {
		t.Error(err)
	}
	for _, want := range []string{"raft (median of 2)", "raft-r1", "raft-r2", "peak RSS MiB", "--transport=mem", "--repeat=2"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("compare.md lacks %q:\n%s", want, md)
		}
	}
	// A second run into the same directory overwrites nothing.
	if code := run(context.Background(), []string{"run", "--repeat", "2", "--out", dir}, &out, &errs); code == 0 {
		t.Error("a second comparison into the same directory succeeded")
	}
}

func TestEngineFlag(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"nosuch", `unknown engine "nosuch"`},
		{"raft,raft", "named twice"},
		{"raft,", `unknown engine ""`},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), []string{"run", "--engine", tc.flag}, &out, &errs)
		if code == 0 || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("--engine %s: exit %d, %q; want an error with %q", tc.flag, code, errs.String(), tc.want)
		}
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"run", "--repeat", "0"}, &out, &errs); code == 0 || !strings.Contains(errs.String(), "--repeat") {
		t.Errorf("--repeat 0: exit %d, %q", code, errs.String())
	}
}
