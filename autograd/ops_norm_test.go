package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// composedBatchNorm is the composed form BatchNorm fuses (as
// nn.BatchNormalization writes it).
func composedBatchNorm(x, gamma, beta *Var, eps float32) *Var {
	axes := make([]int, x.Value.Rank()-1)
	for i := range axes {
		axes[i] = i
	}
	mean := Mean(x, false, axes...)
	xc := Sub(x, mean)
	variance := Mean(Square(xc), false, axes...)
	return Add(Mul(Div(xc, Sqrt(AddScalar(variance, eps))), gamma), beta)
}

func TestBatchNormMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	for _, shape := range [][]int{{6, 3}, {4, 3, 2, 5}, {2, 7, 7, 9}, {1, 2, 2, 17}} {
		f := shape[len(shape)-1]
		x := tensor.RandNormal(rng, 2, 3, shape...)
		gamma, beta := tensor.RandNormal(rng, 1, 0.5, f), randT(rng, f)
		w := randT(rng, shape...)
		run := func(fused bool) (y []float32, grads [][]float32, m, v []float32) {
			vs := []*Var{NewParam("x", x), NewParam("gamma", gamma), NewParam("beta", beta)}
			tape := NewTape(nil)
			defer tape.Release()
			tape.Watch(vs...)
			var out *Var
			if fused {
				var mt, vt *tensor.Tensor
				out, mt, vt = BatchNorm(vs[0], vs[1], vs[2], 1e-3)
				m, v = append([]float32(nil), mt.Data()...), append([]float32(nil), vt.Data()...)
			} else {
				out = composedBatchNorm(vs[0], vs[1], vs[2], 1e-3)
			}
			gs, err := tape.Gradients(Sum(Mul(out, Const(w)), false), vs...)
			if err != nil {
				t.Fatal(err)
			}
			y = append([]float32(nil), out.Value.Data()...)
			for _, g := range gs {
				grads = append(grads, append([]float32(nil), g.Data()...))
			}
			return
		}
		fy, fg, fm, fv := run(true)
		cy, cg, _, _ := run(false)
		near := func(a, b float32, tol float64) bool { return math.Abs(float64(a-b)) <= tol*(1+math.Abs(float64(b))) }
		for i := range fy {
			if !near(fy[i], cy[i], 1e-5) {
				t.Fatalf("%v: y[%d] fused %v, composed %v", shape, i, fy[i], cy[i])
			}
		}
		for k := range fg {
			for i := range fg[k] {
				if !near(fg[k][i], cg[k][i], 1e-4) {
					t.Fatalf("%v: gradient %d[%d] fused %v, composed %v", shape, k, i, fg[k][i], cg[k][i])
				}
			}
		}
		wm, wv := tensor.Mean(x, false, seqAxes(len(shape)-1)...), tensor.Var(x, false, seqAxes(len(shape)-1)...)
		for j := 0; j < f; j++ {
			if !near(fm[j], wm.At(j), 1e-5) || !near(fv[j], wv.At(j), 1e-4) {
				t.Fatalf("%v: statistics %v %v, want %v %v", shape, fm[j], fv[j], wm.At(j), wv.At(j))
			}
		}
	}
	f := func(v []*Var) *Var { y, _, _ := BatchNorm(v[0], v[1], v[2], 1e-3); return y }
	if err := CheckGradients(f, []*tensor.Tensor{randT(rng, 5, 2, 2, 3), tensor.RandNormal(rng, 1, 0.3, 3), randT(rng, 3)}, CheckOptions{}); err != nil {
		t.Error(err)
	}
	// x also feeds another op: its gradient is written first, then added to
	reused := func(v []*Var) *Var { return Add(f(v), Mul(v[0], v[0])) }
	if err := CheckGradients(reused, []*tensor.Tensor{randT(rng, 4, 3, 2, 5), tensor.RandNormal(rng, 1, 0.3, 5), randT(rng, 5)}, CheckOptions{}); err != nil {
		t.Errorf("input used twice: %v", err)
	}
}

func seqAxes(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
