package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// Formats accepted by Compare.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
	FormatCSV      = "csv"
)

// compared is one measure of a comparison, in its table order.
type compared struct {
	name string // column header in text and markdown
	csv  string // column header in csv
	get  func(Report) float64
	prec int // decimals printed
	// has, if set, tells whether a run has the measure at all ("-" in
	// text and markdown, empty in csv where it has not).
	has func(Report) bool
}

var measures = []compared{
	{"ops/s", "throughput_ops_per_sec", func(r Report) float64 { return r.Throughput }, 1, nil},
	{"p50 µs", "p50_us", func(r Report) float64 { return float64(r.Latency.P50) }, 0, nil},
	{"p90 µs", "p90_us", func(r Report) float64 { return float64(r.Latency.P90) }, 0, nil},
	{"p99 µs", "p99_us", func(r Report) float64 { return float64(r.Latency.P99) }, 0, nil},
	{"p99.9 µs", "p999_us", func(r Report) float64 { return float64(r.Latency.P999) }, 0, nil},
	{"max µs", "max_us", func(r Report) float64 { return float64(r.Latency.Max) }, 0, nil},
}

// resourceMeasures are added to a comparison when a run recorded its
// resources.
var resourceMeasures = []compared{
	{"CPU s/100k ops", "cpu_seconds_per_100k_ops", func(r Report) float64 {
		if r.Resources == nil {
			return 0
		}
		return r.Resources.CPUSecondsPer100kOps
	}, 2, nil},
	{"peak RSS MiB", "max_rss_mib", func(r Report) float64 {
		if r.Resources == nil {
			return 0
		}
		return float64(r.Resources.MaxRSSBytes) / (1 << 20)
	}, 1, nil},
}

// diskMeasures are added when a run recorded its group commits: the disk's
// part of a durable run's latency, beside it.
var diskMeasures = []compared{
	{"fsync p99 µs", "fsync_p99_us", func(r Report) float64 {
		if r.Disk == nil {
			return 0
		}
		return float64(r.Disk.FsyncUS.P99)
	}, 0, func(r Report) bool { return r.Disk != nil }},
}

// profileMeasures are added when a run split its CPU profile: the
// engine's own CPU per operation, and everything else's (the state
// machine, the log storage, the load generator, the runtime), which every
// engine pays alike.
var profileMeasures = []compared{
	{"engine CPU µs/op", "engine_cpu_us_per_op", func(r Report) float64 {
		if r.CPUProfile == nil {
			return 0
		}
		mine, _ := r.CPUProfile.PartUSPerOp("engine")
		return mine
	}, 2, func(r Report) bool { return r.CPUProfile != nil }},
	{"other CPU µs/op", "other_cpu_us_per_op", func(r Report) float64 {
		if r.CPUProfile == nil {
			return 0
		}
		_, others := r.CPUProfile.PartUSPerOp("engine")
		return others
	}, 2, func(r Report) bool { return r.CPUProfile != nil }},
}

// opMeasures are added when a run mixed reads and writes: each kind's own
// p99, which the overall percentiles blend.
var opMeasures = []compared{
	opP99(OpRead), opP99(OpWrite),
}

func opP99(kind string) compared {
	return compared{kind + " p99 µs", kind + "_p99_us", func(r Report) float64 {
		return float64(r.ByOp[kind].Latency.P99)
	}, 0, func(r Report) bool { _, ok := r.ByOp[kind]; return ok }}
}

// measuresOf returns the measures of a comparison of reps.
func measuresOf(reps []Report) []compared {
	out := slices.Clip(measures)
	if slices.ContainsFunc(reps, func(r Report) bool { return r.Resources != nil }) {
		out = append(out, resourceMeasures...)
	}
	if slices.ContainsFunc(reps, func(r Report) bool { return len(r.ByOp) > 1 }) {
		out = append(out, opMeasures...)
	}
	if slices.ContainsFunc(reps, func(r Report) bool { return r.Disk != nil }) {
		out = append(out, diskMeasures...)
	}
	if slices.ContainsFunc(reps, func(r Report) bool { return r.CPUProfile != nil }) {
		out = append(out, profileMeasures...)
	}
	return out
}

// present reports whether rep has measure m.
func (m compared) present(rep Report) bool { return m.has == nil || m.has(rep) }

// Compare writes a table comparing runs: for each run its throughput and
// p50/p90/p99/p99.9/max latency (and, when recorded, CPU seconds per 100k
// operations, peak RSS, the reads' and the writes' own p99 in a mixed
// workload, the fdatasync p99 of the group commits, and the engine's and
// everything else's CPU per operation from a split CPU profile; "-" for a
// run without it), each with its ratio to the first run
// ("1.23x"; "-" when the first run's value is zero), and its error count.
// names[i] names reps[i]. format is FormatText (aligned columns),
// FormatMarkdown (a pipe table) or FormatCSV (a header row, then one row
// per run, ratios in their own columns as plain numbers).
func Compare(w io.Writer, format string, names []string, reps []Report) error {
	if len(names) != len(reps) {
		return fmt.Errorf("report: compare: %d names for %d reports", len(names), len(reps))
	}
	if len(reps) == 0 {
		return errors.New("report: compare: no reports")
	}
	switch format {
	case FormatText:
		return compareText(w, names, reps)
	case FormatMarkdown:
		return compareMarkdown(w, names, reps)
	case FormatCSV:
		return compareCSV(w, names, reps)
	default:
		return fmt.Errorf("report: compare: unknown format %q (want %s, %s or %s)", format, FormatText, FormatMarkdown, FormatCSV)
	}
}

func formatValue(m compared, v float64) string {
	return strconv.FormatFloat(v, 'f', m.prec, 64)
}

// ratio returns v/base, ok false when base is zero.
func ratio(v, base float64) (float64, bool) {
	if base == 0 {
		return 0, false
	}
	return v / base, true
}

func formatRatio(v, base float64) string {
	r, ok := ratio(v, base)
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}

// cells returns the header and the rows shared by text and markdown: one
// cell per measure, "value (ratio)".
func cells(names []string, reps []Report) (header []string, rows [][]string) {
	header = []string{"run"}
	measures := measuresOf(reps)
	for _, m := range measures {
		header = append(header, m.name)
	}
	header = append(header, "errors")
	for i, rep := range reps {
		row := []string{names[i]}
		for _, m := range measures {
			if !m.present(rep) {
				row = append(row, "-")
				continue
			}
			v, ratio := m.get(rep), "-"
			if m.present(reps[0]) {
				ratio = formatRatio(v, m.get(reps[0]))
			}
			row = append(row, formatValue(m, v)+" ("+ratio+")")
		}
		row = append(row, strconv.FormatInt(rep.ErrorCount(), 10))
		rows = append(rows, row)
	}
	return header, rows
}

func compareText(w io.Writer, names []string, reps []Report) error {
	header, rows := cells(names, reps)
	// Numbers align right; the run names are padded to read left-aligned.
	width := 0
	for _, row := range append([][]string{header}, rows...) {
		width = max(width, utf8.RuneCountInString(row[0]))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for _, row := range append([][]string{header}, rows...) {
		row[0] += strings.Repeat(" ", width-utf8.RuneCountInString(row[0]))
		// AlignRight pads before every cell; a trailing tab ends the last one.
		if _, err := io.WriteString(tw, strings.Join(row, "\t")+"\t\n"); err != nil {
			return err
		}
	}
	return tw.Flush()
}

func compareMarkdown(w io.Writer, names []string, reps []Report) error {
	header, rows := cells(names, reps)
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	var b strings.Builder
	line := func(row []string) {
		b.WriteString("|")
		for _, c := range row {
			b.WriteString(" " + esc(c) + " |")
		}
		b.WriteString("\n")
	}
	line(header)
	b.WriteString("|---|")
	for range header[1:] {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, row := range rows {
		line(row)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func compareCSV(w io.Writer, names []string, reps []Report) error {
	cw := csv.NewWriter(w)
	measures := measuresOf(reps)
	header := []string{"run"}
	for _, m := range measures {
		header = append(header, m.csv, m.csv+"_ratio")
	}
	header = append(header, "errors")
	if err := cw.Write(header); err != nil {
		return err
	}
	for i, rep := range reps {
		row := []string{names[i]}
		for _, m := range measures {
			if !m.present(rep) {
				row = append(row, "", "")
				continue
			}
			v, base := m.get(rep), m.get(reps[0])
			r := ""
			if x, ok := ratio(v, base); ok && m.present(reps[0]) {
				r = strconv.FormatFloat(x, 'f', 4, 64)
			}
			row = append(row, formatValue(m, v), r)
		}
		row = append(row, strconv.FormatInt(rep.ErrorCount(), 10))
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
