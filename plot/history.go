package plot

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HistoryOptions configure History. Zero values mean the defaults given.
type HistoryOptions struct {
	// Title is drawn above all panels; empty for none.
	Title string
	// PanelWidth and PanelHeight are the size of one panel in pixels;
	// zero means 560×400.
	PanelWidth, PanelHeight int
	// Columns is the number of panels per row; zero means one row for up to
	// three panels and two columns beyond.
	Columns int
}

// History draws learning curves as a PNG: one panel per metric family —
// "loss" with "val_loss", "accuracy" with "val_accuracy", and so on, the
// loss first and the others in alphabetical order. h maps a logged name to
// its value per epoch, as in Keras' History.history; x is the epoch
// counted from 1. Training values are solid blue, validation values dashed
// orange, and the best validation epoch (lowest for names containing
// "loss" or "error", highest otherwise) is marked and quoted in the
// legend. NaN and Inf values are skipped; empty series are ignored; an
// empty history gives a single panel saying so.
func History(w io.Writer, h map[string][]float64, opts HistoryOptions) error {
	pw, ph := opts.PanelWidth, opts.PanelHeight
	if pw <= 0 {
		pw = 560
	}
	if ph <= 0 {
		ph = 400
	}
	fams := families(h)
	n := max(len(fams), 1)
	cols := opts.Columns
	if cols <= 0 {
		cols = n
		if n > 3 {
			cols = 2
		}
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols
	titleH := 0
	if opts.Title != "" {
		titleH = 40
	}
	c := newCanvas(cols*pw, rows*ph+titleH)
	dc := draw.New(c)
	if opts.Title != "" {
		sty := text.Style{
			Color:   color.Black,
			Font:    font.From(sans, 17),
			XAlign:  draw.XCenter,
			YAlign:  draw.YCenter,
			Handler: plot.DefaultTextHandler,
		}
		sty.Font.Weight = 700
		dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - px(float64(titleH)/2)}, opts.Title)
	}
	body := draw.Crop(dc, 0, 0, 0, -px(float64(titleH)))
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadTop: px(6), PadBottom: px(6), PadLeft: px(6), PadRight: px(14), PadX: px(20), PadY: px(16)}
	if len(fams) == 0 {
		historyPanel(family{name: "no data"}, h).Draw(tiles.At(body, 0, 0))
		return writeCanvas(w, c)
	}
	for i, f := range fams {
		historyPanel(f, h).Draw(tiles.At(body, i%cols, i/cols))
	}
	return writeCanvas(w, c)
}

// SaveHistory writes History's PNG to path, creating its directory.
func SaveHistory(path string, h map[string][]float64, opts HistoryOptions) error {
	return saveFile(path, func(w io.Writer) error { return History(w, h, opts) })
}

// family is a metric and its validation twin, by key in the history map.
type family struct {
	name       string // e.g. "accuracy"
	train, val string // keys present in the map, or ""
}

// families groups the non-empty series of h by name without "val_",
// loss first.
func families(h map[string][]float64) []family {
	byName := map[string]*family{}
	var names []string
	for k, v := range h {
		if len(v) == 0 {
			continue
		}
		base, isVal := strings.CutPrefix(k, "val_")
		f := byName[base]
		if f == nil {
			f = &family{name: base}
			byName[base] = f
			names = append(names, base)
		}
		if isVal {
			f.val = k
		} else {
			f.train = k
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == "loss") != (b == "loss") {
			if a == "loss" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	out := make([]family, len(names))
	for i, n := range names {
		out[i] = *byName[n]
	}
	return out
}

// lowerIsBetter reports whether smaller values of the metric are better.
func lowerIsBetter(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"loss", "error", "mse", "mae", "rmse", "perplexity", "kl"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}

// prettyName turns "sparse_categorical_accuracy" into
// "Sparse categorical accuracy" and "kl_loss" into "KL loss".
func prettyName(s string) string {
	words := strings.Fields(strings.ReplaceAll(s, "_", " "))
	for i, w := range words {
		switch w {
		case "auc", "kl", "mse", "mae", "rmse", "f1", "roc", "elbo", "psnr", "ssim":
			words[i] = strings.ToUpper(w)
		case "lr":
			words[i] = "learning rate"
		}
	}
	out := strings.Join(words, " ")
	if out == "" {
		return s
	}
	return strings.ToUpper(out[:1]) + out[1:]
}

// historyPanel builds the plot of one family.
func historyPanel(f family, h map[string][]float64) *plot.Plot {
	p := newPlot(prettyName(f.name), "epoch", f.name)
	addGrid(p)
	p.X.Tick.Marker = integerTicks{}
	epochs := 0
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for i, key := range []string{f.train, f.val} {
		ys := h[key]
		if key == "" || len(ys) == 0 {
			continue
		}
		epochs = max(epochs, len(ys))
		xs := make([]float64, len(ys))
		for j := range xs {
			xs[j] = float64(j + 1)
		}
		segs := segments(xs, ys)
		label := "train"
		if i == 1 {
			label = "validation"
		}
		for si, seg := range segs {
			for _, pt := range seg {
				ymin, ymax = math.Min(ymin, pt.Y), math.Max(ymax, pt.Y)
			}
			l, s, err := plotter.NewLinePoints(seg)
			if err != nil {
				continue
			}
			l.Color = tab10[i]
			l.Width = px(2)
			if i == 1 {
				l.Dashes = []vg.Length{px(7), px(4)}
			}
			p.Add(l)
			if len(ys) <= 30 || len(seg) == 1 {
				s.GlyphStyle = draw.GlyphStyle{Color: tab10[i], Radius: px(3), Shape: draw.CircleGlyph{}}
				p.Add(s)
			}
			if si == 0 && f.val != "" { // a lone training curve needs no legend
				if len(ys) <= 30 || len(seg) == 1 {
					p.Legend.Add(label, l, s)
				} else {
					p.Legend.Add(label, l)
				}
			}
		}
	}
	if best, val, ok := bestEpoch(h[f.val], lowerIsBetter(f.name)); ok {
		s, err := plotter.NewScatter(plotter.XYs{{X: float64(best), Y: val}})
		if err == nil {
			s.GlyphStyle = draw.GlyphStyle{Color: color.RGBA{214, 39, 40, 255}, Radius: px(6), Shape: draw.RingGlyph{}}
			p.Add(s)
			p.Legend.Add(fmt.Sprintf("best %s (epoch %d)", formatValue(val), best), s)
		}
	}
	if epochs == 0 || math.IsInf(ymin, 1) {
		p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 1, 2, 0, 1
		p.X.Tick.Marker = plot.ConstantTicks(nil)
		p.Y.Tick.Marker = plot.ConstantTicks(nil)
		l, err := plotter.NewLabels(plotter.XYLabels{XYs: plotter.XYs{{X: 1.5, Y: 0.5}}, Labels: []string{"no finite values"}})
		if err == nil {
			l.TextStyle[0].Font = font.From(sans, 13)
			l.TextStyle[0].XAlign = draw.XCenter
			l.TextStyle[0].YAlign = draw.YCenter
			l.TextStyle[0].Color = color.Gray{Y: 110}
			p.Add(l)
		}
		return p
	}
	if epochs == 1 {
		p.X.Min, p.X.Max = 0.5, 1.5
	} else {
		p.X.Min, p.X.Max = 1, float64(epochs)
	}
	if ymin == ymax {
		pad := math.Max(math.Abs(ymin)*0.05, 0.05)
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	} else {
		pad := (ymax - ymin) * 0.04
		p.Y.Min, p.Y.Max = ymin-pad, ymax+pad
	}
	// Put the legend in the right-hand corner (top or bottom) that the
	// curves leave freer.
	var top, bottom int
	for _, key := range []string{f.train, f.val} {
		for j, y := range h[key] {
			if !finite(y) || float64(j+1) < p.X.Min+0.5*(p.X.Max-p.X.Min) {
				continue
			}
			switch u := (y - p.Y.Min) / (p.Y.Max - p.Y.Min); {
			case u > 0.65:
				top++
			case u < 0.35:
				bottom++
			}
		}
	}
	p.Legend.Top = top <= bottom
	p.Legend.XOffs = -px(8)
	if p.Legend.Top {
		p.Legend.YOffs = -px(6)
	} else {
		p.Legend.YOffs = px(6)
	}
	return p
}

// bestEpoch returns the 1-based epoch of the best finite value of ys.
func bestEpoch(ys []float64, lower bool) (epoch int, val float64, ok bool) {
	for i, y := range ys {
		if !finite(y) {
			continue
		}
		if !ok || (lower && y < val) || (!lower && y > val) {
			epoch, val, ok = i+1, y, true
		}
	}
	return epoch, val, ok
}

// formatValue prints a metric value with four significant digits.
func formatValue(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.4g", v), ".")
}
