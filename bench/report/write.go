package report

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Names of the files of a run directory.
const (
	FileReport   = "report.json"
	FileHgrm     = "latency.hgrm"
	FileHlog     = "latency.hlog"
	FileBench    = "bench.txt"
	benchPackage = "github.com/raftbench/raftbench/bench"
)

// ErrExists is returned (wrapped) by WriteDir when the directory already
// holds a run's files: a run is never overwritten.
var ErrExists = errors.New("run directory already holds a report")

// WriteDir writes the files of a run into dir (created if missing):
// report.json, latency.hgrm (the percentile distribution of hist, µs),
// latency.hlog (an interval log of intervals, each stamped with its start and
// end time in ms since the epoch) and bench.txt (one Go benchmark line).
//
// It refuses, with an error wrapping ErrExists, to write into a directory that
// already has any of these files, and it writes report.json last, through a
// temporary file and a hard link, so a report.json is never overwritten and
// its presence means the directory is complete.
func WriteDir(dir string, rep Report, hist *hdrhistogram.Histogram, intervals ...*hdrhistogram.Histogram) error {
	return writeDir(dir, rep, hist, func(lw *hdrhistogram.HistogramLogWriter) error {
		for _, h := range intervals {
			if err := lw.OutputIntervalHistogram(h); err != nil {
				return err
			}
		}
		return nil
	})
}

// WriteDir writes the files of a run, as the function WriteDir does, from r's
// histogram and per-second histograms. rep is normally r.Report(...).
func (r *Recorder) WriteDir(dir string, rep Report) error {
	return writeDir(dir, rep, r.total, func(lw *hdrhistogram.HistogramLogWriter) error {
		return r.forEachInterval(func(h *hdrhistogram.PackedHistogram) error {
			return lw.OutputIntervalPackedHistogram(h)
		})
	})
}

func writeDir(dir string, rep Report, hist *hdrhistogram.Histogram, intervals func(*hdrhistogram.HistogramLogWriter) error) error {
	if rep.Schema == "" {
		rep.Schema = SchemaRun
	}
	if hist == nil {
		hist = newHistogram()
	}
	// Encode first: a report that cannot be encoded must not leave files.
	js, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode %s: %w", FileReport, err)
	}
	js = append(js, '\n')

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	for _, name := range []string{FileReport, FileHgrm, FileHlog, FileBench} {
		p := filepath.Join(dir, name)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("report: %s already exists; refusing to overwrite a run (write to a new directory): %w", p, ErrExists)
		}
	}

	if err := createFile(filepath.Join(dir, FileHgrm), func(w io.Writer) error {
		return writeHgrm(w, hist)
	}); err != nil {
		return err
	}
	if err := createFile(filepath.Join(dir, FileHlog), func(w io.Writer) error {
		return writeHlog(w, rep, intervals)
	}); err != nil {
		return err
	}
	if err := createFile(filepath.Join(dir, FileBench), func(w io.Writer) error {
		return WriteBench(w, rep)
	}); err != nil {
		return err
	}
	return publish(dir, js)
}

// createFile creates path, failing if it exists, and fills it with fill.
func createFile(path string, fill func(io.Writer) error) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("report: %s already exists; refusing to overwrite a run: %w", path, ErrExists)
		}
		return fmt.Errorf("report: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("report: %w", cerr)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := fill(bw); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	return nil
}

// publish writes report.json without ever replacing one: the content goes to
// a temporary file that is then hard-linked to report.json, which fails if
// the name exists.
func publish(dir string, js []byte) error {
	tmp, err := os.CreateTemp(dir, ".report-*.json")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(js); err != nil {
		tmp.Close()
		return fmt.Errorf("report: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("report: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	final := filepath.Join(dir, FileReport)
	if err := os.Link(tmp.Name(), final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("report: %s already exists; refusing to overwrite a run: %w", final, ErrExists)
		}
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// hgrmTicksPerHalfDistance is the resolution of the percentile distribution
// (the value Java's HdrHistogram uses by default).
const hgrmTicksPerHalfDistance = 5

// hgrmValueScale converts the histogram's µs to the ms that .hgrm files
// conventionally carry (the HdrHistogram plotter labels them milliseconds).
const hgrmValueScale = 1000.0

func writeHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	_, err := h.PercentilesPrint(w, hgrmTicksPerHalfDistance, hgrmValueScale)
	return err
}

// writeHlog writes an HdrHistogram interval log: header lines, then the
// intervals. Interval start times are relative to the run's start, truncated
// to the second because the log's BaseTime line carries whole seconds.
func writeHlog(w io.Writer, rep Report, intervals func(*hdrhistogram.HistogramLogWriter) error) error {
	lw := hdrhistogram.NewHistogramLogWriter(w)
	steps := []func() error{
		lw.OutputLogFormatVersion,
		func() error {
			return lw.OutputComment("[raftbench " + benchName(rep.Name) + ": latency in microseconds; Interval_Max in seconds]")
		},
	}
	// Without a start time the intervals' own (absolute) times are logged.
	if startMs := rep.Start.UnixMilli(); !rep.Start.IsZero() && startMs >= 0 {
		baseMs := startMs / 1000 * 1000
		lw.SetBaseTime(baseMs)
		steps = append(steps,
			func() error { return lw.OutputStartTime(startMs) },
			func() error { return lw.OutputBaseTime(baseMs) })
	}
	steps = append(steps, lw.OutputLegend, func() error { return intervals(lw) })
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// WriteBench writes rep as one Go benchmark result, with the header and unit
// lines, so that benchstat can compare runs:
//
//	BenchmarkRun/<name> <ops> <ns/op> ns/op <x> ops/s <x> p50-µs ... <x> errors
func WriteBench(w io.Writer, rep Report) error {
	_, err := fmt.Fprintf(w, "goos: %s\ngoarch: %s\npkg: %s\n", runtime.GOOS, runtime.GOARCH, benchPackage)
	if err != nil {
		return err
	}
	for _, u := range []string{"ops/s better=higher", "errors assume=exact"} {
		if _, err := fmt.Fprintf(w, "Unit %s\n", u); err != nil {
			return err
		}
	}
	var nsPerOp float64
	if rep.Ops > 0 {
		nsPerOp = rep.DurationSec * 1e9 / float64(rep.Ops)
	}
	l := rep.Latency
	_, err = fmt.Fprintf(w, "BenchmarkRun/%s\t%d\t%.1f ns/op\t%.1f ops/s\t%d p50-µs\t%d p90-µs\t%d p99-µs\t%d p99.9-µs\t%d max-µs\t%d errors\n",
		benchName(rep.Name), max(rep.Ops, 1), nsPerOp, rep.Throughput, l.P50, l.P90, l.P99, l.P999, l.Max, rep.ErrorCount())
	return err
}

// benchName makes name usable as a sub-benchmark name: no spaces (they end
// the name) and not empty.
func benchName(name string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return '_'
		}
		return r
	}, name)
	if name == "" {
		return "run"
	}
	return name
}
