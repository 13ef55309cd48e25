package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

func TestGenerativeLayerConformance(t *testing.T) {
	k := func(a, b int) [2]int { return [2]int{a, b} }
	cases := []layerCase{
		// 3·3·4·2 + 4 = 76 values; out (3−1)·1 + 3 = 5.
		{name: "convtranspose/valid", make: func() Layer { return &ConvTranspose2D{Filters: 4, KernelSize: k(3, 3), Activation: "tanh", Name: "ct"} },
			in: []int{2, 3, 3, 2}, out: []int{2, 5, 5, 4}, weights: []string{"kernel", "bias"}, count: 76},
		// (3−1)·2 + 3 + 1 = 8 by (2−1)·2 + 3 = 5.
		{name: "convtranspose/valid-stride2-outpad", make: func() Layer {
			return &ConvTranspose2D{Filters: 2, KernelSize: k(3, 3), Strides: k(2, 2), OutputPadding: k(1, 0), Name: "ct"}
		}, in: []int{1, 3, 2, 3}, out: []int{1, 8, 5, 2}, weights: []string{"kernel", "bias"}, count: 56},
		// Keras's default for a kernel smaller than the stride: h·s.
		{name: "convtranspose/valid-k2s3", make: func() Layer {
			return &ConvTranspose2D{Filters: 1, KernelSize: k(2, 2), Strides: k(3, 3), NoBias: true, Name: "ct"}
		}, in: []int{2, 2, 3, 2}, out: []int{2, 6, 9, 1}, weights: []string{"kernel"}, count: 8},
		{name: "convtranspose/same-k4s2", make: func() Layer {
			return &ConvTranspose2D{Filters: 3, KernelSize: k(4, 4), Strides: k(2, 2), Padding: "same", Activation: "sigmoid", Name: "ct"}
		}, in: []int{2, 3, 3, 2}, out: []int{2, 6, 6, 3}, weights: []string{"kernel", "bias"}, count: 99},
		{name: "convtranspose/same-k3s2-outpad", make: func() Layer {
			return &ConvTranspose2D{Filters: 2, KernelSize: k(3, 3), Strides: k(2, 2), Padding: "same", OutputPadding: k(1, 1), Name: "ct"}
		}, in: []int{1, 3, 3, 2}, out: []int{1, 7, 7, 2}, weights: []string{"kernel", "bias"}, count: 38},
		{name: "convtranspose/dilated", make: func() Layer {
			return &ConvTranspose2D{Filters: 2, KernelSize: k(2, 2), DilationRate: k(2, 2), Name: "ct"}
		}, in: []int{1, 3, 3, 1}, out: []int{1, 5, 5, 2}, weights: []string{"kernel", "bias"}, count: 10},
		{name: "upsampling/default", make: func() Layer { return &UpSampling2D{} }, in: []int{2, 3, 2, 2}, out: []int{2, 6, 4, 2}},
		{name: "upsampling/3x1", make: func() Layer { return &UpSampling2D{Size: k(3, 1)} }, in: []int{1, 2, 3, 1}, out: []int{1, 6, 3, 1}},
		{name: "leakyrelu", make: func() Layer { return &LeakyReLU{Alpha: 0.2} }, in: []int{3, 4}, out: []int{3, 4}, input: awayFromZero},
		{name: "leakyrelu/default", make: func() Layer { return &LeakyReLU{} }, in: []int{2, 2, 2, 3}, out: []int{2, 2, 2, 3}, input: awayFromZero},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c) })
	}
}

func TestLeakyReLUSlope(t *testing.T) {
	x := autograd.Const(tensor.New([]int{1, 3}, []float32{-1, 0.5, -2}))
	for _, c := range []struct {
		l    *LeakyReLU
		want []float32
	}{
		{&LeakyReLU{}, []float32{-0.3, 0.5, -0.6}},
		{&LeakyReLU{Alpha: 0.2}, []float32{-0.2, 0.5, -0.4}},
	} {
		got := c.l.Forward(&Ctx{}, x).Value.Data()
		for i := range got {
			if math.Abs(float64(got[i]-c.want[i])) > 1e-6 {
				t.Errorf("alpha %v: %v, want %v", c.l.Alpha, got, c.want)
				break
			}
		}
	}
}

// TestConvTransposeParamsAndNames checks the Keras parameter count and
// names of a DCGAN-style upsampling stack and the error for a bad input.
func TestConvTransposeParamsAndNames(t *testing.T) {
	m := NewSequential(
		&Reshape{Shape: []int{7, 7, 128}},
		&ConvTranspose2D{Filters: 64, KernelSize: [2]int{4, 4}, Strides: [2]int{2, 2}, Padding: "same"},
		&UpSampling2D{},
		&ConvTranspose2D{Filters: 1, KernelSize: [2]int{3, 3}, Padding: "same", Activation: "tanh"},
	)
	out, err := Build(m, []int{7 * 7 * 128}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []int{28, 28, 1}) {
		t.Fatalf("output %v, want [28 28 1]", out)
	}
	// Keras: 4·4·64·128 + 64 = 131,136 and 3·3·1·64 + 1 = 577.
	if tr, _ := CountParams(m); tr != 131136+577 {
		t.Errorf("params %d, want %d", tr, 131136+577)
	}
	var names []string
	for _, w := range AllWeights(m) {
		names = append(names, w.Path)
	}
	want := []string{"conv2d_transpose.kernel", "conv2d_transpose.bias", "conv2d_transpose_1.kernel", "conv2d_transpose_1.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	if s, err := Summary(m, []int{7 * 7 * 128}); err != nil || !strings.Contains(s, "Conv2DTranspose") || !strings.Contains(s, "(None, 14, 14, 64)") {
		t.Errorf("summary (%v):\n%s", err, s)
	}
	_, err = Build(NewSequential(&ConvTranspose2D{Filters: 2, KernelSize: [2]int{3, 3}, Padding: "full"}), []int{4, 4, 1}, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "conv2d_transpose") || !strings.Contains(err.Error(), "full") {
		t.Errorf("got %v, want an error naming the layer and the padding", err)
	}
	_, err = Build(m, []int{7, 7, 64}, rand.New(rand.NewPCG(1, 1)))
	if err == nil {
		t.Error("no error for a wrong input size")
	}
}

// TestBatchNormTrainingVersusInference checks the behaviour the DCGAN
// generator relies on: training mode normalizes with the batch statistics
// and moves the moving statistics by the momentum; inference mode uses the
// moving statistics, so a sample's output does not depend on its batch.
func TestBatchNormTrainingVersusInference(t *testing.T) {
	bn := &BatchNormalization{Momentum: 0.9, Epsilon: 1e-5, Name: "bn"}
	rng := rand.New(rand.NewPCG(4, 4))
	x := tensor.RandNormal(rng, 3, 2, 16, 2, 2, 3) // mean 3, std 2
	if _, err := Build(bn, []int{2, 2, 3}, rng); err != nil {
		t.Fatal(err)
	}
	mean := tensor.Mean(x, false, 0, 1, 2)
	variance := tensor.Var(x, false, 0, 1, 2)
	y := bn.Forward(&Ctx{Training: true}, autograd.Const(x)).Value
	ym, yv := tensor.Mean(y, false, 0, 1, 2), tensor.Var(y, false, 0, 1, 2)
	for c := 0; c < 3; c++ {
		if math.Abs(float64(ym.At(c))) > 1e-4 || math.Abs(float64(yv.At(c))-1) > 1e-3 {
			t.Errorf("training output channel %d: mean %v var %v, want 0, 1", c, ym.At(c), yv.At(c))
		}
		// m ← 0.9·0 + 0.1·μ, v ← 0.9·1 + 0.1·σ²
		if got, want := bn.MovingMean.Value.At(c), 0.1*mean.At(c); math.Abs(float64(got-want)) > 1e-5 {
			t.Errorf("moving mean %v, want %v", got, want)
		}
		if got, want := bn.MovingVariance.Value.At(c), 0.9+0.1*variance.At(c); math.Abs(float64(got-want)) > 1e-4 {
			t.Errorf("moving variance %v, want %v", got, want)
		}
	}
	// Many training passes: the moving statistics reach the batch's.
	for i := 0; i < 200; i++ {
		bn.Forward(&Ctx{Training: true}, autograd.Const(x))
	}
	inf := bn.Forward(&Ctx{}, autograd.Const(x)).Value
	for i, v := range inf.Data() {
		if w := y.Data()[i]; math.Abs(float64(v-w)) > 2e-3 {
			t.Fatalf("inference after convergence differs from training: element %d %v vs %v", i, v, w)
		}
	}
	// Inference: one sample alone gives the same output as in the batch;
	// training mode does not (its statistics are the batch's).
	one := x.Slice(0, 1)
	a := bn.Forward(&Ctx{}, autograd.Const(one)).Value.Data()
	if !slices.Equal(a, inf.Slice(0, 1).Data()) {
		t.Error("inference output depends on the batch")
	}
	half := bn.Forward(&Ctx{Training: true}, autograd.Const(x.Slice(0, 2))).Value.Data()
	if slices.Equal(half, y.Slice(0, 2).Data()) {
		t.Error("training output does not depend on the batch")
	}
}
