package board

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// fixtureRun describes a run directory as a training run writes it, for the
// tests and the screenshots.
type fixtureRun struct {
	Name    string
	Model   string
	Epochs  int     // planned epochs (config.json)
	Written int     // epoch lines written; 0 means Epochs
	LR      float64 // learning rate
	Final   float64 // validation accuracy reached at the last epoch
	Seed    uint64
	Images  bool // history, confusion, ROC, sample grids, saliency maps
}

// epochLine is the metrics line of one epoch of the run.
func (f fixtureRun) epochLine(epoch int) map[string]any {
	rng := rand.New(rand.NewPCG(f.Seed, uint64(epoch)))
	p := 1 - math.Exp(-float64(epoch)/2.2) // progress 0..1
	noise := func(a float64) float64 { return (rng.Float64()*2 - 1) * a }
	acc := 0.55 + (f.Final-0.55)*p + noise(0.004)
	valAcc := 0.5 + (f.Final-0.5)*p + noise(0.006)
	loss := 1.9*math.Exp(-float64(epoch)/1.6) + (1-f.Final)*0.9 + noise(0.01)
	valLoss := loss*1.05 + 0.02 + noise(0.015)
	r := func(v float64) float64 { return math.Round(v*1e4) / 1e4 }
	return map[string]any{
		"epoch": epoch, "loss": r(loss), "accuracy": r(acc), "val_loss": r(valLoss),
		"val_accuracy": r(valAcc), "lr": f.LR * math.Pow(0.9, float64(epoch-1)), "time_s": r(11.5 + noise(1.5)),
	}
}

func (f fixtureRun) config() map[string]any {
	return map[string]any{
		"model":            f.Model,
		"dataset":          "mnist",
		"epochs":           f.Epochs,
		"batch_size":       64,
		"optimizer":        map[string]any{"name": "adam", "lr": f.LR, "beta1": 0.9, "beta2": 0.999},
		"seed":             f.Seed,
		"threads":          2,
		"validation_split": 0.1,
	}
}

// writeFixtureRun writes the run under logdir: config.json, metrics.jsonl,
// summary.txt, results.json when all epochs are written, and images.
func writeFixtureRun(t testing.TB, logdir string, f fixtureRun) string {
	t.Helper()
	dir := filepath.Join(logdir, f.Name)
	mustMkdir(t, dir)
	mustWriteJSON(t, filepath.Join(dir, configFile), f.config())
	n := f.Written
	if n == 0 {
		n = f.Epochs
	}
	var lines strings.Builder
	var hist []map[string]any
	for e := 1; e <= n; e++ {
		l := f.epochLine(e)
		hist = append(hist, l)
		b, _ := json.Marshal(l)
		lines.Write(append(b, '\n'))
	}
	mustWrite(t, filepath.Join(dir, metricsFile), lines.String())
	mustWrite(t, filepath.Join(dir, summaryFile), fixtureSummary(f.Model))
	if n == f.Epochs {
		last := hist[len(hist)-1]
		mustWriteJSON(t, filepath.Join(dir, resultsFile), map[string]any{
			"test_accuracy": math.Round((last["val_accuracy"].(float64)+0.002)*1e4) / 1e4,
			"test_loss":     math.Round(last["val_loss"].(float64)*0.97*1e4) / 1e4,
		})
	}
	if f.Images {
		for e := 1; e <= n; e++ {
			writePNG(t, filepath.Join(dir, fmt.Sprintf("samples_epoch_%03d.png", e)), sampleGrid(f.Seed, float64(e)/float64(f.Epochs)))
		}
		writePNG(t, filepath.Join(dir, "history.png"), historyPlot(hist))
		writePNG(t, filepath.Join(dir, "confusion.png"), confusionPlot(f.Seed, f.Final))
		writePNG(t, filepath.Join(dir, "roc.png"), rocPlot(f.Final))
		mustMkdir(t, filepath.Join(dir, "explain"))
		for i := range 3 {
			writePNG(t, filepath.Join(dir, "explain", fmt.Sprintf("saliency_%d.png", i)), saliencyMap(f.Seed, i))
		}
	}
	return dir
}

func fixtureSummary(model string) string {
	return `Model: "` + model + `"
┌─────────────────────────────┬────────────────────┬──────────────┐
│ Layer (type)                │ Output Shape       │      Param # │
├─────────────────────────────┼────────────────────┼──────────────┤
│ conv1 (Conv2D)              │ (None, 26, 26, 32) │          320 │
│ pool1 (MaxPooling2D)        │ (None, 13, 13, 32) │            0 │
│ conv2 (Conv2D)              │ (None, 11, 11, 64) │       18,496 │
│ pool2 (MaxPooling2D)        │ (None, 5, 5, 64)   │            0 │
│ flatten (Flatten)           │ (None, 1600)       │            0 │
│ dropout (Dropout)           │ (None, 1600)       │            0 │
│ dense (Dense)               │ (None, 10)         │       16,010 │
└─────────────────────────────┴────────────────────┴──────────────┘
 Total params: 34,826 (136.04 KB)
 Trainable params: 34,826 (136.04 KB)
 Non-trainable params: 0 (0.00 B)
`
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t testing.TB, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustWriteJSON(t testing.TB, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, path, string(b)+"\n")
}

func writePNG(t testing.TB, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// ---- pictures ----

// digitFont is a 5x7 bitmap of the digits, one string of 7 rows per digit.
var digitFont = [10][7]string{
	{".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	{"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	{".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	{"####.", "....#", "....#", ".###.", "....#", "....#", "####."},
	{"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	{"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	{"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	{"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	{".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	{".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
}

// sampleGrid is a 4x4 grid of 28x28 digits, blurred and noisy early in
// training (quality near 0) and clean late (quality 1), like a generator's
// samples.
func sampleGrid(seed uint64, quality float64) image.Image {
	rng := rand.New(rand.NewPCG(seed, uint64(quality*1000)))
	const cell, n, gap = 28, 4, 2
	size := n*cell + (n+1)*gap
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 40
	}
	for gy := range n {
		for gx := range n {
			d := (gy*n + gx*3 + int(seed)) % 10
			ox, oy := gap+gx*(cell+gap), gap+gy*(cell+gap)
			for y := range cell {
				for x := range cell {
					// glyph of 5x7 scaled into the 20x28 middle of the cell
					fx := (float64(x) - 4 + (rng.Float64()-0.5)*(1-quality)*3) / 4
					fy := (float64(y) - 1 + (rng.Float64()-0.5)*(1-quality)*3) / 3.7
					v := 0.0
					if fx >= 0 && fy >= 0 && int(fx) < 5 && int(fy) < 7 && digitFont[d][int(fy)][int(fx)] == '#' {
						v = 1
					}
					v = v*(0.35+0.65*quality) + rng.Float64()*(1-quality)*0.6
					img.Pix[(oy+y)*img.Stride+ox+x] = uint8(min(255, v*255))
				}
			}
		}
	}
	return img
}

var (
	plotBlue   = color.RGBA{37, 99, 235, 255}
	plotOrange = color.RGBA{234, 88, 12, 255}
	plotGray   = color.RGBA{200, 205, 212, 255}
	plotText   = color.RGBA{70, 78, 90, 255}
)

func whiteCanvas(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	return img
}

func label(img *image.RGBA, x, y int, s string) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(plotText), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// line draws a line of the given width from (x0,y0) to (x1,y1).
func line(img *image.RGBA, x0, y0, x1, y1, width float64, c color.Color) {
	steps := int(math.Hypot(x1-x0, y1-y0)*2) + 1
	r := width / 2
	for i := 0; i <= steps; i++ {
		t := float64(i) / float64(steps)
		cx, cy := x0+(x1-x0)*t, y0+(y1-y0)*t
		for y := int(cy - r); y <= int(cy+r); y++ {
			for x := int(cx - r); x <= int(cx+r); x++ {
				if math.Hypot(float64(x)-cx, float64(y)-cy) <= r {
					img.Set(x, y, c)
				}
			}
		}
	}
}

// axes draws a frame with a title and returns the plot rectangle.
func axes(img *image.RGBA, title string) image.Rectangle {
	b := img.Bounds()
	r := image.Rect(44, 30, b.Dx()-16, b.Dy()-30)
	for x := r.Min.X; x <= r.Max.X; x++ {
		img.Set(x, r.Max.Y, plotText)
	}
	for y := r.Min.Y; y <= r.Max.Y; y++ {
		img.Set(r.Min.X, y, plotText)
	}
	for i := 1; i < 5; i++ {
		y := r.Min.Y + (r.Dy()*i)/5
		for x := r.Min.X + 1; x <= r.Max.X; x += 2 {
			img.Set(x, y, plotGray)
		}
	}
	label(img, r.Min.X, 18, title)
	return r
}

func historyPlot(hist []map[string]any) image.Image {
	img := whiteCanvas(480, 320)
	r := axes(img, "loss (blue: train, orange: validation)")
	maxLoss := 0.0
	for _, h := range hist {
		maxLoss = max(maxLoss, h["loss"].(float64), h["val_loss"].(float64))
	}
	n := max(1, len(hist)-1)
	px := func(i int) float64 { return float64(r.Min.X) + float64(r.Dx()*i)/float64(n) }
	py := func(v float64) float64 { return float64(r.Max.Y) - v/maxLoss*float64(r.Dy())*0.95 }
	for i := 1; i < len(hist); i++ {
		line(img, px(i-1), py(hist[i-1]["loss"].(float64)), px(i), py(hist[i]["loss"].(float64)), 2.5, plotBlue)
		line(img, px(i-1), py(hist[i-1]["val_loss"].(float64)), px(i), py(hist[i]["val_loss"].(float64)), 2.5, plotOrange)
	}
	label(img, r.Min.X, r.Max.Y+20, "epoch")
	return img
}

func confusionPlot(seed uint64, acc float64) image.Image {
	rng := rand.New(rand.NewPCG(seed, 7))
	const cell = 30
	img := whiteCanvas(10*cell+60, 10*cell+56)
	label(img, 40, 18, "confusion matrix (true x predicted)")
	for i := range 10 {
		label(img, 22, 40+i*cell+cell/2+4, fmt.Sprint(i))
		label(img, 40+i*cell+cell/2-3, 10*cell+50, fmt.Sprint(i))
		for j := range 10 {
			v := (1 - acc) * rng.Float64() * 0.6
			if i == j {
				v = acc - rng.Float64()*0.03
			}
			t := math.Sqrt(v)
			c := color.RGBA{uint8(247 - t*210), uint8(251 - t*150), uint8(255 - t*60), 255}
			draw.Draw(img, image.Rect(40+j*cell+1, 28+i*cell+1, 40+(j+1)*cell, 28+(i+1)*cell), image.NewUniform(c), image.Point{}, draw.Src)
		}
	}
	return img
}

func rocPlot(acc float64) image.Image {
	img := whiteCanvas(360, 320)
	r := axes(img, "ROC, one-vs-rest (AUC ~ "+fmt.Sprintf("%.3f", acc)+")")
	line(img, float64(r.Min.X), float64(r.Max.Y), float64(r.Max.X), float64(r.Min.Y), 1, plotGray)
	k := 1 / (1.0001 - acc)
	prevX, prevY := float64(r.Min.X), float64(r.Max.Y)
	for i := 1; i <= 60; i++ {
		fpr := float64(i) / 60
		tpr := 1 - math.Pow(1-fpr, k)
		x, y := float64(r.Min.X)+fpr*float64(r.Dx()), float64(r.Max.Y)-tpr*float64(r.Dy())
		line(img, prevX, prevY, x, y, 2.5, plotBlue)
		prevX, prevY = x, y
	}
	return img
}

func saliencyMap(seed uint64, i int) image.Image {
	const scale = 6
	img := image.NewRGBA(image.Rect(0, 0, 28*scale, 28*scale))
	d := (i*3 + int(seed)) % 10
	for y := range 28 * scale {
		for x := range 28 * scale {
			cx, cy := float64(x)/scale, float64(y)/scale
			fx, fy := int((cx-4)/4), int((cy-1)/3.7)
			ink := cx >= 4 && cy >= 1 && fx < 5 && fy < 7 && digitFont[d][fy][fx] == '#'
			heat := math.Exp(-(math.Pow(cx-14-float64(i), 2) + math.Pow(cy-13, 2)) / 40)
			g := 20.0
			if ink {
				g = 120
			}
			img.Set(x, y, color.RGBA{uint8(min(255, g+heat*200)), uint8(g * (1 - heat*0.5)), uint8(g * (1 - heat)), 255})
		}
	}
	return img
}
