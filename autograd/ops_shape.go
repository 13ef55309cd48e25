package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Reshape returns x with a new shape (a view; one dimension may be -1).
func Reshape(x *Var, shape ...int) *Var {
	t := tapeOf(x)
	if t != nil && t.infer {
		return t.untracked(t.view(x.Value, shape))
	}
	out := x.Value.Reshape(shape...)
	return result(t, out, node{back: backReshape, in: [3]*Var{x}})
}

func backReshape(t *Tape, n *node) {
	gx, acc := t.gradOut(n.in[0])
	switch {
	case gx == nil:
	case acc:
		kernels.Axpy(1, t.grads[n.out.id].Data(), gx.Data())
	default:
		kernels.Copy(gx.Data(), t.grads[n.out.id].Data())
	}
}

// Flatten reshapes x [batch, ...] to [batch, features] (row-major, so an
// NHWC image flattens as Keras does).
func Flatten(x *Var) *Var {
	s := x.Value.Shape()
	return Reshape(x, s[0], -1)
}

// Transpose permutes the axes of x: axis i of the result is axis perm[i].
// Backward applies the inverse permutation.
func Transpose(x *Var, perm ...int) *Var {
	t := tapeOf(x)
	nd := x.Value.Rank()
	if len(perm) == 0 {
		perm = make([]int, nd)
		for i := range perm {
			perm[i] = nd - 1 - i
		}
	}
	shape := make([]int, nd)
	for i, p := range perm {
		shape[i] = x.Value.Shape()[p]
	}
	out := alloc(t, shape)
	kernels.Permute(out.Data(), x.Value.Data(), x.Value.Shape(), perm)
	n := node{back: backTranspose, in: [3]*Var{x}}
	if t != nil {
		n.i32 = make([]int32, nd)
		for i, p := range perm {
			n.i32[p] = int32(i) // inverse permutation
		}
	}
	return result(t, out, n)
}

func backTranspose(t *Tape, n *node) {
	gx, acc := t.gradOut(n.in[0])
	if gx == nil {
		return
	}
	g := t.grads[n.out.id]
	inv := make([]int, len(n.i32))
	for i, p := range n.i32 {
		inv[i] = int(p)
	}
	if !acc {
		kernels.Permute(gx.Data(), g.Data(), g.Shape(), inv)
		return
	}
	tmp := t.Alloc(gx.Shape()...)
	kernels.Permute(tmp.Data(), g.Data(), g.Shape(), inv)
	kernels.Axpy(1, tmp.Data(), gx.Data())
}

// Concat joins xs along axis. Backward slices ∂L/∂y back to each input.
func Concat(axis int, xs ...*Var) *Var {
	t := tapeOf(xs...)
	vals := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		vals[i] = x.Value
	}
	out := tensor.Concat(axis, vals...)
	axis = tensor.NormAxis("Concat", out.Rank(), axis)
	n := node{back: backConcat, ins: xs}
	n.setSlice(axis, 0, 0)
	return result(t, out, n)
}

func backConcat(t *Tape, n *node) {
	g := t.grads[n.out.id]
	axis, _, _ := n.slice()
	lo := 0
	for _, x := range n.ins {
		d := x.Value.Shape()[axis]
		if gx, acc := t.gradOut(x); gx != nil {
			part := tensor.SliceAxis(g, axis, lo, lo+d)
			if acc {
				kernels.Axpy(1, part.Data(), gx.Data())
			} else {
				copy(gx.Data(), part.Data())
			}
		}
		lo += d
	}
}

// SliceAxis returns x restricted to [lo, hi) along axis (a copy).
func SliceAxis(x *Var, axis, lo, hi int) *Var {
	t := tapeOf(x)
	out := tensor.SliceAxis(x.Value, axis, lo, hi)
	axis = tensor.NormAxis("SliceAxis", x.Value.Rank(), axis)
	n := node{back: backSliceAxis, in: [3]*Var{x}}
	n.setSlice(axis, lo, hi)
	return result(t, out, n)
}

func backSliceAxis(t *Tape, n *node) {
	gx := t.grad(n.in[0])
	if gx == nil {
		return
	}
	g := t.grads[n.out.id]
	axis, lo, hi := n.slice()
	xs := gx.Shape()
	outer, inner := 1, 1
	for _, d := range xs[:axis] {
		outer *= d
	}
	for _, d := range xs[axis+1:] {
		inner *= d
	}
	w := (hi - lo) * inner
	for o := 0; o < outer; o++ {
		kernels.Axpy(1, g.Data()[o*w:(o+1)*w], gx.Data()[(o*xs[axis]+lo)*inner:])
	}
}

// Gather returns rows idx of table [n, d] as [len(idx), d] (an embedding
// lookup); the gradient is scattered back and added. Indices out of range
// panic with a *tensor.ShapeError.
func Gather(table *Var, idx []int) *Var {
	t := tapeOf(table)
	s := table.Value.Shape()
	d := table.Value.Len() / max(s[0], 1)
	out := alloc(t, []int{len(idx), d})
	for i, k := range idx {
		if k < 0 || k >= s[0] {
			panic(&tensor.ShapeError{Op: "Gather", Got: []int{k}, Want: []int{s[0]}, Msg: "index out of range"})
		}
		copy(out.Data()[i*d:(i+1)*d], table.Value.Data()[k*d:])
	}
	n := node{back: backGather, in: [3]*Var{table}}
	if t != nil {
		n.i32 = make([]int32, len(idx))
		for i, k := range idx {
			n.i32[i] = int32(k)
		}
	}
	return result(t, out, n)
}

func backGather(t *Tape, n *node) {
	gt := t.grad(n.in[0])
	if gt == nil {
		return
	}
	g := t.grads[n.out.id]
	d := g.Shape()[1]
	for i, k := range n.i32 {
		kernels.Axpy(1, g.Data()[i*d:(i+1)*d], gt.Data()[int(k)*d:int(k+1)*d])
	}
}
