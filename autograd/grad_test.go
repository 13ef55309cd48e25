package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

func randT(rng *rand.Rand, shape ...int) *tensor.Tensor {
	return tensor.RandNormal(rng, 0, 1, shape...)
}

// awayFromZero returns values in ±[0.3, 1.3], avoiding kinks at 0.
func awayFromZero(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		v := 0.3 + rng.Float32()
		if rng.IntN(2) == 0 {
			v = -v
		}
		t.Data()[i] = v
	}
	return t
}

func positive(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = 0.5 + rng.Float32()
	}
	return t
}

// distinct returns a permutation-like tensor with well separated values, so
// that max/argmax have no near-ties.
func distinct(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	p := rng.Perm(t.Len())
	for i := range t.Data() {
		t.Data()[i] = float32(p[i])*0.25 - float32(t.Len())*0.1
	}
	return t
}

func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 0))
	relu := Act(tensor.OpRelu, 0)
	tanh := Act(tensor.OpTanh, 0)
	gelu := Act(tensor.OpGelu, 0)
	labels := tensor.New([]int{4}, []float32{0, 2, 1, 2})
	soft := tensor.Softmax(randT(rng, 4, 3), 1)
	constKernel := tensor.Scale(randT(rand.New(rand.NewPCG(7, 7)), 4, 4, 16, 2), 0.2) // own stream: rng's draws stay as they were
	bin := tensor.New([]int{2, 3}, []float32{0, 1, 1, 0, 0.5, 1})
	cond := tensor.New([]int{2, 3}, []float32{1, 0, 1, 0, 0, 1})
	cases := []struct {
		name   string
		f      func(x []*Var) *Var
		inputs []*tensor.Tensor
	}{
		{"add", func(x []*Var) *Var { return Add(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 3), randT(rng, 2, 3)}},
		{"add/broadcast-row", func(x []*Var) *Var { return Add(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 3)}},
		{"add/broadcast-col", func(x []*Var) *Var { return Add(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 4, 3), randT(rng, 4, 1)}},
		{"sub/broadcast", func(x []*Var) *Var { return Sub(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 1, 3), randT(rng, 2, 1)}},
		{"mul/broadcast", func(x []*Var) *Var { return Mul(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 3), randT(rng, 1, 3)}},
		{"div", func(x []*Var) *Var { return Div(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 3), positive(rng, 2, 3)}},
		{"pow", func(x []*Var) *Var { return Pow(x[0], x[1]) }, []*tensor.Tensor{positive(rng, 2, 3), randT(rng, 2, 3)}},
		{"maximum", func(x []*Var) *Var { return Maximum(x[0], x[1]) }, []*tensor.Tensor{distinct(rng, 2, 3), tensor.Full(0.05, 2, 3)}},
		{"minimum", func(x []*Var) *Var { return Minimum(x[0], x[1]) }, []*tensor.Tensor{distinct(rng, 2, 3), tensor.Full(0.05, 2, 3)}},
		{"neg", func(x []*Var) *Var { return Neg(x[0]) }, []*tensor.Tensor{randT(rng, 5)}},
		{"abs", func(x []*Var) *Var { return Abs(x[0]) }, []*tensor.Tensor{awayFromZero(rng, 5)}},
		{"exp", func(x []*Var) *Var { return Exp(x[0]) }, []*tensor.Tensor{randT(rng, 5)}},
		{"log", func(x []*Var) *Var { return Log(x[0]) }, []*tensor.Tensor{positive(rng, 5)}},
		{"sqrt", func(x []*Var) *Var { return Sqrt(x[0]) }, []*tensor.Tensor{positive(rng, 5)}},
		{"square", func(x []*Var) *Var { return Square(x[0]) }, []*tensor.Tensor{randT(rng, 5)}},
		{"tanh", func(x []*Var) *Var { return Tanh(x[0]) }, []*tensor.Tensor{randT(rng, 5)}},
		{"sigmoid", func(x []*Var) *Var { return Sigmoid(x[0]) }, []*tensor.Tensor{randT(rng, 5)}},
		{"relu", func(x []*Var) *Var { return Relu(x[0]) }, []*tensor.Tensor{awayFromZero(rng, 6)}},
		{"leakyrelu", func(x []*Var) *Var { return LeakyRelu(x[0], 0.2) }, []*tensor.Tensor{awayFromZero(rng, 6)}},
		{"elu", func(x []*Var) *Var { return Elu(x[0], 1) }, []*tensor.Tensor{awayFromZero(rng, 6)}},
		{"gelu", func(x []*Var) *Var { return Gelu(x[0]) }, []*tensor.Tensor{randT(rng, 6)}},
		{"softplus", func(x []*Var) *Var { return Softplus(x[0]) }, []*tensor.Tensor{randT(rng, 6)}},
		{"powscalar", func(x []*Var) *Var { return PowScalar(x[0], 3) }, []*tensor.Tensor{randT(rng, 6)}},
		{"scale+addscalar", func(x []*Var) *Var { return AddScalar(Scale(x[0], -2), 1) }, []*tensor.Tensor{randT(rng, 6)}},
		{"clip", func(x []*Var) *Var { return Clip(x[0], -0.5, 0.5) }, []*tensor.Tensor{tensor.New([]int{4}, []float32{-1, -0.2, 0.3, 0.9})}},
		{"where", func(x []*Var) *Var { return Where(cond, x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 3), randT(rng, 2, 3)}},
		{"matmul", func(x []*Var) *Var { return MatMul(x[0], x[1], false, false) }, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5)}},
		{"matmul/tA", func(x []*Var) *Var { return MatMul(x[0], x[1], true, false) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 4, 5)}},
		{"matmul/tB", func(x []*Var) *Var { return MatMul(x[0], x[1], false, true) }, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 5, 4)}},
		{"matmul/tAtB", func(x []*Var) *Var { return MatMul(x[0], x[1], true, true) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 5, 4)}},
		{"matmul/batched-shared-b", func(x []*Var) *Var { return MatMul(x[0], x[1], false, false) }, []*tensor.Tensor{randT(rng, 2, 3, 4), randT(rng, 4, 5)}},
		{"matmul/batched", func(x []*Var) *Var { return MatMul(x[0], x[1], false, true) }, []*tensor.Tensor{randT(rng, 2, 3, 4), randT(rng, 2, 5, 4)}},
		{"matmul/batched-shared-a", func(x []*Var) *Var { return MatMul(x[0], x[1], true, false) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 2, 4, 5)}},
		{"dense/linear", func(x []*Var) *Var { return Dense(x[0], x[1], x[2], Activation{}) }, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5), randT(rng, 5)}},
		{"dense/relu", func(x []*Var) *Var { return Dense(x[0], x[1], x[2], relu) }, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5), randT(rng, 5)}},
		{"dense/tanh-3d-nobias", func(x []*Var) *Var { return Dense(x[0], x[1], nil, tanh) }, []*tensor.Tensor{randT(rng, 2, 3, 4), randT(rng, 4, 5)}},
		{"dense/gelu", func(x []*Var) *Var { return Dense(x[0], x[1], x[2], gelu) }, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5), randT(rng, 5)}},
		{"sum/all", func(x []*Var) *Var { return Sum(x[0], false) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}},
		{"sum+mean/all", func(x []*Var) *Var { return Add(Sum(x[0], false), Mean(x[0], false)) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}}, // the second adds to the gradient
		{"sum/axis1-keep", func(x []*Var) *Var { return Sum(x[0], true, 1) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}},
		{"sum/axes0,2", func(x []*Var) *Var { return Sum(x[0], false, 0, 2) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}},
		{"mean/axis-1", func(x []*Var) *Var { return Mean(x[0], false, -1) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}},
		{"max/axis1", func(x []*Var) *Var { return Max(x[0], false, 1) }, []*tensor.Tensor{distinct(rng, 2, 3, 4)}},
		{"min/all", func(x []*Var) *Var { return Min(x[0], true) }, []*tensor.Tensor{distinct(rng, 2, 3)}},
		{"variance", func(x []*Var) *Var { return Variance(x[0], false, 0) }, []*tensor.Tensor{randT(rng, 5, 3)}},
		{"logsumexp", func(x []*Var) *Var { return LogSumExp(x[0], 1, false) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"softmax", func(x []*Var) *Var { return Softmax(x[0], -1) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"softmax/axis0", func(x []*Var) *Var { return Softmax(x[0], 0) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"logsoftmax", func(x []*Var) *Var { return LogSoftmax(x[0], 1) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"reshape", func(x []*Var) *Var { return Mul(Reshape(x[0], 3, 2), Reshape(x[0], 3, 2)) }, []*tensor.Tensor{randT(rng, 2, 3)}},
		{"transpose", func(x []*Var) *Var { return Transpose(x[0], 2, 0, 1) }, []*tensor.Tensor{randT(rng, 2, 3, 4)}},
		{"concat", func(x []*Var) *Var { return Concat(1, x[0], x[1], x[0]) }, []*tensor.Tensor{randT(rng, 2, 3), randT(rng, 2, 2)}},
		{"sliceaxis", func(x []*Var) *Var { return SliceAxis(x[0], 1, 1, 3) }, []*tensor.Tensor{randT(rng, 2, 4, 3)}},
		{"gather", func(x []*Var) *Var { return Gather(x[0], []int{2, 0, 2}) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"reuse", func(x []*Var) *Var { return Mul(Add(x[0], x[0]), Tanh(x[0])) }, []*tensor.Tensor{randT(rng, 5)}},
		{"conv2d/valid", func(x []*Var) *Var { return Conv2D(x[0], x[1], x[2], tensor.Window{}, Activation{}) }, []*tensor.Tensor{randT(rng, 2, 5, 5, 2), randT(rng, 3, 3, 2, 3), randT(rng, 3)}},
		{"conv2d/same-stride2-tanh", func(x []*Var) *Var {
			return Conv2D(x[0], x[1], x[2], tensor.Window{SH: 2, SW: 2, Padding: "same"}, tanh)
		}, []*tensor.Tensor{randT(rng, 2, 6, 5, 2), randT(rng, 3, 3, 2, 3), randT(rng, 3)}},
		{"conv2d/dilation-explicit-nobias", func(x []*Var) *Var {
			return Conv2D(x[0], x[1], nil, tensor.Window{DH: 2, DW: 2, Padding: "explicit", Pads: [4]int{1, 0, 2, 1}}, Activation{})
		}, []*tensor.Tensor{randT(rng, 1, 6, 6, 2), randT(rng, 2, 2, 2, 2)}},
		{"maxpool2d", func(x []*Var) *Var { return MaxPool2D(x[0], tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}) }, []*tensor.Tensor{distinct(rng, 2, 4, 4, 2)}},
		{"maxpool2d/same-stride1", func(x []*Var) *Var { return MaxPool2D(x[0], tensor.Window{KH: 3, KW: 3, Padding: "same"}) }, []*tensor.Tensor{distinct(rng, 1, 4, 5, 2)}},
		{"conv2d-maxpool/fused-sigmoid", func(x []*Var) *Var { // ReLU: bit for bit against the two ops below
			return Conv2DMaxPool(x[0], x[1], x[2], tensor.Window{}, Act(tensor.OpSigmoid, 0), tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2})
		}, []*tensor.Tensor{randT(rng, 2, 7, 6, 2), randT(rng, 2, 2, 2, 3), randT(rng, 3)}},
		{"conv2d-maxpool/fused-tanh-same", func(x []*Var) *Var {
			return Conv2DMaxPool(x[0], x[1], nil, tensor.Window{Padding: "same"}, tanh, tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2})
		}, []*tensor.Tensor{randT(rng, 2, 5, 4, 3), randT(rng, 3, 3, 3, 9)}},
		{"conv2d-maxpool/direct-3x3-c1", func(x []*Var) *Var { // kernels.ConvPool3x3 where it runs
			return Conv2DMaxPool(x[0], x[1], x[2], tensor.Window{}, Activation{}, tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2})
		}, []*tensor.Tensor{ramp(rng, 2, 7, 6, 1), signedKernel(rng, 3, 3, 1, 32), randT(rng, 32)}},
		{"conv2d-maxpool/direct-3x3-c1-same-relu", func(x []*Var) *Var {
			return Conv2DMaxPool(x[0], x[1], nil, tensor.Window{Padding: "same"}, relu, tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2})
		}, []*tensor.Tensor{ramp(rng, 1, 4, 5, 1), signedKernel(rng, 3, 3, 1, 64)}},
		{"conv2d-maxpool/unfused", func(x []*Var) *Var {
			return Conv2DMaxPool(x[0], x[1], x[2], tensor.Window{}, relu, tensor.Window{KH: 3, KW: 3, SH: 1, SW: 1})
		}, []*tensor.Tensor{randT(rng, 1, 6, 6, 2), randT(rng, 2, 2, 2, 3), randT(rng, 3)}},
		// Inputs used twice: the first gradient written, the second added.
		// 4·4·16 = 256 values per patch: padded rows (kernels.PatchStride)
		{"conv2d/padded-stride", func(x []*Var) *Var {
			return Conv2D(x[0], x[1], x[2], tensor.Window{SH: 2, SW: 2, Padding: "same"}, tanh)
		}, []*tensor.Tensor{randT(rng, 1, 4, 4, 16), tensor.Scale(randT(rng, 4, 4, 16, 2), 0.2), randT(rng, 2)}},
		// A constant kernel: no weight gradient, so no patches are kept.
		{"conv2d/const-kernel", func(x []*Var) *Var {
			return Conv2D(x[0], Const(constKernel), nil, tensor.Window{SH: 2, SW: 2, Padding: "same"}, tanh)
		}, []*tensor.Tensor{randT(rng, 2, 4, 4, 16)}},
		{"conv2d-maxpool/padded-stride", func(x []*Var) *Var {
			return Conv2DMaxPool(x[0], x[1], nil, tensor.Window{Padding: "same"}, tanh, tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2})
		}, []*tensor.Tensor{randT(rng, 1, 4, 4, 16), tensor.Scale(randT(rng, 4, 4, 16, 2), 0.2)}},
		{"conv2d/reused", func(x []*Var) *Var {
			return Add(Conv2D(x[0], x[1], x[2], tensor.Window{}, tanh), Conv2D(x[0], x[1], nil, tensor.Window{SH: 2, SW: 2, Padding: "same"}, Activation{}))
		}, []*tensor.Tensor{randT(rng, 2, 5, 5, 2), randT(rng, 3, 3, 2, 3), randT(rng, 3)}},
		// 4×4, stride 2, one pixel of padding, 16 channels in and out: the
		// input gradients (the second added to the first) run as the direct
		// 2×2-phase kernel (kernels.convInputGrad4x4s2).
		{"conv2d/direct-4x4s2-input-grad", func(x []*Var) *Var {
			w := tensor.Window{SH: 2, SW: 2, Padding: "same"}
			return Add(Conv2D(x[0], x[1], x[2], w, tanh), Conv2D(x[0], x[3], nil, w, Activation{}))
		}, []*tensor.Tensor{randT(rng, 1, 4, 6, 16), tensor.Scale(randT(rng, 4, 4, 16, 16), 0.1), randT(rng, 16), tensor.Scale(randT(rng, 4, 4, 16, 16), 0.1)}},
		{"maxpool2d/reused", func(x []*Var) *Var {
			w := tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}
			return Add(MaxPool2D(x[0], w), Mul(MaxPool2D(x[0], w), MaxPool2D(x[0], w)))
		}, []*tensor.Tensor{distinct(rng, 2, 5, 4, 2)}},
		{"leakyrelu/reused", func(x []*Var) *Var {
			return Add(LeakyRelu(x[0], 0.2), Mul(LeakyRelu(x[0], 0.3), Tanh(x[0])))
		}, []*tensor.Tensor{awayFromZero(rng, 6)}},
		{"dense/reused", func(x []*Var) *Var {
			return Add(Dense(x[0], x[1], x[2], tanh), Dense(x[0], x[1], nil, Activation{}))
		}, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5), randT(rng, 5)}},
		{"avgpool2d", func(x []*Var) *Var { return AvgPool2D(x[0], tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}) }, []*tensor.Tensor{randT(rng, 2, 4, 4, 2)}},
		{"avgpool2d/same", func(x []*Var) *Var {
			return AvgPool2D(x[0], tensor.Window{KH: 3, KW: 3, SH: 2, SW: 2, Padding: "same"})
		}, []*tensor.Tensor{randT(rng, 1, 5, 5, 2)}},
		{"softmax-ce/sparse", func(x []*Var) *Var { return SoftmaxCrossEntropy(x[0], labels) }, []*tensor.Tensor{randT(rng, 4, 3)}},
		{"softmax-ce/dense", func(x []*Var) *Var { return SoftmaxCrossEntropy(x[0], soft) }, []*tensor.Tensor{randT(rng, 4, 3)}},
		{"sigmoid-bce", func(x []*Var) *Var { return SigmoidBinaryCrossEntropy(x[0], bin) }, []*tensor.Tensor{randT(rng, 2, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckGradients(c.f, c.inputs, CheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestInferenceTape checks that an inference tape gives the same values as
// untracked ops, recycles its buffers, and refuses gradients.
func TestInferenceTape(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := randT(rng, 4, 5)
	w := Const(randT(rng, 5, 3))
	f := func(in *Var) *Var {
		return Softmax(Dense(in, w, nil, Act(tensor.OpTanh, 0)), -1)
	}
	want := f(Const(x)).Value.Clone()
	pool := NewPool()
	for i := 0; i < 3; i++ {
		tape := NewInferenceTape(pool)
		y := f(tape.Input(x))
		if y.Tracked() {
			t.Fatal("an inference tape's output reports itself tracked")
		}
		for j, v := range y.Value.Data() {
			if v != want.Data()[j] {
				t.Fatalf("inference tape value %v, untracked %v", v, want.Data()[j])
			}
		}
		if err := tape.Backward(Sum(y, false)); err == nil {
			t.Fatal("Backward on an inference tape succeeded")
		}
		tape.Release()
	}
	allocs := testing.AllocsPerRun(10, func() {
		tape := NewInferenceTape(pool)
		f(tape.Input(x))
		tape.Release()
	})
	if allocs > 20 {
		t.Errorf("%.0f allocations per steady-state inference, want ≤ 20 (outputs come from the pool)", allocs)
	}
	defer func() {
		if recover() == nil {
			t.Error("Watch on an inference tape did not panic")
		}
	}()
	NewInferenceTape(pool).Watch(NewParam("w", tensor.Zeros(2)))
}

// TestConv2DMaxPoolMatchesTwoOps checks the fused convolution and pooling
// against Conv2D followed by MaxPool2D, bit for bit in values and in the
// gradient of x (the kernel's and the bias's within rounding), on the
// shapes of an MNIST CNN's layers (vector kernels and their scalar tails,
// odd output sizes) and on an inference tape.
func TestConv2DMaxPoolMatchesTwoOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	pool := tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}
	for _, c := range []convPoolCase{
		{"conv1-relu", randT(rng, 3, 28, 28, 1), randT(rng, 3, 3, 1, 32), randT(rng, 32), Act(tensor.OpRelu, 0)},
		{"conv2-relu-odd", randT(rng, 2, 13, 13, 5), randT(rng, 3, 3, 5, 20), randT(rng, 20), Act(tensor.OpRelu, 0)},
		// Batch 1 and 5: fewer images than threads keep the patch
		// matrix; more split the kernel gradient by images.
		{"conv2-batch1", randT(rng, 1, 13, 13, 5), randT(rng, 3, 3, 5, 20), randT(rng, 20), Act(tensor.OpRelu, 0)},
		{"conv2-batch5", randT(rng, 5, 13, 13, 5), randT(rng, 3, 3, 5, 20), randT(rng, 20), Act(tensor.OpRelu, 0)},
		{"linear-nobias", randT(rng, 2, 9, 8, 3), randT(rng, 2, 2, 3, 11), nil, Activation{}},
	} {
		for _, procs := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads%d", c.name, procs), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				conv2DMaxPoolMatchesTwoOps(t, c, pool)
			})
		}
	}
}

// convPoolCase is a case of TestConv2DMaxPoolMatchesTwoOps.
type convPoolCase struct {
	name    string
	x, k, b *tensor.Tensor
	act     Activation
}

// conv2DMaxPoolMatchesTwoOps runs one case of
// TestConv2DMaxPoolMatchesTwoOps.
func conv2DMaxPoolMatchesTwoOps(t *testing.T, c convPoolCase, pool tensor.Window) {
	run := func(fused bool) (*tensor.Tensor, []*tensor.Tensor) {
		tape := NewTape(nil)
		defer tape.Release()
		x, k := NewParam("x", c.x), NewParam("k", c.k)
		params := []*Var{x, k}
		var b *Var
		if c.b != nil {
			b = NewParam("b", c.b)
			params = append(params, b)
		}
		tape.Watch(params...)
		var y *Var
		if fused {
			y = Conv2DMaxPool(x, k, b, tensor.Window{}, c.act, pool)
		} else {
			y = MaxPool2D(Conv2D(x, k, b, tensor.Window{}, c.act), pool)
		}
		loss := Sum(Mul(y, Const(tensor.RandNormal(rand.New(rand.NewPCG(1, 1)), 0, 1, y.Shape()...))), false)
		gs, err := tape.Gradients(loss, params...)
		if err != nil {
			t.Fatal(err)
		}
		out := []*tensor.Tensor{}
		for _, g := range gs {
			out = append(out, g.Clone())
		}
		return y.Value.Clone(), out
	}
	yf, gf := run(true)
	yu, gu := run(false)
	// The direct 3×3 kernel (one input channel) sums in another
	// order: close, not bit for bit.
	tol := 0.0
	if c.x.Dim(3) == 1 && kernels.ConvPool3x3Fits(tensor.MustConvGeometry(c.x.Shape(), tensor.Window{KH: 3, KW: 3}), c.k.Dim(3)) {
		tol = 1e-5
	}
	if d := maxAbsDiff(yf.Data(), yu.Data()); d > tol {
		t.Fatalf("fused values differ from Conv2D + MaxPool2D by %g", d)
	}
	for i := range gf {
		// The kernel's and the bias's gradients (i ≥ 1) are summed
		// by groups of images (kernels.ConvKernelGrad) where the
		// two ops run one GEMM over all pixels: close, not bit for
		// bit.
		lim := 10 * tol
		if i >= 1 {
			lim = max(lim, 1e-6*(1+maxAbs(gu[i].Data())))
		}
		if d := maxAbsDiff(gf[i].Data(), gu[i].Data()); d > lim {
			t.Errorf("gradient %d differs from Conv2D + MaxPool2D by %g", i, d)
		}
	}
	inf := NewInferenceTape(nil)
	defer inf.Release()
	var b *Var
	if c.b != nil {
		b = Const(c.b)
	}
	yi := Conv2DMaxPool(inf.Input(c.x), Const(c.k), b, tensor.Window{}, c.act, pool)
	if d := maxAbsDiff(yi.Value.Data(), yu.Data()); d > tol {
		t.Error("inference values differ from Conv2D + MaxPool2D")
	}
}

// maxAbs returns the largest |a[i]|.
func maxAbs(a []float32) float64 {
	m := 0.0
	for _, v := range a {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// maxAbsDiff returns the largest |a[i] − b[i]| (+Inf for different lengths).
func maxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}

// ramp returns images [n, h, w, 1] that rise by 0.3 a column and 0.3·w a
// row (plus noise of 0.01): with signedKernel, every pooling window has a
// clear winner, so finite differences never cross a kink.
func ramp(rng *rand.Rand, n, h, w, c int) *tensor.Tensor {
	x := tensor.Zeros(n, h, w, c)
	for i, d := 0, x.Data(); i < len(d); i++ {
		d[i] = 0.3*float32(i%(h*w)) + 0.01*float32(rng.NormFloat64())
	}
	return x
}

// signedKernel returns a kernel [kh, kw, c, f] whose taps sum to about +2.7
// for even output channels and −2.7 for odd ones (±0.9).
func signedKernel(rng *rand.Rand, kh, kw, c, f int) *tensor.Tensor {
	k := tensor.Zeros(kh, kw, c, f)
	for i, d := 0, k.Data(); i < len(d); i++ {
		d[i] = 0.1*float32(rng.NormFloat64()) + 0.3*float32(1-2*(i%f%2))
	}
	return k
}
