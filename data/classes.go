package data

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/tensor"
)

// MaxClasses is the most classes InferClasses accepts from a label column.
// A label of 10,000,000 would otherwise build a ten-million-unit output layer
// (gigabytes of weights) before anything is checked.
const MaxClasses = 1 << 20

// InferClasses returns the number of classes that the labels y ([n] or
// [n, 1] class indices) imply: the largest label plus one. It returns an
// error naming the row (0-based) when a label is not a non-negative integer
// or implies more than MaxClasses classes, when fewer than two classes
// remain (a classifier of one class learns nothing: "all 120 labels are 3"),
// and when the labels imply more classes than there are samples (labels
// must be indices 0…k−1: a column of ids or prices is not a label column).
func InferClasses(y *tensor.Tensor) (int, error) {
	if y == nil || y.Len() == 0 {
		return 0, fmt.Errorf("data: no labels")
	}
	d := y.Data()
	top, at := float32(-1), -1
	for i, v := range d {
		if !(v >= 0 && v == float32(math.Trunc(float64(v)))) || math.IsInf(float64(v), 0) {
			return 0, fmt.Errorf("data: label %v in row %d is not a class index (a non-negative integer)", v, i)
		}
		if v > top {
			top, at = v, i
		}
	}
	if top >= MaxClasses {
		return 0, fmt.Errorf("data: label %.0f in row %d would make %.0f classes, more than the %d a classifier here may have; labels are class indices 0, 1, … k−1",
			top, at, float64(top)+1, MaxClasses)
	}
	classes := int(top) + 1
	distinct := map[float32]bool{}
	for _, v := range d {
		if distinct[v] = true; len(distinct) > 1 {
			break
		}
	}
	if len(distinct) < 2 {
		return 0, fmt.Errorf("data: all %d labels are %v; a classifier needs samples of at least two classes", len(d), top)
	}
	if classes > len(d) {
		return 0, fmt.Errorf("data: label %.0f in row %d makes %d classes for only %d samples; labels must be class indices 0, 1, … k−1 (renumber them, or is this column not the label?)",
			top, at, classes, len(d))
	}
	return classes, nil
}
