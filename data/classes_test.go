package data

import (
	"math"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func TestInferClasses(t *testing.T) {
	labels := func(v ...float32) *tensor.Tensor { return tensor.New([]int{len(v)}, v) }
	if got, err := InferClasses(labels(0, 2, 1, 2)); err != nil || got != 3 {
		t.Fatalf("got %d, %v", got, err)
	}
	for _, tc := range []struct {
		y    *tensor.Tensor
		want string
	}{
		{labels(0, 1, 1e7), "label 10000000 in row 2 would make 10000001 classes, more than the 1048576"},
		{labels(0, 1e9), "label 1000000000 in row 1 would make 1000000001 classes"},
		{labels(3, 3, 3), "all 3 labels are 3; a classifier needs samples of at least two classes"},
		{labels(0, 1, 500), "label 500 in row 2 makes 501 classes for only 3 samples"},
		{labels(0, 1.5), "label 1.5 in row 1 is not a class index"},
		{labels(0, -1), "label -1 in row 1"},
		{labels(0, float32(math.NaN())), "label NaN in row 1"},
		{labels(0, float32(math.Inf(1))), "label +Inf in row 1"},
		{labels(), "no labels"},
	} {
		_, err := InferClasses(tc.y)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("labels %v: got %v, want %q", tc.y.Data(), err, tc.want)
		}
	}
}

func TestAsBatch(t *testing.T) {
	in := []int{2, 2, 1}
	x := tensor.New([]int{3, 4}, make([]float32, 12))
	b, err := AsBatch(x, in, "x.npy")
	if err != nil || !tensor.EqualShapes(b.Shape(), []int{3, 2, 2, 1}) {
		t.Fatalf("got %v, %v", b, err)
	}
	if b, err := AsBatch(tensor.Zeros(4), in, "one.npy"); err != nil || b.Dim(0) != 1 {
		t.Fatalf("one sample: %v, %v", b, err)
	}
	nan := tensor.New([]int{2, 4}, []float32{0, 0, 0, 0, 0, 0, float32(math.NaN()), 0})
	for _, tc := range []struct {
		x    *tensor.Tensor
		in   []int
		want string
	}{
		{tensor.Zeros(0), in, "e.npy: array of shape [0] holds no values"},
		{tensor.Zeros(0, 784), in, "holds no values"},
		{tensor.Zeros(4), []int{0, 28, 1}, "input shape [0 28 1] has a dimension of 0"},
		{tensor.Zeros(5), in, "does not fit"},
		{tensor.Zeros(2, 3), in, "does not fit"},
		{nan, in, "sample 1 holds NaN at [1 0 0]"},
	} {
		_, err := AsBatch(tc.x, tc.in, "e.npy")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v into %v: got %v, want %q", tc.x.Shape(), tc.in, err, tc.want)
		}
	}
}
