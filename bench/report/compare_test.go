package report

import (
	"bytes"
	"encoding/csv"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// compareRuns are three fixed reports: a baseline, a faster run with a
// p99 regression, and a run whose errors were all timeouts.
func compareRuns() ([]string, []Report) {
	names := []string{"baseline", "batched", "lossy|net"}
	reps := []Report{
		{Schema: SchemaRun, Ops: 120000, Throughput: 2000, Errors: map[string]int64{},
			Latency: Latency{P50: 812, P90: 1500, P99: 4100, P999: 9050, Max: 21000, Mean: 900, Min: 120}},
		{Schema: SchemaRun, Ops: 147600, Throughput: 2460.5, Errors: map[string]int64{ErrorNotLeader: 2},
			Latency: Latency{P50: 640, P90: 1210, P99: 5330, P999: 9050, Max: 18500, Mean: 700, Min: 110}},
		{Schema: SchemaRun, Ops: 60000, Throughput: 1000, Errors: map[string]int64{ErrorTimeout: 1500, ErrorDropped: 12},
			Latency: Latency{P50: 2500, P90: 10000, P99: 60000, P999: 125000, Max: 1000000, Mean: 4000, Min: 300}},
	}
	return names, reps
}

func TestCompareGolden(t *testing.T) {
	for _, tt := range []struct{ format, file string }{
		{FormatText, "compare.txt"},
		{FormatMarkdown, "compare.md"},
		{FormatCSV, "compare.csv"},
	} {
		t.Run(tt.format, func(t *testing.T) {
			names, reps := compareRuns()
			var b bytes.Buffer
			if err := Compare(&b, tt.format, names, reps); err != nil {
				t.Fatalf("Compare: %v", err)
			}
			golden := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("Compare %s:\ngot\n%s\nwant (%s)\n%s", tt.format, got, golden, want)
			}
		})
	}
}

func TestCompareContent(t *testing.T) {
	names, reps := compareRuns()
	var b bytes.Buffer
	if err := Compare(&b, FormatCSV, names, reps); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("csv does not parse: %v", err)
	}
	if len(rows) != 1+len(reps) {
		t.Fatalf("got %d rows, want header + %d", len(rows), len(reps))
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	tests := []struct {
		row  int
		col  string
		want string
	}{
		{1, "run", "baseline"},
		{1, "throughput_ops_per_sec_ratio", "1.0000"},
		{2, "throughput_ops_per_sec", "2460.5"},
		{2, "throughput_ops_per_sec_ratio", "1.2303"},
		{2, "p99_us_ratio", "1.3000"},
		{2, "errors", "2"},
		{3, "run", "lossy|net"},
		{3, "max_us", "1000000"},
		{3, "errors", "1512"},
	}
	for _, tt := range tests {
		i, ok := col[tt.col]
		if !ok {
			t.Errorf("no column %q in %v", tt.col, rows[0])
			continue
		}
		if got := rows[tt.row][i]; got != tt.want {
			t.Errorf("row %d %s: got %q, want %q", tt.row, tt.col, got, tt.want)
		}
	}

	b.Reset()
	if err := Compare(&b, FormatText, names, reps); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "2460.5 (1.23x)") {
		t.Errorf("text output has no \"2460.5 (1.23x)\":\n%s", b.String())
	}
}

func TestCompareZeroBaseline(t *testing.T) {
	var b bytes.Buffer
	reps := []Report{{}, {Throughput: 10, Latency: Latency{P50: 5}}}
	if err := Compare(&b, FormatText, []string{"empty", "some"}, reps); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "10.0 (-)") {
		t.Errorf("ratio to a zero baseline should print \"-\":\n%s", b.String())
	}
}

func TestCompareErrors(t *testing.T) {
	names, reps := compareRuns()
	tests := []struct {
		name   string
		format string
		names  []string
		reps   []Report
		want   string
	}{
		{"unknown format", "html", names, reps, `unknown format "html"`},
		{"names and reports differ", FormatText, names[:1], reps, "1 names for 3 reports"},
		{"no reports", FormatText, nil, nil, "no reports"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := Compare(&b, tt.format, tt.names, tt.reps)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Compare: got %v, want an error containing %q", err, tt.want)
			}
			if b.Len() != 0 {
				t.Errorf("Compare wrote %q before failing", b.String())
			}
		})
	}
}

func TestMedian(t *testing.T) {
	mk := func(tput float64, p99 int64, timeouts int64, rss int64) Report {
		return Report{Schema: SchemaRun, Throughput: tput, Ops: int64(tput), Latency: Latency{P99: p99, Mean: float64(p99) / 2},
			Errors: map[string]int64{"timeout": timeouts}, Resources: &Resources{MaxRSSBytes: rss, CPUSeconds: tput / 1000}}
	}
	m := Median("m", []Report{mk(100, 9, 0, 10), mk(300, 1, 4, 30), mk(200, 5, 1, 20)})
	if m.Throughput != 200 || m.Ops != 200 || m.Latency.P99 != 5 || m.Latency.Mean != 2.5 || m.Errors["timeout"] != 1 ||
		m.Resources.MaxRSSBytes != 20 || m.Resources.CPUSeconds != 0.2 {
		t.Errorf("median of three = %+v, resources %+v", m, m.Resources)
	}
	even := Median("e", []Report{mk(100, 2, 0, 10), mk(200, 4, 0, 20)})
	if even.Throughput != 150 || even.Latency.P99 != 3 {
		t.Errorf("median of two = %+v", even)
	}
	if m.Disk != nil {
		t.Errorf("median of runs without disk figures has %+v", m.Disk)
	}
	disk := func(p99 int64, perFsync float64) Report {
		return Report{Schema: SchemaRun, Disk: &Disk{Fsyncs: p99 * 10, EntriesPerFsync: perFsync, FsyncUS: Latency{P99: p99}}}
	}
	withOps := func(readP99 int64) Report {
		return Report{Schema: SchemaRun, ByOp: map[string]OpReport{OpRead: {Ops: readP99, Latency: Latency{P99: readP99}}}}
	}
	if byOp := Median("o", []Report{withOps(7), withOps(3), withOps(5)}).ByOp; byOp[OpRead].Latency.P99 != 5 || byOp[OpRead].Ops != 5 {
		t.Errorf("median by op %+v: want the reads' median p99 5", byOp)
	}
	d := Median("d", []Report{disk(30, 1), disk(10, 5), disk(20, 2)}).Disk
	if d == nil || d.FsyncUS.P99 != 20 || d.Fsyncs != 200 || d.EntriesPerFsync != 2 {
		t.Errorf("median disk figures %+v: want p99 20, 200 fsyncs, 2 entries each", d)
	}
	prof := func(engine float64) Report {
		return Report{Schema: SchemaRun, CPUProfile: &CPUProfile{ProfiledSec: engine * 2,
			Sec: map[string]float64{"engine": engine, "load": 1}, USPerOp: map[string]float64{"engine": engine / 10, "load": 0.1}}}
	}
	c := Median("c", []Report{prof(3), prof(9), prof(6)}).CPUProfile
	if c == nil || c.ProfiledSec != 12 || c.Sec["engine"] != 6 || c.USPerOp["engine"] != 0.6 || c.Sec["load"] != 1 {
		t.Errorf("median cpu profile %+v: want 12 s profiled, engine 6 s and 0.6 µs/op, load 1 s", c)
	}
	if m := Median("none", nil); m.Schema != SchemaRun || m.Ops != 0 {
		t.Errorf("median of none = %+v", m)
	}
}

// A run's fdatasync p99 is a column once any run has disk figures; a run
// without them shows none, and no ratio is made against nothing.
func TestCompareDisk(t *testing.T) {
	mk := func(p99 int64) Report {
		r := Report{Schema: SchemaRun, Throughput: 100}
		if p99 > 0 {
			r.Disk = &Disk{Fsyncs: 1, FsyncUS: Latency{P99: p99}}
		}
		return r
	}
	names := []string{"a", "b", "c"}
	reps := []Report{mk(2000), mk(0), mk(3000)}
	var text bytes.Buffer
	if err := Compare(&text, FormatText, names, reps); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{"fsync p99 µs", "2000 (1.00x)", "3000 (1.50x)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text comparison lacks %q:\n%s", want, out)
		}
	}
	var b bytes.Buffer
	if err := Compare(&b, FormatCSV, names[:2], []Report{mk(0), mk(3000)}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(rows[0]) - 1 // errors; before it the ratio, then the value
	if rows[0][last-2] != "fsync_p99_us" || rows[1][last-2] != "" || rows[2][last-2] != "3000" || rows[2][last-1] != "" {
		t.Errorf("csv %v: want fsync_p99_us empty for the first run, 3000 with no ratio for the second", rows)
	}
	if m := measuresOf([]Report{mk(0)}); len(m) != len(measures) {
		t.Errorf("runs without disk figures get %d measures, want %d", len(m), len(measures))
	}
}

// A split CPU profile gives the engine's and everything else's CPU per
// operation as columns; a run without one shows "-".
func TestCompareCPUProfile(t *testing.T) {
	mk := func(engine, other float64) Report {
		r := Report{Schema: SchemaRun, Throughput: 100}
		if engine > 0 {
			r.CPUProfile = &CPUProfile{USPerOp: map[string]float64{"engine": engine, "state_machine": other / 2, "load": other / 2}}
		}
		return r
	}
	var text bytes.Buffer
	if err := Compare(&text, FormatText, []string{"a", "b", "c"}, []Report{mk(2, 8), mk(0, 0), mk(3, 9)}); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	for _, want := range []string{"engine CPU µs/op", "other CPU µs/op", "2.00 (1.00x)", "3.00 (1.50x)", "8.00 (1.00x)", "9.00 (1.12x)"} {
		if !strings.Contains(out, want) {
			t.Errorf("text comparison lacks %q:\n%s", want, out)
		}
	}
	var b bytes.Buffer
	if err := Compare(&b, FormatCSV, []string{"a", "b"}, []Report{mk(2, 8), mk(0, 0)}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	last := len(rows[0]) - 1
	if rows[0][last-4] != "engine_cpu_us_per_op" || rows[1][last-4] != "2.00" || rows[2][last-4] != "" || rows[2][last-2] != "" {
		t.Errorf("csv %v: want engine_cpu_us_per_op 2.0 for a, empty for b", rows)
	}
}

// A mixed workload's reads and writes get their own p99 columns.
func TestCompareByOp(t *testing.T) {
	mixed := Report{Schema: SchemaRun, Throughput: 10, ByOp: map[string]OpReport{
		OpRead: {Ops: 9, Latency: Latency{P99: 100}}, OpWrite: {Ops: 1, Latency: Latency{P99: 900}}}}
	writes := Report{Schema: SchemaRun, Throughput: 10, ByOp: map[string]OpReport{OpWrite: {Ops: 10, Latency: Latency{P99: 1800}}}}
	var b bytes.Buffer
	if err := Compare(&b, FormatText, []string{"mixed", "writes"}, []Report{mixed, writes}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"read p99 µs", "write p99 µs", "100 (1.00x)", "900 (1.00x)", "1800 (2.00x)"} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !strings.Contains(lines[2], " - ") {
		t.Errorf("the writes-only run shows a read p99: %q", lines[2])
	}
	if m := measuresOf([]Report{writes}); len(m) != len(measures) {
		t.Errorf("a run of one kind gets %d measures, want %d", len(m), len(measures))
	}
}
