package data

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/tensor"
)

// Dataset is a finite set of samples that can be read in any order. The
// Loader reads a Dataset one sample at a time into its batch buffers.
type Dataset interface {
	// Len returns the number of samples.
	Len() int
	// XShape returns the shape of one input sample, without the batch axis.
	XShape() []int
	// YShape returns the shape of one target sample, without the batch axis
	// ([] for a class index), or nil when the dataset has no targets.
	YShape() []int
	// Read copies sample i into x (Numel(XShape()) values) and y
	// (Numel(YShape()) values; nil when there are no targets). With
	// Prefetch a Loader calls it from a background goroutine.
	Read(i int, x, y []float32) error
}

// Source is a stream of samples, for data larger than memory: each pass
// opens it again and reads it front to back. A Loader over a Source shuffles
// with a bounded buffer (see LoaderOptions.ShuffleBuffer).
type Source interface {
	// XShape returns the shape of one input sample, without the batch axis.
	XShape() []int
	// YShape returns the shape of one target sample, without the batch axis,
	// or nil when the source has no targets.
	YShape() []int
	// Open starts a pass over the samples from the first one.
	Open() (SampleReader, error)
}

// SampleReader reads one pass of a Source.
type SampleReader interface {
	// Next copies the next sample into x and y (y is nil when the source
	// has no targets) and returns io.EOF after the last sample.
	Next(x, y []float32) error
	// Close releases the reader's resources.
	Close() error
}

// Tensors is an in-memory dataset: X is [n, features...] and Y is [n]
// (class indices as float32), [n, k] (targets) or nil (no targets). It
// implements Dataset; its methods assume Validate has passed.
type Tensors struct {
	X, Y *tensor.Tensor
}

// Validate checks that X has a sample axis and that Y, when present, has the
// same number of samples.
func (d Tensors) Validate() error {
	if d.X == nil {
		return fmt.Errorf("data: dataset has no X")
	}
	if d.X.Rank() < 1 {
		return fmt.Errorf("data: dataset X has shape %v, want [n, ...]", d.X.Shape())
	}
	if d.Y != nil && (d.Y.Rank() < 1 || d.Y.Dim(0) != d.X.Dim(0)) {
		return fmt.Errorf("data: dataset X has shape %v and Y %v: want the same number of samples", d.X.Shape(), d.Y.Shape())
	}
	return nil
}

// Len returns the number of samples, X's first dimension.
func (d Tensors) Len() int { return d.X.Dim(0) }

// XShape returns X's shape without the first axis.
func (d Tensors) XShape() []int { return d.X.Shape()[1:] }

// YShape returns Y's shape without the first axis, or nil if Y is nil.
func (d Tensors) YShape() []int {
	if d.Y == nil {
		return nil
	}
	return d.Y.Shape()[1:]
}

// Read copies sample i of X into x and of Y into y.
func (d Tensors) Read(i int, x, y []float32) error {
	n := len(x)
	copy(x, d.X.Data()[i*n:(i+1)*n])
	if d.Y != nil {
		m := len(y)
		copy(y, d.Y.Data()[i*m:(i+1)*m])
	}
	return nil
}

// Slice returns the samples [lo, hi) as views of X and Y (no copy).
func (d Tensors) Slice(lo, hi int) Tensors {
	out := Tensors{X: d.X.Slice(lo, hi)}
	if d.Y != nil {
		out.Y = d.Y.Slice(lo, hi)
	}
	return out
}

// Split divides d into training and validation sets the way Keras's
// validation_split does: the last valFraction of the samples, taken before
// any shuffling, are the validation set. With n samples the training set is
// the first floor(n·(1−valFraction)). Both are views of d (no copy).
//
// It returns an error if valFraction is not in (0, 1) or either part would be
// empty.
func Split(d Tensors, valFraction float64) (train, val Tensors, err error) {
	if err := d.Validate(); err != nil {
		return train, val, err
	}
	if !(valFraction > 0 && valFraction < 1) {
		return train, val, fmt.Errorf("data: validation fraction %v is not in (0, 1)", valFraction)
	}
	n := d.Len()
	at := int(math.Floor(float64(n) * (1 - valFraction)))
	if at == 0 || at == n {
		return train, val, fmt.Errorf("data: validation fraction %v of %d samples leaves an empty part (%d train, %d validation)", valFraction, n, at, n-at)
	}
	return d.Slice(0, at), d.Slice(at, n), nil
}

// CheckLabels checks that every label in y ([n] or [n, 1]) is an integer in
// [0, classes). The error names the first bad sample's index and value and
// counts the others.
func CheckLabels(y *tensor.Tensor, classes int) error {
	if y == nil {
		return fmt.Errorf("data: no labels")
	}
	if y.Rank() != 1 && !(y.Rank() == 2 && y.Dim(1) == 1) {
		return fmt.Errorf("data: labels have shape %v, want [n] or [n, 1]", y.Shape())
	}
	if classes < 1 {
		return fmt.Errorf("data: %d classes, want at least 1", classes)
	}
	first, bad := -1, 0
	for i, v := range y.Data() {
		if !(v >= 0 && v < float32(classes) && v == float32(math.Trunc(float64(v)))) {
			if first < 0 {
				first = i
			}
			bad++
		}
	}
	if bad > 0 {
		more := ""
		if bad > 1 {
			more = fmt.Sprintf(" (and %d more)", bad-1)
		}
		return fmt.Errorf("data: label %d is %v, want an integer in [0, %d)%s", first, y.Data()[first], classes, more)
	}
	return nil
}

// ClassWeights returns one weight per class for labels y ([n] or [n, 1],
// integers in [0, numClasses)), for weighting the loss of imbalanced data.
//
// Mode "balanced" gives class c the weight n / (numClasses · count_c), as
// scikit-learn's compute_class_weight does, so that every class contributes
// the same total weight; it returns an error if a class has no samples. Mode
// "" or "uniform" gives every class the weight 1.
func ClassWeights(y *tensor.Tensor, numClasses int, mode string) ([]float32, error) {
	if err := CheckLabels(y, numClasses); err != nil {
		return nil, err
	}
	w := make([]float32, numClasses)
	switch mode {
	case "", "uniform":
		for i := range w {
			w[i] = 1
		}
		return w, nil
	case "balanced":
	default:
		return nil, fmt.Errorf("data: class weight mode %q is not \"balanced\" or \"uniform\"", mode)
	}
	counts := make([]int, numClasses)
	for _, v := range y.Data() {
		counts[int(v)]++
	}
	n := float64(y.Len())
	for c, k := range counts {
		if k == 0 {
			return nil, fmt.Errorf("data: class %d has no samples, so its balanced weight is undefined", c)
		}
		w[c] = float32(n / (float64(numClasses) * float64(k)))
	}
	return w, nil
}
