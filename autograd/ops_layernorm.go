package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// LayerNorm normalizes x [..., F] over its last axis, row by row (Ba et
// al. 2016):
//
//	y = γ·(x − μ)/√(σ² + ε) + β
//
// with μ, σ² the mean and biased variance of each row and γ, β [F]. It
// is the fusion of the composed form (Mean, Sub, Square, Mean, AddScalar,
// Sqrt, Div, Mul, Add) into one pass forward and one backward; with
// x̂ = (x − μ)/√(σ² + ε), δ = ∂L/∂y and g = γ·δ:
//
//	∂L/∂x = (g − mean(g) − x̂·mean(g·x̂))/√(σ² + ε)
//	∂L/∂γ = Σ_rows δ·x̂,   ∂L/∂β = Σ_rows δ
//
// Mismatched shapes panic with a *tensor.ShapeError.
func LayerNorm(x, gamma, beta *Var, eps float32) *Var {
	t := tapeOf(x, gamma, beta)
	s := x.Value.Shape()
	f := gamma.Value.Len()
	if len(s) < 1 || s[len(s)-1] != f || beta.Value.Len() != f {
		panic(&tensor.ShapeError{Op: "LayerNorm", Got: s, Want: []int{-1, f}, Msg: "features (last axis) must match gamma and beta"})
	}
	rows := x.Value.Len() / max(f, 1)
	stats := alloc(t, []int{2, rows}) // mean, 1/√(σ²+ε)
	out := alloc(t, s)
	sd := stats.Data()
	kernels.LayerNormForward(out.Data(), x.Value.Data(), gamma.Value.Data(), beta.Value.Data(), sd[:rows], sd[rows:], f, eps)
	return result(t, out, node{back: backLayerNorm, in: [3]*Var{x, gamma, beta}, saved: [2]*tensor.Tensor{stats}})
}

// lnStats returns the saved per-row mean and 1/√(σ²+ε) of a LayerNorm node.
func (n *node) lnStats() (mean, rstd []float32) {
	d := n.saved[0].Data()
	rows := len(d) / 2
	return d[:rows], d[rows:]
}

func backLayerNorm(t *Tape, n *node) {
	x, gamma, beta := n.in[0], n.in[1], n.in[2]
	mean, rstd := n.lnStats()
	data := func(v *Var) []float32 {
		if g := t.grad(v); g != nil {
			return g.Data()
		}
		return nil
	}
	kernels.LayerNormBackward(data(x), data(gamma), data(beta), t.grads[n.out.id].Data(), x.Value.Data(), gamma.Value.Data(), mean, rstd, gamma.Value.Len())
}
