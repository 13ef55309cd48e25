package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Reparameterize returns a sample of N(μ, σ²) written as a differentiable
// function of the mean and the log-variance (Kingma & Welling 2014):
//
//	z = μ + exp(½·log σ²) ⊙ ε
//
// with ε a constant of the same shape drawn by the caller from N(0, I)
// with a seeded source, so that gradients reach μ and log σ²:
// ∂z/∂μ = 1, ∂z/∂log σ² = ½·σ ⊙ ε. It is composed from Scale, Exp, Mul and
// Add and needs no backward of its own. Mismatched shapes panic with a
// *tensor.ShapeError.
func Reparameterize(mean, logVar *Var, eps *tensor.Tensor) *Var {
	if !tensor.SameShape(mean.Value, logVar.Value) || !tensor.SameShape(mean.Value, eps) {
		panic(&tensor.ShapeError{Op: "Reparameterize", Got: eps.Shape(), Want: mean.Value.Shape(), Msg: "mean, log-variance and noise must have one shape"})
	}
	return Add(mean, Mul(Exp(Scale(logVar, 0.5)), Const(eps)))
}

// GaussianKL returns, for each sample (row) of mean and logVar [B, ...],
// the Kullback–Leibler divergence of the diagonal Gaussian q = N(μ, σ²)
// from the standard normal, in nats, as a [B] vector:
//
//	KL(q ‖ N(0, I)) = −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j)
//
// Composed from primitives; the gradients are ∂/∂μ = μ and
// ∂/∂log σ² = ½(σ² − 1).
func GaussianKL(mean, logVar *Var) *Var {
	if !tensor.SameShape(mean.Value, logVar.Value) || mean.Value.Rank() < 2 {
		panic(&tensor.ShapeError{Op: "GaussianKL", Got: logVar.Value.Shape(), Want: mean.Value.Shape(), Msg: "mean and log-variance must have one shape [batch, ...]"})
	}
	axes := make([]int, mean.Value.Rank()-1)
	for i := range axes {
		axes[i] = i + 1
	}
	inner := Sub(Sub(AddScalar(logVar, 1), Square(mean)), Exp(logVar))
	return Scale(Sum(inner, false, axes...), -0.5)
}

// SigmoidBCESum returns, for each sample (row) of logits [B, ...], the
// binary cross-entropy between σ(logits) and targets y ∈ [0, 1] (same
// number of elements) summed over the sample's elements, as a [B] vector:
// the negative log-likelihood in nats of a Bernoulli decoder,
//
//	−Σ_j [y_j·log σ(z_j) + (1 − y_j)·log(1 − σ(z_j))] = Σ_j max(z_j, 0) − z_j·y_j + log(1 + e^−|z_j|)
//
// It is the fusion of SigmoidBinaryCrossEntropy and Sum over all axes but
// the first, in one float32 pass that saves σ(z) for the backward:
// ∂L/∂z_ij = ∂L/∂out_i · (σ(z_ij) − y_ij).
func SigmoidBCESum(logits *Var, targets *tensor.Tensor) *Var {
	t := tapeOf(logits)
	s := logits.Value.Shape()
	if len(s) < 2 || s[0] == 0 || targets.Len() != logits.Value.Len() {
		panic(&tensor.ShapeError{Op: "SigmoidBCESum", Got: targets.Shape(), Want: s, Msg: "logits must be [batch, ...] and targets have as many elements"})
	}
	b := s[0]
	cols := logits.Value.Len() / b
	out := alloc(t, []int{b})
	var sig *tensor.Tensor
	var sd []float32
	if t != nil {
		sig = t.Alloc(s...)
		sd = sig.Data()
	}
	kernels.SigmoidBCERows(out.Data(), sd, logits.Value.Data(), targets.Data(), cols)
	n := node{back: backSigmoidBCESum, in: [3]*Var{logits}}
	n.setLossSaved(sig, targets)
	return result(t, out, n)
}

func backSigmoidBCESum(t *Tape, n *node) {
	gz, acc := t.gradOut(n.in[0])
	if gz == nil {
		return
	}
	g := t.grads[n.out.id].Data()
	sig, targets := n.lossSaved()
	kernels.SigmoidBCERowsGrad(gz.Data(), g, sig.Data(), targets.Data(), gz.Len()/len(g), acc)
}
