package autograd

import (
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// layerNormComposed is LayerNorm from primitive ops.
func layerNormComposed(x, gamma, beta *Var, eps float32) *Var {
	mean := Mean(x, true, -1)
	xc := Sub(x, mean)
	variance := Mean(Square(xc), true, -1)
	y := Div(xc, Sqrt(AddScalar(variance, eps)))
	return Add(Mul(y, gamma), beta)
}

func TestLayerNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	in := []*tensor.Tensor{randT(rng, 2, 3, 5), randT(rng, 5), randT(rng, 5)}
	fused := func(x []*Var) *Var { return LayerNorm(x[0], x[1], x[2], 1e-3) }
	if err := CheckGradients(fused, in, CheckOptions{}); err != nil {
		t.Error(err)
	}
	gy := randT(rng, 2, 3, 5)
	run := func(f func(x []*Var) *Var) (*tensor.Tensor, []*tensor.Tensor) {
		tape := NewTape(nil)
		defer tape.Release()
		vs := []*Var{NewParam("x", in[0]), NewParam("g", in[1]), NewParam("b", in[2])}
		tape.Watch(vs...)
		y := f(vs)
		gs, err := tape.Gradients(Sum(Mul(y, Const(gy)), false), vs...)
		if err != nil {
			t.Fatal(err)
		}
		out := []*tensor.Tensor{}
		for _, g := range gs {
			out = append(out, g.Clone())
		}
		return y.Value.Clone(), out
	}
	y1, g1 := run(fused)
	y2, g2 := run(func(x []*Var) *Var { return layerNormComposed(x[0], x[1], x[2], 1e-3) })
	near(t, "y", y1, y2)
	for i := range g1 {
		near(t, []string{"dx", "dgamma", "dbeta"}[i], g1[i], g2[i])
	}
}
