package kernels

import "sync"

// The gate math of the recurrent cells, one time step at a time, fused in a
// single pass over the rows of a batch. The GEMMs of a step (the input
// projection of the whole sequence, the recurrent projection of the step)
// are done by the caller with Sgemm; these kernels take their results.
// Layouts are row-major with the gates of one row side by side, as in Keras:
// LSTM rows are [i f c o] (4u wide), GRU rows [z r h] (3u wide).
//
// Transcendentals go through the SIMD table (Sigmoid, Tanh) on whole gate
// blocks; derivatives are taken from saved outputs (tanh: 1 − y²,
// sigmoid: y(1 − y)). Rows are split over the worker pool when a step is
// large enough; every row is computed the same way whatever the split, so
// the results do not depend on the thread count.

// RecAct is an activation of a recurrent cell, differentiable from its
// output alone.
type RecAct uint8

// Recurrent activations.
const (
	RecTanh        RecAct = iota // tanh x
	RecSigmoid                   // 1/(1 + e^−x)
	RecHardSigmoid               // Keras 3: relu6(x + 3)/6 = clip(x/6 + 1/2, 0, 1)
	RecRelu                      // max(x, 0)
	RecLinear                    // x
)

// RecActivate computes dst[i] = f(x[i]); dst may be x.
func RecActivate(a RecAct, dst, x []float32) {
	dst = dst[:len(x)]
	switch a {
	case RecTanh:
		SIMD.Tanh(dst, x)
	case RecSigmoid:
		SIMD.Sigmoid(dst, x)
	case RecRelu:
		SIMD.Relu(dst, x)
	case RecHardSigmoid:
		for i, v := range x {
			v = v*(1.0/6) + 0.5
			if v < 0 {
				v = 0
			} else if v > 1 {
				v = 1
			}
			dst[i] = v
		}
	case RecLinear:
		copy(dst, x)
	default:
		panic("kernels: unknown recurrent activation")
	}
}

// recDeriv returns f′ at the point where f took the value y.
func recDeriv(a RecAct, y float32) float32 {
	switch a {
	case RecTanh:
		return 1 - y*y
	case RecSigmoid:
		return y * (1 - y)
	case RecHardSigmoid:
		if y > 0 && y < 1 {
			return 1.0 / 6
		}
		return 0
	case RecRelu:
		if y > 0 {
			return 1
		}
		return 0
	}
	return 1
}

// RecActGrad computes dst[i] = g[i]·f′ from the outputs y[i] = f(x[i]);
// dst may be g.
//
//	for i := range g {
//		dst[i] = g[i] * f′(y[i]) // tanh: 1 − y², sigmoid: y(1 − y), ...
//	}
func RecActGrad(a RecAct, dst, y, g []float32) {
	dst, y = dst[:len(g)], y[:len(g)]
	switch a {
	case RecTanh:
		for i, v := range g {
			dst[i] = v * (1 - y[i]*y[i])
		}
	case RecSigmoid:
		for i, v := range g {
			dst[i] = v * y[i] * (1 - y[i])
		}
	default:
		for i, v := range g {
			dst[i] = v * recDeriv(a, y[i])
		}
	}
}

// LSTMForward runs the LSTM gate math of one step for rows samples of u
// units. g holds rows×4u pre-activations without the bias (x·W + h·R,
// gates i, f, c̃, o); bias [4u] (nil: none) is added to every row. g is
// overwritten with the activated gates, which backward needs:
//
//	g += bias
//	i, f, o = rec(g_i), rec(g_f), rec(g_o);  c̃ = act(g_c)
//	c  = f⊙cPrev + i⊙c̃
//	tc = act(c)
//	h  = o⊙tc
//
// cPrev, c, tc and h are rows×u.
func LSTMForward(rows, u int, g, bias, cPrev, c, tc, h []float32, act, rec RecAct) {
	t := getRNNTask()
	t.kind, t.u, t.act, t.rec = rnnLSTMForward, u, act, rec
	t.g, t.cPrev, t.c, t.tc, t.h = g[:rows*4*u], cPrev[:rows*u], c[:rows*u], tc[:rows*u], h[:rows*u]
	if bias != nil {
		t.bIn = bias[:4*u]
	}
	t.launch(rows, 4*u)
}

// LSTMBackward propagates one step of LSTM backward. g holds the
// activated gates saved by LSTMForward, cPrev and tc the previous cell and
// act(c). On entry dh is ∂L/∂h and dc is ∂L/∂c from later steps; on
// return dc is ∂L/∂cPrev and dg (rows×4u) holds the gradient of the gate
// pre-activations:
//
//	dc  += dh⊙o⊙act′(tc)
//	do   = dh⊙tc⊙rec′(o)
//	di   = dc⊙c̃⊙rec′(i)
//	df   = dc⊙cPrev⊙rec′(f)
//	dc̃  = dc⊙i⊙act′(c̃)
//	dc   = dc⊙f
func LSTMBackward(rows, u int, g, cPrev, tc, dh, dc, dg []float32, act, rec RecAct) {
	t := getRNNTask()
	t.kind, t.u, t.act, t.rec = rnnLSTMBackward, u, act, rec
	t.g, t.cPrev, t.tc, t.dh, t.dc, t.dg = g[:rows*4*u], cPrev[:rows*u], tc[:rows*u], dh[:rows*u], dc[:rows*u], dg[:rows*4*u]
	t.launch(rows, 4*u)
}

// GRUForward runs the gate math of one step of a GRU with the reset gate
// applied after the recurrent matrix (Keras reset_after=True) for rows
// samples of u units. g holds rows×3u input projections x·W (gates z, r,
// ĥ); rh holds h_prev·R (rows×3u); bIn and bRec are the input and
// recurrent biases [3u] (nil: none). g is overwritten with the activated
// gates and rhSave (rows×u) receives the recurrent candidate term, both
// for backward:
//
//	z = rec(g_z + b_z + rh_z + b′_z);  r = rec(g_r + b_r + rh_r + b′_r)
//	rhSave = rh_h + b′_h
//	ĥ = act(g_h + b_h + r⊙rhSave)
//	h = z⊙hPrev + (1 − z)⊙ĥ
func GRUForward(rows, u int, g, rh, bIn, bRec, hPrev, rhSave, h []float32, act, rec RecAct) {
	t := getRNNTask()
	t.kind, t.u, t.act, t.rec = rnnGRUForward, u, act, rec
	t.g, t.rh, t.hPrev, t.rhSave, t.h = g[:rows*3*u], rh[:rows*3*u], hPrev[:rows*u], rhSave[:rows*u], h[:rows*u]
	if bIn != nil {
		t.bIn = bIn[:3*u]
	}
	if bRec != nil {
		t.bRec = bRec[:3*u]
	}
	t.launch(rows, 3*u)
}

// GRUBackward propagates one step of GRUForward backward. Given ∂L/∂h in
// dh, it writes the gradients of the input-side pre-activations to dgx
// and of the recurrent-side ones (h_prev·R + b′) to dgr (both rows×3u),
// and the direct part of ∂L/∂hPrev to dhPrev (the part through R is the
// caller's GEMM):
//
//	dz = dh⊙(hPrev − ĥ)⊙rec′(z)
//	dĥ = dh⊙(1 − z)⊙act′(ĥ)
//	dr = dĥ⊙rhSave⊙rec′(r)
//	dgx = [dz, dr, dĥ];  dgr = [dz, dr, dĥ⊙r];  dhPrev = dh⊙z
func GRUBackward(rows, u int, g, rhSave, hPrev, dh, dgx, dgr, dhPrev []float32, act, rec RecAct) {
	t := getRNNTask()
	t.kind, t.u, t.act, t.rec = rnnGRUBackward, u, act, rec
	t.g, t.rhSave, t.hPrev, t.dh = g[:rows*3*u], rhSave[:rows*u], hPrev[:rows*u], dh[:rows*u]
	t.dgx, t.dgr, t.dhPrev = dgx[:rows*3*u], dgr[:rows*3*u], dhPrev[:rows*u]
	t.launch(rows, 3*u)
}

// rnnVecKernels holds vectorized inner loops of the gate kernels for the
// default activations (tanh and sigmoid); nil entries use the pure-Go
// loops. rnnVec is chosen once at start-up; the tests run both.
type rnnVecKernels struct {
	name         string
	lstmBackward func(n, u int, g, dg, cp, tc, dh, dc *float32)
	gruBackward  func(n, u int, g, rs, hp, dh, dgx, dgr, dhp *float32)
}

var rnnVec = archRNNKernels()

// rnnGrain is the smallest number of gate values worth handing to another
// worker.
const rnnGrain = 4096

const (
	rnnLSTMForward = iota + 1
	rnnLSTMBackward
	rnnGRUForward
	rnnGRUBackward
)

// rnnTask is one gate kernel call, run over a range of rows. It is pooled
// so that a step hands work to the pool without allocating.
type rnnTask struct {
	kind     int
	u        int
	act, rec RecAct

	g, cPrev, c, tc, h, dh, dc, dg []float32
	bIn, rh, bRec, hPrev, rhSave   []float32
	dgx, dgr, dhPrev               []float32
}

var rnnTaskPool = sync.Pool{New: func() any { return new(rnnTask) }}

func getRNNTask() *rnnTask { return rnnTaskPool.Get().(*rnnTask) }

// launch runs the task over rows of width values each, in parallel when
// the step is large enough, and returns it to the pool.
func (t *rnnTask) launch(rows, width int) {
	w := min(Threads(), rows*width/rnnGrain, rows)
	if w > 1 {
		parallelRun(t, rows, w)
	} else if rows > 0 {
		t.run(0, rows)
	}
	*t = rnnTask{}
	rnnTaskPool.Put(t)
}

func (t *rnnTask) run(lo, hi int) {
	switch t.kind {
	case rnnLSTMForward:
		lstmForwardRows(t, lo, hi)
	case rnnLSTMBackward:
		lstmBackwardRows(t, lo, hi)
	case rnnGRUForward:
		gruForwardRows(t, lo, hi)
	case rnnGRUBackward:
		gruBackwardRows(t, lo, hi)
	}
}

func lstmForwardRows(t *rnnTask, lo, hi int) {
	u := t.u
	for r := lo; r < hi; r++ {
		gr := t.g[r*4*u : (r+1)*4*u]
		if t.bIn != nil {
			SIMD.Add(gr, gr, t.bIn)
		}
		RecActivate(t.rec, gr[:2*u], gr[:2*u]) // i, f
		RecActivate(t.act, gr[2*u:3*u], gr[2*u:3*u])
		RecActivate(t.rec, gr[3*u:], gr[3*u:])
		ig, fg, cg := gr[:u], gr[u:2*u], gr[2*u:3*u]
		cp, c := t.cPrev[r*u:(r+1)*u], t.c[r*u:(r+1)*u]
		cp, ig, fg, cg = cp[:len(c)], ig[:len(c)], fg[:len(c)], cg[:len(c)]
		for j := range c {
			c[j] = fg[j]*cp[j] + ig[j]*cg[j]
		}
	}
	RecActivate(t.act, t.tc[lo*u:hi*u], t.c[lo*u:hi*u])
	for r := lo; r < hi; r++ {
		SIMD.Mul(t.h[r*u:(r+1)*u], t.g[r*4*u+3*u:(r+1)*4*u], t.tc[r*u:(r+1)*u])
	}
}

func lstmBackwardRows(t *rnnTask, lo, hi int) {
	u := t.u
	fast := t.act == RecTanh && t.rec == RecSigmoid
	for r := lo; r < hi; r++ {
		gr := t.g[r*4*u : (r+1)*4*u]
		dgr := t.dg[r*4*u : (r+1)*4*u]
		ig, fg, cg, og := gr[:u], gr[u:2*u], gr[2*u:3*u], gr[3*u:]
		di, df, dcg, do := dgr[:u], dgr[u:2*u], dgr[2*u:3*u], dgr[3*u:]
		cp, tc := t.cPrev[r*u:(r+1)*u], t.tc[r*u:(r+1)*u]
		dh, dc := t.dh[r*u:(r+1)*u], t.dc[r*u:(r+1)*u]
		if fast {
			j0 := 0
			if vec := rnnVec.lstmBackward; vec != nil && u >= 8 {
				j0 = u &^ 7
				vec(j0, u, &gr[0], &dgr[0], &cp[0], &tc[0], &dh[0], &dc[0])
			}
			for j := j0; j < len(dc); j++ {
				i, f, cc, o, y, h := ig[j], fg[j], cg[j], og[j], tc[j], dh[j]
				d := dc[j] + h*o*(1-y*y)
				do[j] = h * y * o * (1 - o)
				di[j] = d * cc * i * (1 - i)
				df[j] = d * cp[j] * f * (1 - f)
				dcg[j] = d * i * (1 - cc*cc)
				dc[j] = d * f
			}
			continue
		}
		for j := range dc {
			i, f, cc, o, y, h := ig[j], fg[j], cg[j], og[j], tc[j], dh[j]
			d := dc[j] + h*o*recDeriv(t.act, y)
			do[j] = h * y * recDeriv(t.rec, o)
			di[j] = d * cc * recDeriv(t.rec, i)
			df[j] = d * cp[j] * recDeriv(t.rec, f)
			dcg[j] = d * i * recDeriv(t.act, cc)
			dc[j] = d * f
		}
	}
}

func gruForwardRows(t *rnnTask, lo, hi int) {
	u := t.u
	for r := lo; r < hi; r++ {
		gr := t.g[r*3*u : (r+1)*3*u]
		rh := t.rh[r*3*u : (r+1)*3*u]
		if t.bIn != nil {
			SIMD.Add(gr, gr, t.bIn)
		}
		zr := gr[:2*u]
		SIMD.Add(zr, zr, rh[:2*u])
		if t.bRec != nil {
			SIMD.Add(zr, zr, t.bRec[:2*u])
		}
		RecActivate(t.rec, zr, zr)
		rs := t.rhSave[r*u : (r+1)*u]
		copy(rs, rh[2*u:])
		if t.bRec != nil {
			SIMD.Add(rs, rs, t.bRec[2*u:])
		}
		rg, hh := gr[u:2*u], gr[2*u:]
		rg, rs = rg[:len(hh)], rs[:len(hh)]
		for j := range hh {
			hh[j] += rg[j] * rs[j]
		}
		RecActivate(t.act, hh, hh)
		z, hp, h := gr[:u], t.hPrev[r*u:(r+1)*u], t.h[r*u:(r+1)*u]
		z, hp, hh = z[:len(h)], hp[:len(h)], hh[:len(h)]
		for j := range h {
			h[j] = hh[j] + z[j]*(hp[j]-hh[j])
		}
	}
}

func gruBackwardRows(t *rnnTask, lo, hi int) {
	u := t.u
	fast := t.act == RecTanh && t.rec == RecSigmoid
	for r := lo; r < hi; r++ {
		gr := t.g[r*3*u : (r+1)*3*u]
		zg, rg, hh := gr[:u], gr[u:2*u], gr[2*u:]
		gx := t.dgx[r*3*u : (r+1)*3*u]
		gh := t.dgr[r*3*u : (r+1)*3*u]
		rs, hp := t.rhSave[r*u:(r+1)*u], t.hPrev[r*u:(r+1)*u]
		dh, dhp := t.dh[r*u:(r+1)*u], t.dhPrev[r*u:(r+1)*u]
		j0 := 0
		if vec := rnnVec.gruBackward; fast && vec != nil && u >= 8 {
			j0 = u &^ 7
			vec(j0, u, &gr[0], &rs[0], &hp[0], &dh[0], &gx[0], &gh[0], &dhp[0])
		}
		for j := j0; j < len(dh); j++ {
			z, rr, c, d := zg[j], rg[j], hh[j], dh[j]
			var dz, dc, dr float32
			if fast {
				dz = d * (hp[j] - c) * z * (1 - z)
				dc = d * (1 - z) * (1 - c*c)
				dr = dc * rs[j] * rr * (1 - rr)
			} else {
				dz = d * (hp[j] - c) * recDeriv(t.rec, z)
				dc = d * (1 - z) * recDeriv(t.act, c)
				dr = dc * rs[j] * recDeriv(t.rec, rr)
			}
			gx[j], gx[u+j], gx[2*u+j] = dz, dr, dc
			gh[j], gh[u+j], gh[2*u+j] = dz, dr, dc*rr
			dhp[j] = d * z
		}
	}
}

// MulAcc computes dst[i] += a[i]·b[i] (a masked gradient).
func MulAcc(dst, a, b []float32) {
	dst, b = dst[:len(a)], b[:len(a)]
	for i, v := range a {
		dst[i] += v * b[i]
	}
}

// Transpose2D writes the transpose of the rows×cols matrix src into dst
// (cols×rows), in cache-sized blocks:
//
//	for i := 0; i < rows; i++ {
//		for j := 0; j < cols; j++ {
//			dst[j*rows+i] = src[i*cols+j]
//		}
//	}
func Transpose2D(dst, src []float32, rows, cols int) {
	const bs = 32
	src, dst = src[:rows*cols], dst[:rows*cols]
	for i0 := 0; i0 < rows; i0 += bs {
		i1 := min(i0+bs, rows)
		for j0 := 0; j0 < cols; j0 += bs {
			j1 := min(j0+bs, cols)
			for i := i0; i < i1; i++ {
				row := src[i*cols : i*cols+j1]
				for j := j0; j < j1; j++ {
					dst[j*rows+i] = row[j]
				}
			}
		}
	}
}
