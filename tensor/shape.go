package tensor

import (
	"fmt"

	"github.com/strata-dl/strata/internal/kernels"
)

// Transpose returns x with its axes permuted (a copy): axis i of the result
// is axis perm[i] of x. With no perm it reverses the axes.
func Transpose(x *Tensor, perm ...int) *Tensor {
	nd := len(x.shape)
	if len(perm) == 0 {
		perm = make([]int, nd)
		for i := range perm {
			perm[i] = nd - 1 - i
		}
	}
	if len(perm) != nd {
		panic(&ShapeError{Op: "Transpose", Got: perm, Want: x.shape, Msg: "permutation length differs from rank"})
	}
	seen := make([]bool, nd)
	shape := make([]int, nd)
	for i, p := range perm {
		if p < 0 || p >= nd || seen[p] {
			panic(&ShapeError{Op: "Transpose", Got: perm, Msg: "not a permutation"})
		}
		seen[p] = true
		shape[i] = x.shape[p]
	}
	out := Zeros(shape...)
	kernels.Permute(out.data, x.data, x.shape, perm)
	return out
}

// Concat joins tensors along axis; all other dimensions must agree.
func Concat(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic(&ShapeError{Op: "Concat", Msg: "no tensors"})
	}
	first := ts[0]
	axis = NormAxis("Concat", len(first.shape), axis)
	shape := append([]int(nil), first.shape...)
	shape[axis] = 0
	for _, t := range ts {
		if len(t.shape) != len(first.shape) {
			panic(&ShapeError{Op: "Concat", Got: t.shape, Want: first.shape, Msg: "ranks differ"})
		}
		for i := range t.shape {
			if i != axis && t.shape[i] != first.shape[i] {
				panic(&ShapeError{Op: "Concat", Got: t.shape, Want: first.shape, Msg: fmt.Sprintf("dimension %d differs", i)})
			}
		}
		shape[axis] += t.shape[axis]
	}
	out := Zeros(shape...)
	outer, _, inner := splitAt(shape, axis)
	off := 0
	for _, t := range ts {
		w := t.shape[axis] * inner
		for o := 0; o < outer; o++ {
			copy(out.data[o*shape[axis]*inner+off:], t.data[o*w:(o+1)*w])
		}
		off += w
	}
	return out
}

// Stack joins equal-shaped tensors along a new axis.
func Stack(axis int, ts ...*Tensor) *Tensor {
	if len(ts) == 0 {
		panic(&ShapeError{Op: "Stack", Msg: "no tensors"})
	}
	nd := len(ts[0].shape) + 1
	if axis < 0 {
		axis += nd
	}
	if axis < 0 || axis >= nd {
		panic(&ShapeError{Op: "Stack", Got: ts[0].shape, Msg: "axis out of range"})
	}
	ex := make([]*Tensor, len(ts))
	for i, t := range ts {
		if !SameShape(t, ts[0]) {
			panic(&ShapeError{Op: "Stack", Got: t.shape, Want: ts[0].shape})
		}
		s := append(append(append([]int(nil), t.shape[:axis]...), 1), t.shape[axis:]...)
		ex[i] = t.Reshape(s...)
	}
	return Concat(axis, ex...)
}

// SliceAxis returns a copy of x restricted to [lo, hi) along axis.
func SliceAxis(x *Tensor, axis, lo, hi int) *Tensor {
	axis = NormAxis("SliceAxis", len(x.shape), axis)
	if lo < 0 || hi < lo || hi > x.shape[axis] {
		panic(&ShapeError{Op: "SliceAxis", Got: x.shape, Msg: fmt.Sprintf("range [%d:%d] out of bounds on axis %d", lo, hi, axis)})
	}
	outer, n, inner := splitAt(x.shape, axis)
	shape := append([]int(nil), x.shape...)
	shape[axis] = hi - lo
	out := Zeros(shape...)
	w := (hi - lo) * inner
	for o := 0; o < outer; o++ {
		copy(out.data[o*w:(o+1)*w], x.data[(o*n+lo)*inner:])
	}
	return out
}

// Split cuts x along axis into pieces of the given sizes (which must add up
// to the axis length).
func Split(x *Tensor, axis int, sizes ...int) []*Tensor {
	axis = NormAxis("Split", len(x.shape), axis)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != x.shape[axis] {
		panic(&ShapeError{Op: "Split", Got: sizes, Want: []int{x.shape[axis]}, Msg: "sizes do not add up to the axis length"})
	}
	out := make([]*Tensor, len(sizes))
	lo := 0
	for i, s := range sizes {
		out[i] = SliceAxis(x, axis, lo, lo+s)
		lo += s
	}
	return out
}

// IndexSelect gathers the entries idx along axis (like torch.index_select
// and np.take).
func IndexSelect(x *Tensor, axis int, idx []int) *Tensor {
	axis = NormAxis("IndexSelect", len(x.shape), axis)
	outer, n, inner := splitAt(x.shape, axis)
	shape := append([]int(nil), x.shape...)
	shape[axis] = len(idx)
	out := Zeros(shape...)
	for o := 0; o < outer; o++ {
		for j, k := range idx {
			if k < 0 || k >= n {
				panic(&ShapeError{Op: "IndexSelect", Got: []int{k}, Want: []int{n}, Msg: "index out of range"})
			}
			copy(out.data[(o*len(idx)+j)*inner:(o*len(idx)+j+1)*inner], x.data[(o*n+k)*inner:])
		}
	}
	return out
}

// OneHot returns a [len(labels), depth] matrix with 1 at (i, labels[i]).
func OneHot(labels []int, depth int) *Tensor {
	out := Zeros(len(labels), depth)
	for i, l := range labels {
		if l < 0 || l >= depth {
			panic(&ShapeError{Op: "OneHot", Got: []int{l}, Want: []int{depth}, Msg: "label out of range"})
		}
		out.data[i*depth+l] = 1
	}
	return out
}

// Pad returns x padded with value: pads[i] = {before, after} for axis i.
func Pad(x *Tensor, pads [][2]int, value float32) *Tensor {
	if len(pads) != len(x.shape) {
		panic(&ShapeError{Op: "Pad", Got: []int{len(pads)}, Want: []int{len(x.shape)}, Msg: "one pad pair per axis"})
	}
	shape := make([]int, len(x.shape))
	for i, p := range pads {
		if p[0] < 0 || p[1] < 0 {
			panic(&ShapeError{Op: "Pad", Got: x.shape, Msg: "negative padding"})
		}
		shape[i] = x.shape[i] + p[0] + p[1]
	}
	out := Full(value, shape...)
	if len(x.data) == 0 {
		return out
	}
	nd := len(shape)
	if nd == 0 {
		out.data[0] = x.data[0]
		return out
	}
	inner := x.shape[nd-1]
	idx := make([]int, nd)
	for o := 0; o < len(x.data); o += inner {
		off := 0
		for i := 0; i < nd; i++ {
			off = off*shape[i] + idx[i] + pads[i][0]
		}
		copy(out.data[off:off+inner], x.data[o:o+inner])
		for ax := nd - 2; ax >= 0; ax-- {
			idx[ax]++
			if idx[ax] < x.shape[ax] {
				break
			}
			idx[ax] = 0
		}
	}
	return out
}
