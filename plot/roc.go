package plot

import (
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// ROCCurve is one receiver-operating-characteristic curve: the false and
// true positive rates at decreasing thresholds (as metrics.ROCCurve returns
// them) and the area under it.
type ROCCurve struct {
	Label    string
	FPR, TPR []float64
	AUC      float64
}

// ROCOptions configure ROC. Zero values mean the defaults given.
type ROCOptions struct {
	// Title defaults to "ROC curve".
	Title string
	// Size is the side of the square picture in pixels; zero means 600.
	Size int
}

// ROC draws ROC curves as a PNG: false positive rate across, true positive
// rate up, both from 0 to 1, the chance diagonal dashed, and each curve's
// AUC in the legend ("label (AUC = 0.953)"). Points with NaN or Inf are
// skipped. It returns an error if a curve's FPR and TPR differ in length.
func ROC(w io.Writer, curves []ROCCurve, opts ROCOptions) error {
	size := opts.Size
	if size <= 0 {
		size = 600
	}
	title := opts.Title
	if title == "" {
		title = "ROC curve"
	}
	p := newPlot(title, "false positive rate", "true positive rate")
	addGrid(p)
	p.X.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = -0.02, 1.02, -0.02, 1.02
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	diag.Color = color.Gray{Y: 140}
	diag.Width = px(1.5)
	diag.Dashes = []vg.Length{px(6), px(4)}
	p.Add(diag)
	for i, c := range curves {
		if len(c.FPR) != len(c.TPR) {
			return fmt.Errorf("plot: ROC curve %q has %d FPR and %d TPR values", c.Label, len(c.FPR), len(c.TPR))
		}
		col := tab10[i%len(tab10)]
		for si, seg := range segments(c.FPR, c.TPR) {
			l, err := plotter.NewLine(seg)
			if err != nil {
				continue
			}
			l.Color = col
			l.Width = px(2.2)
			if i >= len(tab10) {
				l.Dashes = []vg.Length{px(8), px(3)}
			}
			p.Add(l)
			if si == 0 {
				label := c.Label
				if label == "" {
					label = fmt.Sprintf("curve %d", i+1)
				}
				if finite(c.AUC) {
					label += fmt.Sprintf(" (AUC = %.3f)", c.AUC)
				}
				p.Legend.Add(label, l)
			}
		}
	}
	p.Legend.Add("chance (AUC = 0.500)", diag)
	p.Legend.Top = false
	p.Legend.XOffs = -px(10)
	p.Legend.YOffs = px(10)
	return drawPlot(w, p, size, size)
}
