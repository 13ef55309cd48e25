package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Conv2D returns act(x ∗ k + b) for x [N, H, W, C], kernel k [KH, KW, C, F]
// and bias b [F] (may be nil), NHWC output [N, OH, OW, F]. It runs as
// im2col (patches [N·OH·OW, KH·KW·C], kept for the backward pass when k
// is tracked, else built group by group in cache and dropped) and a GEMM
// with the kernel viewed as [KH·KW·C, F], a few images at a time
// (kernels.ConvForward); bias and activation are fused on the output.
//
// Backward, with P the patches and δ = ∂L/∂z: ∂L/∂k = Pᵀ·δ,
// ∂L/∂b = Σ δ, ∂L/∂x = col2im(δ·kᵀ). A 3×3 stride-1 convolution may run
// all three as Winograd F(2×2, 3×3) instead (useWinograd), with no patches.
func Conv2D(x, k, b *Var, w tensor.Window, act Activation) *Var {
	t := tapeOf(x, k, b)
	g := convGeom(x, k, b, w)
	f := k.Value.Dim(3)
	if useWinograd(g, f, t == nil || t.infer) { // no patches: the backward pass runs Winograd too
		y := alloc(t, []int{g.N, g.OH, g.OW, f})
		winogradForward(t, y, x.Value, k.Value, g, f)
		out, pre := biasAct(t, act, y, b)
		return result(t, out, node{back: backConv2D, in: [3]*Var{x, k, b}, saved: [2]*tensor.Tensor{nil, pre}, geom: g,
			op: uint8(act.Op), f: [2]float32{act.Param}, ints: [4]int{b2i(act.On)}})
	}
	ld := kernels.PatchStride(g.KH * g.KW * g.C)
	var cols *tensor.Tensor // kept for ∂L/∂k only when k's gradient can be asked for
	var pt []float32
	if t.tracks(k) {
		cols = alloc(t, []int{g.N * g.OH * g.OW, ld})
		pt = cols.Data()
	}
	y := alloc(t, []int{g.N, g.OH, g.OW, f})
	kernels.ConvForward(y.Data(), pt, x.Value.Data(), k.Value.Data(), g, f, ld)
	out, pre := biasAct(t, act, y, b)
	n := node{back: backConv2D, in: [3]*Var{x, k, b}, geom: g}
	n.setPatches(cols)
	n.setPreActivation(pre, true)
	n.setActivation(act)
	return result(t, out, n)
}

// winogradOn lets tests compare the Winograd path with im2col + GEMM.
var winogradOn = true

// winogradOddTrain lets tests and benchmarks take Winograd in training at
// odd output sizes too (see useWinograd).
var winogradOddTrain = false

// useWinograd reports whether a convolution's forward pass runs as
// Winograd F(2×2, 3×3) (kernels.WinogradConv3x3) rather than im2col +
// GEMM: where its transforms run in assembly (kernels.WinogradFast), for
// 3×3 windows with stride 1 and no dilation, at least 16 input
// and output channels (the transforms run 16 channels at a time) and at
// least 256 tiles of 2×2 outputs, enough to pay for transforming the
// kernel on every call. At one thread on the VGG's layers (batch 32,
// kernels.BenchmarkWinograd's shapes, CPU time, median of 7): 1.2–1.65×
// the im2col form's speed. The input gradient of such a convolution runs
// the same way (winogradInputGrad), and so does the kernel gradient
// (kernels.WinogradKernelGrad, 1.2–1.7× Pᵀ·δ's speed on the same layers);
// no patches are built at all.
//
// When gradients are recorded (not infer), the output must also have an
// even height and width. An odd one wastes a row or column of every edge
// tile (19% of the products at CNNNet's 11×11) and gives up the fused
// convolution and pooling of training: even with all three passes in
// Winograd, the training step of CNNNet's second convolution (13×13×32 →
// 11×11×64, ReLU, pool; BenchmarkConv3x3Train, one thread, CPU time,
// load 2) took 4.24 against 3.64 ms at batch 32 and 14.6 against 14.4 at
// batch 128, and CNNNet's whole step at two threads was 15–18% slower
// (three interleaved rounds), while the VGG's 16×16×128 → 128 took 54.8
// against 89.7 ms. winogradOddTrain lifts the rule for tests.
func useWinograd(g tensor.ConvGeom, f int, infer bool) bool {
	tiles := g.N * ((g.OH + 1) / 2) * ((g.OW + 1) / 2)
	return winogradOn && kernels.WinogradFast() && kernels.WinogradFits(g) && g.C >= 16 && f >= 16 && tiles >= 256 &&
		(infer || winogradOddTrain || g.OH%2 == 0 && g.OW%2 == 0)
}

// winogradInputGrad writes (acc: adds) into gx [N, H, W, C] the input
// gradient of the convolution g with kernel k [3, 3, C, f] given gz [N,
// OH, OW, f], as the Winograd convolution of gz with k rotated and
// transposed, and reports whether it could (kernels.WinogradGradGeom).
func winogradInputGrad(t *Tape, gx, gz, k *tensor.Tensor, g tensor.ConvGeom, f int, acc bool) bool {
	gi, ok := kernels.WinogradGradGeom(g, f)
	if !ok {
		return false
	}
	rot, u := t.Alloc(3, 3, f, g.C), t.Alloc(16, f, g.C)
	kernels.RotateKernel3x3(rot.Data(), k.Data(), g.C, f)
	kernels.WinogradKernel(u.Data(), rot.Data(), f, g.C)
	if !acc {
		kernels.WinogradConv3x3(gx.Data(), gz.Data(), u.Data(), gi, g.C)
		return true
	}
	tmp := t.Alloc(gx.Shape()...)
	kernels.WinogradConv3x3(tmp.Data(), gz.Data(), u.Data(), gi, g.C)
	kernels.Axpy(1, tmp.Data(), gx.Data())
	return true
}

// winogradForward writes into y the convolution of x with the kernel k
// [3, 3, C, f] by Winograd F(2×2, 3×3), the kernel's transform in scratch
// from t's pool.
func winogradForward(t *Tape, y, x, k *tensor.Tensor, g tensor.ConvGeom, f int) {
	u := alloc(t, []int{16, g.C, f})
	kernels.WinogradKernel(u.Data(), k.Data(), g.C, f)
	kernels.WinogradConv3x3(y.Data(), x.Data(), u.Data(), g, f)
}

// convGeom returns the geometry of convolving x with the kernel k
// [KH, KW, C, F] over the window w. It panics with a *tensor.ShapeError
// for a kernel that is not rank 4, an input whose channels are not C, or
// a bias b (nil: none) that is not [F].
func convGeom(x, k, b *Var, w tensor.Window) tensor.ConvGeom {
	ks := k.Value.Shape()
	if len(ks) != 4 {
		panic(&tensor.ShapeError{Op: "Conv2D", Got: ks, Msg: "kernel must be [kh, kw, in, out]"})
	}
	w.KH, w.KW = ks[0], ks[1]
	g := tensor.MustConvGeometry(x.Value.Shape(), w)
	if ks[2] != g.C {
		panic(&tensor.ShapeError{Op: "Conv2D", Got: x.Value.Shape(), Want: []int{g.N, g.H, g.W, ks[2]}, Msg: "input channels differ from kernel"})
	}
	if b != nil && b.Value.Len() != ks[3] {
		panic(&tensor.ShapeError{Op: "Conv2D", Got: b.Value.Shape(), Want: []int{ks[3]}, Msg: "bias length"})
	}
	return g
}

// patches returns the im2col patches of x for the convolution geometry g
// (from t's pool when t is not nil): [N·OH·OW, ld], KH·KW·C values per row
// followed by ld − KH·KW·C unused ones (kernels.PatchStride).
func patches(t *Tape, x *tensor.Tensor, g tensor.ConvGeom) *tensor.Tensor {
	ld := kernels.PatchStride(g.KH * g.KW * g.C)
	cols := alloc(t, []int{g.N * g.OH * g.OW, ld})
	kernels.Im2Col(cols.Data(), x.Data(), g, ld)
	return cols
}

func backConv2D(t *Tape, n *node) {
	convBackward(t, n, actGrad(t, n.activation(), n.out.Value, n.preActivation(true), t.grads[n.out.id]))
}

// convBackward is the backward pass of the convolution of node n (inputs
// x, k, b; patches saved[0]; geometry geom) given gz = ∂L/∂z, the gradient
// at its output before the activation.
func convBackward(t *Tape, n *node, gz *tensor.Tensor) {
	x, k, b := n.in[0], n.in[1], n.in[2]
	g := n.geom
	cols := n.patches()
	rows, kk, f := g.N*g.OH*g.OW, g.KH*g.KW*g.C, k.Value.Shape()[3]
	gb := t.grad(b)
	if gk, beta := t.gemmOut(k); gk != nil {
		switch {
		case cols == nil && n.im2colOnly(): // the fused convolution and pooling kept none
			var gbd []float32
			if gb != nil {
				gbd = gb.Data()
				gb = nil // done here
			}
			kernels.ConvKernelGrad(gk.Data(), gbd, x.Value.Data(), gz.Data(), g, f, beta)
		case cols == nil && kernels.WinogradFits(g): // a Winograd forward pass kept no patches
			kernels.WinogradKernelGrad(gk.Data(), x.Value.Data(), gz.Data(), g, f, beta)
		case cols == nil: // none were kept (not expected: a tracked kernel's are)
			cols = patches(t, x.Value, g)
			fallthrough
		default:
			kernels.Sgemm(true, false, kk, f, rows, 1, cols.Data(), cols.Dim(1), gz.Data(), f, beta, gk.Data(), f)
		}
	}
	if gb != nil {
		kernels.SumRowsAcc(gb.Data(), gz.Data())
	}
	if gx, acc := t.gradOut(x); gx != nil {
		if n.im2colOnly() || !useWinograd(g, f, false) || !winogradInputGrad(t, gx, gz, k.Value, g, f, acc) {
			kernels.ConvInputGrad(gx.Data(), gz.Data(), k.Value.Data(), g, f, acc)
		}
	}
}

// Conv2DMaxPool returns MaxPool2D(Conv2D(x, k, b, w, act), pool), fused
// where it can be: for 2×2 pooling with stride 2 and no padding, and an
// activation that can run in place (ReLU, tanh, sigmoid, ELU, leaky ReLU
// with a positive slope, or none), the convolution's output is computed and
// pooled two rows at a time in cache and never stored whole, each pair of
// rows' patches built right before the GEMM reads them
// (kernels.Im2ColMaxPool2x2). Two cases go further: a 3×3 convolution of
// one input channel with ReLU or no activation runs as a direct
// convolution that builds no patches (kernels.ConvPool3x3, convPool3x3);
// in inference, a convolution that takes Winograd (useWinograd) pools each
// 2×2 output tile in registers, computing only the tiles the pooling keeps;
// in training, such a convolution (even output sizes) runs as the two ops
// (Conv2D through Winograd, then MaxPool2D). Other windows and activations
// take the two ops. The values and gradients
// are those of the two ops (up to the order of the sums on the direct and
// Winograd paths).
//
// Backward, with y the pooled output and δ = ∂L/∂y: the activation's
// derivative is taken at the winners, whose activated values are y
// (δ′ = δ ⊙ act′(y)), δ′ is routed to the winners' positions, and the
// convolution's backward pass follows as in Conv2D.
func Conv2DMaxPool(x, k, b *Var, w tensor.Window, act Activation, pool tensor.Window) *Var {
	fusable := pool.KH == 2 && pool.KW == 2 && pool.SH == 2 && pool.SW == 2 && max(pool.DH, 1) == 1 && max(pool.DW, 1) == 1 &&
		(pool.Padding == "" || pool.Padding == "valid") && (!act.On || act.fromOutput())
	if !fusable {
		return MaxPool2D(Conv2D(x, k, b, w, act), pool)
	}
	g := convGeom(x, k, b, w)
	t := tapeOf(x, k, b)
	infer := t == nil || t.infer
	if f := k.Value.Dim(3); kernels.ConvPool3x3Fits(g, f) && (!act.On || act.Op == tensor.OpRelu) {
		return convPool3x3(t, x, k, b, g, f, act)
	}
	if f := k.Value.Dim(3); infer && useWinograd(g, f, true) && (!act.On || act.Op == tensor.OpRelu) {
		// Each 2×2 Winograd tile is a pooling window, pooled in registers.
		// An odd last row or column, which the pooling drops, is not
		// computed at all: CNNNet's 11×11 runs 5×5 tiles instead of 6×6.
		g.OH, g.OW = g.OH&^1, g.OW&^1
		y := alloc(t, []int{g.N, g.OH / 2, g.OW / 2, f})
		u := alloc(t, []int{16, g.C, f})
		kernels.WinogradKernel(u.Data(), k.Value.Data(), g.C, f)
		bias := make([]float32, f)
		if b != nil {
			bias = b.Value.Data()
		}
		kernels.WinogradConv3x3Pool(y.Data(), x.Value.Data(), u.Data(), bias, g, f, act.On)
		return result(t, y, node{})
	}
	if g.OH < 2 || g.OW < 2 || useWinograd(g, k.Value.Dim(3), infer) {
		return MaxPool2D(Conv2D(x, k, b, w, act), pool)
	}
	f := k.Value.Dim(3)
	y := alloc(t, []int{g.N, g.OH / 2, g.OW / 2, f})
	var bias []float32
	if b != nil {
		bias = b.Value.Data()
	}
	if infer { // no patches kept, no winners
		kernels.Im2ColMaxPool2x2(y.Data(), nil, nil, 0, x.Value.Data(), k.Value.Data(), bias, g, f, act.On, kernels.UnaryOp(act.Op), act.Param)
		return result(t, y, node{})
	}
	// An odd last row or column of the convolution's output is dropped by
	// the pooling: it wins no window, its gradient is zero, and it adds
	// nothing to ∂L/∂k or ∂L/∂x. The convolution runs on the even part
	// alone (the same geometry with OH, OW rounded down), in all three
	// passes: CNNNet's 11×11 computes 10×10, 17% less work.
	g.OH, g.OW = g.OH&^1, g.OW&^1
	// With at least an image per thread, no patch matrix is kept: the
	// forward pass builds each pair of rows' patches in scratch, and the
	// kernel gradient rebuilds them image by image on the thread that
	// uses them (kernels.ConvKernelGrad, split by images). With fewer
	// images, the patches are kept for a GEMM split inside.
	var cols *tensor.Tensor
	var pt []float32
	ld := kernels.PatchStride(g.KH * g.KW * g.C)
	if g.N < kernels.Threads() {
		cols = alloc(t, []int{g.N * g.OH * g.OW, ld})
		pt = cols.Data()
	}
	arg := t.allocInt32(y.Len())
	kernels.Im2ColMaxPool2x2(y.Data(), arg, pt, ld, x.Value.Data(), k.Value.Data(), bias, g, f, act.On, kernels.UnaryOp(act.Op), act.Param)
	n := node{back: backConv2DMaxPool, in: [3]*Var{x, k, b}, geom: g, i32: arg}
	n.setPatches(cols)
	n.setActivation(act)
	n.setIm2ColOnly()
	return result(t, y, n)
}

// convPool3x3 is Conv2DMaxPool for a 3×3 convolution of one input
// channel (the first layer of a grayscale image classifier), ReLU or no
// activation: a direct convolution fused with the pooling that builds no
// patches (kernels.ConvPool3x3). Values and gradients are those of the two
// ops up to the order of the sums.
func convPool3x3(t *Tape, x, k, b *Var, g tensor.ConvGeom, f int, act Activation) *Var {
	y := alloc(t, []int{g.N, g.OH / 2, g.OW / 2, f})
	var arg []int32
	if t != nil && !t.infer {
		arg = t.allocInt32(y.Len())
	}
	var bias []float32
	if b != nil {
		bias = b.Value.Data()
	}
	kernels.ConvPool3x3(y.Data(), arg, x.Value.Data(), k.Value.Data(), bias, g, f, act.On)
	n := node{back: backConvPool3x3, in: [3]*Var{x, k, b}, geom: g, i32: arg}
	n.setActivation(act)
	return result(t, y, n)
}

// backConvPool3x3 is the backward pass of convPool3x3: the kernel and bias
// gradients straight from the input and the pooled gradient at the
// winners (kernels.ConvPool3x3Grad); the input gradient, when x is
// tracked, routes that gradient to the winners and runs col2im(δ·kᵀ).
func backConvPool3x3(t *Tape, n *node) {
	x, k, b := n.in[0], n.in[1], n.in[2]
	g, f := n.geom, k.Value.Dim(3)
	gp := actGrad(t, n.activation(), n.out.Value, nil, t.grads[n.out.id]) // at the winners
	gk, beta := t.gemmOut(k)
	gb := t.grad(b)
	if gk != nil || gb != nil {
		if gk == nil { // a constant kernel: its gradient is computed and dropped
			gk = t.Alloc(3, 3, 1, f)
		}
		var gbd []float32
		if gb != nil {
			gbd = gb.Data()
		}
		kernels.ConvPool3x3Grad(gk.Data(), gbd, x.Value.Data(), gp.Data(), n.i32, g, f, beta == 1)
	}
	if gx, acc := t.gradOut(x); gx != nil {
		gz := t.Alloc(g.N, g.OH, g.OW, f)
		pool := kernels.ConvGeom{N: g.N, H: g.OH, W: g.OW, C: f, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, OH: g.OH / 2, OW: g.OW / 2}
		kernels.MaxPoolGrad(gz.Data(), gp.Data(), n.i32, pool)
		kernels.ConvInputGrad(gx.Data(), gz.Data(), k.Value.Data(), g, f, acc)
	}
}

func backConv2DMaxPool(t *Tape, n *node) {
	g := n.geom
	gp := actGrad(t, n.activation(), n.out.Value, nil, t.grads[n.out.id]) // at the winners
	gz := t.Alloc(g.N, g.OH, g.OW, n.in[1].Value.Dim(3))
	pool := kernels.ConvGeom{N: g.N, H: g.OH, W: g.OW, C: gz.Dim(3), KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, OH: g.OH / 2, OW: g.OW / 2}
	kernels.MaxPoolGrad(gz.Data(), gp.Data(), n.i32, pool)
	convBackward(t, n, gz)
}

// MaxPool2D returns the maxima of x [N, H, W, C] over windows w as
// [N, OH, OW, C]. Backward routes each gradient to the element that won
// its window.
func MaxPool2D(x *Var, w tensor.Window) *Var {
	t := tapeOf(x)
	g := tensor.MustConvGeometry(x.Value.Shape(), w)
	out := alloc(t, []int{g.N, g.OH, g.OW, g.C})
	var arg []int32 // the winners, for backward; not needed when nothing records
	if t != nil && !t.infer {
		arg = t.allocInt32(out.Len())
	}
	kernels.MaxPool(out.Data(), arg, x.Value.Data(), g)
	return result(t, out, node{back: backMaxPool, in: [3]*Var{x}, i32: arg, geom: g})
}

func backMaxPool(t *Tape, n *node) {
	gx, acc := t.gradOut(n.in[0])
	switch {
	case gx == nil:
	case acc:
		kernels.MaxPoolGradAcc(gx.Data(), t.grads[n.out.id].Data(), n.i32, n.geom)
	default:
		kernels.MaxPoolGrad(gx.Data(), t.grads[n.out.id].Data(), n.i32, n.geom)
	}
}

// AvgPool2D returns the means of x [N, H, W, C] over windows w (padding not
// counted). Backward spreads each gradient evenly over its window.
func AvgPool2D(x *Var, w tensor.Window) *Var {
	t := tapeOf(x)
	g := tensor.MustConvGeometry(x.Value.Shape(), w)
	out := alloc(t, []int{g.N, g.OH, g.OW, g.C})
	kernels.AvgPool(out.Data(), x.Value.Data(), g)
	return result(t, out, node{back: backAvgPool, in: [3]*Var{x}, geom: g})
}

func backAvgPool(t *Tape, n *node) {
	if gx := t.grad(n.in[0]); gx != nil {
		kernels.AvgPoolGradAcc(gx.Data(), t.grads[n.out.id].Data(), n.geom)
	}
}
