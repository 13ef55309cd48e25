package train

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

func mustOpt(t testing.TB, name string, lr float64) optim.Optimizer {
	o, err := optim.ByName(name, lr)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// compile builds net for inputs of shape in and compiles it.
func compile(t testing.TB, net nn.Layer, in []int, opt optim.Optimizer, seed uint64) *Model {
	if _, err := nn.Build(net, in, rand.New(rand.NewPCG(seed, 9))); err != nil {
		t.Fatal(err)
	}
	m, err := Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// twoMoons returns n points of the two interleaving half circles with
// Gaussian noise.
func twoMoons(n int, noise float64, seed uint64) (*tensor.Tensor, *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 3))
	x, y := tensor.Zeros(n, 2), tensor.Zeros(n)
	for i := 0; i < n; i++ {
		t := rng.Float64() * math.Pi
		px, py, c := math.Cos(t), math.Sin(t), 0.0
		if i%2 == 1 {
			px, py, c = 1-math.Cos(t), 0.5-math.Sin(t), 1
		}
		x.Data()[2*i] = float32(px + noise*rng.NormFloat64())
		x.Data()[2*i+1] = float32(py + noise*rng.NormFloat64())
		y.Data()[i] = float32(c)
	}
	return x, y
}

func TestXOR(t *testing.T) {
	x := tensor.New([]int{4, 2}, []float32{0, 0, 0, 1, 1, 0, 1, 1})
	y := tensor.New([]int{4}, []float32{0, 1, 1, 0})
	net := nn.NewSequential(&nn.Dense{Units: 8, Activation: "tanh"}, &nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{2}, mustOpt(t, "adam", 0.05), 1)
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 300, BatchSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	if acc := h.Last()["accuracy"]; acc != 1 {
		t.Fatalf("XOR accuracy %v after 300 epochs, want 1 (loss %v)", acc, h.Last()["loss"])
	}
}

func TestTwoMoons(t *testing.T) {
	x, y := twoMoons(600, 0.1, 1)
	net := nn.NewSequential(&nn.Dense{Units: 32, Activation: "relu"}, &nn.Dense{Units: 32, Activation: "relu"}, &nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{2}, mustOpt(t, "adam", 0.01), 2)
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 30, BatchSize: 32, ValidationSplit: 0.2, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if acc := h.Last()["val_accuracy"]; acc < 0.97 {
		t.Fatalf("two moons validation accuracy %.3f, want ≥ 0.97", acc)
	}
}

// TestEarlyStopping trains on noise, so that the validation loss stops
// improving, and checks that training stops and restores the best weights.
func TestEarlyStopping(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := tensor.RandNormal(rng, 0, 1, 200, 20)
	y := tensor.Zeros(200)
	for i := range y.Data() {
		y.Data()[i] = float32(rng.IntN(2))
	}
	net := nn.NewSequential(&nn.Dense{Units: 64, Activation: "relu"}, &nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{20}, mustOpt(t, "adam", 0.01), 5)
	es := &EarlyStopping{Patience: 2, RestoreBestWeights: true}
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 100, BatchSize: 16, ValidationSplit: 0.3, Callbacks: []Callback{es}})
	if err != nil {
		t.Fatal(err)
	}
	if es.StoppedEpoch == 0 || len(h.Epochs) != es.StoppedEpoch || len(h.Epochs) == 100 {
		t.Fatalf("stopped at epoch %d after %d epochs, want an early stop", es.StoppedEpoch, len(h.Epochs))
	}
	if es.StoppedEpoch-es.BestEpoch != 2 {
		t.Errorf("best epoch %d, stopped %d: want patience = 2 epochs between (Keras)", es.BestEpoch, es.StoppedEpoch)
	}
	// The restored weights give the best epoch's validation loss.
	_, val, _ := data.Split(data.Tensors{X: x, Y: y}, 0.3)
	logs, err := m.Evaluate(context.Background(), val, 256)
	if err != nil {
		t.Fatal(err)
	}
	if best := h.Epochs[es.BestEpoch-1]["val_loss"]; math.Abs(logs["loss"]-best) > 1e-5 {
		t.Errorf("restored weights give val_loss %v, best epoch had %v", logs["loss"], best)
	}
}

// TestClassWeights checks that weighting the rare class raises its recall
// on imbalanced, overlapping data.
func TestClassWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	n := 1000
	x, y := tensor.Zeros(n, 2), tensor.Zeros(n)
	for i := 0; i < n; i++ {
		c := 0
		if i%10 == 0 {
			c = 1 // 10% minority
		}
		x.Data()[2*i] = float32(float64(c)*1.0 + rng.NormFloat64())
		x.Data()[2*i+1] = float32(rng.NormFloat64())
		y.Data()[i] = float32(c)
	}
	recall := func(weights []float32) float64 {
		net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
		m := compile(t, net, []int{2}, mustOpt(t, "adam", 0.05), 7)
		m.ClassWeights = weights
		if _, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 20, BatchSize: 64}); err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict(context.Background(), x, 256)
		if err != nil {
			t.Fatal(err)
		}
		pred := tensor.ArgMax(p, 1).Data()
		hit, pos := 0, 0
		for i, c := range y.Data() {
			if c == 1 {
				pos++
				if pred[i] == 1 {
					hit++
				}
			}
		}
		return float64(hit) / float64(pos)
	}
	cw, err := data.ClassWeights(y, 2, "balanced")
	if err != nil {
		t.Fatal(err)
	}
	plain, weighted := recall(nil), recall(cw)
	if weighted < plain+0.3 {
		t.Fatalf("minority recall %.2f unweighted, %.2f with balanced class weights %v: want a clear rise", plain, weighted, cw)
	}
}

func TestDivergenceIsAnError(t *testing.T) {
	x, y := twoMoons(128, 0.1, 2)
	net := nn.NewSequential(&nn.Dense{Units: 16, Activation: "relu"}, &nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{2}, mustOpt(t, "sgd", 1e4), 1)
	_, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 5, BatchSize: 16})
	var div *DivergenceError
	var nan *NaNError
	if errors.As(err, &nan) {
		t.Fatalf("got %v: a finite loss that grew is divergence, not NaN", err)
	}
	if !errors.As(err, &div) || div.Epoch < 1 || div.Key != "loss" || !(div.Value > DivergenceFactor*div.First) {
		t.Fatalf("got %v, want a *DivergenceError naming the epoch", err)
	}
}

func weightsOf(net nn.Layer) [][]float32 {
	var out [][]float32
	for _, w := range nn.AllWeights(net) {
		out = append(out, slices.Clone(w.Var.Value.Data()))
	}
	return out
}

// TestResumeIsBitIdentical trains 3 epochs straight, and again with an
// interruption in the middle of epoch 2 followed by a resume from the
// checkpoint, and requires bit-identical weights (dropout included).
func TestResumeIsBitIdentical(t *testing.T) {
	x, y := twoMoons(256, 0.2, 5)
	newModel := func() *Model {
		net := nn.NewSequential(&nn.Dense{Units: 16, Activation: "relu"}, &nn.Dropout{Rate: 0.3}, &nn.Dense{Units: 2, Activation: "softmax"})
		return compile(t, net, []int{2}, mustOpt(t, "adam", 0.01), 11)
	}
	loader := func() *data.Loader {
		l, err := data.NewLoader(data.Tensors{X: x, Y: y}, data.LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 8})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := newModel()
	a.SetSeed(3)
	ha, err := Fit(context.Background(), a, loader(), FitOptions{Epochs: 3, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}

	path := filepath.Join(t.TempDir(), "state.safetensors")
	b := newModel()
	b.SetSeed(3)
	ctx, cancel := context.WithCancel(context.Background())
	stopper := &cancelAt{epoch: 2, batch: 5, cancel: cancel}
	_, err = Fit(ctx, b, loader(), FitOptions{Epochs: 3, CheckpointPath: path, Callbacks: []Callback{stopper}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Epoch != 2 || ck.Batch != 6 {
		t.Fatalf("checkpoint at epoch %d batch %d, want epoch 2 batch 6", ck.Epoch, ck.Batch)
	}
	c := newModel() // fresh weights and optimizer: everything comes from the checkpoint
	c.SetSeed(99)
	h, err := Fit(context.Background(), c, loader(), FitOptions{Epochs: 3, Resume: ck})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 3 {
		t.Errorf("history has %d epochs after resume, want 3", len(h.Epochs))
	}
	wa, wc := weightsOf(a.Net), weightsOf(c.Net)
	for i := range wa {
		if !slices.Equal(wa[i], wc[i]) {
			t.Fatalf("weight %d differs between straight and resumed training", i)
		}
	}
	// The resumed epoch logs the loss and accuracy of all its batches,
	// not only of those after the resume (#19, class 3).
	for i := range ha.Epochs {
		for k, v := range ha.Epochs[i] {
			if h.Epochs[i][k] != v {
				t.Errorf("epoch %d: %s %v after resume, %v straight", i+1, k, h.Epochs[i][k], v)
			}
		}
	}
}

type cancelAt struct {
	Base
	epoch, batch int
	cancel       func()
}

func (c *cancelAt) OnBatchEnd(r *Run, _ Logs) error {
	if r.Epoch == c.epoch && r.Batch == c.batch {
		c.cancel()
	}
	return nil
}

// TestSameSeedSameWeights checks reproducibility: two runs with one seed
// give bit-identical weights.
func TestSameSeedSameWeights(t *testing.T) {
	x, y := twoMoons(128, 0.2, 5)
	run := func() [][]float32 {
		net := nn.NewSequential(&nn.Dense{Units: 8, Activation: "relu"}, &nn.Dropout{Rate: 0.2}, &nn.Dense{Units: 2, Activation: "softmax"})
		m := compile(t, net, []int{2}, mustOpt(t, "adam", 0.01), 1)
		if _, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 2, BatchSize: 8, Seed: 4}); err != nil {
			t.Fatal(err)
		}
		return weightsOf(net)
	}
	a, b := run(), run()
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatal("same seed gave different weights")
		}
	}
}

func TestShapeErrorIsReturned(t *testing.T) {
	net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
	m := compile(t, net, []int{3}, mustOpt(t, "adam", 0), 1)
	_, err := m.Fit(context.Background(), tensor.Zeros(8, 5), tensor.Zeros(8), FitOptions{})
	var se *nn.ShapeError
	if !errors.As(err, &se) {
		t.Fatalf("got %v, want a *nn.ShapeError", err)
	}
}

// TestCheckpointKeepsChangedLR checks that a learning rate changed by a
// callback (ReduceLROnPlateau) survives a checkpoint.
func TestCheckpointKeepsChangedLR(t *testing.T) {
	x, y := twoMoons(64, 0.2, 5)
	mk := func() *Model {
		return compile(t, nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"}), []int{2}, mustOpt(t, "adam", 0.01), 1)
	}
	a := mk()
	if _, err := a.Fit(context.Background(), x, y, FitOptions{Epochs: 1}); err != nil {
		t.Fatal(err)
	}
	a.Optimizer.SetLR(0.00123)
	path := filepath.Join(t.TempDir(), "s.safetensors")
	if err := SaveCheckpoint(path, a, 2, 0, &Run{History: &History{}}); err != nil {
		t.Fatal(err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	b := mk()
	if err := ck.Restore(b); err != nil {
		t.Fatal(err)
	}
	if b.Optimizer.LR() != 0.00123 {
		t.Fatalf("restored learning rate %v, want 0.00123", b.Optimizer.LR())
	}
}

func TestReduceLROnPlateau(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := tensor.RandNormal(rng, 0, 1, 100, 5)
	y := tensor.Zeros(100) // one class: the loss plateaus near zero quickly
	m := compile(t, nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"}), []int{5}, mustOpt(t, "sgd", 0.1), 1)
	cb := &ReduceLROnPlateau{Monitor: "loss", Patience: 1, Factor: 0.5, MinDelta: 10}
	if _, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 4, Callbacks: []Callback{cb}}); err != nil {
		t.Fatal(err)
	}
	// never improves by MinDelta 10: halved after epochs 2, 3 and 4
	if got := m.Optimizer.LR(); math.Abs(got-0.0125) > 1e-12 {
		t.Fatalf("learning rate %v after 4 plateaued epochs, want 0.0125", got)
	}
}

// TestRegularizationShrinksWeights checks that an L2 penalty on the kernel
// is part of the training loss: the trained kernel is smaller with it.
func TestRegularizationShrinksWeights(t *testing.T) {
	x, y := twoMoons(256, 0.2, 5)
	norm := func(reg nn.Regularizer) float64 {
		d := &nn.Dense{Units: 2, Activation: "softmax", KernelRegularizer: reg}
		m := compile(t, nn.NewSequential(&nn.Dense{Units: 16, Activation: "tanh"}, d), []int{2}, mustOpt(t, "adam", 0.02), 3)
		h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 10, BatchSize: 32})
		if err != nil {
			t.Fatal(err)
		}
		if reg != nil && h.Last()["loss"] <= 0 {
			t.Fatal("no loss")
		}
		var s float64
		for _, v := range d.Kernel.Value.Data() {
			s += float64(v) * float64(v)
		}
		return s
	}
	plain, l2, l1l2 := norm(nil), norm(nn.L2{L: 0.05}), norm(nn.L1L2{L1: 0.01, L2: 0.05})
	if l2 > 0.5*plain || l1l2 > 0.5*plain {
		t.Fatalf("kernel squared norm %.3f without, %.3f with L2, %.3f with L1L2: want a clear shrink", plain, l2, l1l2)
	}
}

// TestCNNLearnsQuadrants trains a small CNN on a synthetic image task (the
// class is the bright quadrant of an 8×8 image) and requires high held-out
// accuracy.
func TestCNNLearnsQuadrants(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	n := 400
	x, y := tensor.Zeros(n, 8, 8, 1), tensor.Zeros(n)
	for i := 0; i < n; i++ {
		q := rng.IntN(4)
		y.Data()[i] = float32(q)
		for r := 0; r < 8; r++ {
			for c := 0; c < 8; c++ {
				v := 0.3 * rng.Float32()
				if (r/4)*2+c/4 == q {
					v += 0.5
				}
				x.Set(v, i, r, c, 0)
			}
		}
	}
	net := nn.NewSequential(
		&nn.Conv2D{Filters: 8, KernelSize: [2]int{3, 3}, Padding: "same", Activation: "relu"},
		&nn.MaxPool2D{},
		&nn.Flatten{},
		&nn.Dense{Units: 4, Activation: "softmax"},
	)
	m := compile(t, net, []int{8, 8, 1}, mustOpt(t, "adam", 0.01), 2)
	h, err := m.Fit(context.Background(), x, y, FitOptions{Epochs: 8, BatchSize: 16, ValidationSplit: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	if acc := h.Last()["val_accuracy"]; acc < 0.95 {
		t.Fatalf("validation accuracy %.3f, want ≥ 0.95", acc)
	}
}
