package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Sum returns the sum of x over axes (all when none), keeping reduced axes
// as size 1 with keepdims. Backward broadcasts ∂L/∂y back over the axes.
func Sum(x *Var, keepdims bool, axes ...int) *Var {
	return reduceOp(x, kernels.ReduceSum, 1, keepdims, axes)
}

// Mean returns the mean of x over axes (all when none).
func Mean(x *Var, keepdims bool, axes ...int) *Var {
	norm := tensor.NormAxes("Mean", x.Value.Rank(), axes)
	n := 1
	for _, a := range norm {
		n *= x.Value.Shape()[a]
	}
	return reduceOp(x, kernels.ReduceSum, 1/float32(n), keepdims, norm)
}

func reduceOp(x *Var, op kernels.ReduceOp, scale float32, keepdims bool, axes []int) *Var {
	t := tapeOf(x)
	norm := tensor.NormAxes("Reduce", x.Value.Rank(), axes)
	out := alloc(t, tensor.ReducedShape(x.Value.Shape(), norm, keepdims))
	tensor.ReduceInto(out, op, x.Value, norm, keepdims)
	if scale != 1 {
		kernels.Scale(scale, out.Data())
	}
	n := node{back: backReduce, in: [3]*Var{x}}
	if t != nil {
		n.setReduce(op, scale, norm)
	}
	return result(t, out, n)
}

func backReduce(t *Tape, n *node) {
	x := n.in[0]
	op, scale, axesMask := n.reduce()
	if op == kernels.ReduceSum && n.out.Value.Len() == 1 {
		backSumAll(t, x, scale*t.grads[n.out.id].Data()[0])
		return
	}
	gx := t.grad(x)
	if gx == nil {
		return
	}
	g := t.grads[n.out.id]
	xs := x.Value.Shape()
	kept := t.pool.get(keptShape(xs, axesMask))
	copy(kept.Data(), g.Data())
	defer func() { t.owned = append(t.owned, kept) }()
	switch op {
	case kernels.ReduceSum:
		if scale != 1 {
			kernels.Scale(scale, kept.Data())
		}
		tmp := tensor.BinaryInto(t.Alloc(xs...), tensor.OpAdd, gx, kept)
		copy(gx.Data(), tmp.Data())
	default: // max/min: the gradient goes to every element equal to the extreme
		ext := t.pool.get(kept.Shape())
		copy(ext.Data(), n.out.Value.Data())
		t.owned = append(t.owned, ext)
		mask := tensor.BinaryInto(t.Alloc(xs...), tensor.OpEqual, x.Value, ext)
		tmp := tensor.BinaryInto(t.Alloc(xs...), tensor.OpMul, mask, kept)
		kernels.Axpy(1, tmp.Data(), gx.Data())
	}
}

// backSumAll adds c to every element of x's gradient: the backward pass
// of a sum (or mean) over every element, written without a broadcast
// (it was 5% of the attention_256 workload's CPU through BinaryInto).
func backSumAll(t *Tape, x *Var, c float32) {
	gx, acc := t.gradOut(x)
	if gx == nil {
		return
	}
	d := gx.Data()
	if acc {
		kernels.Unary(kernels.AddScalar, d, d, c)
	} else {
		kernels.Fill(d, c)
	}
}

// keptShape returns xs with the axes in mask set to 1.
func keptShape(xs []int, mask int) []int {
	s := append([]int(nil), xs...)
	for i := range s {
		if mask&(1<<i) != 0 {
			s[i] = 1
		}
	}
	return s
}

// Max returns the maximum of x over axes; the gradient goes to the maximal
// elements (to all of them on ties).
func Max(x *Var, keepdims bool, axes ...int) *Var {
	return reduceOp(x, kernels.ReduceMax, 1, keepdims, axes)
}

// Min returns the minimum of x over axes.
func Min(x *Var, keepdims bool, axes ...int) *Var {
	return reduceOp(x, kernels.ReduceMin, 1, keepdims, axes)
}

// Variance returns the biased variance mean((x − mean x)²) over axes,
// composed from primitives.
func Variance(x *Var, keepdims bool, axes ...int) *Var {
	m := Mean(x, true, axes...)
	return Mean(Square(Sub(x, m)), keepdims, axes...)
}

// LogSumExp returns log Σ exp(x) along axis, stably, composed as
// log-softmax's normalizer: lse = x − logsoftmax(x) at any position.
func LogSumExp(x *Var, axis int, keepdims bool) *Var {
	m := Const(tensor.Max(x.Value, true, axis))
	s := Sum(Exp(Sub(x, m)), true, axis)
	out := Add(Log(s), m)
	if !keepdims {
		out = Reshape(out, tensor.ReducedShape(x.Value.Shape(), tensor.NormAxes("LogSumExp", x.Value.Rank(), []int{axis}), false)...)
	}
	return out
}

// Softmax returns exp(x)/Σ exp(x) along axis. Backward:
// ∂L/∂x = y ⊙ (∂L/∂y − Σ ∂L/∂y ⊙ y).
func Softmax(x *Var, axis int) *Var { return softmaxOp(x, axis, false) }

// LogSoftmax returns x − log Σ exp(x) along axis. Backward:
// ∂L/∂x = ∂L/∂y − softmax(x) Σ ∂L/∂y.
func LogSoftmax(x *Var, axis int) *Var { return softmaxOp(x, axis, true) }

func softmaxOp(x *Var, axis int, log bool) *Var {
	t := tapeOf(x)
	axis = tensor.NormAxis("Softmax", x.Value.Rank(), axis)
	if t != nil && axis != x.Value.Rank()-1 {
		// Move the axis last, apply, move it back: keeps one backward rule.
		perm := make([]int, x.Value.Rank())
		for i := range perm {
			perm[i] = i
		}
		perm[axis], perm[len(perm)-1] = perm[len(perm)-1], perm[axis]
		return Transpose(softmaxOp(Transpose(x, perm...), -1, log), perm...)
	}
	out := tensor.SoftmaxInto(alloc(t, x.Value.Shape()), x.Value, axis, log)
	n := node{back: backSoftmax, in: [3]*Var{x}}
	n.setLogSoftmax(log)
	y := result(t, out, n)
	if !log && axis == x.Value.Rank()-1 {
		y.from, y.fromKind = x, FromSoftmax
	}
	return y
}

func backSoftmax(t *Tape, n *node) {
	gx, acc := t.gradOut(n.in[0])
	if gx == nil {
		return
	}
	s := gx.Shape()
	cols := s[len(s)-1]
	kernels.SoftmaxGrad(gx.Data(), n.out.Value.Data(), t.grads[n.out.id].Data(), gx.Len()/max(cols, 1), cols, n.logSoftmax(), acc)
}
