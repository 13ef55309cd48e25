// Package metrics provides streaming evaluation metrics in the Keras manner:
// a Metric is updated once per batch, read with Result at the end of an
// epoch, and cleared with Reset.
//
// Conventions for the tensors passed to Update:
//
//   - Classification: yPred is [batch, classes] probabilities or logits; the
//     predicted class is the argmax of each row. yTrue is either [batch] (or
//     [batch, 1]) class indices stored as float32 (sparse labels) or
//     [batch, classes] one-hot rows (categorical labels; the argmax of each
//     row is the class, so label-smoothed targets work too). Every
//     classification metric accepts both label forms; the Sparse* and
//     Categorical* constructors exist so that names match Keras.
//   - Binary: yPred is [batch] or [batch, 1] probabilities of the positive
//     class, thresholded at 0.5; yTrue holds 0 or 1 in the same layout.
//   - sampleWeight is nil or holds one weight per sample (len == batch).
//     A sample of weight w counts w times.
//
// Errors: Update is an expression and panics with a *tensor.ShapeError when
// the shapes disagree or a class label is out of range; drivers (Fit,
// Evaluate, the CLI) recover it and return an error. Constructors panic on
// invalid arguments (k < 1); ByName, which takes names from users, returns
// an error instead.
//
// A metric with no data yet returns 0 from Result, as Keras does, so that
// logs stay valid JSON. Metrics are not safe for concurrent use.
package metrics

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/tensor"
)

// Metric is a streaming metric: Update accumulates one batch, Result returns
// the value over everything seen since the last Reset.
type Metric interface {
	// Name returns the key under which the metric is logged, e.g.
	// "accuracy" (validation logs prefix it with "val_").
	Name() string
	// Update accumulates one batch. sampleWeight may be nil.
	Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32)
	// Result returns the metric over all batches since the last Reset.
	Result() float64
	// Reset clears the accumulated state.
	Reset()
}

// Resumable is a Metric whose accumulated state is a few numbers, which a
// training checkpoint stores so that an epoch resumed in its middle logs
// what an uninterrupted one would (train.Fit does this for the metrics of
// a Metered trainer). The accuracies and Mean are Resumable; AUC and the
// confusion matrix, whose state grows with the data, are not.
type Resumable interface {
	Metric
	// State returns the accumulated state (not a copy to keep: the
	// numbers as they are now).
	State() []float64
	// SetState replaces the accumulated state with what State returned,
	// or returns an error naming the metric for a state of the wrong
	// form.
	SetState(s []float64) error
}

// ByName returns a new metric for a name as written in a config file or on
// the command line. numClasses is the width of the model's output; 0, 1 and
// 2 mean a binary problem for the metrics that need it (precision, recall,
// f1, auc, confusion_matrix).
//
// Accepted names: "accuracy" (or "acc"), "binary_accuracy",
// "categorical_accuracy", "sparse_categorical_accuracy", "top_k" and
// "top_k_categorical_accuracy" (k = 5), "top<k>" or "top_<k>" (for example
// "top5"), "sparse_top_k_categorical_accuracy", "precision", "recall", "f1"
// (each optionally suffixed "_macro", "_micro", "_weighted" or "_binary"),
// "auc" and "confusion_matrix".
func ByName(name string, numClasses int) (Metric, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "accuracy", "acc":
		return NewAccuracy(), nil
	case "binary_accuracy":
		return NewBinaryAccuracy(0.5), nil
	case "categorical_accuracy":
		return NewCategoricalAccuracy(), nil
	case "sparse_categorical_accuracy":
		return NewSparseCategoricalAccuracy(), nil
	case "top_k", "top_k_categorical_accuracy":
		return NewTopKCategoricalAccuracy(5), nil
	case "sparse_top_k_categorical_accuracy":
		return NewSparseTopKCategoricalAccuracy(5), nil
	case "auc":
		return NewAUC(numClasses), nil
	case "confusion_matrix":
		return NewConfusionMatrix(max(numClasses, 2)), nil
	}
	if k, ok := strings.CutPrefix(n, "top"); ok {
		k = strings.TrimPrefix(k, "_")
		if v, err := strconv.Atoi(k); err == nil && v >= 1 {
			return NewTopKCategoricalAccuracy(v), nil
		}
		return nil, fmt.Errorf("metrics: bad top-k metric name %q (want e.g. \"top5\")", name)
	}
	base, suffix, _ := strings.Cut(n, "_")
	var avg Average
	switch suffix {
	case "":
		avg = AverageAuto
	case "macro":
		avg = AverageMacro
	case "micro":
		avg = AverageMicro
	case "weighted":
		avg = AverageWeighted
	case "binary":
		avg = AverageBinary
	default:
		return nil, fmt.Errorf("metrics: unknown metric %q", name)
	}
	opts := ClassOptions{NumClasses: numClasses, Average: avg}
	if avg == AverageBinary && numClasses > 2 {
		return nil, fmt.Errorf("metrics: %q needs a binary problem, got %d classes", name, numClasses)
	}
	switch base {
	case "precision":
		return NewPrecision(opts), nil
	case "recall":
		return NewRecall(opts), nil
	case "f1", "f1score":
		return NewF1(opts), nil
	}
	return nil, fmt.Errorf("metrics: unknown metric %q", name)
}

// batchSize returns the number of samples in yPred (its first dimension; 1
// for a scalar).
func batchSize(t *tensor.Tensor) int {
	if t.Rank() == 0 {
		return 1
	}
	return t.Dim(0)
}

// checkWeights panics unless w is nil or has one entry per sample.
func checkWeights(op string, w []float32, batch int) {
	if w != nil && len(w) != batch {
		panic(&tensor.ShapeError{Op: op, Got: []int{len(w)}, Want: []int{batch}, Msg: "sample weight length does not match batch"})
	}
}

// weight returns the weight of sample i.
func weight(w []float32, i int) float64 {
	if w == nil {
		return 1
	}
	return float64(w[i])
}

// isBinary reports whether yPred holds one probability per sample
// ([batch] or [batch, 1]).
func isBinary(yPred *tensor.Tensor) bool {
	return yPred.Rank() <= 1 || (yPred.Rank() == 2 && yPred.Dim(1) == 1)
}

// numClassesOf returns the number of columns of a [batch, classes] yPred and
// panics if yPred is not a matrix.
func numClassesOf(op string, yPred *tensor.Tensor) int {
	if yPred.Rank() != 2 {
		panic(&tensor.ShapeError{Op: op, Got: yPred.Shape(), Msg: "predictions must be [batch, classes]"})
	}
	return yPred.Dim(1)
}

// classLabels decodes yTrue into one class index per sample. It accepts
// sparse labels ([batch] or [batch, 1]) and one-hot rows ([batch, classes],
// decoded by argmax). Labels must lie in [0, classes).
func classLabels(op string, yTrue *tensor.Tensor, batch, classes int) []int {
	out := make([]int, batch)
	d := yTrue.Data()
	switch {
	case yTrue.Rank() == 2 && yTrue.Dim(0) == batch && yTrue.Dim(1) == classes && classes > 1:
		for i := range out {
			out[i] = argmax(d[i*classes : (i+1)*classes])
		}
		return out
	case yTrue.Len() == batch && yTrue.Rank() >= 1 && yTrue.Dim(0) == batch:
		for i, v := range d {
			c := int(math.Round(float64(v)))
			if c < 0 || c >= classes || math.IsNaN(float64(v)) {
				panic(&tensor.ShapeError{Op: op, Msg: fmt.Sprintf("label %v of sample %d out of range [0, %d)", v, i, classes)})
			}
			out[i] = c
		}
		return out
	}
	panic(&tensor.ShapeError{Op: op, Got: yTrue.Shape(), Want: []int{batch, classes},
		Msg: "labels must be [batch] class indices or [batch, classes] one-hot"})
}

// binaryLabels decodes binary targets (0 or 1; values above 0.5 count as
// positive) of the same length as the batch.
func binaryLabels(op string, yTrue *tensor.Tensor, batch int) []bool {
	if yTrue.Len() != batch {
		panic(&tensor.ShapeError{Op: op, Got: yTrue.Shape(), Want: []int{batch}, Msg: "binary labels must have one value per sample"})
	}
	out := make([]bool, batch)
	for i, v := range yTrue.Data() {
		out[i] = v > 0.5
	}
	return out
}

// argmax returns the index of the first largest element (NaN never wins).
func argmax(row []float32) int {
	best := 0
	for j := 1; j < len(row); j++ {
		if row[j] > row[best] || (row[best] != row[best] && row[j] == row[j]) {
			best = j
		}
	}
	return best
}

// ratio returns num/den, or 0 when den is 0 (Keras' divide_no_nan and
// scikit-learn's zero_division=0).
func ratio(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return num / den
}

// Every metric satisfies Metric.
var (
	_ Metric = (*Mean)(nil)
	_ Metric = (*Accuracy)(nil)
	_ Metric = (*BinaryAccuracy)(nil)
	_ Metric = (*CategoricalAccuracy)(nil)
	_ Metric = (*Precision)(nil)
	_ Metric = (*Recall)(nil)
	_ Metric = (*F1)(nil)
	_ Metric = (*AUC)(nil)
	_ Metric = (*ConfusionMatrix)(nil)
)
