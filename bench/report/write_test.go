package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// testRun records a seeded run of span seconds and returns its recorder and
// report.
func testRun(t testing.TB, span time.Duration) (*Recorder, Report) {
	t.Helper()
	r := NewRecorder(t0)
	for _, s := range samples(7, 5000, span) {
		s.apply(r)
	}
	cfg := map[string]any{"workload": "kv", "rate": 2500, "nodes": []int{1, 2, 3}}
	return r, r.Report("kv 3 nodes", t0.Add(span), cfg)
}

func TestWriteDirLoadRoundTrip(t *testing.T) {
	r, rep := testRun(t, 4*time.Second)
	rep.Resources = &Resources{CPUSeconds: 1.5, CPUSecondsPer100kOps: 0.25, MaxRSSBytes: 1 << 20}
	rep.ByOp = map[string]OpReport{OpRead: {Ops: 5, Throughput: 1.25, Latency: Latency{P50: 10, P99: 20}}, OpWrite: {Ops: 2, Errors: 1, Latency: Latency{Max: 9}}}
	rep.Disk = &Disk{Fsyncs: 40, FsyncsPerSec: 10, EntriesPerFsync: 12.5, FsyncUS: Latency{P50: 400, P99: 4000, Max: 9000, Mean: 700}}
	dir := filepath.Join(t.TempDir(), "run1")
	if err := r.WriteDir(dir, rep); err != nil {
		t.Fatalf("WriteDir: %v", err)
	}
	for _, name := range []string{FileReport, FileHgrm, FileHlog, FileBench} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: missing or empty (%v)", name, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, FileReport)); err == nil && fi.Mode().Perm() != 0o644 {
		t.Errorf("report.json mode: got %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 4 {
		t.Errorf("directory holds %d entries, want 4 (no temporary file left)", len(entries))
	}

	for _, path := range []string{dir, filepath.Join(dir, FileReport)} {
		got, err := Load(path)
		if err != nil {
			t.Fatalf("Load(%s): %v", path, err)
		}
		// Config comes back as raw JSON; compare it as decoded values.
		var gotCfg, wantCfg any
		if err := json.Unmarshal(got.Config.(json.RawMessage), &gotCfg); err != nil {
			t.Fatalf("config: %v", err)
		}
		b, _ := json.Marshal(rep.Config)
		_ = json.Unmarshal(b, &wantCfg)
		if !reflect.DeepEqual(gotCfg, wantCfg) {
			t.Errorf("config: got %v, want %v", gotCfg, wantCfg)
		}
		if !got.Start.Equal(rep.Start) || !got.End.Equal(rep.End) {
			t.Errorf("times: got %v..%v, want %v..%v", got.Start, got.End, rep.Start, rep.End)
		}
		want := rep
		got.Config, want.Config = nil, nil
		got.Start, got.End, want.Start, want.End = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Load(%s):\ngot  %+v\nwant %+v", path, got, want)
		}
	}

	raw, _ := os.ReadFile(filepath.Join(dir, FileReport))
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "config", "start", "end", "duration_sec", "ops", "errors", "throughput_ops_per_sec", "latency_us", "series"} {
		if _, ok := fields[k]; !ok {
			t.Errorf("report.json has no %q field", k)
		}
	}
	if got, want := fields["start"], t0.Format(time.RFC3339Nano); got != want {
		t.Errorf("start: got %v, want %v", got, want)
	}
}

func TestWriteDirRefusesToOverwrite(t *testing.T) {
	for _, existing := range []string{FileReport, FileHgrm, FileHlog, FileBench} {
		t.Run(existing, func(t *testing.T) {
			r, rep := testRun(t, time.Second)
			dir := t.TempDir()
			old := []byte("previous run\n")
			if err := os.WriteFile(filepath.Join(dir, existing), old, 0o644); err != nil {
				t.Fatal(err)
			}
			err := r.WriteDir(dir, rep)
			if !errors.Is(err, ErrExists) {
				t.Fatalf("WriteDir into a directory with %s: got %v, want ErrExists", existing, err)
			}
			if !strings.Contains(err.Error(), existing) || !strings.Contains(err.Error(), "refusing to overwrite") {
				t.Errorf("error %q does not name %s and say it refuses", err, existing)
			}
			if got, _ := os.ReadFile(filepath.Join(dir, existing)); string(got) != string(old) {
				t.Errorf("%s was changed to %q", existing, got)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("directory holds %d entries after the refusal, want 1", len(entries))
			}
		})
	}
	t.Run("second write of the same run", func(t *testing.T) {
		r, rep := testRun(t, time.Second)
		dir := t.TempDir()
		if err := r.WriteDir(dir, rep); err != nil {
			t.Fatal(err)
		}
		before, _ := os.ReadFile(filepath.Join(dir, FileReport))
		rep.Ops++
		if err := r.WriteDir(dir, rep); !errors.Is(err, ErrExists) {
			t.Fatalf("second WriteDir: got %v, want ErrExists", err)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, FileReport)); string(after) != string(before) {
			t.Errorf("report.json changed by a refused write")
		}
	})
}

func TestWriteDirFunction(t *testing.T) {
	// WriteDir with dense histograms built by the caller.
	hist := newHistogram()
	var intervals []*hdrhistogram.Histogram
	for sec := range 3 {
		h := newHistogram()
		for i := range 100 * (sec + 1) {
			v := int64(10 + i)
			_ = h.RecordValue(v)
			_ = hist.RecordValue(v)
		}
		h.SetStartTimeMs(t0.UnixMilli() + int64(sec)*1000)
		h.SetEndTimeMs(t0.UnixMilli() + int64(sec+1)*1000)
		intervals = append(intervals, h)
	}
	rep := Report{Name: "dense", Start: t0, End: t0.Add(3 * time.Second), DurationSec: 3, Ops: hist.TotalCount(), Latency: LatencyOf(hist)}
	dir := t.TempDir()
	if err := WriteDir(dir, rep, hist, intervals...); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Schema != SchemaRun || got.Ops != 600 {
		t.Errorf("got schema %q ops %d, want %q 600", got.Schema, got.Ops, SchemaRun)
	}
	if n, total := readHlog(t, filepath.Join(dir, FileHlog)); n != 3 || total != 600 {
		t.Errorf("hlog: got %d intervals with %d values, want 3 with 600", n, total)
	}
}

// readHlog reads an interval log with the library's reader and returns the
// number of intervals and their total count.
func readHlog(t *testing.T, path string) (intervals int, total int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lr := hdrhistogram.NewHistogramLogReader(f)
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		if h == nil {
			return intervals, total
		}
		intervals++
		total += h.TotalCount()
	}
}

func TestHlogReadsBack(t *testing.T) {
	r, rep := testRun(t, 5*time.Second)
	dir := t.TempDir()
	if err := r.WriteDir(dir, rep); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, FileHlog)
	n, total := readHlog(t, path)
	if total != r.Ops() {
		t.Errorf("hlog total count: got %d, want %d", total, r.Ops())
	}
	if n != len(rep.Series) {
		t.Errorf("hlog intervals: got %d, want one per second with samples (%d)", n, len(rep.Series))
	}

	// Interval i starts i seconds after the run's start (to the ms), holds
	// the ops of series point i, and the merge of all equals the run.
	f, _ := os.Open(path)
	defer f.Close()
	lr := hdrhistogram.NewHistogramLogReader(f)
	merged := newHistogram()
	for i := 0; ; i++ {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		if got, want := h.StartTimeMs(), t0.UnixMilli()+int64(i)*1000; absInt(got-want) > 1 {
			t.Errorf("interval %d starts at %d ms, want %d", i, got, want)
		}
		if got, want := h.TotalCount(), rep.Series[i].Ops; got != want {
			t.Errorf("interval %d: %d values, want %d", i, got, want)
		}
		merged.Merge(h)
	}
	if !merged.Equals(r.Histogram()) {
		t.Errorf("merged intervals differ from the run's histogram")
	}
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestHgrmParses(t *testing.T) {
	r, rep := testRun(t, 3*time.Second)
	dir := t.TempDir()
	if err := r.WriteDir(dir, rep); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, FileHgrm))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		lines              int
		lastValue, lastPct float64
		lastCount          int64
		footerMax          float64
		footerTotal        int64
		sawFooter          bool
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "Value"):
		case strings.HasPrefix(line, "#[Max"):
			// #[Max     =        9.999, Total count    =         4900]
			sawFooter = true
			parts := strings.Split(strings.Trim(line, "#[]"), ",")
			footerMax = parseFloat(t, strings.TrimSpace(strings.SplitN(parts[0], "=", 2)[1]))
			footerTotal = int64(parseFloat(t, strings.TrimSpace(strings.SplitN(parts[1], "=", 2)[1])))
		case strings.HasPrefix(line, "#"):
		default:
			fs := strings.Fields(line)
			if len(fs) != 4 {
				t.Fatalf("percentile line %q has %d fields, want 4", line, len(fs))
			}
			v, p, c := parseFloat(t, fs[0]), parseFloat(t, fs[1]), int64(parseFloat(t, fs[2]))
			if v < lastValue || p < lastPct || c < lastCount {
				t.Errorf("line %q not monotone after value %v percentile %v count %d", line, lastValue, lastPct, lastCount)
			}
			if p < 0 || p > 1 {
				t.Errorf("percentile %v outside [0, 1]", p)
			}
			lastValue, lastPct, lastCount = v, p, c
			lines++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if lines < 10 {
		t.Fatalf("only %d percentile lines", lines)
	}
	if !sawFooter {
		t.Fatal("no #[Max ...] footer")
	}
	h := r.Histogram()
	if lastPct != 1 || lastCount != h.TotalCount() {
		t.Errorf("last line: percentile %v count %d, want 1 and %d", lastPct, lastCount, h.TotalCount())
	}
	if footerTotal != h.TotalCount() {
		t.Errorf("footer total: got %d, want %d", footerTotal, h.TotalCount())
	}
	// Values are in ms with 3 decimals: the max line and the footer agree
	// with the histogram's max to within that rounding.
	wantMax := float64(h.Max()) / 1000
	if diff := footerMax - wantMax; diff > 0.0005 || diff < -0.0005 {
		t.Errorf("footer max: got %v ms, want %v", footerMax, wantMax)
	}
	if diff := lastValue - footerMax; diff > 0.0005 || diff < -0.0005 {
		t.Errorf("last percentile line value %v ms, footer max %v ms", lastValue, footerMax)
	}
}

func parseFloat(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func TestBenchFormat(t *testing.T) {
	_, rep := testRun(t, 2*time.Second)
	var b strings.Builder
	if err := WriteBench(&b, rep); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	for _, prefix := range []string{"goos: ", "goarch: ", "pkg: github.com/raftbench/raftbench/bench"} {
		if !strings.Contains("\n"+b.String(), "\n"+prefix) {
			t.Errorf("no %q header line in\n%s", prefix, b.String())
		}
	}
	last := lines[len(lines)-1]
	fs := strings.Fields(last)
	if fs[0] != "BenchmarkRun/kv_3_nodes" {
		t.Errorf("benchmark name: got %q, want BenchmarkRun/kv_3_nodes", fs[0])
	}
	if n, err := strconv.ParseInt(fs[1], 10, 64); err != nil || n != rep.Ops {
		t.Errorf("iterations: got %q, want %d", fs[1], rep.Ops)
	}
	// value unit pairs
	units := map[string]float64{}
	for i := 2; i+1 < len(fs); i += 2 {
		units[fs[i+1]] = parseFloat(t, fs[i])
	}
	want := map[string]float64{
		"ns/op":    1e9 * rep.DurationSec / float64(rep.Ops),
		"ops/s":    rep.Throughput,
		"p50-µs":   float64(rep.Latency.P50),
		"p90-µs":   float64(rep.Latency.P90),
		"p99-µs":   float64(rep.Latency.P99),
		"p99.9-µs": float64(rep.Latency.P999),
		"max-µs":   float64(rep.Latency.Max),
		"errors":   float64(rep.ErrorCount()),
	}
	for u, w := range want {
		got, ok := units[u]
		if !ok {
			t.Errorf("no %s value in %q", u, last)
			continue
		}
		if d := got - w; d > 0.06 || d < -0.06 {
			t.Errorf("%s: got %v, want %v", u, got, w)
		}
	}
}
