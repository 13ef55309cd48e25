package autograd

import "github.com/strata-dl/strata/tensor"

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
// binary cross-entropy between σ(logits) and targets y ∈ [0, 1] summed
// over the sample's elements, as a [B] vector: the negative log-likelihood
// in nats of a Bernoulli decoder,
//
//	−Σ_j [y_j·log σ(z_j) + (1 − y_j)·log(1 − σ(z_j))]
//
// computed stably through SigmoidBinaryCrossEntropy.
func SigmoidBCESum(logits *Var, targets *tensor.Tensor) *Var {
	r := logits.Value.Rank()
	if r < 2 {
		panic(&tensor.ShapeError{Op: "SigmoidBCESum", Got: logits.Value.Shape(), Msg: "logits must be [batch, ...]"})
	}
	axes := make([]int, r-1)
	for i := range axes {
		axes[i] = i + 1
	}
	return Sum(SigmoidBinaryCrossEntropy(logits, targets), false, axes...)
}
