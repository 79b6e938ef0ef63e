package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"bytes"
	"context"
	"github.com/raftbench/raftbench/bench/report"
	"strings"
	"testing"
	"time"
)

func TestDemoRuns(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"demo", "--trials", "50", "--nodes", "5"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errs.String())
	}
	for _, want := range []string{"candidate -> leader", "committed through index 65", "crashed", "time without leader", "the paper's 150-300 line"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"nosuch"}, 2, "unknown command"},
		{[]string{}, 2, "Usage"},
		{[]string{"demo", "--election-timeout", "300-150"}, 1, "--election-timeout"},
		{[]string{"demo", "--election-timeout", "abc"}, 1, "--election-timeout"},
		{[]string{"demo", "--net-delay", "uniform:5ms"}, 1, "--net-delay"},
		{[]string{"demo", "--nodes", "1"}, 1, "--nodes"},
		{[]string{"demo", "--bogus"}, 1, "unknown flag"},
		{[]string{"demo", "extra"}, 1, "unexpected argument"},
		{[]string{"run", "--gomaxprocs", "-1"}, 1, "--gomaxprocs"},
		{[]string{"run", "--gogc", "-5"}, 1, "--gogc"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errs)
		all := out.String() + errs.String()
		if code != tc.code || !strings.Contains(all, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit %d mentioning %q", tc.args, code, all, tc.code, tc.want)
		}
		if tc.code == 1 && strings.Count(strings.TrimSpace(errs.String()), "\n") > 0 {
			t.Errorf("%v: want one error line, got %q", tc.args, errs.String())
		}
	}
}

func TestHelp(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--help"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--election-timeout", "--net-delay", "Examples"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		ok     bool
	}{
		{"150-300", 150 * time.Millisecond, 300 * time.Millisecond, true},
		{"150ms-155ms", 150 * time.Millisecond, 155 * time.Millisecond, true},
		{"0.5-1.5", 500 * time.Microsecond, 1500 * time.Microsecond, true},
		{"150-150", 150 * time.Millisecond, 150 * time.Millisecond, true},
		{"300-150", 0, 0, false},
		{"0-10", 0, 0, false},
		{"150", 0, 0, false},
	} {
		lo, hi, err := parseRange(tc.in)
		if (err == nil) != tc.ok || lo != tc.lo || hi != tc.hi {
			t.Errorf("parseRange(%q) = %v, %v, %v; want %v, %v, ok=%t", tc.in, lo, hi, err, tc.lo, tc.hi, tc.ok)
		}
	}
}

func TestRunWritesAReport(t *testing.T) {
	dir := t.TempDir() + "/run"
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"run", "--transport", "mem", "--fsync=false", "--clients", "4",
		"--duration", "500ms", "--warmup", "100ms", "--keys", "100", "--gomaxprocs", "3", "--gogc", "300", "--out", dir}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if n := runtime.GOMAXPROCS(0); n == 3 && runtime.NumCPU() != 3 {
		t.Errorf("GOMAXPROCS still %d after the run: want it restored", n)
	}
	for _, f := range []string{"report.json", "latency.hgrm", "latency.hlog", "bench.txt"} {
		if _, err := os.Stat(dir + "/" + f); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	rep, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Runtime struct {
			GoVersion  string `json:"go_version"`
			GOMAXPROCS int    `json:"gomaxprocs"`
			GOGC       int    `json:"gogc"`
		} `json:"runtime"`
	}
	raw, _ := rep.Config.(json.RawMessage)
	if err := json.Unmarshal(raw, &cfg); err != nil || cfg.Runtime.GOMAXPROCS != 3 || cfg.Runtime.GOGC != 300 || cfg.Runtime.GoVersion != runtime.Version() {
		t.Errorf("config %s (%v): want runtime.gomaxprocs 3, gogc 300 and go_version %s", raw, err, runtime.Version())
	}
	if p := debug.SetGCPercent(100); p == 300 {
		t.Error("GOGC still 300 after the run: want it restored")
	} else {
		debug.SetGCPercent(p)
	}
	if rep.Ops == 0 || rep.Throughput <= 0 || rep.Latency.P50 <= 0 {
		t.Errorf("report %+v: want ops, throughput and latency", rep)
	}
	// The summary printed agrees with report.json.
	if want := fmt.Sprintf("%d ops", rep.Ops); !strings.Contains(out.String(), want) {
		t.Errorf("summary %q does not mention %q", out.String(), want)
	}
	if want := fmt.Sprintf("p99 %d", rep.Latency.P99); !strings.Contains(out.String(), want) {
		t.Errorf("summary %q does not mention %q", out.String(), want)
	}
	// Half reads, half writes (the default): each kind's own figures.
	reads, writes := rep.ByOp[report.OpRead], rep.ByOp[report.OpWrite]
	if reads.Ops == 0 || writes.Ops == 0 || reads.Ops+writes.Ops != rep.Ops || reads.Latency.P50 <= 0 || writes.Latency.P50 <= 0 {
		t.Errorf("by op %+v: want reads and writes that add up to %d ops", rep.ByOp, rep.Ops)
	}
	if want := fmt.Sprintf("reads: %d ops", reads.Ops); !strings.Contains(out.String(), want) {
		t.Errorf("summary %q does not mention %q", out.String(), want)
	}
	if rep.Disk != nil || strings.Contains(out.String(), "fdatasync") {
		t.Errorf("a run with --fsync=false reports disk figures: %+v", rep.Disk)
	}
	// A second run into the same directory is refused; nothing is lost.
	before, _ := os.ReadFile(dir + "/report.json")
	if code := run(context.Background(), []string{"run", "--transport", "mem", "--duration", "100ms", "--out", dir}, &out, &errs); code == 0 {
		t.Fatal("second run into the same --out succeeded")
	}
	after, _ := os.ReadFile(dir + "/report.json")
	if !bytes.Equal(before, after) {
		t.Fatal("report.json changed")
	}
	// compare: the run against itself, ratios 1.00x.
	out.Reset()
	if code := run(context.Background(), []string{"compare", dir, dir + "/report.json"}, &out, &errs); code != 0 {
		t.Fatalf("compare exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "(1.00x)") {
		t.Errorf("compare output lacks ratios: %s", out.String())
	}
}

func TestRunAndCompareBadInput(t *testing.T) {
	bad := t.TempDir() + "/bad.json"
	os.WriteFile(bad, []byte(`{"schema":"raftbench/election/v1"}`), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--read-mode", "x"}, 1, "--read-mode"},
		{[]string{"run", "--nodes", "0"}, 1, "--nodes"},
		{[]string{"run", "--transport", "udp"}, 1, "--transport"},
		{[]string{"run", "--value-size", "9-3"}, 1, "--value-size"},
		{[]string{"run", "--read-ratio", "2"}, 1, "--read-ratio"},
		{[]string{"run", "--key-dist", "normal"}, 1, "workload"},
		{[]string{"run", "--read-mode", "lease", "--check-quorum=false"}, 1, "check-quorum"},
		{[]string{"run", "--heartbeat", "1s"}, 1, "--heartbeat"},
		{[]string{"run", "--clients", "0"}, 1, "clients"},
		{[]string{"compare"}, 2, "at least one"},
		{[]string{"compare", "/nonexistent"}, 2, "nonexistent"},
		{[]string{"compare", bad}, 2, "unsupported report schema"},
		{[]string{"compare", "--format", "xml", bad}, 2, "schema"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errs)
		if code != tc.code || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs.String(), tc.code, tc.want)
		}
		if n := strings.Count(strings.TrimSpace(errs.String()), "\n"); n > 0 {
			t.Errorf("%v: want one error line, got %q", tc.args, errs.String())
		}
	}
}

func TestRunCheck(t *testing.T) {
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"run", "--transport", "mem", "--fsync=false", "--clients", "4",
		"--duration", "500ms", "--warmup", "0s", "--keys", "20", "--check", "--out", t.TempDir() + "/run"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if !strings.Contains(out.String(), "linearizable:") {
		t.Errorf("no check result in %q", out.String())
	}
}

// A durable run reports its group commits, in report.json and in the
// summary alike.
func TestRunReportsDisk(t *testing.T) {
	dir := t.TempDir() + "/run"
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"run", "--transport", "mem", "--clients", "8", "--read-ratio", "0",
		"--duration", "400ms", "--warmup", "100ms", "--keys", "100", "--out", dir}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	rep, err := report.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := rep.Disk
	if d == nil || d.Fsyncs == 0 || d.FsyncsPerSec <= 0 || d.EntriesPerFsync <= 0 || d.FsyncUS.Max <= 0 {
		t.Fatalf("disk figures %+v: want fsyncs, a rate, entries per fsync and times", d)
	}
	// Three nodes write every entry: more entries than the writes measured.
	if entries := float64(d.Fsyncs) * d.EntriesPerFsync; entries < float64(rep.Ops) {
		t.Errorf("%.0f entries written for %d writes", entries, rep.Ops)
	}
	if want := fmt.Sprintf("disk: %d fsyncs", d.Fsyncs); !strings.Contains(out.String(), want) {
		t.Errorf("summary %q does not mention %q", out.String(), want)
	}
}
