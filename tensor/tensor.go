// Package tensor provides Tensor, a dense float32 N-d array in row-major
// order, with creation, views, broadcasting elementwise math, reductions,
// shape operations, matrix multiplication and the convolution helpers that
// layers are built from.
//
// Tensors are always contiguous. Reshape and Slice (along the first axis)
// return views that share storage; every other operation writes a new tensor
// or, for the functions ending in To, into a destination given by the caller
// (the receiver-is-destination habit of gonum).
//
// Errors: tensor operations are expressions and panic on a programmer error
// with a *ShapeError naming the op and the shapes got and wanted. Callers that
// take shapes from users (model building, loaders, the CLI) check them first
// and return errors; see the package doc of train and cmd/strata.
//
// All loops over elements live in internal/kernels.
package tensor

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// Tensor is a dense float32 array of a given shape, stored contiguously in
// row-major order. The zero value is not usable; create tensors with New,
// Zeros and friends.
type Tensor struct {
	shape []int
	data  []float32
}

// New returns a tensor of the given shape that uses data as its storage
// (no copy). It panics with a *ShapeError if len(data) is not the product of
// shape.
func New(shape []int, data []float32) *Tensor {
	n := checkShape("New", shape)
	if len(data) != n {
		panic(&ShapeError{Op: "New", Got: []int{len(data)}, Want: slices.Clone(shape), Msg: "data length does not match shape"})
	}
	return newTensor(shape, data)
}

// newTensor returns a header over data with its own copy of shape. Up to
// rank 4 the shape is stored in the header's allocation: one allocation
// instead of two.
func newTensor(shape []int, data []float32) *Tensor {
	if len(shape) == 0 || len(shape) > 4 {
		return &Tensor{shape: append([]int(nil), shape...), data: data}
	}
	h := &struct {
		t    Tensor
		dims [4]int
	}{}
	h.t.shape, h.t.data = append(h.dims[:0], shape...), data
	return &h.t
}

// Zeros returns a new zero-filled tensor of the given shape.
func Zeros(shape ...int) *Tensor {
	n := checkShape("Zeros", shape)
	return newTensor(shape, make([]float32, n))
}

// Ones returns a new tensor of the given shape filled with 1.
func Ones(shape ...int) *Tensor { return Full(1, shape...) }

// Full returns a new tensor of the given shape filled with v.
func Full(v float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	t.Fill(v)
	return t
}

// Scalar returns a rank-0 tensor holding v.
func Scalar(v float32) *Tensor { return &Tensor{shape: []int{}, data: []float32{v}} }

// Arange returns the 1-D tensor [start, start+step, ...) stopping before stop.
func Arange(start, stop, step float32) *Tensor {
	if step == 0 {
		panic(&ShapeError{Op: "Arange", Msg: "step is zero"})
	}
	var d []float32
	for v := start; (step > 0 && v < stop) || (step < 0 && v > stop); v += step {
		d = append(d, v)
	}
	if d == nil {
		d = []float32{}
	}
	return &Tensor{shape: []int{len(d)}, data: d}
}

// Eye returns the n×n identity matrix.
func Eye(n int) *Tensor {
	t := Zeros(n, n)
	for i := 0; i < n; i++ {
		t.data[i*n+i] = 1
	}
	return t
}

// RandNormal returns a tensor of the given shape with samples from
// N(mean, std²) drawn from rng.
func RandNormal(rng *rand.Rand, mean, std float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = mean + std*float32(rng.NormFloat64())
	}
	return t
}

// RandUniform returns a tensor of the given shape with samples from
// U[lo, hi) drawn from rng.
func RandUniform(rng *rand.Rand, lo, hi float32, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.data {
		t.data[i] = lo + (hi-lo)*float32(rng.Float64())
	}
	return t
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Data returns the tensor's storage in row-major order (not a copy).
func (t *Tensor) Data() []float32 { return t.data }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	return t.shape[i]
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return len(t.data) }

// Item returns the single value of a tensor with one element.
func (t *Tensor) Item() float32 {
	if len(t.data) != 1 {
		panic(&ShapeError{Op: "Item", Got: t.shape, Want: []int{}, Msg: "tensor has more than one element"})
	}
	return t.data[0]
}

// At returns the element at the given index.
func (t *Tensor) At(idx ...int) float32 { return t.data[t.offset("At", idx)] }

// Set stores v at the given index.
func (t *Tensor) Set(v float32, idx ...int) { t.data[t.offset("Set", idx)] = v }

func (t *Tensor) offset(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(&ShapeError{Op: op, Got: idx, Want: t.shape, Msg: "index rank does not match tensor rank"})
	}
	off := 0
	for i, v := range idx {
		if v < 0 || v >= t.shape[i] {
			panic(&ShapeError{Op: op, Got: idx, Want: t.shape, Msg: "index out of range"})
		}
		off = off*t.shape[i] + v
	}
	return off
}

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.data {
		t.data[i] = v
	}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{shape: append([]int(nil), t.shape...), data: append([]float32(nil), t.data...)}
}

// CopyFrom copies src's elements into t. The shapes must have the same
// number of elements.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.data) != len(t.data) {
		panic(&ShapeError{Op: "CopyFrom", Got: src.shape, Want: t.shape})
	}
	copy(t.data, src.data)
}

// Reshape returns a view with a new shape and the same storage. One
// dimension may be -1 and is then inferred.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	v := newTensor(shape, t.data)
	t.resolveShape("Reshape", v.shape, shape)
	return v
}

// ViewOf makes t a view of src's storage with the given shape, as
// src.Reshape(shape...) returns (one dimension may be -1), but reuses t's
// header and shape storage instead of allocating them: for code that
// recycles tensor headers (an inference tape's reshapes). t must not be
// src, nor share its shape storage with another tensor.
func (t *Tensor) ViewOf(src *Tensor, shape ...int) {
	s := append(t.shape[:0], shape...)
	src.resolveShape("ViewOf", s, shape)
	t.shape, t.data = s, src.data
}

// resolveShape replaces the -1 in s (a copy of shape) by the dimension
// that makes its element count that of t, and panics with a *ShapeError
// naming op when that is impossible.
func (t *Tensor) resolveShape(op string, s, shape []int) {
	infer, n := -1, 1
	for i, d := range s {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(&ShapeError{Op: op, Got: t.shape, Want: slices.Clone(shape), Msg: "invalid dimension"})
		default:
			n *= d
		}
	}
	if infer >= 0 {
		if n == 0 || len(t.data)%n != 0 {
			panic(&ShapeError{Op: op, Got: t.shape, Want: slices.Clone(shape), Msg: "cannot infer dimension"})
		}
		s[infer] = len(t.data) / n
		n *= s[infer]
	}
	if n != len(t.data) {
		panic(&ShapeError{Op: op, Got: t.shape, Want: slices.Clone(shape), Msg: "element count differs"})
	}
}

// Slice returns the view t[lo:hi] along the first axis.
func (t *Tensor) Slice(lo, hi int) *Tensor {
	if len(t.shape) == 0 || lo < 0 || hi < lo || hi > t.shape[0] {
		panic(&ShapeError{Op: "Slice", Got: t.shape, Msg: fmt.Sprintf("range [%d:%d] out of bounds", lo, hi)})
	}
	row := 1
	for _, d := range t.shape[1:] {
		row *= d
	}
	s := append([]int{hi - lo}, t.shape[1:]...)
	return &Tensor{shape: s, data: t.data[lo*row : hi*row : hi*row]}
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b *Tensor) bool { return EqualShapes(a.shape, b.shape) }

// EqualShapes reports whether two shapes are identical.
func EqualShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Numel returns the product of the dimensions of shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(&ShapeError{Op: op, Got: slices.Clone(shape), Msg: "negative dimension"})
		}
		n *= d
	}
	return n
}

// String formats small tensors in full and large ones by shape only.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor%v", t.shape)
	if len(t.data) <= 64 {
		fmt.Fprintf(&b, "%v", t.data)
	}
	return b.String()
}

// ReshapeInPlace changes t's shape to shape, which must have the same
// number of elements, without allocating when t's shape has room. It is
// meant for buffer pools; views of t keep their own shapes.
func (t *Tensor) ReshapeInPlace(shape []int) {
	if Numel(shape) != len(t.data) {
		panic(&ShapeError{Op: "ReshapeInPlace", Got: t.shape, Want: slices.Clone(shape), Msg: "element count differs"})
	}
	t.shape = append(t.shape[:0], shape...)
}
