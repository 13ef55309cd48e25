package autograd

import (
	"fmt"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// ConvTransposeGeometry returns the geometry of a transposed convolution
// of an input of shape in = [N, H, W, C] with a kernel of shape
// [KH, KW, F, C] (Keras layout: filters, then input channels), window w
// (strides, dilation, padding; KH and KW are taken from the kernel) and
// outputPadding. The output is [g.N, g.H, g.W, g.C] = [N, OH, OW, F], and g
// is the geometry of the Conv2D from the output space back to the input
// space (g.OH = H, g.OW = W) whose input gradient the transposed
// convolution is.
//
// With s the stride, k = (K−1)·d + 1 the dilated kernel size and p the
// output padding, the output height is (likewise the width):
//
//	valid:    OH = (H−1)·s + k + p       (nothing cropped)
//	same:     OH = H·s + p               (max(k−s, 0)/2 rows cropped at the top, as Keras/TensorFlow)
//	explicit: OH = (H−1)·s + k − t − b + p   with Pads = {t, b, l, r} cropped (PyTorch's padding)
//
// so that PyTorch's ConvTranspose2d(kernel 4, stride 2, padding 1) is
// "same" (or explicit {1, 1, 1, 1}) with stride 2: 7 → 14 → 28. The output
// padding must be smaller than the stride or the dilation. It returns an
// error when the shapes do not fit.
func ConvTransposeGeometry(in, kernel []int, w tensor.Window, outputPadding [2]int) (tensor.ConvGeom, error) {
	if len(in) != 4 {
		return tensor.ConvGeom{}, &tensor.ShapeError{Op: "ConvTranspose2D", Got: in, Msg: "input must be [batch, height, width, channels]"}
	}
	if len(kernel) != 4 {
		return tensor.ConvGeom{}, &tensor.ShapeError{Op: "ConvTranspose2D", Got: kernel, Msg: "kernel must be [kh, kw, filters, in]"}
	}
	if kernel[3] != in[3] {
		return tensor.ConvGeom{}, &tensor.ShapeError{Op: "ConvTranspose2D", Got: in, Want: []int{in[0], in[1], in[2], kernel[3]}, Msg: "input channels differ from kernel"}
	}
	g := tensor.ConvGeom{N: in[0], OH: in[1], OW: in[2], C: kernel[2], KH: kernel[0], KW: kernel[1],
		SH: max(w.SH, 1), SW: max(w.SW, 1), DH: max(w.DH, 1), DW: max(w.DW, 1)}
	if g.KH <= 0 || g.KW <= 0 || g.C <= 0 {
		return tensor.ConvGeom{}, fmt.Errorf("kernel %v must have positive sizes", kernel)
	}
	if g.OH <= 0 || g.OW <= 0 {
		return tensor.ConvGeom{}, &tensor.ShapeError{Op: "ConvTranspose2D", Got: in, Msg: "input height and width must be positive"}
	}
	if p := outputPadding; p[0] < 0 || p[1] < 0 || p[0] >= max(g.SH, g.DH) || p[1] >= max(g.SW, g.DW) {
		return tensor.ConvGeom{}, fmt.Errorf("output padding %v must be non-negative and smaller than the stride or the dilation", p)
	}
	ekh, ekw := (g.KH-1)*g.DH+1, (g.KW-1)*g.DW+1
	fullH, fullW := (g.OH-1)*g.SH+ekh, (g.OW-1)*g.SW+ekw
	switch w.Padding {
	case "", "valid":
		g.H, g.W = fullH, fullW
	case "same":
		g.H, g.W = g.OH*g.SH, g.OW*g.SW
		g.PadT, g.PadL = max(ekh-g.SH, 0)/2, max(ekw-g.SW, 0)/2
	case "explicit":
		p := w.Pads
		if p[0] < 0 || p[1] < 0 || p[2] < 0 || p[3] < 0 {
			return tensor.ConvGeom{}, fmt.Errorf("pads %v must not be negative", p)
		}
		g.H, g.W = fullH-p[0]-p[1], fullW-p[2]-p[3]
		g.PadT, g.PadL = p[0], p[2]
	default:
		return tensor.ConvGeom{}, fmt.Errorf("unknown padding %q (want valid, same or explicit)", w.Padding)
	}
	g.H += outputPadding[0]
	g.W += outputPadding[1]
	if g.H <= 0 || g.W <= 0 {
		return tensor.ConvGeom{}, &tensor.ShapeError{Op: "ConvTranspose2D", Got: in, Msg: fmt.Sprintf("padding leaves an empty %dx%d output", g.H, g.W)}
	}
	return g, nil
}

// ConvTranspose2D returns act(x ⋆ᵀ k + b), the transposed convolution
// ("deconvolution") of x [N, H, W, C] with kernel k [KH, KW, F, C] (Keras
// layout) and bias b [F] (may be nil), NHWC output [N, OH, OW, F]; see
// ConvTransposeGeometry for the output size. Each input pixel scatters
// k[·, ·, f, c]·x[n, i, j, c] into the KH×KW window of the output at
// (i·s − padTop, j·s − padLeft):
//
//	y[n, i·s − pt + a·d, j·s − pl + e·d, f] += Σ_c x[n, i, j, c]·k[a, e, f, c]
//
// which is the input gradient of a Conv2D from the output space. It runs
// as GEMMs, columns P = x·Kᵀ [N·H·W, KH·KW·F] with the kernel viewed as
// K [KH·KW·F, C], each followed by col2im (the adjoint of Conv2D's
// im2col), a few images at a time (kernels.ConvInputGrad); a 4×4 kernel
// with stride 2 cropping one pixel on each side (PyTorch's
// ConvTranspose2d(·, ·, 4, 2, 1), "same" here) with at least 16 channels
// in and out runs instead as four stride-1 2×2 convolutions, one per
// output phase, straight into the output with no columns. Bias and
// activation are fused on the output.
//
// Backward, with δ = ∂L/∂z and Q = im2col(δ) [N·H·W, KH·KW·F]:
// ∂L/∂x = Q·K, ∂L/∂K = Qᵀ·x, ∂L/∂b = Σ δ.
//
// Shape mismatches panic with a *tensor.ShapeError.
func ConvTranspose2D(x, k, b *Var, w tensor.Window, outputPadding [2]int, act Activation) *Var {
	t := tapeOf(x, k, b)
	g, err := ConvTransposeGeometry(x.Value.Shape(), k.Value.Shape(), w, outputPadding)
	if err != nil {
		if se, ok := err.(*tensor.ShapeError); ok {
			panic(se)
		}
		panic(&tensor.ShapeError{Op: "ConvTranspose2D", Got: x.Value.Shape(), Msg: err.Error()})
	}
	f, cin := g.C, x.Value.Dim(3)
	if b != nil && b.Value.Len() != f {
		panic(&tensor.ShapeError{Op: "ConvTranspose2D", Got: b.Value.Shape(), Want: []int{f}, Msg: "bias length"})
	}
	y := alloc(t, []int{g.N, g.H, g.W, f})
	kernels.ConvInputGrad(y.Data(), x.Value.Data(), k.Value.Data(), g, cin, false)
	out, pre := biasAct(t, act, y, b)
	n := node{back: backConvTranspose2D, in: [3]*Var{x, k, b}, geom: g}
	n.setPreActivation(pre, false)
	n.setActivation(act)
	return result(t, out, n)
}

func backConvTranspose2D(t *Tape, n *node) {
	x, k, b := n.in[0], n.in[1], n.in[2]
	g := n.geom
	gz := actGrad(t, n.activation(), n.out.Value, n.preActivation(false), t.grads[n.out.id])
	if gb := t.grad(b); gb != nil {
		kernels.SumRowsAcc(gb.Data(), gz.Data())
	}
	gk, betaK := t.gemmOut(k)
	gx, betaX := t.gemmOut(x)
	if gk == nil && gx == nil {
		return
	}
	rows, kk, cin := g.N*g.OH*g.OW, g.KH*g.KW*g.C, x.Value.Dim(3)
	q := patches(t, gz, g)
	if gk != nil {
		kernels.Sgemm(true, false, kk, cin, rows, 1, q.Data(), q.Dim(1), x.Value.Data(), cin, betaK, gk.Data(), cin)
	}
	if gx != nil {
		kernels.Sgemm(false, false, rows, cin, kk, 1, q.Data(), q.Dim(1), k.Value.Data(), cin, betaX, gx.Data(), cin)
	}
}

// UpSampling2D repeats each pixel of x [N, H, W, C] sh times along the
// height and sw times along the width (nearest neighbour), giving
// [N, H·sh, W·sw, C]. Backward sums each sh×sw block of ∂L/∂y into its
// source pixel. Non-positive factors or a non-NHWC input panic with a
// *tensor.ShapeError.
func UpSampling2D(x *Var, sh, sw int) *Var {
	t := tapeOf(x)
	s := x.Value.Shape()
	if len(s) != 4 || sh <= 0 || sw <= 0 {
		panic(&tensor.ShapeError{Op: "UpSampling2D", Got: s, Msg: fmt.Sprintf("input must be [batch, height, width, channels] and the factors %dx%d positive", sh, sw)})
	}
	out := alloc(t, []int{s[0], s[1] * sh, s[2] * sw, s[3]})
	kernels.UpSampleNearest(out.Data(), x.Value.Data(), s[0], s[1], s[2], s[3], sh, sw)
	n := node{back: backUpSampling2D, in: [3]*Var{x}}
	n.setUpsample(sh, sw)
	return result(t, out, n)
}

func backUpSampling2D(t *Tape, n *node) {
	gx := t.grad(n.in[0])
	if gx == nil {
		return
	}
	s := gx.Shape()
	sh, sw := n.upsample()
	kernels.UpSampleNearestGradAcc(gx.Data(), t.grads[n.out.id].Data(), s[0], s[1], s[2], s[3], sh, sw)
}
