package election

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
)

// WriteHTML writes a self-contained page to path: title, intro, the
// figure (svg inlined, e.g. the bytes of figure16.svg; nil for none) and
// a table of every line's numbers beside the paper's. The page loads
// nothing: its CSS is inline, so it can be mailed or archived as one file.
//
// svg is inlined unescaped, so it must be trusted (made by WriteFigure or
// WriteCDF); it is checked to be one well-formed <svg> element.
func WriteHTML(path string, title string, intro string, lines []Line, svg []byte) error {
	figure, err := inlineSVG(svg)
	if err != nil {
		return fmt.Errorf("election: html %s: %w", path, err)
	}
	page := htmlPage{Title: title, Intro: intro, Figure: figure}
	for i := range lines {
		page.Rows = append(page.Rows, newHTMLRow(&lines[i]))
		page.AnyPaper = page.AnyPaper || len(lines[i].Paper) > 100 || !math.IsNaN(lines[i].KS)
	}
	var buf bytes.Buffer
	if err := htmlPageTemplate.Execute(&buf, page); err != nil {
		return fmt.Errorf("election: html %s: %w", path, err)
	}
	return writeFileViaRename(path, buf.Bytes())
}

type htmlPage struct {
	Title, Intro string
	Figure       template.HTML
	Rows         []htmlRow
	// AnyPaper: some line has the paper's curve. Without one the paper's
	// columns and KS would be dashes only (runs beyond the paper), so the
	// page leaves them out.
	AnyPaper bool
}

// htmlRow is one table row, formatted.
type htmlRow struct {
	Nodes, Range, Trials, TimedOut                  string
	Min, P10, Median, Mean, P90, P99, Max           string
	PaperMedian, PaperP90, PaperP99, PaperMax       string
	ClientMedian, ClientP99, RoundsMean, SplitVotes string
	KS                                              string
}

// htmlNone marks a value the line does not have.
const htmlNone = "—"

func newHTMLRow(l *Line) htmlRow {
	s := &l.Stats
	r := htmlRow{
		Nodes:        strconv.Itoa(l.Nodes),
		Range:        l.Range(),
		Trials:       strconv.Itoa(s.Trials),
		TimedOut:     strconv.Itoa(s.TimedOut),
		Min:          formatTableMS(s.Min),
		P10:          formatTableMS(s.P10),
		Median:       formatTableMS(s.Median),
		Mean:         formatTableMS(s.Mean),
		P90:          formatTableMS(s.P90),
		P99:          formatTableMS(s.P99),
		Max:          formatTableMS(s.Max),
		ClientMedian: formatTableMSOrNone(s.ClientMedian),
		ClientP99:    formatTableMSOrNone(s.ClientP99),
		RoundsMean:   strconv.FormatFloat(s.RoundsMean, 'f', 2, 64),
		SplitVotes:   strconv.Itoa(s.SplitVotes),
		KS:           htmlNone,
		PaperMedian:  htmlNone,
		PaperP90:     htmlNone,
		PaperP99:     htmlNone,
		PaperMax:     htmlNone,
	}
	if !math.IsNaN(l.KS) {
		r.KS = strconv.FormatFloat(l.KS, 'f', 3, 64)
	}
	if len(l.Paper) > 100 {
		r.PaperMedian = formatTableMS(l.Paper[50])
		r.PaperP90 = formatTableMS(l.Paper[90])
		r.PaperP99 = formatTableMS(l.Paper[99])
		r.PaperMax = formatTableMS(l.Paper[100])
	}
	return r
}

// formatTableMS writes ms with one decimal, or whole and grouped in
// thousands above 1000 ms, where a tenth is noise: "287.4", "40,700".
func formatTableMS(ms float64) string {
	switch {
	case math.IsNaN(ms) || math.IsInf(ms, 0):
		return htmlNone
	case math.Abs(ms) <= 1000:
		return strconv.FormatFloat(ms, 'f', 1, 64)
	}
	digits := strconv.FormatFloat(math.Abs(ms), 'f', 0, 64)
	var b strings.Builder
	if ms < 0 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// formatTableMSOrNone is formatTableMS with 0 (not measured) as "—".
func formatTableMSOrNone(ms float64) string {
	if ms == 0 {
		return htmlNone
	}
	return formatTableMS(ms)
}

// maxInlineSVGBytes bounds the figure a page inlines (ours are < 1 MB).
const maxInlineSVGBytes = 64 << 20

var errNotSVG = errors.New("figure is not one <svg> element")

// inlineSVG is svg from its <svg> element on, checked to be well formed
// XML with <svg> as its root. The XML declaration before it is dropped:
// in HTML it is a parse error, not markup.
func inlineSVG(svg []byte) (template.HTML, error) {
	if len(svg) == 0 {
		return "", nil
	}
	if len(svg) > maxInlineSVGBytes {
		return "", fmt.Errorf("figure of %d bytes, limit %d", len(svg), maxInlineSVGBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(svg))
	depth, roots := 0, 0
	var start int64 = -1
	for {
		offset := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fmt.Errorf("figure: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if t.Name.Local != "svg" || roots > 1 {
					return "", errNotSVG
				}
				start = offset
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	if start < 0 {
		return "", errNotSVG
	}
	return template.HTML(svg[start:]), nil
}

var htmlPageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: "Liberation Sans", Arial, Helvetica, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em; color: #222; background: #fff; }
h1 { font-size: 1.5em; }
p.intro { max-width: 50em; line-height: 1.45; }
figure { margin: 1.5em 0; }
figure svg { width: 100%; max-width: 60em; height: auto; }
figcaption, p.note { font-size: 0.9em; color: #555; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.85em; font-variant-numeric: tabular-nums; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #ddd; text-align: right; white-space: nowrap; }
th { background: #f4f4f4; vertical-align: bottom; }
td.paper, th.paper { color: #777; font-style: italic; }
tbody tr:hover { background: #fafae6; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{if .Intro}}<p class="intro">{{.Intro}}</p>
{{end}}{{if .Figure}}<figure>
{{.Figure}}
<figcaption>Cumulative percent of trials against the time without leader after the leader crashed.{{if .AnyPaper}} Solid: our trials; dashed: the paper's curve (Ongaro &amp; Ousterhout, §9.3, Figure 16).{{end}}</figcaption>
</figure>
{{end}}<div class="scroll">
<table>
<thead>
<tr><th rowspan="2">nodes</th><th rowspan="2">timeout range (ms)</th><th rowspan="2">trials</th><th rowspan="2">timed out</th><th colspan="{{if .AnyPaper}}11{{else}}7{{end}}">time without leader (ms)</th><th colspan="2">client recovery (ms)</th><th rowspan="2">mean rounds</th><th rowspan="2">split votes</th>{{if .AnyPaper}}<th rowspan="2">KS distance to paper</th>{{end}}</tr>
<tr><th>min</th><th>p10</th><th>median</th>{{if .AnyPaper}}<th class="paper">paper</th>{{end}}<th>mean</th><th>p90</th>{{if .AnyPaper}}<th class="paper">paper</th>{{end}}<th>p99</th>{{if .AnyPaper}}<th class="paper">paper</th>{{end}}<th>max</th>{{if .AnyPaper}}<th class="paper">paper</th>{{end}}<th>median</th><th>p99</th></tr>
</thead>
<tbody>
{{range .Rows}}{{$paper := $.AnyPaper}}<tr><td>{{.Nodes}}</td><td>{{.Range}}</td><td>{{.Trials}}</td><td>{{.TimedOut}}</td><td>{{.Min}}</td><td>{{.P10}}</td><td>{{.Median}}</td>{{if $paper}}<td class="paper">{{.PaperMedian}}</td>{{end}}<td>{{.Mean}}</td><td>{{.P90}}</td>{{if $paper}}<td class="paper">{{.PaperP90}}</td>{{end}}<td>{{.P99}}</td>{{if $paper}}<td class="paper">{{.PaperP99}}</td>{{end}}<td>{{.Max}}</td>{{if $paper}}<td class="paper">{{.PaperMax}}</td>{{end}}<td>{{.ClientMedian}}</td><td>{{.ClientP99}}</td><td>{{.RoundsMean}}</td><td>{{.SplitVotes}}</td>{{if $paper}}<td>{{.KS}}</td>{{end}}</tr>
{{end}}</tbody>
</table>
</div>
<p class="note">Percentiles by nearest rank. Times above 1000 ms are rounded to whole milliseconds. Client recovery: from the crash until the first write submitted after it commits. Rounds: terms used by the election (1: the first election won).{{if .AnyPaper}} KS: the Kolmogorov–Smirnov distance between our trials and the paper's curve.{{end}} —: not measured or not in the paper.</p>
</body>
</html>
`))
