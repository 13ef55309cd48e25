// Package losses provides the training objectives of Keras — mean squared
// and absolute error, Huber, binary, categorical and sparse categorical
// cross-entropy, and Kullback–Leibler divergence — as differentiable
// autograd expressions with Keras's semantics.
//
// A loss is a plain struct of options whose zero value means the
// documented defaults; Compute turns predictions (a Var, usually on the
// tape of a training step) and targets into the scalar to minimize:
//
//	loss := losses.SparseCategoricalCrossentropy{FromLogits: true}.Compute(logits, labels, nil)
//	grads, err := tape.Gradients(loss, params...)
//
// Conventions, shared by every loss:
//
//   - The first axis of yPred is the batch. A loss is first computed per
//     sample and then reduced over the batch (see Reduction): per-sample
//     losses average over the last axis as Keras does (MSE of [batch, d] is
//     the mean over d; KLDivergence and the cross-entropies reduce the class
//     axis by their sum), and over any axes between the first and the last
//     by their mean. A rank-1 yPred [batch] holds one value per sample.
//   - yTrue is a constant tensor of yPred's shape; a trailing axis of size
//     1 may be present in one and missing in the other ([batch] and
//     [batch, 1] match). Sparse labels are class indices stored as float32.
//   - sampleWeight is nil or holds one weight per sample (batch elements):
//     the per-sample losses are multiplied by it before the reduction.
//   - Probabilities from a softmax or a sigmoid: when FromLogits is false
//     and yPred was produced by autograd.Softmax (over its last axis) or
//     autograd.Sigmoid, the cross-entropies compute from the logits behind
//     it with the fused, numerically stable autograd.SoftmaxCrossEntropy
//     and autograd.SigmoidBinaryCrossEntropy, as Keras does for a model
//     that ends in a softmax. Other probabilities are clipped to
//     [ε, 1 − ε] (ε = 1e-7, Keras's epsilon) before the logarithm.
//
// Errors: Compute is an expression and panics with a *tensor.ShapeError
// when yTrue, sampleWeight or a sparse label does not fit yPred (Fit and
// the CLI recover it and return an error), and with an error value for an
// invalid option such as a negative Huber delta. ByName returns an error
// for an unknown name.
package losses

import (
	"fmt"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Loss is a training objective.
type Loss interface {
	// Name returns the loss's name as ByName accepts it ("mse").
	Name() string
	// Compute returns the loss of predictions yPred against targets
	// yTrue, weighted per sample by sampleWeight (nil: all 1) and reduced
	// as the loss's Reduction says: a scalar, or [batch] per-sample losses
	// with None. It panics with a *tensor.ShapeError when the shapes do
	// not fit.
	Compute(yPred *autograd.Var, yTrue *tensor.Tensor, sampleWeight *tensor.Tensor) *autograd.Var
}

// Reduction says how per-sample losses become the value Compute returns.
type Reduction uint8

const (
	// SumOverBatchSize, the zero value and Keras's default, returns the
	// sum of the weighted per-sample losses divided by the batch size
	// (the mean when there are no weights).
	SumOverBatchSize Reduction = iota
	// Sum returns the sum of the weighted per-sample losses.
	Sum
	// None returns the weighted per-sample losses, shape [batch].
	None
)

var reductionNames = [...]string{"sum_over_batch_size", "sum", "none"}

// String returns Keras's name of the reduction.
func (r Reduction) String() string {
	if int(r) < len(reductionNames) {
		return reductionNames[r]
	}
	return fmt.Sprintf("Reduction(%d)", r)
}

// MarshalText encodes the reduction as its Keras name.
func (r Reduction) MarshalText() ([]byte, error) {
	if int(r) >= len(reductionNames) {
		return nil, fmt.Errorf("losses: invalid reduction %d", r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText decodes a Keras reduction name ("" is the default).
func (r *Reduction) UnmarshalText(b []byte) error {
	s := strings.ToLower(string(b))
	if s == "" || s == "mean" {
		*r = SumOverBatchSize
		return nil
	}
	for i, n := range reductionNames {
		if s == n {
			*r = Reduction(i)
			return nil
		}
	}
	return fmt.Errorf("losses: unknown reduction %q (want sum_over_batch_size, sum or none)", b)
}

// ByName returns a loss with default options for a name as written in a
// config file or on the command line (case-insensitive): "mse"
// ("mean_squared_error"), "mae" ("mean_absolute_error"), "huber",
// "binary_crossentropy" ("bce"), "categorical_crossentropy" ("cce"),
// "sparse_categorical_crossentropy" ("scce"), "kl_divergence" ("kld",
// "kullback_leibler_divergence"). The cross-entropies expect probabilities
// (FromLogits false), which is also right for a model ending in a softmax
// or sigmoid (see the package doc).
func ByName(name string) (Loss, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "mse", "mean_squared_error":
		return MSE{}, nil
	case "mae", "mean_absolute_error":
		return MAE{}, nil
	case "huber", "huber_loss":
		return Huber{}, nil
	case "binary_crossentropy", "bce":
		return BinaryCrossentropy{}, nil
	case "categorical_crossentropy", "cce":
		return CategoricalCrossentropy{}, nil
	case "sparse_categorical_crossentropy", "scce":
		return SparseCategoricalCrossentropy{}, nil
	case "kl_divergence", "kld", "kullback_leibler_divergence":
		return KLDivergence{}, nil
	}
	return nil, fmt.Errorf("losses: unknown loss %q (want mse, mae, huber, binary_crossentropy, categorical_crossentropy, sparse_categorical_crossentropy or kl_divergence)", name)
}

// epsilon is Keras's fuzz factor: probabilities are clipped to
// [epsilon, 1 − epsilon] before a logarithm.
const epsilon = 1e-7

// batchOf returns the batch size of yPred, panicking for a scalar.
func batchOf(op string, yPred *autograd.Var) int {
	if yPred.Value.Rank() == 0 {
		panic(&tensor.ShapeError{Op: op, Got: yPred.Shape(), Msg: "predictions need a batch axis"})
	}
	return yPred.Shape()[0]
}

// targetsLike returns yTrue viewed with yPred's shape, panicking with a
// *tensor.ShapeError unless the shapes agree up to one trailing axis of
// size 1 present in one of them.
func targetsLike(op string, yPred *autograd.Var, yTrue *tensor.Tensor) *tensor.Tensor {
	ps, ts := yPred.Shape(), yTrue.Shape()
	if tensor.EqualShapes(ps, ts) {
		return yTrue
	}
	if !extraOne(ps, ts) && !extraOne(ts, ps) {
		panic(&tensor.ShapeError{Op: op, Got: ts, Want: ps, Msg: "targets must have the predictions' shape"})
	}
	return yTrue.Reshape(ps...)
}

// extraOne reports whether long is short with a trailing axis of size 1.
func extraOne(short, long []int) bool {
	n := len(short)
	return len(long) == n+1 && long[n] == 1 && tensor.EqualShapes(short, long[:n])
}

// scratch returns an uninitialized tensor for a derived constant: from the
// tape's pool when v is recorded (given back on Release), else fresh.
func scratch(v *autograd.Var, shape ...int) *tensor.Tensor {
	if t := v.Tape(); t != nil {
		return t.Alloc(shape...)
	}
	return tensor.Zeros(shape...)
}

// perSample reduces elementwise losses x [batch, ..., d] to [batch]: the
// last axis by its mean (or its sum with sumLast), the axes between by
// their mean. A rank-1 x is returned as it is.
func perSample(x *autograd.Var, sumLast bool) *autograd.Var {
	s := x.Shape()
	if len(s) <= 1 {
		return x
	}
	b, n := s[0], x.Value.Len()/max(s[0], 1)
	if b == 0 || n == 0 {
		return autograd.Sum(autograd.Reshape(x, b, n), false, 1)
	}
	r := autograd.Mean(autograd.Reshape(x, b, n), false, 1)
	if sumLast {
		r = autograd.Scale(r, float32(s[len(s)-1]))
	}
	return r
}

// rowsToSamples averages per-row losses [rows] (one per position of a
// [batch, ..., classes] prediction) into per-sample losses [batch].
func rowsToSamples(rows *autograd.Var, b int) *autograd.Var {
	n := rows.Value.Len()
	if n == b || b == 0 {
		return rows
	}
	return autograd.Mean(autograd.Reshape(rows, b, n/b), false, 1)
}

// reduce weights the per-sample losses [batch] and reduces them.
func reduce(op string, ps *autograd.Var, sampleWeight *tensor.Tensor, r Reduction) *autograd.Var {
	b := ps.Value.Len()
	if sampleWeight != nil {
		if sampleWeight.Len() != b {
			panic(&tensor.ShapeError{Op: op, Got: sampleWeight.Shape(), Want: []int{b}, Msg: "sample weights must hold one value per sample"})
		}
		ps = autograd.Mul(ps, autograd.Const(sampleWeight.Reshape(b)))
	}
	switch r {
	case None:
		return ps
	case Sum:
		return autograd.Sum(ps, false)
	case SumOverBatchSize:
		scale := float32(0)
		if b > 0 {
			scale = 1 / float32(b)
		}
		return autograd.Scale(autograd.Sum(ps, false), scale)
	}
	panic(fmt.Errorf("losses: %s: invalid reduction %d", op, r))
}
