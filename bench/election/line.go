package election

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Trial is one leader failure and the recovery after it.
type Trial struct {
	// Index numbers the trials of a line from 0.
	Index int
	// TimeWithoutLeader runs from the failure until every survivor has
	// received the new leader's first AppendEntries or heartbeat.
	TimeWithoutLeader time.Duration
	// ClientRecovery runs from the failure until the first write
	// submitted after it commits (0 if it was not measured).
	ClientRecovery time.Duration
	// Rounds is the number of terms the election used (1: the first
	// election won).
	Rounds int
	// SplitVotes counts the terms in which no candidate won.
	SplitVotes int
	// TimedOut: no leader within the trial's time cap; TimeWithoutLeader
	// is then the cap.
	TimedOut bool
	// StaleLeader (a partitioned leader, sim mode) is how long the old
	// leader went on believing it leads; StaleLeaderCapped says it still
	// did at the cap of ten maximum election timeouts.
	StaleLeader       time.Duration
	StaleLeaderCapped bool
}

// Panels says where a line is drawn in the two-panel figure: the top
// panel (log x from 100 ms) holds the 150-x lines, the bottom panel
// (linear x, 0-600 ms) the short ranges; 150-300 is in both, as in the
// paper.
type Panels struct{ Top, Bottom bool }

// Line is one curve of the figure: a cluster size and an election-timeout
// range, its trials and what they add up to.
type Line struct {
	Nodes                  int
	TimeoutMin, TimeoutMax time.Duration
	Panels                 Panels
	Trials                 []Trial
	Stats                  Stats
	// Paper is the paper's time without leader (ms) at the whole
	// percentiles 0..100 for this range, when the paper has the line
	// (5 nodes); nil otherwise.
	Paper []float64
	// KS is the Kolmogorov-Smirnov distance between the trials and the
	// paper's line (NaN without one).
	KS float64
}

// Range is the line's timeout range in milliseconds as the paper writes
// it, e.g. "150-155" (fractions of a millisecond as decimals).
func (l *Line) Range() string { return FormatRange(l.TimeoutMin, l.TimeoutMax) }

// Label names the line in plots and tables: "150-155 ms", with the
// cluster size when it is not the paper's 5.
func (l *Line) Label() string {
	if l.Nodes == 5 {
		return l.Range() + " ms"
	}
	return fmt.Sprintf("%s ms, %d nodes", l.Range(), l.Nodes)
}

// FormatRange writes a timeout range in milliseconds: "150-155".
func FormatRange(lo, hi time.Duration) string { return formatMS(lo) + "-" + formatMS(hi) }

func formatMS(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	if ms == math.Trunc(ms) {
		return fmt.Sprintf("%d", int64(ms))
	}
	return fmt.Sprintf("%g", ms)
}

// Stats summarizes a line's time without leader (in milliseconds) and its
// elections.
type Stats struct {
	Trials   int
	TimedOut int
	// Time without leader, ms.
	Min, P10, Median, Mean, P90, P99, Max float64
	// Client-visible recovery, ms (zero when not measured).
	ClientMedian, ClientP99 float64
	// How long a partitioned old leader believed it led, ms (zero when not
	// measured), and how many trials reached the cap.
	StaleLeaderMedian, StaleLeaderMax float64
	StaleLeaderCapped                 int
	// Rounds: mean and maximum terms used; SplitVotes in all trials.
	RoundsMean float64
	RoundsMax  int
	SplitVotes int
}

// Summarize computes the stats of trials. Percentiles are nearest rank,
// as the paper's figures are.
func Summarize(trials []Trial) Stats {
	s := Stats{Trials: len(trials)}
	if len(trials) == 0 {
		return s
	}
	ms := make([]float64, len(trials))
	var client, stale []float64
	var sum, rounds float64
	for i, t := range trials {
		ms[i] = durMS(t.TimeWithoutLeader)
		sum += ms[i]
		rounds += float64(t.Rounds)
		s.RoundsMax = max(s.RoundsMax, t.Rounds)
		s.SplitVotes += t.SplitVotes
		if t.TimedOut {
			s.TimedOut++
		}
		if t.ClientRecovery > 0 {
			client = append(client, durMS(t.ClientRecovery))
		}
		if t.StaleLeader > 0 {
			stale = append(stale, durMS(t.StaleLeader))
		}
		if t.StaleLeaderCapped {
			s.StaleLeaderCapped++
		}
	}
	slices.Sort(ms)
	slices.Sort(client)
	s.Min, s.Max = ms[0], ms[len(ms)-1]
	s.P10, s.Median, s.P90, s.P99 = NearestRank(ms, 10), NearestRank(ms, 50), NearestRank(ms, 90), NearestRank(ms, 99)
	s.Mean = sum / float64(len(ms))
	s.RoundsMean = rounds / float64(len(trials))
	if len(client) > 0 {
		s.ClientMedian, s.ClientP99 = NearestRank(client, 50), NearestRank(client, 99)
	}
	if len(stale) > 0 {
		slices.Sort(stale)
		s.StaleLeaderMedian, s.StaleLeaderMax = NearestRank(stale, 50), stale[len(stale)-1]
	}
	return s
}

// NearestRank is the p-th percentile (0..100) of sorted by nearest rank:
// the smallest value with at least p% of the values at or below it
// (p = 0: the smallest).
func NearestRank(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// TimesMS returns the trials' times without leader in ms, sorted.
func (l *Line) TimesMS() []float64 {
	ms := make([]float64, len(l.Trials))
	for i, t := range l.Trials {
		ms[i] = durMS(t.TimeWithoutLeader)
	}
	slices.Sort(ms)
	return ms
}

func durMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
