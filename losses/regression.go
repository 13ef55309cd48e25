package losses

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// MSE is the mean squared error (Keras's MeanSquaredError). Per sample,
// over the last axis of d elements:
//
//	loss = (1/d) Σ_j (yPred_j − yTrue_j)²
type MSE struct {
	Reduction Reduction `json:"reduction"` // [SumOverBatchSize]
}

// Name returns "mse".
func (MSE) Name() string { return "mse" }

// Compute returns the mean squared error; see Loss.
func (l MSE) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "MSE"
	batchOf(op, yPred)
	y := targetsLike(op, yPred, yTrue)
	e := autograd.Square(autograd.Sub(yPred, autograd.Const(y)))
	return reduce(op, perSample(e, false), sampleWeight, l.Reduction)
}

// MAE is the mean absolute error (Keras's MeanAbsoluteError). Per sample,
// over the last axis of d elements:
//
//	loss = (1/d) Σ_j |yPred_j − yTrue_j|
//
// Its gradient at yPred = yTrue is taken as 0.
type MAE struct {
	Reduction Reduction `json:"reduction"` // [SumOverBatchSize]
}

// Name returns "mae".
func (MAE) Name() string { return "mae" }

// Compute returns the mean absolute error; see Loss.
func (l MAE) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "MAE"
	batchOf(op, yPred)
	y := targetsLike(op, yPred, yTrue)
	e := autograd.Abs(autograd.Sub(yPred, autograd.Const(y)))
	return reduce(op, perSample(e, false), sampleWeight, l.Reduction)
}

// Huber is the Huber loss (Keras's Huber): quadratic for errors up to δ,
// linear beyond. Per element, with x = yPred − yTrue,
//
//	h(x) = ½x²             if |x| ≤ δ
//	h(x) = δ(|x| − ½δ)     otherwise
//
// averaged over the last axis. It is composed as ½q² + δ(|x| − q) with
// q = min(|x|, δ), which is differentiable through the primitives.
type Huber struct {
	Delta     float64   `json:"delta"`     // δ > 0 [1]
	Reduction Reduction `json:"reduction"` // [SumOverBatchSize]
}

// Name returns "huber".
func (Huber) Name() string { return "huber" }

// Compute returns the Huber loss; see Loss. It panics with an error if
// Delta is negative or NaN.
func (l Huber) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "Huber"
	delta := l.Delta
	if delta == 0 {
		delta = 1
	}
	if !(delta > 0) {
		panic(fmt.Errorf("losses: Huber: delta %v is not positive", l.Delta))
	}
	batchOf(op, yPred)
	y := targetsLike(op, yPred, yTrue)
	a := autograd.Abs(autograd.Sub(yPred, autograd.Const(y)))
	d := scratch(yPred)
	d.Data()[0] = float32(delta)
	q := autograd.Minimum(a, autograd.Const(d))
	e := autograd.Add(autograd.Scale(autograd.Square(q), 0.5), autograd.Scale(autograd.Sub(a, q), float32(delta)))
	return reduce(op, perSample(e, false), sampleWeight, l.Reduction)
}

// KLDivergence is the Kullback–Leibler divergence of yPred from yTrue
// (Keras's KLDivergence). Per sample, over the last axis, with both
// clipped to [ε, 1]:
//
//	loss = Σ_j yTrue_j · log(yTrue_j / yPred_j)
type KLDivergence struct {
	Reduction Reduction `json:"reduction"` // [SumOverBatchSize]
}

// Name returns "kl_divergence".
func (KLDivergence) Name() string { return "kl_divergence" }

// Compute returns the KL divergence; see Loss.
func (l KLDivergence) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "KLDivergence"
	batchOf(op, yPred)
	y := targetsLike(op, yPred, yTrue)
	yc := scratch(yPred, y.Shape()...)
	kernels.Clip(yc.Data(), y.Data(), epsilon, 1)
	logY := tensor.UnaryInto(scratch(yPred, y.Shape()...), tensor.OpLog, yc, 0)
	logP := autograd.Log(autograd.Clip(yPred, epsilon, 1))
	e := autograd.Mul(autograd.Const(yc), autograd.Sub(autograd.Const(logY), logP))
	return reduce(op, perSample(e, true), sampleWeight, l.Reduction)
}
