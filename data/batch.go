package data

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/tensor"
)

// AsBatch fits an array read from a file to a model's per-sample input
// shape: one sample of shape in (or of the same number of values) becomes a
// batch of one, [n, in...] (or [n, anything with the same count]) a batch
// of n. name (a file name) is used in errors. It returns an error, never a
// panic, for an input shape with a zero or negative dimension, an empty
// array, a shape that does not fit, and a NaN or infinite value (naming its
// sample and position).
func AsBatch(x *tensor.Tensor, in []int, name string) (*tensor.Tensor, error) {
	for _, d := range in {
		if d <= 0 {
			return nil, fmt.Errorf("%s: the model's input shape %v has a dimension of %d", name, in, d)
		}
	}
	if x == nil || x.Len() == 0 {
		shape := []int{0}
		if x != nil {
			shape = x.Shape()
		}
		return nil, fmt.Errorf("%s: array of shape %v holds no values", name, shape)
	}
	per := tensor.Numel(in)
	var b *tensor.Tensor
	switch {
	case x.Len() == per:
		b = x.Reshape(append([]int{1}, in...)...)
	case x.Rank() >= 2 && x.Len()/x.Dim(0) == per && x.Len()%x.Dim(0) == 0:
		b = x.Reshape(append([]int{x.Dim(0)}, in...)...)
	default:
		return nil, fmt.Errorf("%s: array of shape %v does not fit the model's input %v (one sample or [n, %v])", name, x.Shape(), in, in)
	}
	if err := CheckFinite(b, name); err != nil {
		return nil, err
	}
	return b, nil
}

// CheckFinite returns an error naming name, the sample (the first index)
// and the position within it of the first NaN or infinite value of x, a
// batch [n, ...]; nil if every value is finite.
func CheckFinite(x *tensor.Tensor, name string) error {
	per := 1
	if x.Rank() > 1 {
		per = x.Len() / max(x.Dim(0), 1)
	}
	for i, v := range x.Data() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			pos := unravel(i%per, x.Shape()[min(1, x.Rank()):])
			return fmt.Errorf("%s: sample %d holds %v at %v: inputs must be finite numbers", name, i/per, v, pos)
		}
	}
	return nil
}
