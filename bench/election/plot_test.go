package election

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// plotTestLine is a line of n trials with times drawn uniformly from
// [loMS, hiMS), from a fixed seed.
func plotTestLine(seed uint64, nodes int, timeoutMin, timeoutMax time.Duration, n int, loMS, hiMS float64) Line {
	rng := rand.New(rand.NewPCG(seed, 0))
	l := Line{Nodes: nodes, TimeoutMin: timeoutMin, TimeoutMax: timeoutMax, KS: math.NaN()}
	for i := range n {
		ms := loMS + rng.Float64()*(hiMS-loMS)
		l.Trials = append(l.Trials, Trial{Index: i, TimeWithoutLeader: time.Duration(ms * float64(time.Millisecond)), Rounds: 1})
	}
	l.Stats = Summarize(l.Trials)
	return l
}

// plotTestPaper is a paper curve: uniform quantiles over [loMS, hiMS].
func plotTestPaper(loMS, hiMS float64) []float64 {
	q := make([]float64, 101)
	for p := range q {
		q[p] = loMS + (hiMS-loMS)*float64(p)/100
	}
	return q
}

func plotTestLines() []Line {
	ms := time.Millisecond
	wide := plotTestLine(1, 5, 150*ms, 300*ms, 300, 90, 600) // both panels, with the paper's curve
	wide.Panels = Panels{Top: true, Bottom: true}
	wide.Paper = plotTestPaper(93, 603)
	wide.KS = 0.042
	narrow := plotTestLine(2, 5, 150*ms, 151*ms, 300, 80, 9000) // top only, partly left of 100 ms
	narrow.Panels.Top = true
	short := plotTestLine(3, 3, 12*ms, 24*ms, 300, 15, 800) // bottom only, partly right of 600 ms
	short.Panels.Bottom = true
	return []Line{wide, narrow, short}
}

// svgTexts parses svg as XML and returns the text of its <text> elements.
func plotTestSVGTexts(t *testing.T, svg []byte) []string {
	t.Helper()
	var texts []string
	d := xml.NewDecoder(bytes.NewReader(svg))
	inText := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return texts
		}
		if err != nil {
			t.Fatalf("SVG does not parse as XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		}
	}
}

func plotTestCheckPNG(t *testing.T, path string, wantHeightIn float64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	wantW, wantH := int(7*plotPNGDPI), int(wantHeightIn*plotPNGDPI)
	if plotTestAbs(b.Dx()-wantW) > 2 || plotTestAbs(b.Dy()-wantH) > 2 {
		t.Errorf("%s: got %dx%d px, want about %dx%d", path, b.Dx(), b.Dy(), wantW, wantH)
	}
}

func plotTestAbs(x int) int { return max(x, -x) }

func TestWriteFigure(t *testing.T) {
	t.Parallel() // each encodes a PNG, the slow part under -race
	dir := t.TempDir()
	lines := plotTestLines()
	if err := WriteFigure(dir, "Figure 16 & friends", lines); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, FigureSVG))
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Join(plotTestSVGTexts(t, svg), "\n")
	want := []string{
		"Figure 16 & friends",
		"150-300 ms (ours)", "150-300 ms (paper)",
		"150-151 ms (ours)",
		"12-24 ms, 3 nodes (ours)",
		"time without leader (ms)", "cumulative percent",
		"100", "1000", "10000", // top panel's log ticks
		"600", // bottom panel's end
	}
	for _, w := range want {
		if !strings.Contains(texts, w) {
			t.Errorf("SVG has no text %q", w)
		}
	}
	for _, no := range []string{"150-151 ms (paper)", "12-24 ms, 3 nodes (paper)"} {
		if strings.Contains(texts, no) {
			t.Errorf("SVG has %q, but that line has no paper curve", no)
		}
	}
	// 150-300 is in both panels, so it is in both legends.
	if got := strings.Count(texts, "150-300 ms (ours)"); got != 2 {
		t.Errorf("got %d legend entries for 150-300 ms (ours), want 2", got)
	}
	plotTestCheckPNG(t, filepath.Join(dir, FigurePNG), 8)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("got %d files in %s, want 2 (no temp files left)", len(entries), dir)
	}
}

func TestFigurePanels(t *testing.T) {
	lines := plotTestLines() // 150-300: both; 150-151: top; 12-24: bottom
	tests := []struct {
		name       string
		lines      []Line
		wantLogX   []bool
		wantCurves []int
	}{
		{"both", lines, []bool{true, false}, []int{3, 3}}, // 150-300 has a paper curve
		{"top only", lines[1:2], []bool{true}, []int{1}},
		{"bottom only", lines[2:], []bool{false}, []int{1}},
		{"none", nil, nil, nil},
	}
	for _, tt := range tests {
		panels := figurePanels(tt.lines)
		if len(panels) != len(tt.wantLogX) {
			t.Errorf("%s: got %d panels, want %d", tt.name, len(panels), len(tt.wantLogX))
			continue
		}
		for i, p := range panels {
			if p.logX != tt.wantLogX[i] || len(p.curves) != tt.wantCurves[i] {
				t.Errorf("%s: panel %d: got logX=%v with %d curves, want logX=%v with %d",
					tt.name, i, p.logX, len(p.curves), tt.wantLogX[i], tt.wantCurves[i])
			}
		}
	}
	// The top panel runs from 100 ms to a bit past its slowest point
	// (150-151's ~9 s), the bottom one from 0 to 600 ms.
	panels := figurePanels(lines)
	if got := [2]float64{panels[0].xMinMS, panels[0].xMaxMS}; got != [2]float64{100, 10_000} {
		t.Errorf("top panel: got x range %v, want [100 10000]", got)
	}
	if got := [2]float64{panels[1].xMinMS, panels[1].xMaxMS}; got != [2]float64{0, 600} {
		t.Errorf("bottom panel: got x range %v, want [0 600]", got)
	}
	// 150-300 keeps its color in both panels.
	if panels[0].curves[0].color != panels[1].curves[0].color {
		t.Errorf("150-300 has two colors")
	}

	// One panel makes a page of one panel's height with one x axis.
	svg, err := renderPanels("", figurePanels(lines[2:]), "svg")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte(`height="324pt"`)) {
		t.Errorf("one-panel SVG does not start %s", svg[:min(len(svg), 200)])
	}
	texts := strings.Join(plotTestSVGTexts(t, svg), "\n")
	if n := strings.Count(texts, "time without leader (ms)"); n != 1 {
		t.Errorf("got %d x axes, want 1 (the empty top panel left out)", n)
	}
}

func TestWriteFigureNoLines(t *testing.T) {
	lines := plotTestLines()
	for i := range lines {
		lines[i].Panels = Panels{}
	}
	err := WriteFigure(t.TempDir(), "", lines)
	if !errors.Is(err, ErrNoData) {
		t.Fatalf("got %v, want ErrNoData", err)
	}
}

func TestWriteCDF(t *testing.T) {
	t.Parallel() // each encodes a PNG, the slow part under -race
	lines := plotTestLines()
	series := []Series{
		{Label: "3 nodes", ValuesMS: lines[0].TimesMS()},
		{Label: "5 nodes", ValuesMS: lines[1].TimesMS()},
		{Label: "reference", ValuesMS: []float64{100, 200, 300}, Dashed: true},
		{Label: "unsorted, with a zero", ValuesMS: []float64{400, 0, 150}},
	}
	dir := t.TempDir()
	for _, logX := range []bool{false, true} {
		svgPath := filepath.Join(dir, "cdf.svg")
		if err := WriteCDF(svgPath, "cluster size", "time without leader (ms)", logX, series); err != nil {
			t.Fatalf("logX=%v: %v", logX, err)
		}
		svg, err := os.ReadFile(svgPath)
		if err != nil {
			t.Fatal(err)
		}
		texts := strings.Join(plotTestSVGTexts(t, svg), "\n")
		for _, s := range series {
			if !strings.Contains(texts, s.Label) {
				t.Errorf("logX=%v: SVG has no legend entry %q", logX, s.Label)
			}
		}
	}
	// One PNG is enough: the drawing is shared, and PNGs are slow under
	// -race. The extension's case does not matter.
	pngPath := filepath.Join(dir, "cdf.PNG")
	if err := WriteCDF(pngPath, "cluster size", "ms", true, series); err != nil {
		t.Fatal(err)
	}
	plotTestCheckPNG(t, pngPath, 4.5)
}

func TestWriteCDFErrors(t *testing.T) {
	dir := t.TempDir()
	series := []Series{{Label: "a", ValuesMS: []float64{1, 2}}}
	for _, name := range []string{"cdf.pdf", "cdf", "cdf.svg.txt"} {
		if err := WriteCDF(filepath.Join(dir, name), "", "ms", false, series); err == nil {
			t.Errorf("WriteCDF(%q): got no error for an unknown format", name)
		}
	}
	if err := WriteCDF(filepath.Join(dir, "none.svg"), "", "ms", false, nil); !errors.Is(err, ErrNoData) {
		t.Errorf("WriteCDF with no series: got %v, want ErrNoData", err)
	}
	missing := filepath.Join(dir, "no-such-dir", "cdf.svg")
	if err := WriteCDF(missing, "", "ms", false, series); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteCDF into a missing directory: got %v, want an error wrapping os.ErrNotExist", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed writes left %d files behind", len(entries))
	}
}

func TestStepCDFPoints(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name           string
		sortedMS       []float64
		xMinMS, xMaxMS float64
		want           [][2]float64
	}{
		{"inside", []float64{10, 20, 20, 30}, 0, 100,
			[][2]float64{{10, 0}, {10, 25}, {20, 75}, {30, 100}}},
		{"clipped both sides", []float64{10, 20, 30, 40}, 15, 35,
			[][2]float64{{15, 25}, {20, 50}, {30, 75}, {35, 75}}},
		{"all left", []float64{1, 2}, 100, 200,
			[][2]float64{{100, 100}, {200, 100}}},
		{"all right", []float64{300, 400}, 100, 200, nil},
		{"NaNs count but are not drawn", []float64{nan, 10, 20}, 0, 100,
			[][2]float64{{10, 0}, {10, 200.0 / 3}, {20, 100}}},
		{"only NaNs", []float64{nan}, 0, 100, nil},
		{"empty", nil, 0, 100, nil},
	}
	for _, tt := range tests {
		got := stepCDFPoints(tt.sortedMS, tt.xMinMS, tt.xMaxMS)
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i, w := range tt.want {
			if math.Abs(got[i].X-w[0]) > 1e-9 || math.Abs(got[i].Y-w[1]) > 1e-9 {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
				break
			}
		}
	}
}

func TestStepCDFPointsThinned(t *testing.T) {
	const n = 100_000
	ms := make([]float64, n)
	for i := range ms {
		ms[i] = float64(i)
	}
	got := stepCDFPoints(ms, 0, n)
	if len(got) > 2*maxStepsPerCurve+2 {
		t.Errorf("got %d points for %d samples, want at most %d", len(got), n, 2*maxStepsPerCurve+2)
	}
	if last := got[len(got)-1]; last.X != n-1 || last.Y != 100 {
		t.Errorf("got last point %v, want {%d 100}", last, n-1)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Y-got[i-1].Y > 100.0/maxStepsPerCurve+1e-9 {
			t.Fatalf("got a step of %.3f%% at %v, want at most %.3f%%", got[i].Y-got[i-1].Y, got[i], 100.0/maxStepsPerCurve)
		}
	}
}

func TestNiceAxisEnds(t *testing.T) {
	for _, tt := range []struct{ v, want125, wantLinear float64 }{
		{554_412, 1_000_000, 600_000},
		{8_644, 10_000, 9_000},
		{1_500, 2_000, 1_500},
		{633, 1_000, 650},
		{100, 100, 100},
		{0, 1, 1},
	} {
		if got := niceCeil125(tt.v); got != tt.want125 {
			t.Errorf("niceCeil125(%v): got %v, want %v", tt.v, got, tt.want125)
		}
		if got := niceCeilLinear(tt.v); got != tt.wantLinear {
			t.Errorf("niceCeilLinear(%v): got %v, want %v", tt.v, got, tt.wantLinear)
		}
	}
}

func TestLog10Ticks(t *testing.T) {
	var labels []string
	for _, tk := range (log10Ticks{}).Ticks(100, 200_000) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got, want := strings.Join(labels, " "), "100 1000 10000 100000"; got != want {
		t.Errorf("got labels %q, want %q", got, want)
	}
}
