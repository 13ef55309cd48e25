package bench

import (
	"context"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// The workloads beyond MNIST's sizes, each with a twin of the same name in
// bench/torch/twin.py:
//
//   - vgg_train, vgg_infer: a CIFAR-shaped VGG on [batch, 32, 32, 3]:
//     conv 64 → conv 64 → pool → conv 128 → conv 128 → pool → conv 256 →
//     pool → flatten → dense 256 → dense 10, every convolution 3×3 "same"
//     with ReLU, 2×2 max pooling (232 MFLOP per sample forward). Training
//     at batch 64, inference at batch 128.
//   - mlp_wide_train: dense 3072 → 2048 relu → 2048 relu → 10 at batch 256.
//   - lstm512_train: LSTM(512) over 100 steps of 64 features → dense 10 on
//     the last output, batch 64.
//
// All train with Adam 1e-3 and sparse categorical cross-entropy through
// Model.TrainStep, like the zoo workloads. fma_peak measures the ceiling
// the others are a fraction of.

// NewVGG returns the benchmark's CIFAR-shaped VGG for [batch, 32, 32, 3]
// inputs and the given number of classes.
func NewVGG(classes int) *nn.Sequential {
	conv := func(f int) nn.Layer {
		return &nn.Conv2D{Filters: f, KernelSize: [2]int{3, 3}, Padding: "same", Activation: "relu"}
	}
	return nn.NewSequential(
		conv(64), conv(64), &nn.MaxPool2D{},
		conv(128), conv(128), &nn.MaxPool2D{},
		conv(256), &nn.MaxPool2D{},
		&nn.Flatten{},
		&nn.Dense{Units: 256, Activation: "relu"},
		&nn.Dense{Units: classes, Activation: "softmax"},
	)
}

func newWideMLP() nn.Layer {
	return nn.NewSequential(
		&nn.Dense{Units: 2048, Activation: "relu"},
		&nn.Dense{Units: 2048, Activation: "relu"},
		&nn.Dense{Units: 10, Activation: "softmax"},
	)
}

func newLSTM512() nn.Layer {
	return nn.NewSequential(&nn.LSTM{Units: 512}, &nn.Dense{Units: 10, Activation: "softmax"})
}

// netStep returns a training step of net (classifierStep's, for any network): one Model.TrainStep
// on random inputs [batch, in...] and random labels in [0, 10).
func netStep(net nn.Layer, batch int, in []int) (func() error, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, in, rng); err != nil {
		return nil, err
	}
	opt, err := optim.ByName("adam", 1e-3)
	if err != nil {
		return nil, err
	}
	m, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{})
	if err != nil {
		return nil, err
	}
	x := tensor.RandUniform(rng, 0, 1, append([]int{batch}, in...)...)
	y := tensor.Zeros(batch)
	for i := range y.Data() {
		y.Data()[i] = float32(rng.IntN(10))
	}
	b := &data.Batch{X: x, Y: y}
	return func() error { _, err := m.TrainStep(b); return err }, nil
}

// netTrainWorkload times netStep over max(5, Steps/div) steps per
// repetition (the same count the twin uses).
func netTrainWorkload(name string, newNet func() nn.Layer, batch int, in []int, div int) func(ctx context.Context, o Options) (Result, error) {
	return func(ctx context.Context, o Options) (Result, error) {
		step, err := netStep(newNet(), batch, in)
		if err != nil {
			return Result{}, err
		}
		s, err := timed(ctx, max(5, o.Steps/div), step)
		r := result(name)
		r.SamplesPerSec = float64(batch) / s
		return r, err
	}
}

func vggInfer(ctx context.Context, o Options) (Result, error) {
	const batch = 128
	net := NewVGG(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{32, 32, 3}, rng); err != nil {
		return Result{}, err
	}
	x := tensor.RandUniform(rng, 0, 1, batch, 32, 32, 3)
	p := &train.Predictor{Net: net}
	s, err := timed(ctx, max(5, o.Steps/20), func() error { _, err := p.Predict(ctx, x, batch); return err })
	r := result("vgg_infer")
	r.SamplesPerSec = batch / s
	return r, err
}

// fmaPeak reports the machine's measured FMA throughput at GOMAXPROCS
// threads (kernels.FMAPeak, the median of three 0.3 s measurements).
func fmaPeak(ctx context.Context, o Options) (Result, error) {
	var g []float64
	for i := 0; i < 3; i++ {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		v, _ := kernels.FMAPeak(runtime.GOMAXPROCS(0), 300*time.Millisecond)
		g = append(g, v)
	}
	r := result("fma_peak")
	r.GFLOPS = median3(g)
	return r, nil
}

func median3(v []float64) float64 {
	a, b, c := v[0], v[1], v[2]
	return max(min(a, b), min(max(a, b), c))
}

func init() {
	register("vgg_train", netTrainWorkload("vgg_train", func() nn.Layer { return NewVGG(10) }, 64, []int{32, 32, 3}, 20))
	register("vgg_infer", vggInfer)
	register("mlp_wide_train", netTrainWorkload("mlp_wide_train", newWideMLP, 256, []int{3072}, 10))
	register("lstm512_train", netTrainWorkload("lstm512_train", newLSTM512, 64, []int{100, 64}, 20))
	register("fma_peak", fmaPeak)
}
