package tensor

import (
	"math"
	"slices"

	"github.com/strata-dl/strata/internal/kernels"
)

// NormAxes returns axes made non-negative, sorted and deduplicated; no axes
// means all axes. It panics with a *ShapeError on an axis out of range.
func NormAxes(op string, rank int, axes []int) []int {
	if len(axes) == 0 {
		out := make([]int, rank)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, len(axes))
	for _, a := range axes {
		if a < 0 {
			a += rank
		}
		if a < 0 || a >= rank {
			panic(&ShapeError{Op: op, Got: axes, Msg: "axis out of range for rank " + itoa(rank)})
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// NormAxis is NormAxes for one axis: axis, or axis + rank when negative.
// It panics with a *ShapeError naming op when the axis is out of range.
func NormAxis(op string, rank, axis int) int {
	a := axis
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		panic(&ShapeError{Op: op, Got: []int{axis}, Msg: "axis out of range for rank " + itoa(rank)})
	}
	return a
}

// ReducedShape returns shape with axes removed, or set to 1 with keepdims.
func ReducedShape(shape, axes []int, keepdims bool) []int {
	out := make([]int, 0, len(shape))
	for i, d := range shape {
		if slices.Contains(axes, i) {
			if keepdims {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	return out
}

// splitAt views shape as [outer, n, inner] around axis.
func splitAt(shape []int, axis int) (outer, n, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

// ReduceOp is a reduction that ReduceInto applies: ReduceSum, ReduceMax or
// ReduceMin.
type ReduceOp = kernels.ReduceOp

// The reductions.
const (
	ReduceSum = kernels.ReduceSum // Σ
	ReduceMax = kernels.ReduceMax // max
	ReduceMin = kernels.ReduceMin // min
)

// ReduceInto reduces x over the normalized axes into dst (shape
// ReducedShape(x, axes, keepdims) or any shape of that many elements) and
// returns dst; a nil dst is allocated.
func ReduceInto(dst *Tensor, op ReduceOp, x *Tensor, axes []int, keepdims bool) *Tensor {
	axes = NormAxes("Reduce", len(x.shape), axes)
	if dst == nil {
		dst = Zeros(ReducedShape(x.shape, axes, keepdims)...)
	}
	for _, a := range axes {
		if x.shape[a] == 0 {
			panic(&ShapeError{Op: "Reduce", Got: x.shape, Msg: "reduction over an empty axis"})
		}
	}
	// Merge runs of adjacent axes so that most reductions take one pass.
	cur := x
	shape := append([]int(nil), x.shape...)
	for i := len(axes) - 1; i >= 0; {
		j := i
		for j > 0 && axes[j-1] == axes[j]-1 {
			j--
		}
		lo, hi := axes[j], axes[i]
		outer, inner := 1, 1
		for _, d := range shape[:lo] {
			outer *= d
		}
		n := 1
		for _, d := range shape[lo : hi+1] {
			n *= d
		}
		for _, d := range shape[hi+1:] {
			inner *= d
		}
		for k := lo; k <= hi; k++ {
			shape[k] = 1
		}
		var out []float32
		if j == 0 {
			out = dst.data
		} else {
			out = make([]float32, outer*inner)
		}
		kernels.Reduce(op, out, cur.data, outer, n, inner)
		cur = &Tensor{shape: append([]int(nil), shape...), data: out}
		i = j - 1
	}
	if len(axes) == 0 {
		copy(dst.data, x.data)
	}
	return dst
}

// Sum returns the sum over axes (all axes when none are given).
func Sum(x *Tensor, keepdims bool, axes ...int) *Tensor {
	return ReduceInto(nil, ReduceSum, x, axes, keepdims)
}

// Max returns the maximum over axes (all axes when none are given).
func Max(x *Tensor, keepdims bool, axes ...int) *Tensor {
	return ReduceInto(nil, ReduceMax, x, axes, keepdims)
}

// Min returns the minimum over axes (all axes when none are given).
func Min(x *Tensor, keepdims bool, axes ...int) *Tensor {
	return ReduceInto(nil, ReduceMin, x, axes, keepdims)
}

// Mean returns the mean over axes (all axes when none are given).
func Mean(x *Tensor, keepdims bool, axes ...int) *Tensor {
	norm := NormAxes("Mean", len(x.shape), axes)
	s := ReduceInto(nil, ReduceSum, x, norm, keepdims)
	n := 1
	for _, a := range norm {
		n *= x.shape[a]
	}
	kernels.Scale(1/float32(n), s.data)
	return s
}

// Var returns the (biased, as Keras and NumPy's default) variance over axes:
// mean((x − mean(x))²).
func Var(x *Tensor, keepdims bool, axes ...int) *Tensor {
	m := Mean(x, true, axes...)
	d := Sub(x, m)
	return Mean(UnaryInto(d, OpSquare, d, 0), keepdims, axes...)
}

// LogSumExp returns log Σ exp(x) over axes, computed stably as
// m + log Σ exp(x − m) with m the maximum.
func LogSumExp(x *Tensor, keepdims bool, axes ...int) *Tensor {
	m := Max(x, true, axes...)
	for i, v := range m.data {
		if math.IsInf(float64(v), 0) {
			m.data[i] = 0
		}
	}
	e := Exp(Sub(x, m))
	s := Sum(e, true, axes...)
	out := Add(UnaryInto(s, OpLog, s, 0), m)
	if !keepdims {
		out = out.Reshape(ReducedShape(x.shape, NormAxes("LogSumExp", len(x.shape), axes), false)...)
	}
	return out
}

// ArgMax returns the index of the largest element along axis (the first on
// ties), as a float32 tensor with that axis removed.
func ArgMax(x *Tensor, axis int) *Tensor {
	axis = NormAxis("ArgMax", len(x.shape), axis)
	outer, n, inner := splitAt(x.shape, axis)
	idx := make([]int, outer*inner)
	kernels.ArgMax(idx, x.data, outer, n, inner)
	out := Zeros(ReducedShape(x.shape, []int{axis}, false)...)
	for i, v := range idx {
		out.data[i] = float32(v)
	}
	return out
}

// SoftmaxInto computes softmax (or log-softmax with log set) of x along axis
// into dst (x's shape; allocated when nil) and returns dst.
func SoftmaxInto(dst *Tensor, x *Tensor, axis int, log bool) *Tensor {
	axis = NormAxis("Softmax", len(x.shape), axis)
	if dst == nil {
		dst = Zeros(x.shape...)
	}
	outer, n, inner := splitAt(x.shape, axis)
	kernels.Softmax(dst.data, x.data, outer, n, inner, log)
	return dst
}

// Softmax returns exp(x)/Σexp(x) along axis, computed stably.
func Softmax(x *Tensor, axis int) *Tensor { return SoftmaxInto(nil, x, axis, false) }

// LogSoftmax returns x − logsumexp(x) along axis.
func LogSoftmax(x *Tensor, axis int) *Tensor { return SoftmaxInto(nil, x, axis, true) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b []byte
	for i > 0 {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}
