package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// BatchNorm normalizes x [..., F] with the statistics of the batch: over
// all axes but the last, with μ the mean and σ² the biased variance of
// each feature (Ioffe & Szegedy 2015),
//
//	y = γ·(x − μ)/√(σ² + ε) + β
//
// for γ, β [F]. It returns y and the batch statistics μ, σ² [F] (for the
// moving averages of a layer; on a tape they are valid until Release). It
// is the fusion of the composed form (Mean, Sub, Square, Sqrt, Div, Mul,
// Add) into two passes forward and two backward; with x̂ = (x − μ)/√(σ² + ε),
// δ = ∂L/∂y and R the number of rows:
//
//	∂L/∂β = Σ δ,   ∂L/∂γ = Σ δ·x̂,
//	∂L/∂x = γ/(R·√(σ² + ε)) · (R·δ − Σ δ − x̂·Σ δ·x̂)
//
// Mismatched shapes panic with a *tensor.ShapeError.
func BatchNorm(x, gamma, beta *Var, eps float32) (y *Var, mean, variance *tensor.Tensor) {
	t := tapeOf(x, gamma, beta)
	s := x.Value.Shape()
	f := gamma.Value.Len()
	if len(s) < 2 || s[len(s)-1] != f || beta.Value.Len() != f {
		panic(&tensor.ShapeError{Op: "BatchNorm", Got: s, Want: []int{-1, f}, Msg: "features (last axis) must match gamma and beta"})
	}
	// One pooled buffer holds the per-feature vectors: mean, variance,
	// 1/√(σ²+ε), scratch, and the folded scale a and shift b.
	vec := alloc(t, []int{6, f})
	v := vec.Data()
	mean, variance = tensor.New([]int{f}, v[:f]), tensor.New([]int{f}, v[f:2*f])
	inv, scratch, a, b := v[2*f:3*f], v[3*f:4*f], v[4*f:5*f], v[5*f:6*f]
	kernels.BatchNormStats(mean.Data(), variance.Data(), inv, scratch, x.Value.Data(), eps)
	g, bt, m := gamma.Value.Data(), beta.Value.Data(), mean.Data()
	for j := range a { // f values
		a[j] = g[j] * inv[j]
		b[j] = bt[j] - m[j]*a[j]
	}
	out := alloc(t, s)
	kernels.BatchNormApply(out.Data(), x.Value.Data(), a, b)
	n := node{back: backBatchNorm, in: [3]*Var{x, gamma, beta}}
	n.setBatchNormStats(vec)
	return result(t, out, n), mean, variance
}

func backBatchNorm(t *Tape, n *node) {
	x, gamma, beta := n.in[0], n.in[1], n.in[2]
	g := t.grads[n.out.id]
	f := gamma.Value.Len()
	rows := x.Value.Len() / f
	v := n.batchNormStats().Data()
	mean, inv := v[:f], v[2*f:3*f]
	work := t.Alloc(7, f).Data()
	sumG, sumGX, scratch := work[:f], work[f:2*f], work[2*f:4*f]
	kernels.BatchNormGradSums(sumG, sumGX, scratch, g.Data(), x.Value.Data(), mean)
	if gb := t.grad(beta); gb != nil {
		kernels.Axpy(1, sumG, gb.Data())
	}
	if gg := t.grad(gamma); gg != nil {
		d := gg.Data()
		for j := range d { // Σ δ·x̂ = Σ δ·(x − μ) / √(σ² + ε)
			d[j] += sumGX[j] * inv[j]
		}
	}
	gx, acc := t.gradOut(x)
	if gx == nil {
		return
	}
	c1, c2, c3 := work[4*f:5*f], work[5*f:6*f], work[6*f:7*f]
	gm := gamma.Value.Data()
	r := float32(rows)
	for j := range c1 { // f values: fold the statistics into three coefficients
		s := inv[j]
		c1[j] = gm[j] * s
		c2[j] = -gm[j] * s * s * s * sumGX[j] / r
		c3[j] = -gm[j]*s*sumG[j]/r - c2[j]*mean[j]
	}
	kernels.BatchNormInputGrad(gx.Data(), g.Data(), x.Value.Data(), c1, c2, c3, acc)
}
