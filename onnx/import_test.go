package onnx

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// closeTo reports the first element of got that differs from want by more
// than tol·max(1, |want|).
func closeTo(got, want *tensor.Tensor, tol float64) string {
	if !tensor.SameShape(got, want) {
		return "shape " + fmtShape(got.Shape()) + ", want " + fmtShape(want.Shape())
	}
	for i, w := range want.Data() {
		g := got.Data()[i]
		if math.Abs(float64(g-w)) > tol*math.Max(1, math.Abs(float64(w))) || g != g {
			return sprintf("element %d is %v, want %v", i, g, w)
		}
	}
	return ""
}

func fmtShape(s []int) string { return sprintf("%v", s) }

// TestTorchModels imports the models that torch.onnx.export wrote
// (testdata/gen_torch.py) and checks PyTorch's outputs within 1e-4; image
// models are also fed NHWC data through Forward.
func TestTorchModels(t *testing.T) {
	for _, name := range []string{"mlp", "cnn", "lstm", "gru", "resnet", "dcgan", "depthwise"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "torch", name)
			m, err := Load(filepath.Join(dir, "model.onnx"))
			if err != nil {
				t.Fatal(err)
			}
			x, err := readPB(filepath.Join(dir, "input_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			want, err := readPB(filepath.Join(dir, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Run(map[string]*tensor.Tensor{m.Inputs[0].Name: x.v.Value})
			if err != nil {
				t.Fatal(err)
			}
			if msg := closeTo(out[m.Outputs[0].Name], want.v.Value, 1e-4); msg != "" {
				t.Fatalf("Run: %s", msg)
			}
			if len(x.shape()) == 4 {
				nhwc := tensor.Transpose(x.v.Value, 0, 2, 3, 1)
				y := m.Forward(&nn.Ctx{}, autograd.Const(nhwc))
				if msg := closeTo(y.Value, want.v.Value, 1e-4); msg != "" {
					t.Fatalf("Forward on NHWC data: %s", msg)
				}
			}
		})
	}
}

// TestFineTuneImportedCNN fits the PyTorch CNN (random weights) on an
// MNIST subset: the accuracy must rise, so gradients reach the
// initializers through the imported graph.
func TestFineTuneImportedCNN(t *testing.T) {
	tr, _, err := data.MNIST()
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	const n = 512
	x := tensor.New([]int{n, 28, 28, 1}, tr.X.Data()[:n*784])
	y := tensor.New([]int{n}, tr.Y.Data()[:n])
	m, err := Load(filepath.Join("testdata", "torch", "cnn", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	before := accuracy(t, m, x, y)
	opt, _ := optim.ByName("adam", 2e-3)
	model, err := train.Compile(m, opt, losses.SparseCategoricalCrossentropy{FromLogits: true}, metrics.NewAccuracy())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := model.Fit(context.Background(), x, y, train.FitOptions{Epochs: 2, BatchSize: 32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	after := accuracy(t, m, x, y)
	t.Logf("accuracy on %d MNIST images: %.3f before, %.3f after fine-tuning", n, before, after)
	if after < before+0.3 || after < 0.6 {
		t.Fatalf("accuracy %.3f → %.3f: fine-tuning did not train the imported weights", before, after)
	}
	// the fine-tuned model saves as ONNX and loads back with its weights
	path := filepath.Join(t.TempDir(), "tuned.onnx")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again := accuracy(t, m2, x, y); again != after {
		t.Fatalf("saved and loaded: accuracy %.3f, want %.3f", again, after)
	}
}

func accuracy(t *testing.T, m *Model, x, y *tensor.Tensor) float64 {
	p, err := train.Predict(context.Background(), m, x, 256)
	if err != nil {
		t.Fatal(err)
	}
	am := tensor.ArgMax(p, 1)
	ok := 0
	for i, v := range am.Data() {
		if v == y.Data()[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(y.Data()))
}

// TestMalformed checks that broken files are errors, not panics.
func TestMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "torch", "mlp", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(good[:len(good)/2]); err == nil {
		t.Error("a truncated file decoded")
	}
	cases := map[string]struct {
		graph string
		want  string
	}{
		"cycle":       {"a=Relu(b); b=Relu(a); y=Relu(b)", "cycle"},
		"missing":     {"y=Relu(nowhere)", "not a graph input"},
		"unsupported": {"a=Foo(x); b=Bar(a); y=Relu(b)", "Bar, Foo"},
		"no output":   {"a=Relu(x)", "produced by no node"},
	}
	for name, c := range cases {
		_, err := FromProto(tinyGraph(c.graph))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", name, err, c.want)
		}
	}
	var ue *UnsupportedError
	if _, err := FromProto(tinyGraph("a=Foo(x); y=Relu(a)")); !errors.As(err, &ue) {
		t.Errorf("unsupported op: %v is not an *UnsupportedError", err)
	}
	// a tensor whose data does not match its dims, and huge dims
	for _, dims := range [][]int64{{3, 4}, {1 << 40, 1 << 40}, {-1}} {
		mp := tinyGraph("y=Add(x, w)")
		mp.Graph.Initializer = append(mp.Graph.Initializer, encodeTensor("w", tensor.Zeros(5), tFloat))
		mp.Graph.Initializer[0].Dims = dims
		if _, err := FromProto(mp); err == nil {
			t.Errorf("initializer with dims %v and 5 values was accepted", dims)
		}
	}
	// a shape computation asking for too much memory is an error at run time
	m, err := FromProto(tinyGraph("y=ConstantOfShape(x)"))
	if err != nil {
		t.Fatal(err)
	}
	m.Inputs[0].Type = "INT64"
	if _, err := m.Run(map[string]*tensor.Tensor{"x": tensor.New([]int{3}, []float32{1 << 20, 1 << 20, 1 << 20})}); err == nil {
		t.Error("ConstantOfShape of 2^60 elements ran")
	}
}

// TestFitImportedResNet trains the PyTorch ResNet (convolutions, folded
// batch normalization, residual additions, global pooling) for a few steps
// on random data: Fit must run and lower the loss.
func TestFitImportedNets(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "torch", "dcgan", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range m.Weights() {
		if strings.Contains(w.Name, "running") && w.Trainable {
			t.Errorf("%s is trainable", w.Name)
		}
	}
	r, err := Load(filepath.Join("testdata", "torch", "resnet", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandUniform(rand.New(rand.NewPCG(5, 5)), 0, 1, 16, 16, 16, 3)
	y := tensor.Zeros(16)
	for i := range y.Data() {
		y.Data()[i] = float32(i % 10)
	}
	opt, _ := optim.ByName("adam", 1e-2)
	model, err := train.Compile(r, opt, losses.SparseCategoricalCrossentropy{FromLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := model.Fit(context.Background(), x, y, train.FitOptions{Epochs: 5, BatchSize: 8, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if first, last := h.Epochs[0]["loss"], h.Last()["loss"]; !(last < first) {
		t.Errorf("loss %v → %v", first, last)
	}
}

// TestConcurrentInference runs one imported model from several goroutines
// (go test -race checks it).
func TestConcurrentInference(t *testing.T) {
	m, err := Load(filepath.Join("testdata", "torch", "resnet", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.RandUniform(rand.New(rand.NewPCG(1, 1)), 0, 1, 2, 16, 16, 3)
	want := m.Forward(&nn.Ctx{}, autograd.Const(x)).Value
	errs := make(chan string, 4)
	for g := 0; g < 4; g++ {
		go func() {
			p := &train.Predictor{Net: m}
			y, err := p.Predict(context.Background(), x, 2)
			if err != nil {
				errs <- err.Error()
				return
			}
			errs <- closeTo(y, want, 0)
		}()
	}
	for g := 0; g < 4; g++ {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
}
