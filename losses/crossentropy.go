package losses

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// BinaryCrossentropy is the cross-entropy of independent binary targets
// (Keras's BinaryCrossentropy). Per element, with p the predicted
// probability and y the target (smoothed to y(1 − s) + s/2 when
// LabelSmoothing s > 0):
//
//	bce = −(y·log p + (1 − y)·log(1 − p))
//
// averaged over the last axis. With FromLogits, yPred holds logits z and
// the fused stable form max(z, 0) − z·y + log(1 + e^−|z|) is used; so it is
// when yPred came from autograd.Sigmoid. Otherwise p is clipped to
// [ε, 1 − ε] first.
type BinaryCrossentropy struct {
	FromLogits     bool      `json:"from_logits"`     // yPred holds logits, not probabilities
	LabelSmoothing float64   `json:"label_smoothing"` // s in [0, 1] [0]
	Reduction      Reduction `json:"reduction"`       // [SumOverBatchSize]
}

// Name returns "binary_crossentropy".
func (BinaryCrossentropy) Name() string { return "binary_crossentropy" }

// Compute returns the binary cross-entropy; see Loss.
func (l BinaryCrossentropy) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "BinaryCrossentropy"
	batchOf(op, yPred)
	y := smooth(op, yPred, targetsLike(op, yPred, yTrue), l.LabelSmoothing, 0.5)
	var e *autograd.Var
	logits, kind := yPred.Logits()
	switch {
	case l.FromLogits:
		e = autograd.SigmoidBinaryCrossEntropy(yPred, y)
	case kind == autograd.FromSigmoid:
		e = autograd.SigmoidBinaryCrossEntropy(logits, y)
	default:
		p := autograd.Clip(yPred, epsilon, 1-epsilon)
		notY := tensor.UnaryInto(scratch(yPred, y.Shape()...), tensor.OpMulScalar, y, -1)
		tensor.UnaryInto(notY, tensor.OpAddScalar, notY, 1)
		pos := autograd.Mul(autograd.Const(y), autograd.Log(p))
		neg := autograd.Mul(autograd.Const(notY), autograd.Log(autograd.AddScalar(autograd.Neg(p), 1)))
		e = autograd.Neg(autograd.Add(pos, neg))
	}
	return reduce(op, perSample(e, false), sampleWeight, l.Reduction)
}

// CategoricalCrossentropy is the cross-entropy of a distribution over
// classes (Keras's CategoricalCrossentropy). yPred is [batch, ..., K];
// yTrue the target distributions (one-hot rows, smoothed to y(1 − s) + s/K
// when LabelSmoothing s > 0). Per position, with p the predicted
// distribution:
//
//	cce = −Σ_k y_k · log p_k
//
// averaged over any axes between the batch and the classes. With
// FromLogits, yPred holds logits z and the fused stable
// autograd.SoftmaxCrossEntropy computes −Σ_k y_k·log softmax(z)_k; so it
// does when yPred came from autograd.Softmax over its last axis. Otherwise,
// as Keras does, p is first rescaled to sum to 1 and clipped to
// [ε, 1 − ε].
type CategoricalCrossentropy struct {
	FromLogits     bool      `json:"from_logits"`     // yPred holds logits, not probabilities
	LabelSmoothing float64   `json:"label_smoothing"` // s in [0, 1] [0]
	Reduction      Reduction `json:"reduction"`       // [SumOverBatchSize]
}

// Name returns "categorical_crossentropy".
func (CategoricalCrossentropy) Name() string { return "categorical_crossentropy" }

// Compute returns the categorical cross-entropy; see Loss.
func (l CategoricalCrossentropy) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "CategoricalCrossentropy"
	b, rows, k := classShape(op, yPred)
	y := targetsLike(op, yPred, yTrue)
	y = smooth(op, yPred, y, l.LabelSmoothing, 1/float64(max(k, 1))).Reshape(rows, k)
	var ce *autograd.Var
	logits, kind := yPred.Logits()
	switch {
	case l.FromLogits:
		ce = autograd.SoftmaxCrossEntropy(autograd.Reshape(yPred, rows, k), y)
	case kind == autograd.FromSoftmax:
		ce = autograd.SoftmaxCrossEntropy(autograd.Reshape(logits, rows, k), y)
	default:
		logP := clippedLogProbs(autograd.Reshape(yPred, rows, k))
		ce = autograd.Neg(autograd.Sum(autograd.Mul(autograd.Const(y), logP), false, 1))
	}
	return reduce(op, rowsToSamples(ce, b), sampleWeight, l.Reduction)
}

// SparseCategoricalCrossentropy is the categorical cross-entropy with
// integer targets (Keras's SparseCategoricalCrossentropy). yPred is
// [batch, ..., K]; yTrue holds one class index in [0, K) per position,
// stored as float32, shaped [batch, ...] (a trailing axis of size 1 is
// allowed). Per position, with c the label:
//
//	scce = −log p_c
//
// averaged over any axes between the batch and the classes. The logits
// path and the clipping are those of CategoricalCrossentropy. A label that
// is not an integer in [0, K) panics with a *tensor.ShapeError naming the
// sample.
type SparseCategoricalCrossentropy struct {
	FromLogits bool      `json:"from_logits"` // yPred holds logits, not probabilities
	Reduction  Reduction `json:"reduction"`   // [SumOverBatchSize]
}

// Name returns "sparse_categorical_crossentropy".
func (SparseCategoricalCrossentropy) Name() string { return "sparse_categorical_crossentropy" }

// Compute returns the sparse categorical cross-entropy; see Loss.
func (l SparseCategoricalCrossentropy) Compute(yPred *autograd.Var, yTrue, sampleWeight *tensor.Tensor) *autograd.Var {
	const op = "SparseCategoricalCrossentropy"
	b, rows, k := classShape(op, yPred)
	if yTrue.Len() != rows {
		want := yPred.Shape()[:yPred.Value.Rank()-1]
		panic(&tensor.ShapeError{Op: op, Got: yTrue.Shape(), Want: want, Msg: "labels must hold one class index per prediction row"})
	}
	labels := yTrue.Reshape(rows)
	for i, v := range labels.Data() {
		if c := int(v); c < 0 || c >= k || float32(c) != v {
			panic(&tensor.ShapeError{Op: op, Got: []int{c}, Want: []int{k}, Msg: fmt.Sprintf("label %v of sample %d is not a class index in [0, %d)", v, i/(rows/b), k)})
		}
	}
	var ce *autograd.Var
	logits, kind := yPred.Logits()
	switch {
	case l.FromLogits:
		ce = autograd.SoftmaxCrossEntropy(autograd.Reshape(yPred, rows, k), labels)
	case kind == autograd.FromSoftmax:
		ce = autograd.SoftmaxCrossEntropy(autograd.Reshape(logits, rows, k), labels)
	default:
		logP := clippedLogProbs(autograd.Reshape(yPred, rows, k))
		idx := make([]int, rows)
		for i, v := range labels.Data() {
			idx[i] = i*k + int(v)
		}
		picked := autograd.Gather(autograd.Reshape(logP, rows*k, 1), idx)
		ce = autograd.Neg(autograd.Reshape(picked, rows))
	}
	return reduce(op, rowsToSamples(ce, b), sampleWeight, l.Reduction)
}

// classShape returns the batch size, the number of prediction rows and
// the number of classes of a [batch, ..., K] prediction.
func classShape(op string, yPred *autograd.Var) (b, rows, k int) {
	s := yPred.Shape()
	if len(s) < 2 {
		panic(&tensor.ShapeError{Op: op, Got: s, Msg: "predictions must be [batch, ..., classes]"})
	}
	k = s[len(s)-1]
	if k == 0 {
		panic(&tensor.ShapeError{Op: op, Got: s, Msg: "predictions have no classes"})
	}
	return s[0], yPred.Value.Len() / k, k
}

// clippedLogProbs returns log(clip(p / Σ_k p_k, ε, 1 − ε)) of rows of
// probabilities p [rows, K], as Keras computes from probabilities.
func clippedLogProbs(p *autograd.Var) *autograd.Var {
	norm := autograd.Div(p, autograd.Sum(p, true, 1))
	return autograd.Log(autograd.Clip(norm, epsilon, 1-epsilon))
}

// smooth returns y·(1 − s) + s·c (label smoothing toward c), or y itself
// when s is 0. It panics with an error unless s is in [0, 1].
func smooth(op string, yPred *autograd.Var, y *tensor.Tensor, s, c float64) *tensor.Tensor {
	if s == 0 {
		return y
	}
	if !(s >= 0 && s <= 1) {
		panic(fmt.Errorf("losses: %s: label smoothing %v is not in [0, 1]", op, s))
	}
	out := tensor.UnaryInto(scratch(yPred, y.Shape()...), tensor.OpMulScalar, y, float32(1-s))
	return tensor.UnaryInto(out, tensor.OpAddScalar, out, float32(s*c))
}
