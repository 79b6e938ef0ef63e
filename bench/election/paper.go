package election

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// paperQuantilesCSV holds the ten lines of Figure 16 of the Raft paper
// (D. Ongaro and J. Ousterhout, "In Search of an Understandable Consensus
// Algorithm (Extended Version)", 2014, §9.3; Figure 14 of the USENIX ATC'14
// paper): for each election-timeout range, the time without leader at
// every whole percentile 0..100 (nearest rank), as read from the published
// figure. Five servers; 1000 trials per line, 100 for 150-150.
//
//go:embed paper-quantiles.csv
var paperQuantilesCSV string

// PaperLine is one line of the paper's Figure 16.
type PaperLine struct {
	Range  string // e.g. "150-155"
	Trials int
	// Quantiles[p] is the time without leader in ms at percentile p.
	Quantiles []float64
}

// PaperRanges are the paper's ten timeout ranges, in the order of its
// legend: the top panel's, then the bottom panel's.
var PaperRanges = []string{"150-150", "150-151", "150-155", "150-175", "150-200", "150-300", "12-24", "25-50", "50-100", "100-200"}

var paperLines = mustParsePaper(paperQuantilesCSV)

// Paper returns the paper's line for a timeout range ("150-155"), if it
// has one.
func Paper(rng string) (PaperLine, bool) {
	l, ok := paperLines[rng]
	return l, ok
}

func mustParsePaper(text string) map[string]PaperLine {
	recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		panic(fmt.Sprintf("election: embedded paper quantiles: %v", err))
	}
	lines := map[string]PaperLine{}
	for i, r := range recs[1:] { // header: timeout_range_ms,trials,quantile_pct,time_without_leader_ms
		trials, err1 := strconv.Atoi(r[1])
		pct, err2 := strconv.Atoi(r[2])
		ms, err3 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			panic(fmt.Sprintf("election: embedded paper quantiles: row %d: %q", i+2, r))
		}
		l := lines[r[0]]
		if pct != len(l.Quantiles) {
			panic(fmt.Sprintf("election: embedded paper quantiles: row %d: percentile %d out of order", i+2, pct))
		}
		l.Range, l.Trials = r[0], trials
		l.Quantiles = append(l.Quantiles, ms)
		lines[r[0]] = l
	}
	for rng, l := range lines {
		if len(l.Quantiles) != 101 {
			panic(fmt.Sprintf("election: embedded paper quantiles: %s has %d percentiles", rng, len(l.Quantiles)))
		}
	}
	return lines
}

// paperPanels places a paper range in the figure as the paper does.
func paperPanels(lo, hi time.Duration) Panels {
	switch FormatRange(lo, hi) {
	case "150-300":
		return Panels{Top: true, Bottom: true}
	case "12-24", "25-50", "50-100", "100-200":
		return Panels{Bottom: true}
	}
	if lo >= 150*time.Millisecond {
		return Panels{Top: true}
	}
	return Panels{Bottom: true}
}
