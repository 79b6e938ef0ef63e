package election

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Schema is the version of report.json.
const Schema = "raftbench/election/v1"

// ParseRange reads a timeout range: "150-155" (milliseconds) or with
// units, "150ms-155ms", "0.5s-1s".
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("timeout range %q: want MIN-MAX, e.g. 150-300 (ms)", s)
	}
	a, err1 := parseMS(lo)
	b, err2 := parseMS(hi)
	if err := errors.Join(err1, err2); err != nil {
		return Range{}, fmt.Errorf("timeout range %q: %w", s, err)
	}
	if a <= 0 || b < a {
		return Range{}, fmt.Errorf("timeout range %q: want 0 < MIN <= MAX", s)
	}
	return Range{a, b}, nil
}

func parseMS(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(f * float64(time.Millisecond)), nil
	}
	return time.ParseDuration(s)
}

// Report is report.json.
type Report struct {
	Schema     string            `json:"schema"`
	Config     map[string]string `json:"config"`
	Start      time.Time         `json:"start"`
	End        time.Time         `json:"end"`
	WallSec    float64           `json:"wall_sec"`
	TrialsRun  int               `json:"trials"`
	TrialsPerS float64           `json:"trials_per_sec"`
	Lines      []LineReport      `json:"lines"`
}

// LineReport is one line of report.json. Times are in milliseconds.
type LineReport struct {
	Nodes          int     `json:"nodes"`
	TimeoutRangeMS string  `json:"timeout_range_ms"`
	Trials         int     `json:"trials"`
	TimedOut       int     `json:"timed_out"`
	MinMS          float64 `json:"min_ms"`
	P10MS          float64 `json:"p10_ms"`
	MedianMS       float64 `json:"median_ms"`
	MeanMS         float64 `json:"mean_ms"`
	P90MS          float64 `json:"p90_ms"`
	P99MS          float64 `json:"p99_ms"`
	MaxMS          float64 `json:"max_ms"`
	ClientMedianMS float64 `json:"client_recovery_median_ms"`
	ClientP99MS    float64 `json:"client_recovery_p99_ms"`
	// A partitioned old leader (sim mode): how long it believed it led.
	StaleLeaderMedianMS float64     `json:"stale_leader_median_ms,omitempty"`
	StaleLeaderMaxMS    float64     `json:"stale_leader_max_ms,omitempty"`
	StaleLeaderCapped   int         `json:"stale_leader_capped,omitempty"`
	RoundsMean          float64     `json:"rounds_mean"`
	RoundsMax           int         `json:"rounds_max"`
	SplitVotes          int         `json:"split_votes"`
	KSToPaper           *float64    `json:"ks_to_paper"` // null without a paper line
	Paper               *PaperStats `json:"paper,omitempty"`
}

// PaperStats is the paper's line at the same percentiles.
type PaperStats struct {
	MinMS    float64 `json:"min_ms"`
	MedianMS float64 `json:"median_ms"`
	P90MS    float64 `json:"p90_ms"`
	P99MS    float64 `json:"p99_ms"`
	MaxMS    float64 `json:"max_ms"`
}

// NewReport builds report.json's content.
func NewReport(config map[string]string, start, end time.Time, lines []Line) Report {
	r := Report{Schema: Schema, Config: config, Start: start, End: end, WallSec: end.Sub(start).Seconds()}
	for i := range lines {
		l := &lines[i]
		s := l.Stats
		lr := LineReport{Nodes: l.Nodes, TimeoutRangeMS: l.Range(), Trials: s.Trials, TimedOut: s.TimedOut,
			MinMS: s.Min, P10MS: s.P10, MedianMS: s.Median, MeanMS: s.Mean, P90MS: s.P90, P99MS: s.P99, MaxMS: s.Max,
			ClientMedianMS: s.ClientMedian, ClientP99MS: s.ClientP99, RoundsMean: s.RoundsMean, RoundsMax: s.RoundsMax,
			SplitVotes: s.SplitVotes, StaleLeaderMedianMS: s.StaleLeaderMedian, StaleLeaderMaxMS: s.StaleLeaderMax,
			StaleLeaderCapped: s.StaleLeaderCapped}
		if !math.IsNaN(l.KS) {
			ks := l.KS
			lr.KSToPaper = &ks
		}
		if q := l.Paper; q != nil {
			lr.Paper = &PaperStats{MinMS: q[0], MedianMS: q[50], P90MS: q[90], P99MS: q[99], MaxMS: q[100]}
		}
		r.TrialsRun += s.Trials
		r.Lines = append(r.Lines, lr)
	}
	if r.WallSec > 0 {
		r.TrialsPerS = float64(r.TrialsRun) / r.WallSec
	}
	return r
}

// WriteReport writes report.json and trials.csv into dir.
func WriteReport(dir string, rep Report, lines []Line) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileViaRename(filepath.Join(dir, "report.json"), append(data, '\n')); err != nil {
		return err
	}
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write([]string{"nodes", "timeout_range_ms", "trial", "time_without_leader_ms", "client_recovery_ms", "rounds", "split_votes", "timed_out", "stale_leader_ms"})
	for i := range lines {
		l := &lines[i]
		for _, t := range l.Trials {
			w.Write([]string{strconv.Itoa(l.Nodes), l.Range(), strconv.Itoa(t.Index),
				strconv.FormatFloat(durMS(t.TimeWithoutLeader), 'f', 3, 64),
				strconv.FormatFloat(durMS(t.ClientRecovery), 'f', 3, 64),
				strconv.Itoa(t.Rounds), strconv.Itoa(t.SplitVotes), strconv.FormatBool(t.TimedOut), staleMS(t)})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileViaRename(filepath.Join(dir, "trials.csv"), []byte(b.String()))
}

// staleMS is a trial's stale_leader_ms: empty where not measured, the cap
// prefixed with ">=" where the old leader still led at the cap.
func staleMS(t Trial) string {
	switch {
	case t.StaleLeader == 0:
		return ""
	case t.StaleLeaderCapped:
		return ">=" + strconv.FormatFloat(durMS(t.StaleLeader), 'f', 3, 64)
	}
	return strconv.FormatFloat(durMS(t.StaleLeader), 'f', 3, 64)
}
