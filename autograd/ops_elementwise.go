package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// accumulate adds g (the output gradient, of the broadcast shape) into the
// accumulator acc of an input's shape, summing over the broadcast axes.
// This is the one helper that reduces a broadcast gradient.
func (t *Tape) accumulate(acc, g *tensor.Tensor) {
	if acc == nil {
		return
	}
	if tensor.SameShape(acc, g) || acc.Len() == g.Len() {
		kernels.Axpy(1, g.Data(), acc.Data())
		return
	}
	as, gs := acc.Shape(), g.Shape()
	// Fast path: a trailing row vector (a bias): acc [n], g [..., n].
	if len(as) >= 1 && tensor.Numel(as) == gs[len(gs)-1] && (len(as) == 1 || tensor.Numel(as[:len(as)-1]) == 1) {
		kernels.SumRowsAcc(acc.Data(), g.Data())
		return
	}
	var axes []int
	off := len(gs) - len(as)
	for i := range gs {
		if i < off || (as[i-off] == 1 && gs[i] != 1) {
			axes = append(axes, i)
		}
	}
	tmp := t.Alloc(tensor.ReducedShape(gs, axes, false)...)
	tensor.ReduceInto(tmp, tensor.ReduceSum, g, axes, false)
	kernels.Axpy(1, tmp.Data(), acc.Data())
}

// Binary op codes stored in node.op.
func binary(op tensor.BinaryOp, a, b *Var) *Var {
	t := tapeOf(a, b)
	shape := tensor.BroadcastShape(opName(op), a.Value.Shape(), b.Value.Shape())
	out := tensor.BinaryInto(alloc(t, shape), op, a.Value, b.Value)
	return result(t, out, node{back: backBinary, in: [3]*Var{a, b}, op: uint8(op)})
}

func backBinary(t *Tape, n *node) {
	a, b := n.in[0], n.in[1]
	g := t.grads[n.out.id]
	ga, gb := t.grad(a), t.grad(b)
	switch tensor.BinaryOp(n.op) {
	case tensor.OpAdd:
		t.accumulate(ga, g)
		t.accumulate(gb, g)
	case tensor.OpSub:
		t.accumulate(ga, g)
		if gb != nil {
			tmp := tensor.UnaryInto(t.Alloc(g.Shape()...), tensor.OpNeg, g, 0)
			t.accumulate(gb, tmp)
		}
	case tensor.OpMul: // ∂(ab)/∂a = b, ∂(ab)/∂b = a
		if ga != nil {
			t.accumulate(ga, tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpMul, g, b.Value))
		}
		if gb != nil {
			t.accumulate(gb, tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpMul, g, a.Value))
		}
	case tensor.OpDiv: // ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
		if ga != nil {
			t.accumulate(ga, tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpDiv, g, b.Value))
		}
		if gb != nil {
			tmp := tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpMul, g, n.out.Value)
			tmp = tensor.BinaryInto(tmp, tensor.OpDiv, tmp, b.Value)
			t.accumulate(gb, tensor.UnaryInto(tmp, tensor.OpNeg, tmp, 0))
		}
	case tensor.OpMaximum, tensor.OpMinimum:
		// The gradient goes to the winner; ties send it to a.
		cmp := tensor.OpGreaterEqual
		if tensor.BinaryOp(n.op) == tensor.OpMinimum {
			cmp = tensor.OpLessEqual
		}
		mask := tensor.BinaryInto(t.Alloc(g.Shape()...), cmp, a.Value, b.Value)
		if ga != nil {
			t.accumulate(ga, tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpMul, g, mask))
		}
		if gb != nil {
			inv := tensor.UnaryInto(t.Alloc(g.Shape()...), tensor.OpAddScalar, tensor.UnaryInto(t.Alloc(g.Shape()...), tensor.OpNeg, mask, 0), 1)
			t.accumulate(gb, tensor.BinaryInto(inv, tensor.OpMul, g, inv))
		}
	case tensor.OpPow: // ∂(a^b)/∂a = b·a^(b−1), ∂(a^b)/∂b = a^b·ln a
		if ga != nil {
			bm1 := tensor.UnaryInto(t.Alloc(b.Value.Shape()...), tensor.OpAddScalar, b.Value, -1)
			d := tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpPow, a.Value, bm1)
			d = tensor.BinaryInto(d, tensor.OpMul, d, b.Value)
			t.accumulate(ga, tensor.BinaryInto(d, tensor.OpMul, d, g))
		}
		if gb != nil {
			la := tensor.UnaryInto(t.Alloc(a.Value.Shape()...), tensor.OpLog, a.Value, 0)
			d := tensor.BinaryInto(t.Alloc(g.Shape()...), tensor.OpMul, n.out.Value, la)
			t.accumulate(gb, tensor.BinaryInto(d, tensor.OpMul, d, g))
		}
	default:
		// comparisons: zero gradient
	}
}

func opName(op tensor.BinaryOp) string {
	switch op {
	case tensor.OpAdd:
		return "Add"
	case tensor.OpSub:
		return "Sub"
	case tensor.OpMul:
		return "Mul"
	case tensor.OpDiv:
		return "Div"
	}
	return "Binary"
}

// Add returns a + b (NumPy broadcasting).
func Add(a, b *Var) *Var { return binary(tensor.OpAdd, a, b) }

// Sub returns a − b (NumPy broadcasting).
func Sub(a, b *Var) *Var { return binary(tensor.OpSub, a, b) }

// Mul returns a ⊙ b (NumPy broadcasting).
func Mul(a, b *Var) *Var { return binary(tensor.OpMul, a, b) }

// Div returns a / b (NumPy broadcasting).
func Div(a, b *Var) *Var { return binary(tensor.OpDiv, a, b) }

// Pow returns a^b (NumPy broadcasting); a must be positive where the
// gradient with respect to b is needed.
func Pow(a, b *Var) *Var { return binary(tensor.OpPow, a, b) }

// Maximum returns max(a, b) elementwise; the gradient goes to the larger
// operand (to a on ties).
func Maximum(a, b *Var) *Var { return binary(tensor.OpMaximum, a, b) }

// Minimum returns min(a, b) elementwise; the gradient goes to the smaller
// operand (to a on ties).
func Minimum(a, b *Var) *Var { return binary(tensor.OpMinimum, a, b) }

// Compare returns 1 where the comparison op (tensor.OpGreater, ...) holds
// and 0 elsewhere; it has no gradient.
func Compare(op tensor.BinaryOp, a, b *Var) *Var {
	return Const(tensor.BinaryInto(nil, op, a.Value, b.Value))
}

func unary(op tensor.UnaryOp, x *Var, p float32) *Var {
	t := tapeOf(x)
	out := alloc(t, x.Value.Shape())
	kernels.UnaryThreaded(op, out.Data(), x.Value.Data(), p)
	n := node{back: backUnary, in: [3]*Var{x}}
	n.setUnary(op, p)
	return result(t, out, n)
}

func backUnary(t *Tape, n *node) {
	x := n.in[0]
	if gx, acc := t.gradOut(x); gx != nil {
		op, p := n.unary()
		kernels.UnaryGradThreaded(op, gx.Data(), x.Value.Data(), n.out.Value.Data(), t.grads[n.out.id].Data(), p, acc)
	}
}

// Neg returns −x.
func Neg(x *Var) *Var { return unary(tensor.OpNeg, x, 0) }

// Abs returns |x| (gradient 0 at 0).
func Abs(x *Var) *Var { return unary(tensor.OpAbs, x, 0) }

// Exp returns eˣ; its gradient reuses the output.
func Exp(x *Var) *Var { return unary(tensor.OpExp, x, 0) }

// Log returns ln x.
func Log(x *Var) *Var { return unary(tensor.OpLog, x, 0) }

// Sqrt returns √x; its gradient is 1/(2√x) from the output.
func Sqrt(x *Var) *Var { return unary(tensor.OpSqrt, x, 0) }

// Square returns x².
func Square(x *Var) *Var { return unary(tensor.OpSquare, x, 0) }

// Tanh returns tanh x; its gradient is 1 − y².
func Tanh(x *Var) *Var { return unary(tensor.OpTanh, x, 0) }

// Sigmoid returns σ(x); its gradient is y(1 − y).
func Sigmoid(x *Var) *Var {
	y := unary(tensor.OpSigmoid, x, 0)
	y.from, y.fromKind = x, FromSigmoid
	return y
}

// Relu returns max(x, 0); its gradient is taken as 0 at 0.
func Relu(x *Var) *Var { return unary(tensor.OpRelu, x, 0) }

// LeakyRelu returns x for x > 0 and slope·x otherwise.
func LeakyRelu(x *Var, slope float32) *Var { return unary(tensor.OpLeakyRelu, x, slope) }

// Elu returns x for x > 0 and alpha·(eˣ − 1) otherwise.
func Elu(x *Var, alpha float32) *Var { return unary(tensor.OpElu, x, alpha) }

// Gelu returns the tanh approximation of GELU.
func Gelu(x *Var) *Var { return unary(tensor.OpGelu, x, 0) }

// Softplus returns ln(1 + eˣ); its gradient is σ(x).
func Softplus(x *Var) *Var { return unary(tensor.OpSoftplus, x, 0) }

// PowScalar returns x^p.
func PowScalar(x *Var, p float32) *Var { return unary(tensor.OpPowScalar, x, p) }

// AddScalar returns x + s.
func AddScalar(x *Var, s float32) *Var { return unary(tensor.OpAddScalar, x, s) }

// Scale returns s·x.
func Scale(x *Var, s float32) *Var { return unary(tensor.OpMulScalar, x, s) }

// Clip returns x limited to [lo, hi]; the gradient passes where x is inside.
func Clip(x *Var, lo, hi float32) *Var {
	t := tapeOf(x)
	out := alloc(t, x.Value.Shape())
	kernels.Clip(out.Data(), x.Value.Data(), lo, hi)
	n := node{back: backClip, in: [3]*Var{x}}
	n.setBounds(lo, hi)
	return result(t, out, n)
}

func backClip(t *Tape, n *node) {
	if gx := t.grad(n.in[0]); gx != nil {
		lo, hi := n.bounds()
		kernels.ClipGradAcc(gx.Data(), n.in[0].Value.Data(), t.grads[n.out.id].Data(), lo, hi)
	}
}

// Where returns a where cond (a constant mask) is non-zero and b elsewhere;
// gradients flow to the chosen operand. All three shapes must be equal.
func Where(cond *tensor.Tensor, a, b *Var) *Var {
	t := tapeOf(a, b)
	if !tensor.SameShape(cond, a.Value) || !tensor.SameShape(a.Value, b.Value) {
		panic(&tensor.ShapeError{Op: "Where", Got: b.Value.Shape(), Want: a.Value.Shape(), Msg: "condition and operands must have one shape"})
	}
	out := alloc(t, a.Value.Shape())
	kernels.Where(out.Data(), cond.Data(), a.Value.Data(), b.Value.Data())
	n := node{back: backWhere, in: [3]*Var{a, b}}
	n.setCondition(cond)
	return result(t, out, n)
}

func backWhere(t *Tape, n *node) {
	g := t.grads[n.out.id]
	cond := n.condition()
	zero := t.allocZero(g.Shape())
	if ga := t.grad(n.in[0]); ga != nil {
		tmp := t.Alloc(g.Shape()...)
		kernels.Where(tmp.Data(), cond.Data(), g.Data(), zero.Data())
		kernels.Axpy(1, tmp.Data(), ga.Data())
	}
	if gb := t.grad(n.in[1]); gb != nil {
		tmp := t.Alloc(g.Shape()...)
		kernels.Where(tmp.Data(), cond.Data(), zero.Data(), g.Data())
		kernels.Axpy(1, tmp.Data(), gb.Data())
	}
}
