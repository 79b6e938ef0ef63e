package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestElectionWritesItsFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "el")
	args := []string{"election", "--timeouts", "150-300,25-50", "--nodes", "5,3", "--trials", "40", "--out", dir}
	var out, errs bytes.Buffer
	if code := run(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errs.String())
	}
	for _, f := range []string{"report.json", "trials.csv", "figure16.svg", "figure16.png", "index.html"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	var rep struct {
		Schema string
		Lines  []struct {
			Nodes          int
			TimeoutRangeMS string   `json:"timeout_range_ms"`
			Trials         int      `json:"trials"`
			KS             *float64 `json:"ks_to_paper"`
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "report.json"))
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Schema != "raftbench/election/v1" || len(rep.Lines) != 4 {
		t.Fatalf("schema %q, %d lines; want raftbench/election/v1 and 4", rep.Schema, len(rep.Lines))
	}
	for _, l := range rep.Lines {
		if l.Trials != 40 {
			t.Errorf("%d nodes %s: %d trials, want 40", l.Nodes, l.TimeoutRangeMS, l.Trials)
		}
		// The paper ran five servers: only those lines have a distance.
		if (l.KS != nil) != (l.Nodes == 5) {
			t.Errorf("%d nodes %s: KS %v", l.Nodes, l.TimeoutRangeMS, l.KS)
		}
	}
	f, _ := os.Open(filepath.Join(dir, "trials.csv"))
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+4*40 || strings.Join(rows[0][:6], ",") != "nodes,timeout_range_ms,trial,time_without_leader_ms,client_recovery_ms,rounds" {
		t.Errorf("trials.csv: %d rows, header %v", len(rows), rows[0])
	}
	if rows[1][1] != "150-300" {
		t.Errorf("timeout_range_ms %q, want 150-300", rows[1][1])
	}
	if !strings.Contains(out.String(), "150-300") || !strings.Contains(out.String(), "trials/s") {
		t.Errorf("summary lacks the lines or the rate:\n%s", out.String())
	}
	// A second run into the same directory overwrites nothing.
	errs.Reset()
	if code := run(context.Background(), args, &out, &errs); code != 1 || !strings.Contains(errs.String(), "already holds a report") {
		t.Errorf("second run: exit %d, stderr %q; want 1 and a refusal", code, errs.String())
	}
}

func TestElectionBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "fast"}, "--mode"},
		{[]string{"--nodes", "2"}, "--nodes"},
		{[]string{"--nodes", "5,x"}, "--nodes"},
		{[]string{"--timeouts", "300-150"}, "--timeouts"},
		{[]string{"--timeouts", "150"}, "--timeouts"},
		{[]string{"--trials", "-3"}, "--trials"},
		{[]string{"--net-delay", "gauss:1ms"}, "--net-delay"},
		{[]string{"--disk-delay", "uniform:5ms"}, "--disk-delay"},
		{[]string{"--timer-jitter", "x"}, "--timer-jitter"},
		{[]string{"--candidate-timeout", "20-10"}, "--candidate-timeout"},
		{[]string{"--failure", "meteor"}, "--failure"},
		{[]string{"--failure", "leader-and-follower-crash", "--nodes", "3"}, "--failure"},
		{[]string{"--loss", "1.5"}, "--loss"},
		{[]string{"--parallel", "-1"}, "--parallel"},
		{[]string{"--max-time", "0s"}, "--max-time"},
		{[]string{"--bogus"}, "unknown flag"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), append([]string{"election", "--out", t.TempDir()}, tc.args...), &out, &errs)
		if code != 2 || !strings.Contains(errs.String(), tc.want) || strings.Count(strings.TrimSpace(errs.String()), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line mentioning %q", tc.args, code, errs.String(), tc.want)
		}
	}
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"election", "--help"}, &out, &errs); code != 0 || !strings.Contains(out.String(), "--timeouts") || !strings.Contains(out.String(), "Examples") {
		t.Errorf("--help: exit %d, output %q", code, out.String())
	}
}
