package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// poolGradients returns copies of the gradients of Σ r⊙f(x) (r fixed
// weights) computed on a tape that allocates from pool.
func poolGradients(pool *Pool, f func(x []*Var) *Var, inputs []*tensor.Tensor) ([][]float32, error) {
	tape := NewTape(pool)
	defer tape.Release()
	vars := make([]*Var, len(inputs))
	for i, x := range inputs {
		vars[i] = NewParam("x", x)
	}
	tape.Watch(vars...)
	y := f(vars)
	r := tensor.Zeros(y.Value.Shape()...)
	for i := range r.Data() {
		r.Data()[i] = float32(i%7) - 3
	}
	grads, err := tape.Gradients(Sum(Mul(y, Const(r)), false), vars...)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(grads))
	for i, g := range grads {
		out[i] = append([]float32(nil), g.Data()...)
	}
	return out, nil
}

// TestGradientsIgnoreStaleBuffers checks that backward functions that
// write a gradient's first contribution (rather than adding it to zeros)
// write every element: the gradients computed from a pool whose free
// buffers hold NaN must equal, bit for bit, those computed from fresh
// zeroed buffers. Each case uses an input more than once, broadcasts, or
// reaches it through the ops whose backward writes in place.
func TestGradientsIgnoreStaleBuffers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	labels := tensor.New([]int{4}, []float32{0, 2, 1, 2})
	soft := tensor.Softmax(randT(rng, 4, 3), 1)
	bin := tensor.Full(0.25, 4, 3)
	cond := tensor.New([]int{2, 3}, []float32{1, 0, 1, 0, 0, 1})
	relu := Act(tensor.OpRelu, 0)
	cases := []struct {
		name   string
		f      func(x []*Var) *Var
		inputs []*tensor.Tensor
	}{
		{"add-sub/broadcast", func(x []*Var) *Var { return Sub(Add(x[0], x[1]), Mul(x[1], x[0])) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 3)}},
		{"add/broadcast-col", func(x []*Var) *Var { return Add(x[0], x[1]) }, []*tensor.Tensor{randT(rng, 2, 4, 3), randT(rng, 4, 1)}},
		{"mul/same", func(x []*Var) *Var { return Mul(x[0], x[0]) }, []*tensor.Tensor{randT(rng, 2, 3)}},
		{"div-pow", func(x []*Var) *Var { return Add(Div(x[0], x[1]), Pow(x[1], x[0])) }, []*tensor.Tensor{positive(rng, 2, 3), positive(rng, 2, 3)}},
		{"maximum-minimum", func(x []*Var) *Var { return Add(Maximum(x[0], x[1]), Minimum(x[1], x[0])) }, []*tensor.Tensor{distinct(rng, 2, 3), tensor.Full(0.05, 2, 3)}},
		{"clip-where", func(x []*Var) *Var { return Where(cond, Clip(x[0], -0.5, 0.5), Mul(x[0], x[1])) }, []*tensor.Tensor{randT(rng, 2, 3), randT(rng, 2, 3)}},
		{"matmul/same", func(x []*Var) *Var { return MatMul(x[0], x[0], false, true) }, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"matmul/batched-shared", func(x []*Var) *Var {
			return Add(MatMul(x[0], x[1], false, false), MatMul(x[0], x[1], false, false))
		}, []*tensor.Tensor{randT(rng, 2, 3, 4), randT(rng, 4, 5)}},
		{"matmul/batched-shared-a", func(x []*Var) *Var { return MatMul(x[0], x[1], true, false) }, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 2, 4, 5)}},
		{"dense/reused", func(x []*Var) *Var {
			return Add(Dense(x[0], x[1], x[2], relu), Dense(x[0], x[1], x[2], Activation{}))
		}, []*tensor.Tensor{randT(rng, 3, 4), randT(rng, 4, 5), randT(rng, 5)}},
		{"softmax-transpose-concat", func(x []*Var) *Var {
			return Concat(1, Softmax(x[0], 0), LogSoftmax(x[0], 1), Transpose(Transpose(x[0], 1, 0), 1, 0))
		}, []*tensor.Tensor{randT(rng, 3, 4)}},
		{"losses", func(x []*Var) *Var {
			return Add(Add(SoftmaxCrossEntropy(x[0], labels), SoftmaxCrossEntropy(x[0], soft)),
				Add(Sum(SigmoidBinaryCrossEntropy(x[0], bin), false, 1), SigmoidBCESum(x[0], bin)))
		}, []*tensor.Tensor{randT(rng, 4, 3)}},
		{"vae-terms", func(x []*Var) *Var {
			z := Reparameterize(x[0], x[1], tensor.Full(0.5, 4, 3))
			return Add(SigmoidBCESum(z, bin), GaussianKL(x[0], x[1]))
		}, []*tensor.Tensor{randT(rng, 4, 3), randT(rng, 4, 3)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pool := NewPool()
			want, err := poolGradients(pool, c.f, c.inputs)
			if err != nil {
				t.Fatal(err)
			}
			nan := float32(math.NaN())
			for _, l := range pool.free {
				for _, x := range l {
					for i := range x.Data() {
						x.Data()[i] = nan
					}
				}
			}
			got, err := poolGradients(pool, c.f, c.inputs)
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				for j := range want[i] {
					if math.Float32bits(got[i][j]) != math.Float32bits(want[i][j]) {
						t.Fatalf("input %d element %d: %v from stale buffers, %v from fresh ones", i, j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}
