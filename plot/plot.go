// Package plot draws the pictures of a training run as PNG files: learning
// curves (History), confusion matrices (Confusion), ROC curves (ROC), grids
// of images such as generated samples (ImageGrid) and attribution heatmaps
// laid over their input (Overlay).
//
// Charts are drawn with gonum.org/v1/plot in Liberation Sans; every chart
// has a title, axis labels with tick values and a legend where there is more
// than one series. Images are scaled up with nearest-neighbour sampling so
// that single pixels stay visible.
//
// Errors: these are drivers; every function returns an error for bad input
// (shapes that do not fit, empty data where some is needed) or a failed
// write, and none panics on data it is given. NaN and Inf values in curves
// are skipped.
package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// dpi is the resolution of the chart canvases: one point is 4/3 pixel.
const dpi = 96

// px converts pixels to vg lengths at dpi.
func px(n float64) vg.Length { return vg.Length(n) * vg.Inch / dpi }

var sans = font.Font{Typeface: "Liberation", Variant: "Sans"}

// Series colours: the ten "tab10" colours of matplotlib.
var tab10 = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
	{188, 189, 34, 255}, {23, 190, 207, 255},
}

// newPlot returns a plot with the package's fonts and a light grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, 15)
	p.Title.TextStyle.Font.Weight = 700
	p.Title.Padding = px(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sans, 12)
		a.Tick.Label.Font = font.From(sans, 10.5)
		a.Tick.Length = px(5)
		a.Padding = px(4)
	}
	p.Y.Tick.Marker = niceTicks{}
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.TextStyle.Font = font.From(sans, 11)
	p.Legend.ThumbnailWidth = px(28)
	return p
}

// addGrid adds light grey grid lines behind the data.
func addGrid(p *plot.Plot) {
	g := plotter.NewGrid()
	g.Horizontal.Color = color.Gray{Y: 225}
	g.Vertical.Color = color.Gray{Y: 225}
	g.Horizontal.Width = px(1)
	g.Vertical.Width = px(1)
	p.Add(g)
}

// newCanvas returns a white canvas of exactly w×h pixels.
func newCanvas(w, h int) *vgimg.Canvas {
	return vgimg.NewWith(vgimg.UseWH(px(float64(w)), px(float64(h))), vgimg.UseDPI(dpi))
}

// writeCanvas encodes the canvas as PNG.
func writeCanvas(w io.Writer, c *vgimg.Canvas) error {
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(w); err != nil {
		return fmt.Errorf("plot: writing png: %w", err)
	}
	return nil
}

// drawPlot renders p onto a new w×h canvas and writes it as PNG.
func drawPlot(w io.Writer, p *plot.Plot, width, height int) error {
	c := newCanvas(width, height)
	p.Draw(draw.New(c))
	return writeCanvas(w, c)
}

// writePNG encodes img as PNG.
func writePNG(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("plot: writing png: %w", err)
	}
	return nil
}

// saveFile creates path (and its directory) and lets write fill it.
func saveFile(path string, write func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	return nil
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// segments splits the points (x[i], y[i]) into runs of finite values.
func segments(x, y []float64) []plotter.XYs {
	var out []plotter.XYs
	var cur plotter.XYs
	for i := range y {
		if i < len(x) && finite(x[i]) && finite(y[i]) {
			cur = append(cur, plotter.XY{X: x[i], Y: y[i]})
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// integerTicks labels whole numbers with a 1-2-5 step that gives at most
// about eight major ticks.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	first, last := math.Ceil(lo), math.Floor(hi)
	if last < first || !finite(first) || !finite(last) {
		return nil
	}
	step := 1.0
	for i := 0; (last-first)/step > 8; i++ {
		step = []float64{2, 5, 10}[i%3] * math.Pow(10, float64(i/3))
	}
	var ts []plot.Tick
	for v := math.Ceil(first/step) * step; v <= last; v += step {
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%d", int64(v))})
	}
	if len(ts) == 0 {
		ts = append(ts, plot.Tick{Value: first, Label: fmt.Sprintf("%d", int64(first))})
	}
	return ts
}

// niceTicks labels about six round values (steps of 1, 2 or 5 times a power
// of ten) with as many decimals as the step needs.
type niceTicks struct{}

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !finite(lo) || !finite(hi) || hi <= lo {
		return plot.DefaultTicks{}.Ticks(lo, hi)
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	var ts []plot.Tick
	for i := math.Ceil(lo / step); i*step <= hi+step*1e-9; i++ {
		v := i*step + 0 // + 0 turns -0 into 0
		ts = append(ts, plot.Tick{Value: v, Label: fmt.Sprintf("%.*f", decimals, v)})
		// Unlabelled minor tick halfway to the next one.
		if m := v + step/2; m <= hi {
			ts = append(ts, plot.Tick{Value: m})
		}
	}
	if m := math.Ceil(lo/step)*step - step/2; m >= lo {
		ts = append(ts, plot.Tick{Value: m})
	}
	return ts
}
