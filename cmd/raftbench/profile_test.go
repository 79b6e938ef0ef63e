package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/bench/cpusplit"
	"github.com/raftbench/raftbench/bench/report"
)

// isProfile reports whether path holds a gzipped profile, as pprof writes
// them (go tool pprof reads that format).
func isProfile(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return false
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return false
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(zr)
	return err == nil && buf.Len() > 0
}

func TestRunProfiles(t *testing.T) {
	base := []string{"run", "--transport", "mem", "--fsync=false", "--clients", "4", "--duration", "300ms", "--warmup", "100ms", "--keys", "100", "--quiet"}
	// --profile: into the run directory.
	dir := filepath.Join(t.TempDir(), "run")
	var out, errs bytes.Buffer
	if code := run(context.Background(), append(base, "--profile", "--out", dir), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	for _, f := range []string{"cpu.pprof", "heap.pprof"} {
		if !isProfile(t, filepath.Join(dir, f)) {
			t.Errorf("%s is not a profile", f)
		}
	}
	// The report splits the CPU profile among the parts of the process.
	rep, err := report.Load(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c := rep.CPUProfile; c == nil {
		t.Error("report.json has no cpu_profile")
	} else {
		sum := 0.0
		for _, p := range cpusplit.Parts {
			v, ok := c.Sec[string(p)]
			if !ok {
				t.Errorf("cpu_profile lacks %s", p)
			}
			sum += v
		}
		if math.Abs(sum-c.ProfiledSec) > 1e-6 {
			t.Errorf("parts add up to %v s, profiled %v s", sum, c.ProfiledSec)
		}
	}
	if !strings.Contains(out.String(), "cpu µs/op (profile): engine ") {
		t.Errorf("summary has no cpu line:\n%s", out.String())
	}
	// --pprof-dir: elsewhere.
	pdir := filepath.Join(t.TempDir(), "profiles")
	if code := run(context.Background(), append(base, "--pprof-dir", pdir, "--out", filepath.Join(t.TempDir(), "run2")), &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !isProfile(t, filepath.Join(pdir, "cpu.pprof")) || !isProfile(t, filepath.Join(pdir, "heap.pprof")) {
		t.Error("no profiles in --pprof-dir")
	}
	// A --pprof-dir that cannot be made is one clear error.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	errs.Reset()
	code := run(context.Background(), append(base, "--pprof-dir", filepath.Join(file, "sub"), "--out", filepath.Join(t.TempDir(), "run3")), &out, &errs)
	if code == 0 || !strings.Contains(errs.String(), "--pprof-dir") || strings.Count(strings.TrimSpace(errs.String()), "\n") > 0 {
		t.Errorf("bad --pprof-dir: exit %d, stderr %q", code, errs.String())
	}
}
