package nn

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// layerCase is one row of the conformance table every layer passes.
type layerCase struct {
	name       string
	make       func() Layer
	in         []int // input shape including the batch axis
	out        []int // expected output shape including the batch axis
	weights    []string
	count      int  // total weight values
	stochastic bool // training differs from inference
	input      func(rng *rand.Rand, shape []int) *tensor.Tensor
	tol        float64
}

// checkLayer runs the conformance checks: output shape, weight names and
// count, gradient check of weights and input, train vs inference mode and
// determinism under a seed.
func checkLayer(t *testing.T, c layerCase) {
	t.Helper()
	l := c.make()
	out, err := Build(l, c.in[1:], rand.New(rand.NewPCG(3, 0)))
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if want := c.out[1:]; !slices.Equal(out, want) {
		t.Fatalf("output shape %v, want %v", out, want)
	}
	var names []string
	count := 0
	for _, w := range AllWeights(l) {
		names = append(names, w.Path)
		count += w.Var.Value.Len()
	}
	if !slices.Equal(names, c.weights) {
		t.Errorf("weights %v, want %v", names, c.weights)
	}
	if count != c.count {
		t.Errorf("weight count %d, want %d", count, c.count)
	}
	rng := rand.New(rand.NewPCG(5, 0))
	var x *tensor.Tensor
	if c.input != nil {
		x = c.input(rng, c.in)
	} else {
		x = tensor.RandNormal(rng, 0, 1, c.in...)
	}
	xv := autograd.NewParam("input", x)
	// Gradient check in inference mode (deterministic), weights and input.
	vars := []*autograd.Var{xv}
	for _, w := range AllWeights(l) {
		if w.Trainable {
			vars = append(vars, w.Var)
		}
	}
	ctx := &Ctx{}
	f := func() *autograd.Var { return l.Forward(ctx, xv) }
	tol := c.tol
	if err := autograd.CheckVarGradients(f, vars, autograd.CheckOptions{MaxProbes: 16, Tol: tol}); err != nil {
		t.Errorf("gradient check: %v", err)
	}
	// Training mode: same shape; equal to inference unless stochastic.
	inf := l.Forward(&Ctx{}, autograd.Const(x)).Value.Clone()
	tr := l.Forward(&Ctx{Training: true, RNG: rand.New(rand.NewPCG(1, 1))}, autograd.Const(x)).Value
	if !slices.Equal(tr.Shape(), inf.Shape()) {
		t.Errorf("training output shape %v, inference %v", tr.Shape(), inf.Shape())
	}
	if !c.stochastic && !slices.Equal(tr.Data(), inf.Data()) {
		t.Errorf("training and inference outputs differ for a deterministic layer")
	}
	// Save → load: the architecture and weights rebuild the same layer.
	checkRoundTrip(t, l, c.in, x)
	// Determinism: the same seed builds the same weights.
	l2 := c.make()
	if _, err := Build(l2, c.in[1:], rand.New(rand.NewPCG(3, 0))); err != nil {
		t.Fatal(err)
	}
	w1, w2 := AllWeights(l), AllWeights(l2)
	for i := range w2 {
		if w1[i].Path == "" || !slices.Equal(w2[i].Var.Value.Data(), w1[i].Var.Value.Data()) {
			if !c.stochastic { // BN moving stats moved in the training pass above
				t.Errorf("weight %s differs between two builds with one seed", w2[i].Path)
			}
		}
	}
}

// checkRoundTrip marshals l's architecture, rebuilds it, copies the
// weights by path and checks that the copy computes bit-identical outputs
// in inference mode.
func checkRoundTrip(t *testing.T, l Layer, in []int, x *tensor.Tensor) {
	t.Helper()
	js, err := MarshalLayer(l)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	l2, err := UnmarshalLayer(js)
	if err != nil {
		t.Fatalf("unmarshal %s: %v", js, err)
	}
	if js2, err := MarshalLayer(l2); err != nil || string(js2) != string(js) {
		t.Errorf("config changed in the round trip:\n%s\n%s (%v)", js, js2, err)
	}
	if _, err := Build(l2, in[1:], rand.New(rand.NewPCG(99, 0))); err != nil {
		t.Fatalf("build the loaded layer: %v", err)
	}
	w1, w2 := AllWeights(l), AllWeights(l2)
	if len(w1) != len(w2) {
		t.Fatalf("%d weights after loading, want %d", len(w2), len(w1))
	}
	for i := range w1 {
		if w1[i].Path != w2[i].Path {
			t.Fatalf("weight %d is %q after loading, want %q", i, w2[i].Path, w1[i].Path)
		}
		w2[i].Var.Value.CopyFrom(w1[i].Var.Value)
	}
	a := l.Forward(&Ctx{}, autograd.Const(x)).Value
	b := l2.Forward(&Ctx{}, autograd.Const(x)).Value
	if !slices.Equal(a.Data(), b.Data()) {
		t.Errorf("the loaded layer computes other outputs")
	}
}

func awayFromZero(rng *rand.Rand, shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		v := 0.2 + rng.Float32()
		if rng.IntN(2) == 0 {
			v = -v
		}
		t.Data()[i] = v
	}
	return t
}

func TestLayerConformance(t *testing.T) {
	cases := []layerCase{
		{name: "dense", make: func() Layer { return &Dense{Units: 3, Activation: "tanh", Name: "d"} },
			in: []int{4, 5}, out: []int{4, 3}, weights: []string{"kernel", "bias"}, count: 18},
		{name: "dense/softmax-nobias", make: func() Layer { return &Dense{Units: 3, Activation: "softmax", NoBias: true, Name: "d"} },
			in: []int{2, 4}, out: []int{2, 3}, weights: []string{"kernel"}, count: 12},
		{name: "dense/3d", make: func() Layer { return &Dense{Units: 2, Activation: "gelu", Name: "d"} },
			in: []int{2, 3, 4}, out: []int{2, 3, 2}, weights: []string{"kernel", "bias"}, count: 10},
		{name: "conv2d/valid", make: func() Layer { return &Conv2D{Filters: 3, KernelSize: [2]int{3, 3}, Activation: "sigmoid", Name: "c"} },
			in: []int{2, 5, 5, 2}, out: []int{2, 3, 3, 3}, weights: []string{"kernel", "bias"}, count: 57},
		{name: "conv2d/same-stride2-dilated", make: func() Layer {
			return &Conv2D{Filters: 2, KernelSize: [2]int{2, 2}, Strides: [2]int{2, 2}, Padding: "same", Name: "c"}
		}, in: []int{1, 5, 6, 2}, out: []int{1, 3, 3, 2}, weights: []string{"kernel", "bias"}, count: 18},
		{name: "maxpool", make: func() Layer { return &MaxPool2D{Name: "p"} },
			in: []int{2, 4, 4, 3}, out: []int{2, 2, 2, 3}, input: awayFromZero},
		{name: "avgpool/same", make: func() Layer { return &AveragePool2D{PoolSize: [2]int{3, 3}, Strides: [2]int{2, 2}, Padding: "same"} },
			in: []int{2, 5, 5, 1}, out: []int{2, 3, 3, 1}},
		{name: "globalavgpool", make: func() Layer { return &GlobalAveragePool2D{} }, in: []int{2, 3, 3, 4}, out: []int{2, 4}},
		{name: "flatten", make: func() Layer { return &Flatten{} }, in: []int{2, 3, 3, 4}, out: []int{2, 36}},
		{name: "reshape", make: func() Layer { return &Reshape{Shape: []int{-1, 2}} }, in: []int{2, 6}, out: []int{2, 3, 2}},
		{name: "dropout", make: func() Layer { return &Dropout{Rate: 0.5} }, in: []int{4, 6}, out: []int{4, 6}, stochastic: true},
		{name: "activation/leaky", make: func() Layer { return &Activation{Fn: "leaky_relu"} }, in: []int{3, 4}, out: []int{3, 4}, input: awayFromZero},
		{name: "batchnorm", make: func() Layer { return &BatchNormalization{Name: "bn"} }, in: []int{6, 3}, out: []int{6, 3},
			weights: []string{"gamma", "beta", "moving_mean", "moving_variance"}, count: 12, stochastic: true},
		{name: "dense/initializer-regularizer", make: func() Layer {
			return &Dense{Units: 2, Name: "d", KernelInitializer: VarianceScaling{Scale: 2, Mode: "fan_in", Distribution: "uniform"},
				KernelRegularizer: L2{L: 0.01}, BiasRegularizer: L1L2{L1: 0.1, L2: 0.2}}
		}, in: []int{2, 3}, out: []int{2, 2}, weights: []string{"kernel", "bias"}, count: 8},
		{name: "sequential/nested", make: func() Layer {
			return NewSequential(&Dense{Units: 2, Name: "a", Activation: "elu"}, &Sequential{Name: "inner", Layers: []Layer{&Dense{Units: 2}}})
		}, in: []int{2, 3}, out: []int{2, 2}, weights: []string{"a.kernel", "a.bias", "inner.dense.kernel", "inner.dense.bias"}, count: 14},
		{name: "layernorm", make: func() Layer { return &LayerNormalization{Name: "ln"} }, in: []int{3, 5}, out: []int{3, 5},
			weights: []string{"gamma", "beta"}, count: 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c) })
	}
}

// TestBatchNormTrainingGradient checks BN's batch-statistics path, which
// the inference-mode conformance check does not reach.
func TestBatchNormTrainingGradient(t *testing.T) {
	bn := &BatchNormalization{Name: "bn"}
	rng := rand.New(rand.NewPCG(1, 2))
	x := autograd.NewParam("x", tensor.RandNormal(rng, 0, 1, 5, 2, 2, 3))
	if _, err := Build(bn, []int{2, 2, 3}, rng); err != nil {
		t.Fatal(err)
	}
	ctx := &Ctx{Training: true}
	f := func() *autograd.Var { return bn.Forward(ctx, x) }
	if err := autograd.CheckVarGradients(f, []*autograd.Var{x, bn.Gamma, bn.Beta}, autograd.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
}
