package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

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
	gs := g.Shape()
	// Each contribution is computed into gradBuf (the input's own new
	// gradient buffer when it can be) and handed to addGrad.
	switch tensor.BinaryOp(n.op) {
	case tensor.OpAdd:
		t.addGrad(a, g)
		t.addGrad(b, g)
	case tensor.OpSub:
		t.addGrad(a, g)
		if d := t.gradBuf(b, gs); d != nil {
			t.addGrad(b, tensor.UnaryInto(d, tensor.OpNeg, g, 0))
		}
	case tensor.OpMul: // ∂(ab)/∂a = b, ∂(ab)/∂b = a
		if d := t.gradBuf(a, gs); d != nil {
			t.addGrad(a, tensor.BinaryInto(d, tensor.OpMul, g, b.Value))
		}
		if d := t.gradBuf(b, gs); d != nil {
			t.addGrad(b, tensor.BinaryInto(d, tensor.OpMul, g, a.Value))
		}
	case tensor.OpDiv: // ∂(a/b)/∂a = 1/b, ∂(a/b)/∂b = −a/b² = −out/b
		if d := t.gradBuf(a, gs); d != nil {
			t.addGrad(a, tensor.BinaryInto(d, tensor.OpDiv, g, b.Value))
		}
		if d := t.gradBuf(b, gs); d != nil {
			d = tensor.BinaryInto(d, tensor.OpMul, g, n.out.Value)
			d = tensor.BinaryInto(d, tensor.OpDiv, d, b.Value)
			t.addGrad(b, tensor.UnaryInto(d, tensor.OpNeg, d, 0))
		}
	case tensor.OpMaximum, tensor.OpMinimum:
		// The gradient goes to the winner; ties send it to a.
		cmp := tensor.OpGreaterEqual
		if tensor.BinaryOp(n.op) == tensor.OpMinimum {
			cmp = tensor.OpLessEqual
		}
		mask := tensor.BinaryInto(t.Alloc(gs...), cmp, a.Value, b.Value)
		if d := t.gradBuf(a, gs); d != nil {
			t.addGrad(a, tensor.BinaryInto(d, tensor.OpMul, g, mask))
		}
		if d := t.gradBuf(b, gs); d != nil {
			inv := tensor.UnaryInto(t.Alloc(gs...), tensor.OpAddScalar, tensor.UnaryInto(t.Alloc(gs...), tensor.OpNeg, mask, 0), 1)
			t.addGrad(b, tensor.BinaryInto(d, tensor.OpMul, g, inv))
		}
	case tensor.OpPow: // ∂(a^b)/∂a = b·a^(b−1), ∂(a^b)/∂b = a^b·ln a
		if d := t.gradBuf(a, gs); d != nil {
			bm1 := tensor.UnaryInto(t.Alloc(b.Value.Shape()...), tensor.OpAddScalar, b.Value, -1)
			d = tensor.BinaryInto(d, tensor.OpPow, a.Value, bm1)
			d = tensor.BinaryInto(d, tensor.OpMul, d, b.Value)
			t.addGrad(a, tensor.BinaryInto(d, tensor.OpMul, d, g))
		}
		if d := t.gradBuf(b, gs); d != nil {
			la := tensor.UnaryInto(t.Alloc(a.Value.Shape()...), tensor.OpLog, a.Value, 0)
			d = tensor.BinaryInto(d, tensor.OpMul, n.out.Value, la)
			t.addGrad(b, tensor.BinaryInto(d, tensor.OpMul, d, g))
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
	if gx, acc := t.gradOut(n.in[0]); gx != nil {
		lo, hi := n.bounds()
		kernels.ClipGrad(gx.Data(), n.in[0].Value.Data(), t.grads[n.out.id].Data(), lo, hi, acc)
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
	if d := t.gradBuf(n.in[0], g.Shape()); d != nil {
		kernels.Where(d.Data(), cond.Data(), g.Data(), zero.Data())
		t.addGrad(n.in[0], d)
	}
	if d := t.gradBuf(n.in[1], g.Shape()); d != nil {
		kernels.Where(d.Data(), cond.Data(), zero.Data(), g.Data())
		t.addGrad(n.in[1], d)
	}
}
