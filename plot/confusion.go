package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// ConfusionOptions configure Confusion. Zero values mean the defaults given.
type ConfusionOptions struct {
	// Title defaults to "Confusion matrix".
	Title string
	// CellSize is the side of a cell in pixels; zero means about 560 pixels
	// for the whole matrix, between 24 and 80 per cell.
	CellSize int
}

// Confusion draws a confusion matrix as a PNG heatmap: rows are the true
// classes (top to bottom), columns the predicted classes, each cell holds
// its count, and its colour is the count as a fraction of its row (the
// recall of the class on the diagonal), so rare classes are as readable as
// common ones. labels names the classes (nil for 0, 1, ...). Counts are
// printed when the cells are big enough. It returns an error if matrix is
// not square and non-empty or labels has the wrong length.
func Confusion(w io.Writer, matrix [][]int, labels []string, opts ConfusionOptions) error {
	k := len(matrix)
	if k == 0 {
		return fmt.Errorf("plot: empty confusion matrix")
	}
	for i, row := range matrix {
		if len(row) != k {
			return fmt.Errorf("plot: confusion matrix row %d has %d entries, want %d", i, len(row), k)
		}
	}
	if labels == nil {
		labels = make([]string, k)
		for i := range labels {
			labels[i] = fmt.Sprint(i)
		}
	}
	if len(labels) != k {
		return fmt.Errorf("plot: %d labels for %d classes", len(labels), k)
	}
	cell := opts.CellSize
	if cell <= 0 {
		cell = min(80, max(24, 560/k))
	}
	title := opts.Title
	if title == "" {
		title = "Confusion matrix"
	}
	p := newPlot(title, "predicted label", "true label")
	longest := 0
	ticks := make([]plot.Tick, k)
	for i, l := range labels {
		ticks[i] = plot.Tick{Value: float64(i), Label: l}
		longest = max(longest, len(l))
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Tick.Length, p.Y.Tick.Length = px(4), px(4)
	p.X.Padding, p.Y.Padding = 0, 0
	p.X.LineStyle.Width, p.Y.LineStyle.Width = 0, 0
	if longest > 3 && longest*7 > cell {
		p.X.Tick.Label.Rotation = math.Pi / 4
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
	}
	p.Y.Scale = plot.InvertedScale{Normalizer: plot.LinearScale{}}
	// The colour bar sits right of the matrix, in data units of cells.
	barRoom := 110.0 / float64(cell)
	p.X.Min, p.X.Max = -0.5, float64(k)-0.5+barRoom
	p.Y.Min, p.Y.Max = -0.5, float64(k)-0.5
	p.Add(&cells{m: matrix, cell: cell})
	labelRoom := min(longest, 16)*8 + 60
	return drawPlot(w, p, k*cell+labelRoom+110, k*cell+labelRoom+50)
}

// cells is the heatmap plotter of Confusion.
type cells struct {
	m    [][]int
	cell int
}

// blues is matplotlib's "Blues" colormap sampled at nine points.
var blues = []color.RGBA{
	{247, 251, 255, 255}, {222, 235, 247, 255}, {198, 219, 239, 255}, {158, 202, 225, 255},
	{107, 174, 214, 255}, {66, 146, 198, 255}, {33, 113, 181, 255}, {8, 81, 156, 255}, {8, 48, 107, 255},
}

func (cs *cells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	k := len(cs.m)
	size := math.Min(13, float64(cs.cell)*0.3)
	for t, row := range cs.m {
		total := 0
		for _, v := range row {
			total += v
		}
		for j, v := range row {
			frac := 0.0
			if total > 0 {
				frac = float64(v) / float64(total)
			}
			bg := lerpColors(blues, frac)
			x0, x1 := trX(float64(j)-0.5), trX(float64(j)+0.5)
			y0, y1 := trY(float64(t)-0.5), trY(float64(t)+0.5)
			c.FillPolygon(bg, []vg.Point{{X: x0, Y: y0}, {X: x1, Y: y0}, {X: x1, Y: y1}, {X: x0, Y: y1}})
			if cs.cell < 22 || (k > 40) {
				continue
			}
			fg := color.Color(color.Black)
			if frac > 0.55 {
				fg = color.White
			}
			sty := text.Style{Color: fg, Font: font.From(sans, vg.Length(size)), XAlign: draw.XCenter, YAlign: draw.YCenter, Handler: p.TextHandler}
			if t == j {
				sty.Font.Weight = 700
			}
			c.FillText(sty, vg.Point{X: (x0 + x1) / 2, Y: (y0 + y1) / 2}, fmt.Sprint(v))
		}
	}
	cs.colorBar(c, p, trX(float64(k)-0.5)+px(16), trY(-0.5), trY(float64(k)-0.5))
	// Thin white separators between cells.
	sep := draw.LineStyle{Color: color.White, Width: px(1)}
	for i := 1; i < k; i++ {
		x := trX(float64(i) - 0.5)
		y := trY(float64(i) - 0.5)
		c.StrokeLine2(sep, x, trY(-0.5), x, trY(float64(k)-0.5))
		c.StrokeLine2(sep, trX(-0.5), y, trX(float64(k)-0.5), y)
	}
}

// lerpColors maps f in [0, 1] onto the colour ramp.
func lerpColors(ramp []color.RGBA, f float64) color.RGBA {
	if !(f > 0) {
		return ramp[0]
	}
	if f >= 1 {
		return ramp[len(ramp)-1]
	}
	pos := f * float64(len(ramp)-1)
	i := int(pos)
	u := pos - float64(i)
	a, b := ramp[i], ramp[i+1]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-u) + float64(y)*u)) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}

// colorBar draws the colour scale, 14 pixels wide, from x between the
// y positions of the matrix's top and bottom edges, labelled 0 to 1.
func (cs *cells) colorBar(c draw.Canvas, p *plot.Plot, x, top, bottom vg.Length) {
	const steps = 64
	wBar := px(14)
	for i := 0; i < steps; i++ {
		y0 := bottom + (top-bottom)*vg.Length(i)/steps
		y1 := bottom + (top-bottom)*vg.Length(i+1)/steps
		if i < steps-1 {
			y1 += (top - bottom) / steps / 2 // overlap the next band: no seams
		}
		col := lerpColors(blues, (float64(i)+0.5)/steps)
		c.FillPolygon(col, []vg.Point{{X: x, Y: y0}, {X: x + wBar, Y: y0}, {X: x + wBar, Y: y1}, {X: x, Y: y1}})
	}
	edge := draw.LineStyle{Color: color.Gray{Y: 150}, Width: px(1)}
	c.StrokeLines(edge, []vg.Point{{X: x, Y: bottom}, {X: x + wBar, Y: bottom}, {X: x + wBar, Y: top}, {X: x, Y: top}, {X: x, Y: bottom}})
	sty := text.Style{Color: color.Black, Font: font.From(sans, 10.5), XAlign: draw.XLeft, YAlign: draw.YCenter, Handler: p.TextHandler}
	for _, v := range []float64{0, 0.25, 0.5, 0.75, 1} {
		y := bottom + (top-bottom)*vg.Length(v)
		c.StrokeLine2(edge, x+wBar, y, x+wBar+px(4), y)
		c.FillText(sty, vg.Point{X: x + wBar + px(6), Y: y}, fmt.Sprintf("%.2g", v))
	}
	sty.Font = font.From(sans, 12)
	sty.Rotation = -math.Pi / 2
	sty.XAlign = draw.XCenter
	sty.YAlign = draw.YTop
	c.FillText(sty, vg.Point{X: x + wBar + px(66), Y: (top + bottom) / 2}, "fraction of true class")
}
