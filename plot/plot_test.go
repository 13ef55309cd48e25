package plot

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// decode checks that b is a PNG of the given size (0 = any) with more than
// minColors distinct colours, and returns it.
func decode(t *testing.T, name string, b []byte, w, h, minColors int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: decoding png: %v", name, err)
	}
	r := img.Bounds()
	if (w > 0 && r.Dx() != w) || (h > 0 && r.Dy() != h) {
		t.Errorf("%s: size %dx%d, want %dx%d", name, r.Dx(), r.Dy(), w, h)
	}
	colors := map[[4]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y += 1 {
		for x := r.Min.X; x < r.Max.X; x += 1 {
			r, g, b, a := img.At(x, y).RGBA()
			colors[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colors) <= minColors {
		t.Errorf("%s: %d distinct colours, want more than %d", name, len(colors), minColors)
	}
	saveSample(t, name, b)
	return img
}

// saveSample writes b to $STRATA_PLOT_SAMPLES/name.png when that variable is
// set, so that the pictures can be looked at.
func saveSample(t *testing.T, name string, b []byte) {
	dir := os.Getenv("STRATA_PLOT_SAMPLES")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fakeHistory(epochs int) map[string][]float64 {
	h := map[string][]float64{}
	for e := 0; e < epochs; e++ {
		x := float64(e)
		h["loss"] = append(h["loss"], 0.08+0.9*math.Exp(-x/3))
		h["val_loss"] = append(h["val_loss"], 0.12+0.8*math.Exp(-x/3.5)+0.004*x)
		h["accuracy"] = append(h["accuracy"], 0.99-0.6*math.Exp(-x/2.5))
		h["val_accuracy"] = append(h["val_accuracy"], 0.975-0.55*math.Exp(-x/2.8)-0.001*x)
	}
	return h
}

func TestHistory(t *testing.T) {
	var b bytes.Buffer
	if err := History(&b, fakeHistory(20), HistoryOptions{Title: "mnist-cnn"}); err != nil {
		t.Fatal(err)
	}
	decode(t, "history", b.Bytes(), 2*560, 400+40, 50)
}

func TestConfusion(t *testing.T) {
	m := [][]int{
		{970, 0, 2, 1, 0, 2, 3, 1, 1, 0},
		{0, 1125, 3, 1, 0, 1, 2, 1, 2, 0},
		{5, 2, 1001, 5, 3, 0, 2, 8, 6, 0},
		{0, 0, 4, 985, 0, 8, 0, 5, 5, 3},
		{1, 0, 3, 0, 960, 0, 5, 1, 2, 10},
		{2, 0, 0, 9, 1, 868, 5, 1, 4, 2},
		{6, 3, 1, 0, 3, 4, 939, 0, 2, 0},
		{1, 4, 10, 2, 1, 0, 0, 1000, 2, 8},
		{4, 0, 3, 6, 3, 4, 3, 3, 945, 3},
		{3, 5, 0, 7, 9, 3, 1, 6, 4, 971},
	}
	var b bytes.Buffer
	if err := Confusion(&b, m, nil, ConfusionOptions{}); err != nil {
		t.Fatal(err)
	}
	decode(t, "confusion", b.Bytes(), 0, 0, 20)
	b.Reset()
	if err := Confusion(&b, [][]int{{50, 10, 0}, {5, 3, 30}, {0, 0, 0}}, []string{"cat", "dog", "hippopotamus"}, ConfusionOptions{Title: "Animals"}); err != nil {
		t.Fatal(err)
	}
	decode(t, "confusion_labels", b.Bytes(), 0, 0, 20)
	for _, bad := range [][][]int{nil, {{1, 2}, {3}}} {
		if err := Confusion(&b, bad, nil, ConfusionOptions{}); err == nil {
			t.Errorf("Confusion(%v): no error", bad)
		}
	}
	if err := Confusion(&b, [][]int{{1}}, []string{"a", "b"}, ConfusionOptions{}); err == nil {
		t.Error("label count mismatch: no error")
	}
}

func TestROC(t *testing.T) {
	curves := []ROCCurve{
		{Label: "class 0", FPR: []float64{0, 0, 0.05, 0.1, 0.3, 1}, TPR: []float64{0, 0.6, 0.85, 0.95, 0.99, 1}, AUC: 0.973},
		{Label: "class 1", FPR: []float64{0, 0.1, 0.2, 0.4, 0.7, 1}, TPR: []float64{0, 0.4, 0.65, 0.8, 0.95, 1}, AUC: 0.79},
		{Label: "with NaN", FPR: []float64{0, math.NaN(), 0.5, 1}, TPR: []float64{0, 0.3, 0.5, 1}, AUC: math.NaN()},
	}
	var b bytes.Buffer
	if err := ROC(&b, curves, ROCOptions{}); err != nil {
		t.Fatal(err)
	}
	decode(t, "roc", b.Bytes(), 600, 600, 20)
	b.Reset()
	if err := ROC(&b, nil, ROCOptions{Size: 300}); err != nil {
		t.Fatal(err)
	}
	decode(t, "roc_empty", b.Bytes(), 300, 300, 5)
	if err := ROC(&b, []ROCCurve{{FPR: []float64{0}, TPR: nil}}, ROCOptions{}); err == nil {
		t.Error("length mismatch: no error")
	}
}

// digit returns a 28×28 blob shaped like a "7" with values in [0, 1].
func digit() []float32 {
	d := make([]float32, 28*28)
	for x := 6; x < 22; x++ {
		for y := 6; y < 9; y++ {
			d[y*28+x] = 1
		}
	}
	for y := 9; y < 23; y++ {
		x := 21 - (y-9)/2
		for dx := 0; dx < 3; dx++ {
			d[y*28+x+dx] = 0.9
		}
	}
	return d
}

func TestImageGrid(t *testing.T) {
	n := 16
	data := make([]float32, 0, n*28*28)
	labels := make([]string, n)
	for i := 0; i < n; i++ {
		for j, v := range digit() {
			data = append(data, 2*v*float32(i+4)/float32(n+4)-1+0.1*float32(math.Sin(float64(j+i))))
		}
		labels[i] = []string{"7", "7 (0.98)", "1", "seven"}[i%4]
	}
	imgs := tensor.New([]int{n, 28, 28, 1}, data)
	var b bytes.Buffer
	if err := ImageGrid(&b, imgs, GridOptions{Cols: 4, Lo: -1, Hi: 1, Labels: labels, Title: "Generated samples, epoch 10"}); err != nil {
		t.Fatal(err)
	}
	// scale 3: 84-pixel tiles, 20-pixel labels, 4-pixel gaps, 30-pixel title.
	decode(t, "grid", b.Bytes(), 4*84+5*4, 4*(84+20)+5*4+30, 20)

	rgb := tensor.Zeros(3, 8, 8, 3)
	for i := range rgb.Data() {
		rgb.Data()[i] = float32(i%7) / 6
	}
	rgb.Data()[5] = float32(math.NaN())
	b.Reset()
	if err := ImageGrid(&b, rgb, GridOptions{Scale: 10, Pad: -1}); err != nil {
		t.Fatal(err)
	}
	decode(t, "grid_rgb", b.Bytes(), 2*80, 2*80, 5)

	b.Reset()
	if err := ImageGrid(&b, tensor.Full(0.5, 1, 5, 5), GridOptions{}); err != nil {
		t.Fatal(err)
	}
	decode(t, "grid_constant", b.Bytes(), 65+8, 65+8, 1)

	for _, bad := range []*tensor.Tensor{nil, tensor.Zeros(4, 4), tensor.Zeros(2, 4, 4, 2), tensor.Zeros(0, 4, 4)} {
		if err := ImageGrid(&b, bad, GridOptions{}); err == nil {
			t.Errorf("ImageGrid(%v): no error", bad)
		}
	}
}

func TestOverlay(t *testing.T) {
	img := tensor.New([]int{28, 28}, digit())
	signed := tensor.Zeros(28, 28)
	mag := tensor.Zeros(28, 28, 1)
	for y := 0; y < 28; y++ {
		for x := 0; x < 28; x++ {
			dx, dy := float64(x-14), float64(y-8)
			v := float32(math.Exp(-(dx*dx+dy*dy)/30) - 0.7*math.Exp(-(float64(x-20)*float64(x-20)+float64(y-18)*float64(y-18))/12))
			signed.Set(v, y, x)
			mag.Set(float32(math.Abs(float64(v))), y, x, 0)
		}
	}
	cases := []struct {
		name string
		heat *tensor.Tensor
		opts OverlayOptions
	}{
		{"overlay_signed", signed, OverlayOptions{Caption: "label 7, predicted 7 (p = 0.98)"}},
		{"overlay_hot", mag, OverlayOptions{Caption: "saliency |∂y/∂x|"}},
		{"overlay_viridis", mag, OverlayOptions{Colormap: ColormapViridis, Alpha: 0.5}},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := Overlay(&b, img, c.heat, c.opts); err != nil {
			t.Fatal(err)
		}
		h := 280 + 54 + 34
		if c.opts.Caption == "" {
			h = 280 + 54 + 12
		}
		decode(t, c.name, b.Bytes(), 280+24, h, 50)
	}
	// Batch axis of 1, RGB input, all-zero heat and NaN values.
	rgb := tensor.RandUniform(rand.New(rand.NewPCG(1, 2)), 0, 1, 1, 10, 12, 3)
	zero := tensor.Zeros(1, 10, 12, 1)
	zero.Data()[3] = float32(math.NaN())
	var b bytes.Buffer
	if err := Overlay(&b, rgb, zero, OverlayOptions{Scale: 4}); err != nil {
		t.Fatal(err)
	}
	decode(t, "overlay_edge", b.Bytes(), 48+24, 40+54+12, 10)
	if err := Overlay(&b, img, tensor.Zeros(27, 28), OverlayOptions{}); err == nil {
		t.Error("mismatched heat: no error")
	}
	if err := Overlay(&b, tensor.Zeros(2, 3, 4, 5, 6), signed, OverlayOptions{}); err == nil {
		t.Error("rank-5 image: no error")
	}
}

func TestHistoryEdgeCases(t *testing.T) {
	nan := math.NaN()
	long := fakeHistory(120)
	long["lr"] = make([]float64, 120)
	long["val_auc"] = make([]float64, 120)
	long["kl_loss"] = make([]float64, 120)
	for i := range long["lr"] {
		long["lr"][i] = 0.001 * math.Pow(0.97, float64(i))
		long["val_auc"][i] = 0.9 + 0.09*(1-math.Exp(-float64(i)/20))
		long["kl_loss"][i] = 5 + 20*math.Exp(-float64(i)/10)
	}
	cases := []struct {
		name   string
		h      map[string][]float64
		panels int
	}{
		{"history_one_epoch", map[string][]float64{"loss": {0.7}, "val_loss": {0.8}, "accuracy": {0.6}, "val_accuracy": {0.55}}, 2},
		{"history_nan", map[string][]float64{"loss": {1, 0.5, nan, 0.3, math.Inf(1), 0.2}, "val_loss": {nan, nan, nan}}, 1},
		{"history_empty_series", map[string][]float64{"loss": {0.9, 0.5, 0.4}, "accuracy": {}, "val_loss": nil}, 1},
		{"history_empty", map[string][]float64{}, 1},
		{"history_flat", map[string][]float64{"loss": {0.5, 0.5, 0.5}}, 1},
		{"history_many", long, 5},
	}
	for _, c := range cases {
		var b bytes.Buffer
		if err := History(&b, c.h, HistoryOptions{PanelWidth: 400, PanelHeight: 300}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		cols := min(c.panels, 3)
		if c.panels > 3 {
			cols = 2
		}
		rows := (c.panels + cols - 1) / cols
		decode(t, c.name, b.Bytes(), cols*400, rows*300, 5)
	}
}

func TestFamilies(t *testing.T) {
	got := families(map[string][]float64{
		"val_accuracy": {1}, "accuracy": {1}, "val_loss": {1}, "loss": {1}, "auc": {1}, "val_only": {1}, "empty": nil,
	})
	want := []family{
		{"loss", "loss", "val_loss"}, {"accuracy", "accuracy", "val_accuracy"}, {"auc", "auc", ""}, {"only", "", "val_only"},
	}
	if len(got) != len(want) {
		t.Fatalf("families = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("families[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestSaveHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run", "history.png")
	if err := SaveHistory(path, fakeHistory(3), HistoryOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	decode(t, "history_saved", b, 2*560, 400, 20)
}
