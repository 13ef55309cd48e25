package autograd

import (
	"fmt"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Fused recurrent ops: SimpleRNN, LSTM and GRU over a whole sequence, with
// backpropagation through time, in the Keras layout (kernel W [in, G·u],
// recurrent kernel R [u, G·u], gates side by side).
//
// Forward does one GEMM for the input projection of every gate over the
// whole sequence ([batch·time, in]·[in, G·u]), one GEMM per step for the
// recurrence ([batch, u]·[u, G·u]) and the gate math of a step in one
// fused pass (internal/kernels/rnn.go). It keeps, time-major, what
// backward needs: the inputs, the hidden states, the activated gates and
// (LSTM) the cells.
//
// Backward runs the steps in reverse with one GEMM per step for ∂L/∂h_{t−1}
// = δ_t·Rᵀ, collecting every step's gate gradient δ_t in one
// [time·batch, G·u] buffer, then computes ∂L/∂W = Xᵀ·δ, ∂L/∂R = H_prevᵀ·δ
// and ∂L/∂x = δ·Wᵀ with one GEMM each, and ∂L/∂b as column sums of δ.

// RecurrentActivation is an activation of a fused recurrent op. The zero
// value is the op's default: tanh for RNNOptions.Activation, sigmoid for
// RNNOptions.RecurrentActivation. ResolveRecurrentActivation maps the
// Keras names of the activation vocabulary (Activations) to these.
type RecurrentActivation uint8

// Recurrent activations (Keras names in brackets).
const (
	RecDefault     RecurrentActivation = iota
	RecTanh                            // tanh
	RecSigmoid                         // sigmoid
	RecHardSigmoid                     // hard_sigmoid, Keras 3: relu6(x + 3)/6
	RecRelu                            // relu
	RecLinear                          // linear
)

func (a RecurrentActivation) kernel(def kernels.RecAct) kernels.RecAct {
	switch a {
	case RecTanh:
		return kernels.RecTanh
	case RecSigmoid:
		return kernels.RecSigmoid
	case RecHardSigmoid:
		return kernels.RecHardSigmoid
	case RecRelu:
		return kernels.RecRelu
	case RecLinear:
		return kernels.RecLinear
	}
	return def
}

// RNNOptions configures SimpleRNN, LSTM and GRU. The zero value runs
// forward in time, returns the last output only, uses tanh and sigmoid and
// no dropout.
type RNNOptions struct {
	Activation          RecurrentActivation // candidate and output activation [tanh]
	RecurrentActivation RecurrentActivation // gate activation (LSTM, GRU) [sigmoid]
	ReturnSequences     bool                // output every step [batch, time, u], not only the last [batch, u]
	// GoBackwards processes the sequence from its last step to its first.
	// Output step s is then the s-th step processed (input step time−1−s),
	// as in Keras, unless RestoreOrder is set: then output step s belongs
	// to input step s (what Bidirectional needs).
	GoBackwards  bool
	RestoreOrder bool
	// InputMask [batch, in] multiplies the input at every step, and
	// RecurrentMask [batch, u] the previous hidden state where it enters
	// the recurrent kernel (not the LSTM cell nor the GRU's carry z⊙h):
	// dropout masks held fixed across time (Gal & Ghahramani 2016). Nil:
	// no mask. They are constants (no gradient).
	InputMask, RecurrentMask *tensor.Tensor
}

// SimpleRNN runs a fully connected recurrence over x [batch, time, in]:
//
//	h_t = act(x_t·W + h_{t−1}·R + b)
//
// with kernel W [in, u], recurrent kernel R [u, u], bias b [u] (nil: none)
// and initial state h0 [batch, u] (nil: zeros). It returns the output
// (h_t for every step [batch, time, u] with ReturnSequences, else the last
// [batch, u]) and the final state h [batch, u]. Shape mismatches panic with
// a *tensor.ShapeError.
func SimpleRNN(x, w, r, b, h0 *Var, o RNNOptions) (out, h *Var) {
	out, h, _ = rnnOp(1, x, w, r, b, h0, nil, o)
	return out, h
}

// LSTM runs a long short-term memory layer (Hochreiter & Schmidhuber 1997)
// over x [batch, time, in], gates in Keras order i, f, c, o:
//
//	[i f c̃ o] = x_t·W + h_{t−1}·R + b
//	i, f, o = rec(i), rec(f), rec(o);  c̃ = act(c̃)
//	c_t = f⊙c_{t−1} + i⊙c̃;  h_t = o⊙act(c_t)
//
// with kernel W [in, 4u], recurrent kernel R [u, 4u], bias b [4u] (nil:
// none) and initial states h0, c0 [batch, u] (nil: zeros). It returns the
// output (see SimpleRNN) and the final states h and c [batch, u]. Shape
// mismatches panic with a *tensor.ShapeError.
func LSTM(x, w, r, b, h0, c0 *Var, o RNNOptions) (out, h, c *Var) {
	return rnnOp(4, x, w, r, b, h0, c0, o)
}

// GRU runs a gated recurrent unit (Cho et al. 2014) over x [batch, time,
// in] in the Keras reset_after=True form (the CuDNN one), gates z, r, h:
//
//	[xz xr xh] = x_t·W + b_in;  [hz hr hh] = h_{t−1}·R + b_rec
//	z = rec(xz + hz);  r = rec(xr + hr)
//	ĥ = act(xh + r⊙hh)
//	h_t = z⊙h_{t−1} + (1 − z)⊙ĥ
//
// with kernel W [in, 3u], recurrent kernel R [u, 3u], bias b [2, 3u] (row
// 0 input, row 1 recurrent; nil: none) and initial state h0 [batch, u]
// (nil: zeros). It returns the output (see SimpleRNN) and the final state
// h [batch, u]. Shape mismatches panic with a *tensor.ShapeError.
func GRU(x, w, r, b, h0 *Var, o RNNOptions) (out, h *Var) {
	out, h, _ = rnnOp(3, x, w, r, b, h0, nil, o)
	return out, h
}

// rnnGeom is the geometry of one recurrent op and the layout of its
// workspace (offsets in float32s), recomputed by backward from the shapes.
type rnnGeom struct {
	gates                int // 1 SimpleRNN, 4 LSTM, 3 GRU
	b, steps, in, u      int
	retSeq, back         bool
	restore              bool
	inMask, recMask      bool
	act, rec             kernels.RecAct
	xtm, hs, hm, c, tc   int // [T,B,in], [T+1,B,u], [T,B,u], [T+1,B,u], [T,B,u]
	g, rh, scratch       int // [T,B,G·u], [T,B,u], [B,G·u]
	im, rm, size, outLen int // masks [B,in], [B,u]; workspace size; output length
}

const (
	rnnRetSeq = 1 << iota
	rnnBack
	rnnRestore
	rnnInMask
	rnnRecMask
)

func newRNNGeom(gates int, xs []int, u, flags int, act, rec kernels.RecAct) rnnGeom {
	g := rnnGeom{gates: gates, b: xs[0], steps: xs[1], in: xs[2], u: u, act: act, rec: rec,
		retSeq: flags&rnnRetSeq != 0, back: flags&rnnBack != 0, restore: flags&rnnRestore != 0,
		inMask: flags&rnnInMask != 0, recMask: flags&rnnRecMask != 0}
	T, B := g.steps, g.b
	off := 0
	take := func(n int) int { o := off; off += n; return o }
	g.xtm = take(T * B * g.in)
	g.hs = take((T + 1) * B * u)
	g.hm = -1
	if g.recMask {
		g.hm = take(T * B * u)
		g.rm = take(B * u)
	}
	if g.inMask {
		g.im = take(B * g.in)
	}
	switch gates {
	case 4:
		g.g = take(T * B * 4 * u)
		g.c = take((T + 1) * B * u)
		g.tc = take(T * B * u)
	case 3:
		g.g = take(T * B * 3 * u)
		g.rh = take(T * B * u)
		g.scratch = take(B * 3 * u)
	}
	g.size = off
	g.outLen = B * u
	if g.retSeq {
		g.outLen = B * T * u
	}
	return g
}

// srcStep is the input step processed at step s.
func (g *rnnGeom) srcStep(s int) int {
	if g.back {
		return g.steps - 1 - s
	}
	return s
}

// outStep is the output step written by step s.
func (g *rnnGeom) outStep(s int) int {
	if g.back && g.restore {
		return g.steps - 1 - s
	}
	return s
}

// hin is the hidden state entering the recurrent kernel at each step,
// [T, B, u] time-major: the masked copy or the states h_{−1}..h_{T−2}.
func (g *rnnGeom) hin(ws []float32) []float32 {
	n := g.steps * g.b * g.u
	if g.recMask {
		return ws[g.hm : g.hm+n]
	}
	return ws[g.hs : g.hs+n]
}

func rnnName(gates int) string {
	switch gates {
	case 4:
		return "LSTM"
	case 3:
		return "GRU"
	}
	return "SimpleRNN"
}

func rnnCheck(gates int, x, w, r, b, h0, c0 *Var, o RNNOptions) (u int) {
	op := rnnName(gates)
	xs := x.Value.Shape()
	if len(xs) != 3 || xs[1] < 1 {
		panic(&tensor.ShapeError{Op: op, Got: xs, Want: []int{-1, -1, -1}, Msg: "input must be [batch, time ≥ 1, features]"})
	}
	rs := r.Value.Shape()
	if len(rs) != 2 || rs[1] != gates*rs[0] {
		panic(&tensor.ShapeError{Op: op, Got: rs, Msg: fmt.Sprintf("recurrent kernel must be [units, %d·units]", gates)})
	}
	u = rs[0]
	if ws := w.Value.Shape(); len(ws) != 2 || ws[0] != xs[2] || ws[1] != gates*u {
		panic(&tensor.ShapeError{Op: op, Got: ws, Want: []int{xs[2], gates * u}, Msg: "kernel must be [features, gates·units]"})
	}
	if b != nil {
		want := []int{gates * u}
		if gates == 3 {
			want = []int{2, 3 * u}
		}
		if b.Value.Len() != tensor.Numel(want) {
			panic(&tensor.ShapeError{Op: op, Got: b.Value.Shape(), Want: want, Msg: "bias"})
		}
	}
	state := []int{xs[0], u}
	for _, s := range []*Var{h0, c0} {
		if s != nil && !tensor.EqualShapes(s.Value.Shape(), state) {
			panic(&tensor.ShapeError{Op: op, Got: s.Value.Shape(), Want: state, Msg: "initial state must be [batch, units]"})
		}
	}
	if m := o.InputMask; m != nil && m.Len() != xs[0]*xs[2] {
		panic(&tensor.ShapeError{Op: op, Got: m.Shape(), Want: []int{xs[0], xs[2]}, Msg: "input mask must be [batch, features]"})
	}
	if m := o.RecurrentMask; m != nil && m.Len() != xs[0]*u {
		panic(&tensor.ShapeError{Op: op, Got: m.Shape(), Want: state, Msg: "recurrent mask must be [batch, units]"})
	}
	return u
}

func rnnOp(gates int, x, w, r, b, h0, c0 *Var, o RNNOptions) (out, h, c *Var) {
	u := rnnCheck(gates, x, w, r, b, h0, c0, o)
	t := tapeOf(x, w, r, b, h0, c0)
	flags := 0
	for _, f := range []struct {
		on  bool
		bit int
	}{{o.ReturnSequences, rnnRetSeq}, {o.GoBackwards, rnnBack}, {o.RestoreOrder, rnnRestore},
		{o.InputMask != nil, rnnInMask}, {o.RecurrentMask != nil, rnnRecMask}} {
		if f.on {
			flags |= f.bit
		}
	}
	act, rec := o.Activation.kernel(kernels.RecTanh), o.RecurrentActivation.kernel(kernels.RecSigmoid)
	g := newRNNGeom(gates, x.Value.Shape(), u, flags, act, rec)
	ws := alloc(t, []int{g.size})
	wd := ws.Data()
	if g.inMask {
		copy(wd[g.im:g.im+g.b*g.in], o.InputMask.Data())
	}
	if g.recMask {
		copy(wd[g.rm:g.rm+g.b*u], o.RecurrentMask.Data())
	}
	var bd []float32
	if b != nil {
		bd = b.Value.Data()
	}
	var h0d, c0d []float32
	if h0 != nil {
		h0d = h0.Value.Data()
	}
	if c0 != nil {
		c0d = c0.Value.Data()
	}
	rnnForward(&g, wd, x.Value.Data(), w.Value.Data(), r.Value.Data(), bd, h0d, c0d)

	nstate := 1
	if gates == 4 {
		nstate = 2
	}
	packed := alloc(t, []int{g.outLen + nstate*g.b*u})
	pd := packed.Data()
	rnnOutput(&g, wd, pd)
	var main *Var
	if t != nil {
		n := node{back: backRNN, ins: []*Var{x, w, r, b, h0, c0}}
		n.setRNN(gates, flags, act, rec, ws)
		main = t.record(packed, n)
	}
	oshape := []int{g.b, u}
	if g.retSeq {
		oshape = []int{g.b, g.steps, u}
	}
	out = rnnView(t, main, pd, 0, oshape...)
	h = rnnView(t, main, pd, g.outLen, g.b, u)
	if gates == 4 {
		c = rnnView(t, main, pd, g.outLen+g.b*u, g.b, u)
	}
	return out, h, c
}

// rnnView returns a view of part of the op's packed output; on a tape its
// gradient flows back into the packed gradient.
func rnnView(t *Tape, main *Var, packed []float32, off int, shape ...int) *Var {
	n := tensor.Numel(shape)
	v := tensor.New(shape, packed[off:off+n:off+n])
	if t == nil {
		return Const(v)
	}
	rec := node{back: backRNNView, in: [3]*Var{main}}
	rec.setViewOffset(off)
	return t.record(v, rec)
}

func backRNNView(t *Tape, n *node) {
	g := t.grads[n.out.id].Data()
	off := n.viewOffset()
	kernels.Axpy(1, g, t.grad(n.in[0]).Data()[off:off+len(g)])
}

// rnnForward fills the workspace: time-major inputs, the input projection,
// then the steps.
func rnnForward(g *rnnGeom, ws, x, w, r, b, h0, c0 []float32) {
	T, B, in, u, G := g.steps, g.b, g.in, g.u, g.gates
	Gu, Bu := G*u, B*u
	// Time-major (and, going backwards, reversed) copy of the input, masked.
	xtm := ws[g.xtm : g.xtm+T*B*in]
	for s := 0; s < T; s++ {
		ts := g.srcStep(s)
		for bb := 0; bb < B; bb++ {
			dst := xtm[(s*B+bb)*in : (s*B+bb+1)*in]
			src := x[(bb*T+ts)*in : (bb*T+ts+1)*in]
			if g.inMask {
				kernels.SIMD.Mul(dst, src, ws[g.im+bb*in:g.im+(bb+1)*in])
			} else {
				copy(dst, src)
			}
		}
	}
	hs := ws[g.hs : g.hs+(T+1)*Bu]
	// The input projection of every gate and step, onto the bias: for
	// SimpleRNN straight into the states h_0..h_{T−1}, else into the gates.
	var proj []float32
	if G == 1 {
		proj = hs[Bu:]
	} else {
		proj = ws[g.g : g.g+T*B*Gu]
	}
	// The LSTM and GRU add the bias in their gate kernels.
	beta := float32(0)
	if b != nil && G == 1 {
		for row := 0; row < T*B; row++ {
			copy(proj[row*Gu:(row+1)*Gu], b[:Gu])
		}
		beta = 1
	}
	kernels.Sgemm(false, false, T*B, Gu, in, 1, xtm, in, w, Gu, beta, proj, Gu)

	if h0 != nil {
		copy(hs[:Bu], h0)
	} else {
		clear(hs[:Bu])
	}
	var cs []float32
	if G == 4 {
		cs = ws[g.c : g.c+(T+1)*Bu]
		if c0 != nil {
			copy(cs[:Bu], c0)
		} else {
			clear(cs[:Bu])
		}
	}
	var bIn, bRec []float32
	if b != nil && G > 1 {
		bIn = b[:Gu]
		if G == 3 {
			bRec = b[Gu : 2*Gu]
		}
	}
	hin := g.hin(ws)
	for s := 0; s < T; s++ {
		hp := hs[s*Bu : (s+1)*Bu]
		hi := hin[s*Bu : (s+1)*Bu]
		if g.recMask {
			kernels.SIMD.Mul(hi, hp, ws[g.rm:g.rm+Bu])
		}
		zeroState := s == 0 && h0 == nil // h_{−1}·R = 0
		switch G {
		case 1:
			hn := hs[(s+1)*Bu : (s+2)*Bu]
			if !zeroState {
				kernels.Sgemm(false, false, B, u, u, 1, hi, u, r, u, 1, hn, u)
			}
			kernels.RecActivate(g.act, hn, hn)
		case 4:
			gs := proj[s*B*Gu : (s+1)*B*Gu]
			if !zeroState {
				kernels.Sgemm(false, false, B, Gu, u, 1, hi, u, r, Gu, 1, gs, Gu)
			}
			kernels.LSTMForward(B, u, gs, bIn, cs[s*Bu:(s+1)*Bu], cs[(s+1)*Bu:(s+2)*Bu],
				ws[g.tc+s*Bu:g.tc+(s+1)*Bu], hs[(s+1)*Bu:(s+2)*Bu], g.act, g.rec)
		case 3:
			gs := proj[s*B*Gu : (s+1)*B*Gu]
			sc := ws[g.scratch : g.scratch+B*Gu]
			if zeroState {
				clear(sc)
			} else {
				kernels.Sgemm(false, false, B, Gu, u, 1, hi, u, r, Gu, 0, sc, Gu)
			}
			kernels.GRUForward(B, u, gs, sc, bIn, bRec, hp, ws[g.rh+s*Bu:g.rh+(s+1)*Bu],
				hs[(s+1)*Bu:(s+2)*Bu], g.act, g.rec)
		}
	}
}

// rnnOutput writes the packed output: the sequence [B, T, u] or the last
// state, then h_T (and c_T).
func rnnOutput(g *rnnGeom, ws, out []float32) {
	T, B, u := g.steps, g.b, g.u
	Bu := B * u
	hs := ws[g.hs:]
	if g.retSeq {
		for s := 0; s < T; s++ {
			os := g.outStep(s)
			for bb := 0; bb < B; bb++ {
				copy(out[(bb*T+os)*u:(bb*T+os+1)*u], hs[(s+1)*Bu+bb*u:])
			}
		}
	} else {
		copy(out[:Bu], hs[T*Bu:(T+1)*Bu])
	}
	copy(out[g.outLen:g.outLen+Bu], hs[T*Bu:(T+1)*Bu])
	if g.gates == 4 {
		copy(out[g.outLen+Bu:g.outLen+2*Bu], ws[g.c+T*Bu:g.c+(T+1)*Bu])
	}
}

// addOutGrad adds the output gradient of step s into dh.
func addOutGrad(g *rnnGeom, dh, gy []float32, s int) {
	T, u := g.steps, g.u
	os := g.outStep(s)
	for bb := 0; bb < g.b; bb++ {
		kernels.Axpy(1, gy[(bb*T+os)*u:(bb*T+os+1)*u], dh[bb*u:(bb+1)*u])
	}
}

func backRNN(t *Tape, n *node) {
	x, w, r, b, h0, c0 := n.ins[0], n.ins[1], n.ins[2], n.ins[3], n.ins[4], n.ins[5]
	G, flags, act, rec, wsT := n.rnn()
	g := newRNNGeom(G, x.Value.Shape(), r.Value.Dim(0), flags, act, rec)
	T, B, in, u := g.steps, g.b, g.in, g.u
	Gu, Bu := G*u, B*u
	ws := wsT.Data()
	pg := t.grads[n.out.id].Data()
	gy := pg[:g.outLen]
	rd := r.Value.Data()

	// δ for every step: dgx feeds W, b and x; dgr feeds R (they differ only
	// in the GRU, whose reset gate sits between R and the candidate).
	dgx := t.Alloc(T*B, Gu).Data()
	dgr := dgx
	if G == 3 {
		dgr = t.Alloc(T*B, Gu).Data()
	}
	dh := t.Alloc(B, u).Data()
	dhn := t.Alloc(B, u).Data()
	var tmp, dc []float32
	if g.recMask {
		tmp = t.Alloc(B, u).Data()
	}
	copy(dh, pg[g.outLen:g.outLen+Bu])
	if g.retSeq {
		addOutGrad(&g, dh, gy, T-1)
	} else {
		kernels.Axpy(1, gy, dh)
	}
	if G == 4 {
		dc = t.Alloc(B, u).Data()
		copy(dc, pg[g.outLen+Bu:g.outLen+2*Bu])
	}
	needH0 := h0 != nil && h0.tape == t
	// Rᵀ [G·u, u] once, so that the per-step GEMMs read it in place.
	rt := t.Alloc(Gu, u).Data()
	kernels.Transpose2D(rt, rd, u, Gu)
	hs := ws[g.hs : g.hs+(T+1)*Bu]
	for s := T - 1; s >= 0; s-- {
		dgs := dgx[s*B*Gu : (s+1)*B*Gu]
		dgrs := dgr[s*B*Gu : (s+1)*B*Gu]
		switch G {
		case 1:
			kernels.RecActGrad(g.act, dgs, hs[(s+1)*Bu:(s+2)*Bu], dh)
		case 4:
			kernels.LSTMBackward(B, u, ws[g.g+s*B*Gu:g.g+(s+1)*B*Gu], ws[g.c+s*Bu:g.c+(s+1)*Bu],
				ws[g.tc+s*Bu:g.tc+(s+1)*Bu], dh, dc, dgs, g.act, g.rec)
		case 3:
			// dhn = dh⊙z, the carry's share of ∂L/∂h_{t−1}
			kernels.GRUBackward(B, u, ws[g.g+s*B*Gu:g.g+(s+1)*B*Gu], ws[g.rh+s*Bu:g.rh+(s+1)*Bu],
				hs[s*Bu:(s+1)*Bu], dh, dgs, dgrs, dhn, g.act, g.rec)
		}
		if s == 0 && !needH0 {
			break
		}
		// ∂L/∂h_{t−1} = (δ_t·Rᵀ)⊙mask (+ dh⊙z for the GRU) + ∂L/∂y_{t−1}
		beta := float32(0)
		if G == 3 {
			beta = 1
		}
		if g.recMask {
			kernels.Sgemm(false, false, B, u, Gu, 1, dgrs, Gu, rt, u, 0, tmp, u)
			m := ws[g.rm : g.rm+Bu]
			if G == 3 {
				kernels.MulAcc(dhn, tmp, m)
			} else {
				kernels.SIMD.Mul(dhn, tmp, m)
			}
		} else {
			kernels.Sgemm(false, false, B, u, Gu, 1, dgrs, Gu, rt, u, beta, dhn, u)
		}
		if g.retSeq && s > 0 {
			addOutGrad(&g, dhn, gy, s-1)
		}
		dh, dhn = dhn, dh
	}
	if needH0 {
		kernels.Axpy(1, dh, t.grad(h0).Data())
	}
	if gc0 := t.grad(c0); gc0 != nil {
		kernels.Axpy(1, dc, gc0.Data())
	}
	xtm := ws[g.xtm : g.xtm+T*B*in]
	if gw := t.grad(w); gw != nil { // ∂L/∂W += Xᵀ·δ
		kernels.Sgemm(true, false, in, Gu, T*B, 1, xtm, in, dgx, Gu, 1, gw.Data(), Gu)
	}
	if gr := t.grad(r); gr != nil { // ∂L/∂R += H_prevᵀ·δ
		kernels.Sgemm(true, false, u, Gu, T*B, 1, g.hin(ws), u, dgr, Gu, 1, gr.Data(), Gu)
	}
	if gb := t.grad(b); gb != nil {
		kernels.SumRowsAcc(gb.Data()[:Gu], dgx)
		if G == 3 {
			kernels.SumRowsAcc(gb.Data()[Gu:2*Gu], dgr)
		}
	}
	if gx := t.grad(x); gx != nil { // ∂L/∂x = δ·Wᵀ, back to [B, T, in] order
		dx := t.Alloc(T*B, in).Data()
		kernels.Sgemm(false, true, T*B, in, Gu, 1, dgx, Gu, w.Value.Data(), Gu, 0, dx, in)
		gd := gx.Data()
		for s := 0; s < T; s++ {
			ts := g.srcStep(s)
			for bb := 0; bb < B; bb++ {
				src := dx[(s*B+bb)*in : (s*B+bb+1)*in]
				dst := gd[(bb*T+ts)*in : (bb*T+ts+1)*in]
				if g.inMask {
					kernels.MulAcc(dst, src, ws[g.im+bb*in:g.im+(bb+1)*in])
				} else {
					kernels.Axpy(1, src, dst)
				}
			}
		}
	}
}
