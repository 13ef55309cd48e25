package onnx

import (
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Neural-network operators: convolution, pooling, normalization, Gemm and
// MatMul, softmax. Convolution and pooling run on NHWC data with Strata's
// kernels; their NCHW inputs and outputs are transposed lazily (see
// value.nhwc).

// unsupported is a run-time rejection of a documented attribute or input
// form (the conformance test counts it apart from a wrong result).
type unsupported struct{ msg string }

func (e *unsupported) Error() string { return "unsupported: " + e.msg }

func reject(format string, args ...any) { panic(&unsupported{sprintf(format, args...)}) }

func init() {
	reg("Conv", oneD(opConv), func(n *node) string {
		return firstReason(attrIs(n, "group", func(a *aproto) bool { return a.GetI() >= 1 }, "group < 1"),
			attrIs(n, "kernel_shape", func(a *aproto) bool { return len(a.GetInts()) <= 2 }, "only 1-D and 2-D convolution"))
	})
	reg("ConvTranspose", oneD(opConvTranspose), func(n *node) string {
		return firstReason(attrIs(n, "group", func(a *aproto) bool { return a.GetI() == 1 }, "group ≠ 1"),
			attrIs(n, "kernel_shape", func(a *aproto) bool { return len(a.GetInts()) <= 2 }, "only 1-D and 2-D"))
	})
	poolCheck := func(n *node) string {
		return firstReason(attrIs(n, "kernel_shape", func(a *aproto) bool { return len(a.GetInts()) <= 2 }, "only 1-D and 2-D pooling"),
			func() string {
				if n.op == "AveragePool" && len(n.out) > 1 && n.out[1] != "" {
					return "a second output"
				}
				return ""
			}())
	}
	reg("MaxPool", oneD(opPool(true)), poolCheck)
	reg("AveragePool", oneD(opPool(false)), poolCheck)
	reg("GlobalAveragePool", opGlobalPool(false), nil)
	reg("GlobalMaxPool", opGlobalPool(true), nil)
	reg("BatchNormalization", opBatchNorm, nil)
	reg("InstanceNormalization", opInstanceNorm, nil)
	reg("LayerNormalization", opLayerNorm, nil)
	reg("Gemm", opGemm, nil)
	reg("MatMul", opMatMul, nil)
	reg("Softmax", opSoftmax(false), nil)
	reg("LogSoftmax", opSoftmax(true), nil)
	reg("Hardmax", opHardmax, nil)
	reg("MeanVarianceNormalization", opMVN, nil)
}

// window2D reads kernel, strides, dilations and pads of a 2-D window op
// for an input of spatial size h, w.
func window2D(c *opCtx, kh, kw, h, w int, ceil bool) tensor.Window {
	win := tensor.Window{KH: kh, KW: kw, SH: 1, SW: 1, DH: 1, DW: 1, Padding: "explicit"}
	if s := c.ints("strides"); len(s) == 2 {
		win.SH, win.SW = int(s[0]), int(s[1])
	}
	if d := c.ints("dilations"); len(d) == 2 {
		win.DH, win.DW = int(d[0]), int(d[1])
	}
	if win.SH <= 0 || win.SW <= 0 || win.DH <= 0 || win.DW <= 0 || kh <= 0 || kw <= 0 {
		fail("kernel %dx%d, strides and dilations must be positive", kh, kw)
	}
	switch ap := c.str("auto_pad", "NOTSET"); ap {
	case "NOTSET", "":
		if p := c.ints("pads"); len(p) == 4 {
			win.Pads = [4]int{int(p[0]), int(p[2]), int(p[1]), int(p[3])}
		}
	case "VALID":
	case "SAME_UPPER", "SAME_LOWER":
		pad := func(n, k, s, d int) (int, int) {
			out := (n + s - 1) / s
			total := max((out-1)*s+(k-1)*d+1-n, 0)
			if ap == "SAME_UPPER" {
				return total / 2, total - total/2
			}
			return total - total/2, total / 2
		}
		t, b := pad(h, kh, win.SH, win.DH)
		l, r := pad(w, kw, win.SW, win.DW)
		win.Pads = [4]int{t, b, l, r}
	default:
		fail("unknown auto_pad %q", ap)
	}
	for _, p := range win.Pads {
		if p < 0 || p > MaxElements {
			fail("pads %v out of range", win.Pads)
		}
	}
	if ceil {
		// extra bottom/right padding so the last partial window counts
		ext := func(n, k, s, d, p0, p1 int) int {
			span := n + p0 + p1 - ((k-1)*d + 1)
			if span < 0 || span%s == 0 {
				return p1
			}
			out := span/s + 2
			if (out-1)*s >= n+p0 { // a window may not start in the end padding
				return p1
			}
			return p1 + s - span%s
		}
		win.Pads[1] = ext(h, kh, win.SH, win.DH, win.Pads[0], win.Pads[1])
		win.Pads[3] = ext(w, kw, win.SW, win.DW, win.Pads[2], win.Pads[3])
	}
	return win
}

func opConv(c *opCtx, in []*value) []*value {
	x, w := need(in, 0, "X"), need(in, 1, "W")
	ws := w.shape()
	if len(ws) != 4 || len(x.shape()) != 4 {
		reject("only 2-D convolution (input rank %d, weight rank %d)", len(x.shape()), len(ws))
	}
	xp := physicalNHWC(x)
	xs := xp.Shape()
	k := kernelOf(w) // [F, C, KH, KW] → [KH, KW, C, F]
	kh, kw := k.Shape()[0], k.Shape()[1]
	if ks := c.ints("kernel_shape"); len(ks) == 2 && (int(ks[0]) != kh || int(ks[1]) != kw) {
		fail("kernel_shape %v differs from the weight's %v", ks, ws)
	}
	group := int(c.int("group", 1))
	if group < 1 || xs[3]%group != 0 || k.Shape()[3]%group != 0 || k.Shape()[2]*group != xs[3] {
		fail("weight %v and group %d for %d input channels", ws, group, xs[3])
	}
	win := window2D(c, kh, kw, xs[1], xs[2], false)
	if g, err := tensor.ConvGeometry(xs, win); err == nil {
		checkSize([]int{g.N, g.OH, g.OW, g.KH, g.KW, g.C}) // the patches
		checkSize([]int{g.N, g.OH, g.OW, k.Shape()[3]})
	}
	var b *autograd.Var
	if len(in) > 2 && in[2] != nil {
		b = in[2].v
	}
	if group > 1 { // grouped (depthwise when group = C): one convolution per group
		cg, fg := xs[3]/group, k.Shape()[3]/group
		ys := make([]*autograd.Var, group)
		for i := range ys {
			var bi *autograd.Var
			if b != nil {
				bi = autograd.SliceAxis(b, 0, i*fg, (i+1)*fg)
			}
			ys[i] = autograd.Conv2D(autograd.SliceAxis(xp, 3, i*cg, (i+1)*cg), autograd.SliceAxis(k, 3, i*fg, (i+1)*fg), bi, win, c.fusedAct())
		}
		y := autograd.Concat(3, ys...)
		if p := c.n.fuse.pool; p != nil {
			y = physicalNHWC(opPool(true)(&opCtx{m: c.m, n: p}, []*value{{v: y, dt: tFloat, nhwc: true}})[0])
		}
		return one(&value{v: y, dt: tFloat, nhwc: true})
	}
	if p := c.n.fuse.pool; p != nil {
		pc := &opCtx{m: c.m, n: p}
		ps := pc.ints("kernel_shape")
		if len(ps) == 2 {
			if g, err := tensor.ConvGeometry(xs, win); err == nil {
				pw := window2D(pc, int(ps[0]), int(ps[1]), g.OH, g.OW, false)
				if _, err := tensor.ConvGeometry([]int{g.N, g.OH, g.OW, g.C}, pw); err == nil {
					pw.Padding = "valid"
					return one(&value{v: autograd.Conv2DMaxPool(xp, k, b, win, c.fusedAct(), pw), dt: tFloat, nhwc: true})
				}
				pw.Padding = "valid"
				y := autograd.Conv2D(xp, k, b, win, c.fusedAct())
				return one(&value{v: autograd.MaxPool2D(y, pw), dt: tFloat, nhwc: true})
			}
		}
	}
	y := autograd.Conv2D(xp, k, b, win, c.fusedAct())
	return one(&value{v: y, dt: tFloat, nhwc: true})
}

func opConvTranspose(c *opCtx, in []*value) []*value {
	x, w := need(in, 0, "X"), need(in, 1, "W")
	ws := w.shape()
	if len(ws) != 4 || len(x.shape()) != 4 {
		reject("only 2-D transposed convolution (input rank %d)", len(x.shape()))
	}
	xp := physicalNHWC(x)
	k := kernelOf(w) // [C, F, KH, KW] → [KH, KW, F, C]
	win := tensor.Window{KH: k.Shape()[0], KW: k.Shape()[1], SH: 1, SW: 1, DH: 1, DW: 1, Padding: "explicit"}
	if s := c.ints("strides"); len(s) == 2 {
		win.SH, win.SW = int(s[0]), int(s[1])
	}
	if d := c.ints("dilations"); len(d) == 2 {
		win.DH, win.DW = int(d[0]), int(d[1])
	}
	if p := c.ints("pads"); len(p) == 4 {
		win.Pads = [4]int{int(p[0]), int(p[2]), int(p[1]), int(p[3])}
	}
	var op [2]int
	if p := c.ints("output_padding"); len(p) == 2 {
		op = [2]int{int(p[0]), int(p[1])}
	}
	if os, ap := c.ints("output_shape"), c.str("auto_pad", "NOTSET"); len(os) > 0 || ap == "SAME_UPPER" || ap == "SAME_LOWER" {
		xs := xp.Shape()
		for i, st := range [2]int{win.SH, win.SW} {
			in, k, d := xs[1+i], []int{win.KH, win.KW}[i], []int{win.DH, win.DW}[i]
			out := in * st
			if len(os) >= 2 {
				out = int(os[len(os)-2+i])
			}
			total := st*(in-1) + op[i] + (k-1)*d + 1 - out
			if total < 0 {
				op[i] -= total
				total = 0
			}
			begin := total / 2
			if ap == "SAME_LOWER" || ap == "NOTSET" && len(os) > 0 {
				begin = total - total/2
			}
			if i == 0 {
				win.Pads[0], win.Pads[1] = begin, total-begin
			} else {
				win.Pads[2], win.Pads[3] = begin, total-begin
			}
		}
	}
	g, err := autograd.ConvTransposeGeometry(xp.Shape(), k.Shape(), win, op)
	if err != nil {
		reject("%v", err)
	}
	checkSize([]int{g.N, g.H, g.W, g.C})
	checkSize([]int{g.N, g.OH, g.OW, g.KH, g.KW, g.C})
	var b *autograd.Var
	if len(in) > 2 && in[2] != nil {
		b = in[2].v
	}
	y := autograd.ConvTranspose2D(xp, k, b, win, op, autograd.Activation{})
	return one(&value{v: y, dt: tFloat, nhwc: true})
}

func opPool(isMax bool) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		if len(x.shape()) != 4 {
			reject("only 2-D pooling (input rank %d)", len(x.shape()))
		}
		ks := c.ints("kernel_shape")
		if len(ks) != 2 {
			fail("kernel_shape must have 2 entries, got %v", ks)
		}
		xp := physicalNHWC(x)
		xs := xp.Shape()
		win := window2D(c, int(ks[0]), int(ks[1]), xs[1], xs[2], c.int("ceil_mode", 0) == 1)
		if g, err := tensor.ConvGeometry(xs, win); err == nil {
			checkSize([]int{g.N, g.OH, g.OW, g.C, g.KH, g.KW}) // output times window: the work
		}
		var y *autograd.Var
		switch {
		case isMax && len(c.n.out) > 1 && c.n.out[1] != "":
			return maxPoolIndices(c, x, xp, win)
		case isMax:
			y = autograd.MaxPool2D(xp, win)
		case c.int("count_include_pad", 0) == 1 && win.Pads != [4]int{}:
			p := win.Pads
			if win.DH != 1 || win.DW != 1 {
				reject("dilated average pooling")
			}
			// zero padding that counts: pad explicitly, then pool without padding
			padded := autograd.Const(tensor.Pad(xp.Value, [][2]int{{0, 0}, {p[0], p[1]}, {p[2], p[3]}, {0, 0}}, 0))
			if xp.Tracked() {
				reject("count_include_pad with gradients")
			}
			win.Pads = [4]int{}
			y = autograd.AvgPool2D(padded, win)
		default:
			if win.DH != 1 || win.DW != 1 {
				reject("dilated average pooling")
			}
			y = autograd.AvgPool2D(xp, win)
		}
		return one(&value{v: y, dt: x.dt, nhwc: true})
	}
}

func opGlobalPool(isMax bool) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		if len(x.shape()) != 4 {
			xv := L(x)
			axes := make([]int, 0, len(xv.Shape()))
			for i := 2; i < len(xv.Shape()); i++ {
				axes = append(axes, i)
			}
			if isMax {
				return one(fl(autograd.Max(xv, true, axes...)))
			}
			return one(fl(autograd.Mean(xv, true, axes...)))
		}
		xp := physicalNHWC(x)
		var y *autograd.Var
		if isMax {
			y = autograd.Max(xp, true, 1, 2)
		} else {
			y = autograd.Mean(xp, true, 1, 2)
		}
		return one(&value{v: y, dt: x.dt, nhwc: true})
	}
}

// channelParam reshapes a per-channel [C] parameter to broadcast over x
// (channels on axis 1 of the graph's layout, last axis when x is NHWC).
func channelParam(p *autograd.Var, rank int, nhwc bool) *autograd.Var {
	if nhwc || rank <= 2 {
		return p
	}
	s := make([]int, rank-1)
	for i := range s {
		s[i] = 1
	}
	s[0] = p.Value.Len()
	return autograd.Reshape(p, s...)
}

func opBatchNorm(c *opCtx, in []*value) []*value {
	x := need(in, 0, "X")
	scale, bias, mean, vr := need(in, 1, "scale"), need(in, 2, "B"), need(in, 3, "input_mean"), need(in, 4, "input_var")
	eps := c.float("epsilon", 1e-5)
	if c.int("training_mode", 0) == 1 {
		return batchNormTraining(c, x, scale, bias, mean, vr, eps)
	}
	var xv *autograd.Var
	nhwc := false
	if len(x.shape()) == 4 {
		xv, nhwc = physicalNHWC(x), true
	} else {
		xv = L(x)
	}
	rank := len(xv.Shape())
	f := scale.v.Value.Len()
	inv := tensor.Zeros(f)
	for i, v := range vr.data() {
		inv.Data()[i] = 1 / float32(math.Sqrt(float64(v)+float64(eps)))
	}
	var y *autograd.Var
	if xv.Tracked() || scale.v.Tracked() || bias.v.Tracked() {
		xn := autograd.Mul(autograd.Sub(xv, channelParam(autograd.Const(mean.v.Value), rank, nhwc)), channelParam(autograd.Const(inv), rank, nhwc))
		y = autograd.Add(autograd.Mul(xn, channelParam(scale.v, rank, nhwc)), channelParam(bias.v, rank, nhwc))
	} else {
		sc, sh := tensor.Zeros(f), tensor.Zeros(f)
		for i := range sc.Data() {
			sc.Data()[i] = scale.data()[i] * inv.Data()[i]
			sh.Data()[i] = bias.data()[i] - mean.data()[i]*sc.Data()[i]
		}
		y = autograd.Add(autograd.Mul(xv, channelParam(autograd.Const(sc), rank, nhwc)), channelParam(autograd.Const(sh), rank, nhwc))
	}
	return one(&value{v: y, dt: x.dt, nhwc: nhwc})
}

func opInstanceNorm(c *opCtx, in []*value) []*value {
	x := L(need(in, 0, "input"))
	scale, bias := need(in, 1, "scale"), need(in, 2, "B")
	eps := c.float("epsilon", 1e-5)
	rank := len(x.Shape())
	axes := []int{}
	for i := 2; i < rank; i++ {
		axes = append(axes, i)
	}
	mean := autograd.Mean(x, true, axes...)
	xc := autograd.Sub(x, mean)
	v := autograd.Mean(autograd.Square(xc), true, axes...)
	y := autograd.Div(xc, autograd.Sqrt(autograd.AddScalar(v, eps)))
	y = autograd.Add(autograd.Mul(y, channelParam(scale.v, rank, false)), channelParam(bias.v, rank, false))
	return one(fl(y))
}

func opLayerNorm(c *opCtx, in []*value) []*value {
	xin := need(in, 0, "X")
	x := L(xin)
	rank := len(x.Shape())
	axis := normAxis(c.int("axis", -1), rank)
	eps := c.float("epsilon", 1e-5)
	axes := []int{}
	for i := axis; i < rank; i++ {
		axes = append(axes, i)
	}
	mean := autograd.Mean(x, true, axes...)
	xc := autograd.Sub(x, mean)
	v := autograd.Mean(autograd.Square(xc), true, axes...)
	invStd := autograd.PowScalar(autograd.AddScalar(v, eps), -0.5)
	y := autograd.Mul(xc, invStd)
	y = autograd.Mul(y, need(in, 1, "Scale").v)
	if len(in) > 2 && in[2] != nil {
		y = autograd.Add(y, in[2].v)
	}
	return []*value{{v: y, dt: xin.dt}, fl(mean), fl(invStd)}
}

func opGemm(c *opCtx, in []*value) []*value {
	bv := need(in, 1, "B")
	a, b := L(need(in, 0, "A")), bv.v
	transB := c.int("transB", 0) == 1
	if bv.layout == layoutT {
		transB = !transB
	} else {
		b = L(bv)
	}
	if len(a.Shape()) != 2 || len(b.Shape()) != 2 {
		fail("Gemm needs rank-2 A and B, got %v and %v", a.Shape(), b.Shape())
	}
	transA := c.int("transA", 0) == 1
	checkSize(tensor.MatMulShape(a.Shape(), b.Shape(), transA, transB))
	alpha, beta := c.float("alpha", 1), c.float("beta", 1)
	if !transA && !transB && alpha == 1 && beta == 1 && a.Shape()[1] == b.Shape()[0] &&
		(len(in) < 3 || in[2] == nil || len(in[2].shape()) == 1 && in[2].v.Value.Len() == b.Shape()[1]) {
		var bias *autograd.Var
		if len(in) > 2 && in[2] != nil {
			bias = in[2].v
		}
		return one(&value{v: autograd.Dense(a, b, bias, c.fusedAct()), dt: in[0].dt})
	}
	y := autograd.MatMul(a, b, transA, transB)
	if alpha := c.float("alpha", 1); alpha != 1 {
		y = autograd.Scale(y, alpha)
	}
	if len(in) > 2 && in[2] != nil {
		cv := L(in[2])
		if beta := c.float("beta", 1); beta != 1 {
			cv = autograd.Scale(cv, beta)
		}
		y = autograd.Add(y, cv)
	}
	if c.n.fuse.relu {
		y = autograd.Relu(y)
	}
	return one(&value{v: y, dt: in[0].dt})
}

func opMatMul(c *opCtx, in []*value) []*value {
	a, b := L(need(in, 0, "A")), L(need(in, 1, "B"))
	as, bs := a.Shape(), b.Shape()
	va, vb := len(as) == 1, len(bs) == 1
	if va {
		a = autograd.Reshape(a, 1, as[0])
	}
	if vb {
		b = autograd.Reshape(b, bs[0], 1)
	}
	as, bs = a.Shape(), b.Shape()
	if len(as) > 2 && len(bs) > 2 && !tensor.EqualShapes(as[:len(as)-2], bs[:len(bs)-2]) {
		batch := tensor.BroadcastShape("MatMul", as[:len(as)-2], bs[:len(bs)-2])
		a = autograd.Const(expandTo(a.Value, append(append([]int{}, batch...), as[len(as)-2:]...)))
		b = autograd.Const(expandTo(b.Value, append(append([]int{}, batch...), bs[len(bs)-2:]...)))
	} else if len(as) == 2 && len(bs) > 2 || len(bs) == 2 && len(as) > 2 {
		// handled by MatMul's shared-operand forms
	}
	checkSize(tensor.MatMulShape(a.Shape(), b.Shape(), false, false))
	y := autograd.MatMul(a, b, false, false)
	ys := y.Shape()
	switch {
	case va && vb:
		y = autograd.Reshape(y)
	case va:
		y = autograd.Reshape(y, append(append([]int{}, ys[:len(ys)-2]...), ys[len(ys)-1])...)
	case vb:
		y = autograd.Reshape(y, ys[:len(ys)-1]...)
	}
	return one(&value{v: y, dt: in[0].dt})
}

func opSoftmax(log bool) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := L(need(in, 0, "input"))
		axis := normAxis(c.int("axis", -1), len(x.Shape()))
		if log {
			return one(fl(autograd.LogSoftmax(x, axis)))
		}
		return one(fl(autograd.Softmax(x, axis)))
	}
}

func opHardmax(c *opCtx, in []*value) []*value {
	x := T(need(in, 0, "input"))
	axis := normAxis(c.int("axis", -1), x.Rank())
	s := x.Shape()
	outer, n, inner := 1, s[axis], 1
	for i := 0; i < axis; i++ {
		outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		inner *= s[i]
	}
	out := tensor.Zeros(s...)
	d, od := x.Data(), out.Data()
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			best := 0
			for k := 1; k < n; k++ {
				if d[(o*n+k)*inner+j] > d[(o*n+best)*inner+j] {
					best = k
				}
			}
			if n > 0 {
				od[(o*n+best)*inner+j] = 1
			}
		}
	}
	return one(constant(out, tFloat))
}

func opMVN(c *opCtx, in []*value) []*value {
	x := L(need(in, 0, "X"))
	axes := toInts(c.ints("axes"))
	if len(axes) == 0 {
		axes = []int{0, 2, 3}
	}
	mean := autograd.Mean(x, true, axes...)
	xc := autograd.Sub(x, mean)
	v := autograd.Mean(autograd.Square(xc), true, axes...)
	return one(fl(autograd.Div(xc, autograd.AddScalar(autograd.Sqrt(v), 1e-9))))
}

// oneD runs a 2-D convolution or pooling op on 1-D data [N, C, L] as
// [N, C, 1, L], with its attributes (and weight [F, C, K]) extended by a
// unit first spatial axis.
func oneD(op opFunc) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		if len(x.shape()) != 3 {
			return op(c, in)
		}
		n := *c.n
		n.attrs = map[string]*aproto{}
		for k, a := range c.n.attrs {
			n.attrs[k] = a
			v := a.GetInts()
			switch k {
			case "kernel_shape", "strides", "dilations", "output_shape":
				if len(v) == 1 {
					n.attrs[k] = aInts(k, 1, int(v[0]))
				}
			case "output_padding":
				if len(v) == 1 {
					n.attrs[k] = aInts(k, 0, int(v[0]))
				}
			case "pads":
				if len(v) == 2 {
					n.attrs[k] = aInts(k, 0, int(v[0]), 0, int(v[1]))
				}
			}
		}
		s := x.shape()
		args := append([]*value{}, in...)
		args[0] = &value{v: autograd.Reshape(L(x), s[0], s[1], 1, s[2]), dt: x.dt}
		if c.n.op == "Conv" || c.n.op == "ConvTranspose" {
			w := need(in, 1, "W")
			ws := w.shape()
			if len(ws) != 3 || w.layout != layoutFile {
				fail("weight %v for a 1-D input", ws)
			}
			args[1] = &value{v: autograd.Reshape(w.v, ws[0], ws[1], 1, ws[2]), dt: w.dt}
		}
		out := op(&opCtx{m: c.m, n: &n}, args)
		y := L(out[0])
		ys := y.Shape()
		out[0] = &value{v: autograd.Reshape(y, ys[0], ys[1], ys[3]), dt: out[0].dt}
		return out
	}
}

// maxPoolIndices returns MaxPool's values and, as ONNX numbers them, the
// flat index of each maximum in the NCHW input (storage_order 1: with H
// varying fastest).
func maxPoolIndices(c *opCtx, x *value, xp *autograd.Var, win tensor.Window) []*value {
	y, arg := tensor.MaxPool2D(xp.Value, win)
	s := xp.Shape() // N, H, W, C
	h, w, ch := s[1], s[2], s[3]
	colMajor := c.int("storage_order", 0) == 1
	idx := make([]int64, len(arg))
	for i, a := range arg {
		a := int(a)
		n, r := a/(h*w*ch), a%(h*w*ch)
		hh, ww, cc := r/(w*ch), r/ch%w, r%ch
		plane := int64((n*ch + cc) * h * w)
		if colMajor {
			idx[i] = plane + int64(ww*h+hh)
		} else {
			idx[i] = plane + int64(hh*w+ww)
		}
	}
	ys := y.Shape()
	iv := intConst(ys, idx)
	return []*value{{v: autograd.Const(y), dt: x.dt, nhwc: true}, {v: iv.v, dt: tInt64, nhwc: true}}
}

// batchNormTraining normalizes with the batch's statistics (over every
// axis but the channels) and returns the updated running mean and
// variance: r ← r·momentum + batch·(1 − momentum), variance biased.
func batchNormTraining(c *opCtx, x, scale, bias, mean, vr *value, eps float32) []*value {
	xv := L(x)
	rank := len(xv.Shape())
	axes := []int{0}
	for i := 2; i < rank; i++ {
		axes = append(axes, i)
	}
	mu := autograd.Mean(xv, true, axes...)
	xc := autograd.Sub(xv, mu)
	v := autograd.Mean(autograd.Square(xc), true, axes...)
	y := autograd.Div(xc, autograd.Sqrt(autograd.AddScalar(v, eps)))
	y = autograd.Add(autograd.Mul(y, channelParam(scale.v, rank, false)), channelParam(bias.v, rank, false))
	mom := c.float("momentum", 0.9)
	f := scale.v.Value.Len()
	rm, rv := tensor.Zeros(f), tensor.Zeros(f)
	for i := 0; i < f; i++ {
		rm.Data()[i] = mean.data()[i]*mom + mu.Value.Data()[i]*(1-mom)
		rv.Data()[i] = vr.data()[i]*mom + v.Value.Data()[i]*(1-mom)
	}
	return []*value{{v: y, dt: x.dt}, constant(rm, tFloat), constant(rv, tFloat)}
}
