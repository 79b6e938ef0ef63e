package election

import (
	"bytes"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure file names that WriteFigure writes into its directory.
const (
	FigureSVG = "figure16.svg"
	FigurePNG = "figure16.png"
)

// Page geometry. The two-panel figure is about the size of the paper's
// Figure 16 at print scale; a single panel keeps the width and the
// panel height.
const (
	plotWidth      = 7 * vg.Inch
	twoPanelHeight = 8 * vg.Inch
	onePanelHeight = 4.5 * vg.Inch
	// plotPNGDPI makes an 840x960 px figure: the PNG is the quick look
	// (the SVG is the one to zoom), and pixels cost time to encode.
	plotPNGDPI       = 120
	topPanelMinMS    = 100 // the paper's top panel starts at 100 ms
	bottomPanelMaxMS = 600 // the paper's bottom panel ends at 600 ms
	// maxStepsPerCurve bounds the points of one step curve: beyond it the
	// steps are thinned to evenly spaced ranks (1/2000 of the height is
	// far below a pixel), so a 10^6-trial run still makes a small SVG.
	maxStepsPerCurve = 2000
)

// ErrNoData is returned when there is nothing to plot: no line in
// either panel, or no series.
var ErrNoData = errors.New("election: nothing to plot")

// Series is one curve of a generic CDF plot (WriteCDF).
type Series struct {
	Label string
	// ValuesMS are the samples in milliseconds, sorted ascending.
	ValuesMS []float64
	// Dashed draws the curve dashed and thinner, as reference curves
	// (the paper's) are drawn in the figure.
	Dashed bool
}

// plotPalette is the Tableau-10 palette plus two: distinct on screen and
// in print. Curves take colors by their index, so a line keeps its color
// in both panels; past 12 curves colors repeat.
var plotPalette = []color.Color{
	color.RGBA{0x1f, 0x77, 0xb4, 0xff}, // blue
	color.RGBA{0xff, 0x7f, 0x0e, 0xff}, // orange
	color.RGBA{0x2c, 0xa0, 0x2c, 0xff}, // green
	color.RGBA{0xd6, 0x27, 0x28, 0xff}, // red
	color.RGBA{0x94, 0x67, 0xbd, 0xff}, // purple
	color.RGBA{0x8c, 0x56, 0x4b, 0xff}, // brown
	color.RGBA{0xe3, 0x77, 0xc2, 0xff}, // pink
	color.RGBA{0x7f, 0x7f, 0x7f, 0xff}, // gray
	color.RGBA{0xbc, 0xbd, 0x22, 0xff}, // olive
	color.RGBA{0x17, 0xbe, 0xcf, 0xff}, // cyan
	color.RGBA{0x00, 0x00, 0x00, 0xff}, // black
	color.RGBA{0x39, 0x3b, 0x79, 0xff}, // indigo
}

func paletteColor(i int) color.Color { return plotPalette[i%len(plotPalette)] }

// cdfCurve is one curve of a panel.
type cdfCurve struct {
	label string
	color color.Color
	// reference curves are dashed and thinner (the paper's).
	reference bool
	// sortedMS are samples drawn as a step CDF; quantilesMS (when
	// sortedMS is nil) are values at the whole percentiles 0..100,
	// drawn as a polyline through (quantilesMS[p], p).
	sortedMS    []float64
	quantilesMS []float64
}

// cdfPanel is one plot of cumulative percent against time.
type cdfPanel struct {
	xLabel         string
	logX           bool
	xMinMS, xMaxMS float64
	// xTicks overrides the default ticks of a linear axis.
	xTicks plot.Ticker
	curves []cdfCurve
}

// WriteFigure writes the paper's Figure 16 for lines into dir as
// figure16.svg and figure16.png: the lines with Panels.Top on a log axis
// from 100 ms above, those with Panels.Bottom on a linear axis from 0 to
// 600 ms below, each as a solid step CDF with the paper's curve dashed
// beside it when the line has one. A panel without lines is left out.
func WriteFigure(dir string, title string, lines []Line) error {
	panels := figurePanels(lines)
	if len(panels) == 0 {
		return fmt.Errorf("election: figure in %s: %w", dir, ErrNoData)
	}
	// Render both before writing either, so a drawing failure leaves
	// neither file behind.
	svgBytes, err := renderPanels(title, panels, "svg")
	if err != nil {
		return fmt.Errorf("election: figure svg: %w", err)
	}
	pngBytes, err := renderPanels(title, panels, "png")
	if err != nil {
		return fmt.Errorf("election: figure png: %w", err)
	}
	if err := writeFileViaRename(filepath.Join(dir, FigureSVG), svgBytes); err != nil {
		return err
	}
	return writeFileViaRename(filepath.Join(dir, FigurePNG), pngBytes)
}

// figurePanels lays out Figure 16: the top panel, then the bottom one,
// each only when some line is drawn in it.
func figurePanels(lines []Line) []cdfPanel {
	var top, bottom []cdfCurve
	var topMaxMS float64
	for i := range lines {
		l := &lines[i]
		curves := lineCurves(l, paletteColor(i))
		if l.Panels.Top {
			top = append(top, curves...)
			for _, c := range curves {
				topMaxMS = max(topMaxMS, maxFiniteMS(c.sortedMS), maxFiniteMS(c.quantilesMS))
			}
		}
		if l.Panels.Bottom {
			bottom = append(bottom, curves...)
		}
	}
	var panels []cdfPanel
	xLabel := "time without leader (ms)"
	if len(top) > 0 {
		panels = append(panels, cdfPanel{
			xLabel: xLabel, logX: true, xMinMS: topPanelMinMS,
			xMaxMS: max(niceCeil125(topMaxMS*1.05), 10*topPanelMinMS),
			curves: top,
		})
	}
	if len(bottom) > 0 {
		panels = append(panels, cdfPanel{
			xLabel: xLabel, xMinMS: 0, xMaxMS: bottomPanelMaxMS,
			xTicks: linearTicks(0, bottomPanelMaxMS, 100, 50), curves: bottom,
		})
	}
	return panels
}

// lineCurves is our curve of l and, when it has one, the paper's.
func lineCurves(l *Line, c color.Color) []cdfCurve {
	curves := []cdfCurve{{label: l.Label() + " (ours)", color: c, sortedMS: l.TimesMS()}}
	if len(l.Paper) > 0 {
		curves = append(curves, cdfCurve{label: l.Label() + " (paper)", color: c, reference: true, quantilesMS: l.Paper})
	}
	return curves
}

// WriteCDF writes a single-panel CDF plot of series to path, as SVG or
// PNG after path's extension. The x range fits the data: from 0 (or the
// power of ten below the smallest value when logX) to a bit past the
// largest value.
func WriteCDF(path string, title string, xLabel string, logX bool, series []Series) error {
	format, err := plotFormat(path)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return fmt.Errorf("election: plot %s: %w", path, ErrNoData)
	}
	p := cdfPanel{xLabel: xLabel, logX: logX}
	minPositiveMS, maxMS := math.Inf(1), 0.0
	for i, s := range series {
		ms := s.ValuesMS
		if !slices.IsSorted(ms) {
			// Cheap to repair and a misdrawn curve is worse than a copy.
			ms = slices.Sorted(slices.Values(ms))
		}
		p.curves = append(p.curves, cdfCurve{label: s.Label, color: paletteColor(i), reference: s.Dashed, sortedMS: ms})
		maxMS = max(maxMS, maxFiniteMS(ms))
		for _, v := range ms {
			if v > 0 && !math.IsInf(v, 0) {
				minPositiveMS = min(minPositiveMS, v)
				break
			}
		}
	}
	if logX {
		if math.IsInf(minPositiveMS, 1) {
			minPositiveMS = 1
		}
		p.xMinMS = math.Pow(10, math.Floor(math.Log10(minPositiveMS)))
		p.xMaxMS = max(niceCeil125(maxMS*1.05), 10*p.xMinMS)
	} else {
		p.xMaxMS = niceCeilLinear(maxMS * 1.05)
	}
	out, err := renderPanels(title, []cdfPanel{p}, format)
	if err != nil {
		return fmt.Errorf("election: plot %s: %w", path, err)
	}
	return writeFileViaRename(path, out)
}

// plotFormat is the vg format name for path's extension.
func plotFormat(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".svg", ".png":
		return ext[1:], nil
	default:
		return "", fmt.Errorf("election: plot %s: unknown format %q (want .svg or .png)", path, ext)
	}
}

// renderPanels draws the panels stacked top to bottom under title and
// encodes the page as "svg" or "png". Each panel's legend sits in a
// column right of its data area, so no curve is ever hidden behind it.
func renderPanels(title string, panels []cdfPanel, format string) (out []byte, err error) {
	// gonum/plot panics on impossible geometry (e.g. a log axis through
	// 0); report it as an error rather than take the caller down.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("drawing: %v", r)
		}
	}()
	height := onePanelHeight
	if len(panels) > 1 {
		height = twoPanelHeight
	}
	var (
		svgCanvas *vgsvg.Canvas
		imgCanvas *vgimg.Canvas
		page      draw.Canvas
	)
	switch format {
	case "svg":
		// Fonts are not embedded (that would add ~0.5 MB); see
		// svgFontFallback for how the text still lays out.
		svgCanvas = vgsvg.New(plotWidth, height)
		page = draw.New(svgCanvas)
		// Opaque, so the figure reads the same on a dark page.
		page.SetColor(color.White)
		page.Fill(page.Rectangle.Path())
	case "png":
		// The image starts white; the panels draw no background of
		// their own, as every full-size fill is a pass over each pixel.
		imgCanvas = vgimg.NewWith(vgimg.UseWH(plotWidth, height), vgimg.UseDPI(plotPNGDPI))
		page = draw.New(imgCanvas)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	page = draw.Crop(page, 0, -vg.Points(6), vg.Points(4), -vg.Points(6)) // margins
	if title != "" {
		sty := plotText(12, draw.XCenter, draw.YTop)
		page.FillText(sty, vg.Point{X: page.Center().X, Y: page.Max.Y}, title)
		page.Max.Y -= sty.Height(title) + vg.Points(6)
	}

	plots := make([]*plot.Plot, len(panels))
	legends := make([]plot.Legend, len(panels))
	var legendWidth vg.Length
	for i, p := range panels {
		plots[i], legends[i] = buildPanel(p)
		legendWidth = max(legendWidth, legends[i].Rectangle(page).Size().X)
	}
	// One legend column for all panels keeps their data areas aligned.
	// Past 40% of the page, long labels run off the edge rather than
	// squeeze the data away.
	const legendGap = 10
	legendWidth = min(legendWidth+vg.Points(legendGap), 0.4*page.Size().X)
	main := draw.Crop(page, 0, -legendWidth, 0, 0)
	rows := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		rows[i] = []*plot.Plot{p}
	}
	tiles := plot.Align(rows, draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(14)}, main)
	for i, p := range plots {
		p.Draw(tiles[i][0])
		data := p.DataCanvas(tiles[i][0])
		box := draw.Canvas{Canvas: page.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: data.Max.X + vg.Points(legendGap), Y: data.Min.Y},
			Max: vg.Point{X: page.Max.X, Y: data.Max.Y},
		}}
		fitLegend(&legends[i], box.Size().Y)
		legends[i].Draw(box)
	}
	var buf bytes.Buffer
	if svgCanvas != nil {
		if _, err := svgCanvas.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("encoding svg: %w", err)
		}
		return svgFontFallback(buf.Bytes()), nil
	}
	// Fastest compression: a plot is mostly flat color, so it costs
	// little size, and the default level takes twice the time.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, imgCanvas.Image()); err != nil {
		return nil, fmt.Errorf("encoding png: %w", err)
	}
	return buf.Bytes(), nil
}

// svgFontFallback lets a viewer without Liberation Sans fall back to
// Arial or Helvetica, which share its metrics, so labels keep the widths
// the layout measured; vgsvg names the family alone, and a browser's
// default font is usually a serif of other widths.
func svgFontFallback(svg []byte) []byte {
	return bytes.ReplaceAll(svg, []byte("font-family:Liberation Sans;"),
		[]byte("font-family:'Liberation Sans',Arial,Helvetica,sans-serif;"))
}

// buildPanel makes the gonum plot of one panel and its legend (kept
// apart from the plot so it can be drawn outside the data area).
func buildPanel(p cdfPanel) (*plot.Plot, plot.Legend) {
	pl := plot.New()
	pl.BackgroundColor = nil // renderPanels paints the page once
	for _, a := range []*plot.Axis{&pl.X, &pl.Y} {
		a.Label.TextStyle.Font = plotFont(11)
		a.Tick.Label.Font = plotFont(9)
		a.Tick.Length = vg.Points(5)
	}
	pl.X.Label.Text = p.xLabel
	pl.Y.Label.Text = "cumulative percent"
	pl.X.Min, pl.X.Max = p.xMinMS, p.xMaxMS
	pl.Y.Min, pl.Y.Max = 0, 100
	pl.Y.Tick.Marker = linearTicks(0, 100, 20, 10)
	switch {
	case p.logX:
		pl.X.Scale = plot.LogScale{}
		pl.X.Tick.Marker = log10Ticks{}
	case p.xTicks != nil:
		pl.X.Tick.Marker = p.xTicks
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xdd}
	grid.Horizontal.Color = color.Gray{Y: 0xdd}
	pl.Add(grid)

	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font = plotFont(9)
	legend.ThumbnailWidth = vg.Points(24)
	legend.Padding = vg.Points(2)
	// Draw the references first so our curves lie on top of them.
	order := make([]int, 0, len(p.curves))
	for i, c := range p.curves {
		if c.reference {
			order = append(order, i)
		}
	}
	for i, c := range p.curves {
		if !c.reference {
			order = append(order, i)
		}
	}
	lines := make([]*plotter.Line, len(p.curves))
	for _, i := range order {
		c := p.curves[i]
		var xy plotter.XYs
		if c.sortedMS != nil {
			xy = stepCDFPoints(c.sortedMS, p.xMinMS, p.xMaxMS)
		} else {
			xy = quantilePoints(c.quantilesMS, p.logX, p.xMinMS)
		}
		line := &plotter.Line{XYs: xy, LineStyle: draw.LineStyle{Color: c.color, Width: vg.Points(1.6)}}
		if c.sortedMS != nil {
			line.StepStyle = plotter.PostStep
		}
		if c.reference {
			line.Width = vg.Points(0.9)
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(2.5)}
		}
		lines[i] = line
		// An empty curve (all samples NaN) still gets its legend entry,
		// so the reader sees that it is missing.
		if len(xy) > 0 {
			pl.Add(line)
		}
	}
	// Add overrode the range with the data's; put the panel's back.
	pl.X.Min, pl.X.Max = p.xMinMS, p.xMaxMS
	pl.Y.Min, pl.Y.Max = 0, 100
	for i, c := range p.curves {
		legend.Add(c.label, lines[i])
	}
	return pl, legend
}

// fitLegend shrinks the legend's font until its entries fit height, so
// a panel with many lines keeps its legend beside it.
func fitLegend(l *plot.Legend, height vg.Length) {
	const minPoints = 5
	for l.TextStyle.Font.Size > minPoints && legendHeight(l) > height {
		l.TextStyle.Font.Size -= 0.5
	}
}

func legendHeight(l *plot.Legend) vg.Length {
	var c draw.Canvas
	return l.Rectangle(c).Size().Y
}

// stepCDFPoints are the corners of the step CDF of sortedMS (drawn
// post-step: along to the next x, then up), clipped to [xMinMS, xMaxMS]
// so no path leaves the panel (and no x reaches a log axis at or below
// 0). Percentages count every sample, including NaNs, which get no step.
func stepCDFPoints(sortedMS []float64, xMinMS, xMaxMS float64) plotter.XYs {
	n := len(sortedMS)
	first := 0
	for first < n && math.IsNaN(sortedMS[first]) { // slices.Sort puts NaNs first
		first++
	}
	if first == n {
		return nil
	}
	stride := max(1, (n-first)/maxStepsPerCurve)
	full := make(plotter.XYs, 0, min(n-first, 2*maxStepsPerCurve)+1)
	full = append(full, plotter.XY{X: sortedMS[first], Y: 0})
	for i := first; i < n; i++ {
		last := i == n-1
		if !last && (sortedMS[i+1] == sortedMS[i] || (i+1-first)%stride != 0) {
			continue
		}
		full = append(full, plotter.XY{X: sortedMS[i], Y: 100 * float64(i+1) / float64(n)})
	}

	out := make(plotter.XYs, 0, len(full)+2)
	below := -1.0 // the CDF's height just left of xMinMS, once known
	for _, pt := range full {
		if pt.X < xMinMS {
			below = pt.Y
			continue
		}
		if len(out) == 0 && below >= 0 {
			out = append(out, plotter.XY{X: xMinMS, Y: below})
		}
		if pt.X > xMaxMS {
			if len(out) > 0 {
				out = append(out, plotter.XY{X: xMaxMS, Y: out[len(out)-1].Y})
			}
			return out
		}
		out = append(out, pt)
	}
	if len(out) == 0 { // every sample is left of the panel
		out = append(out, plotter.XY{X: xMinMS, Y: below}, plotter.XY{X: xMaxMS, Y: below})
	}
	return out
}

// quantilePoints is the polyline through (quantilesMS[p], p). The
// paper's quantiles were read off its figure, so joining them is as
// faithful as any step we could draw. On a log axis, values at or below 0
// move to the axis' left end (gonum clips everything else).
func quantilePoints(quantilesMS []float64, logX bool, xMinMS float64) plotter.XYs {
	if len(quantilesMS) < 2 {
		return nil
	}
	xy := make(plotter.XYs, 0, len(quantilesMS))
	for p, v := range quantilesMS {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if logX && v <= 0 {
			v = xMinMS
		}
		xy = append(xy, plotter.XY{X: v, Y: float64(p) * 100 / float64(len(quantilesMS)-1)})
	}
	return xy
}

// maxFiniteMS is the largest finite value of ms (0 if none).
func maxFiniteMS(ms []float64) float64 {
	var m float64
	for _, v := range ms {
		if !math.IsInf(v, 0) && !math.IsNaN(v) {
			m = max(m, v)
		}
	}
	return m
}

// niceCeil125 is the smallest 1, 2 or 5 times a power of ten at or above
// v (1 for v <= 0): an axis end close past the data.
func niceCeil125(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	decade := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*decade >= v {
			return m * decade
		}
	}
	return 10 * decade
}

// niceCeilLinear rounds v up to a multiple of half its decade (a linear
// axis end that wastes at most a sixth of the width).
func niceCeilLinear(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	step := math.Pow(10, math.Floor(math.Log10(v))) / 2
	return math.Ceil(v/step) * step
}

// linearTicks marks every major step labelled and every minor step
// between, from lo to hi.
func linearTicks(lo, hi, major, minor float64) plot.ConstantTicks {
	var ticks plot.ConstantTicks
	for v := lo; v <= hi+minor/2; v += minor {
		t := plot.Tick{Value: v}
		if r := math.Mod(v-lo, major); r < minor/2 || major-r < minor/2 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// log10Ticks labels the powers of ten in full ("100", "1000", as the
// paper does) and marks 2..9 times them unlabelled.
type log10Ticks struct{}

func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		decade := math.Pow(10, e)
		for m := 1.0; m < 10; m++ {
			v := m * decade
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// plotFont is Liberation Sans at size points: plain and metric-compatible
// with the sans fonts a browser substitutes in the SVG.
func plotFont(size vg.Length) font.Font {
	return font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
}

func plotText(size vg.Length, x text.XAlignment, y text.YAlignment) text.Style {
	return text.Style{Color: color.Black, Font: plotFont(size), XAlign: x, YAlign: y, Handler: plot.DefaultTextHandler}
}

// writeFileViaRename replaces path with data through a temporary file in
// the same directory, so a reader (or a failed write) never sees a
// partial file.
func writeFileViaRename(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(data); err != nil {
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	if err = f.Chmod(0o644); err != nil { // CreateTemp makes it 0600
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("election: write %s: %w", path, err)
	}
	return nil
}
