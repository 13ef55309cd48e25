package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// MatMul returns op(a)·op(b), where op transposes the last two axes when
// its flag is set; see tensor.MatMulShape for the batching rules.
//
// Backward, for C = A·B: ∂L/∂A = ∂L/∂C · Bᵀ and ∂L/∂B = Aᵀ · ∂L/∂C
// (summed over the batch for a shared operand).
func MatMul(a, b *Var, transA, transB bool) *Var {
	t := tapeOf(a, b)
	shape := tensor.MatMulShape(a.Value.Shape(), b.Value.Shape(), transA, transB)
	out := tensor.MatMulInto(alloc(t, shape), a.Value, b.Value, transA, transB, 0)
	n := node{back: backMatMul, in: [3]*Var{a, b}}
	n.setTransposed(transA, transB)
	return result(t, out, n)
}

// mat describes one operand of a batched GEMM: storage, per-batch stride (0
// for an operand shared by all batches), rows, columns.
type mat struct {
	d          []float32
	stride     int
	rows, cols int
}

func matOf(x *tensor.Tensor, batched bool) mat {
	s := x.Shape()
	r, c := s[len(s)-2], s[len(s)-1]
	m := mat{d: x.Data(), rows: r, cols: c}
	if batched && len(s) > 2 {
		m.stride = r * c
	}
	return m
}

// gemmAcc computes c_i = op(a_i)·op(b_i) + beta·c_i for every batch i (a
// c shared by the batches, stride 0, gets beta once and then accumulates).
func gemmAcc(batch int, ta, tb bool, a, b, c mat, beta float32) {
	k := a.cols
	if ta {
		k = a.rows
	}
	if batch == 0 && beta == 0 {
		clear(c.d) // no product: a new gradient buffer must still hold zeros
	}
	for i := 0; i < batch; i++ {
		kernels.Sgemm(ta, tb, c.rows, c.cols, k, 1, a.d[i*a.stride:], a.cols, b.d[i*b.stride:], b.cols, beta, c.d[i*c.stride:], c.cols)
		if c.stride == 0 {
			beta = 1
		}
	}
}

func backMatMul(t *Tape, n *node) {
	a, b := n.in[0], n.in[1]
	ta, tb := n.transposed()
	g := t.grads[n.out.id]
	ga, betaA := t.gemmOut(a)
	gb, betaB := t.gemmOut(b)
	as, bs, gs := a.Value.Shape(), b.Value.Shape(), g.Shape()
	if len(bs) == 2 && !ta {
		// a's batch axes were folded into rows: treat everything as 2-D.
		rows := tensor.Numel(gs[:len(gs)-1])
		k := as[len(as)-1]
		nn := gs[len(gs)-1]
		if ga != nil { // dA [rows, k] += dC [rows, n] · op(B)ᵀ
			kernels.Sgemm(false, !tb, rows, k, nn, 1, g.Data(), nn, b.Value.Data(), bs[1], betaA, ga.Data(), k)
		}
		if gb != nil {
			if !tb { // dB [k, n] += Aᵀ [k, rows] · dC
				kernels.Sgemm(true, false, k, nn, rows, 1, a.Value.Data(), k, g.Data(), nn, betaB, gb.Data(), nn)
			} else { // dB [n, k] += dCᵀ · A
				kernels.Sgemm(true, false, nn, k, rows, 1, g.Data(), nn, a.Value.Data(), k, betaB, gb.Data(), k)
			}
		}
		return
	}
	batch := tensor.Numel(gs[:len(gs)-2])
	gm := matOf(g, true)
	if ga != nil {
		am := matOf(ga, true)
		if !ta { // dA += dC · op(B)ᵀ
			gemmAcc(batch, false, !tb, gm, matOf(b.Value, true), am, betaA)
		} else { // dA (stored k×m) += op(B) · dCᵀ
			gemmAcc(batch, tb, true, matOf(b.Value, true), gm, am, betaA)
		}
	}
	if gb != nil {
		bm := matOf(gb, true)
		if !tb { // dB += op(A)ᵀ · dC
			gemmAcc(batch, !ta, false, matOf(a.Value, true), gm, bm, betaB)
		} else { // dB (stored n×k) += dCᵀ · op(A)
			gemmAcc(batch, true, ta, gm, matOf(a.Value, true), bm, betaB)
		}
	}
}

// Activation is an elementwise function fused into Dense and Conv2D. The
// zero value is the identity (linear).
type Activation struct {
	Op    tensor.UnaryOp
	Param float32 // LeakyRelu's slope, Elu's alpha
	On    bool    // false: linear
}

// Act returns the activation op with parameter p.
func Act(op tensor.UnaryOp, p float32) Activation { return Activation{Op: op, Param: p, On: true} }

// fromOutput reports whether the activation's derivative can be computed
// from its output alone, so that it can run in place.
func (a Activation) fromOutput() bool {
	switch a.Op {
	case tensor.OpRelu, tensor.OpTanh, tensor.OpSigmoid, tensor.OpElu:
		return true
	case tensor.OpLeakyRelu:
		return a.Param > 0
	}
	return false
}

// applyAct runs act on y in place (or via pre when the derivative needs the
// input) and returns the tensor to save for backward as "x".
func applyAct(t *Tape, act Activation, y *tensor.Tensor) (out, pre *tensor.Tensor) {
	if !act.On {
		return y, nil
	}
	if act.fromOutput() {
		kernels.Unary(act.Op, y.Data(), y.Data(), act.Param)
		return y, nil
	}
	out = alloc(t, y.Shape())
	kernels.Unary(act.Op, out.Data(), y.Data(), act.Param)
	return out, y
}

// biasAct finishes a fused layer's output y = x·W (or x ∗ k) [rows, f]:
// it adds the bias b (nil: none) and applies act in one pass where act can
// run in place, and returns what applyAct returns.
func biasAct(t *Tape, act Activation, y *tensor.Tensor, b *Var) (out, pre *tensor.Tensor) {
	var bias []float32
	if b != nil {
		bias = b.Value.Data()
	}
	if !act.On || act.fromOutput() {
		kernels.BiasAct(y.Data(), bias, act.On, act.Op, act.Param)
		return y, nil
	}
	kernels.BiasAct(y.Data(), bias, false, 0, 0)
	return applyAct(t, act, y)
}

// actGrad returns ∂L/∂z for z the pre-activation, given the output y, the
// saved pre-activation (nil when computed in place) and ∂L/∂y.
func actGrad(t *Tape, act Activation, y, pre, g *tensor.Tensor) *tensor.Tensor {
	if !act.On {
		return g
	}
	gz := t.Alloc(g.Shape()...)
	x := pre
	if x == nil {
		x = y
	}
	kernels.UnaryGradThreaded(act.Op, gz.Data(), x.Data(), y.Data(), g.Data(), act.Param, false)
	return gz
}

// Dense returns act(x·W + b) for x [..., in], W [in, out], b [out] (b may
// be nil), fused: one GEMM, the bias add and the activation in one pass over
// the output.
//
// Backward, with z = x·W + b and δ = ∂L/∂z = ∂L/∂y ⊙ act′:
// ∂L/∂W = xᵀ·δ, ∂L/∂b = Σ_rows δ, ∂L/∂x = δ·Wᵀ.
func Dense(x, w, b *Var, act Activation) *Var {
	t := tapeOf(x, w, b)
	xs, ws := x.Value.Shape(), w.Value.Shape()
	if len(ws) != 2 || len(xs) < 1 || xs[len(xs)-1] != ws[0] {
		panic(&tensor.ShapeError{Op: "Dense", Got: xs, Want: []int{-1, ws[0]}, Msg: "input features differ from kernel rows"})
	}
	if b != nil && b.Value.Len() != ws[1] {
		panic(&tensor.ShapeError{Op: "Dense", Got: b.Value.Shape(), Want: []int{ws[1]}, Msg: "bias length"})
	}
	rows := x.Value.Len() / ws[0]
	shape := append(append(make([]int, 0, len(xs)), xs[:len(xs)-1]...), ws[1])
	y := alloc(t, shape)
	kernels.Sgemm(false, false, rows, ws[1], ws[0], 1, x.Value.Data(), ws[0], w.Value.Data(), ws[1], 0, y.Data(), ws[1])
	out, pre := biasAct(t, act, y, b)
	n := node{back: backDense, in: [3]*Var{x, w, b}}
	n.setPreActivation(pre, false)
	n.setActivation(act)
	return result(t, out, n)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func backDense(t *Tape, n *node) {
	x, w, b := n.in[0], n.in[1], n.in[2]
	gz := actGrad(t, n.activation(), n.out.Value, n.preActivation(false), t.grads[n.out.id])
	ws := w.Value.Shape()
	in, out := ws[0], ws[1]
	rows := gz.Len() / out
	if gw, beta := t.gemmOut(w); gw != nil {
		kernels.Sgemm(true, false, in, out, rows, 1, x.Value.Data(), in, gz.Data(), out, beta, gw.Data(), out)
	}
	if gb, acc := t.gradOut(b); gb != nil {
		kernels.SumRows(gb.Data(), gz.Data(), acc)
	}
	if gx, beta := t.gemmOut(x); gx != nil {
		kernels.Sgemm(false, true, rows, in, out, 1, gz.Data(), out, w.Value.Data(), out, beta, gx.Data(), in)
	}
}

// Activate applies an elementwise activation (identity when act is off).
func Activate(x *Var, act Activation) *Var {
	if !act.On {
		return x
	}
	return unary(act.Op, x, act.Param)
}
