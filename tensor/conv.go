package tensor

import (
	"fmt"
	"slices"

	"github.com/strata-dl/strata/internal/kernels"
)

// ConvGeom is the geometry of a 2-D window (convolution or pooling) over an
// NHWC input; see ConvGeometry.
type ConvGeom = kernels.ConvGeom

// Window describes a 2-D sliding window: kernel size, strides, dilation and
// padding. Zero strides and dilations mean 1. Padding is "valid" (the
// default), "same" (Keras: output = ceil(input/stride), extra padding at the
// bottom/right), or "explicit" with Pads = {top, bottom, left, right}.
type Window struct {
	KH, KW  int
	SH, SW  int
	DH, DW  int
	Padding string
	Pads    [4]int
}

// ConvGeometry returns the geometry of window w over an input of shape
// [N, H, W, C]. It returns an error when the input is not rank 4, the
// window does not fit, or the padding mode is unknown.
func ConvGeometry(in []int, w Window) (ConvGeom, error) {
	if len(in) != 4 {
		return ConvGeom{}, &ShapeError{Op: "Conv2D", Got: slices.Clone(in), Msg: "input must be [batch, height, width, channels]"}
	}
	g := ConvGeom{N: in[0], H: in[1], W: in[2], C: in[3], KH: w.KH, KW: w.KW, SH: max(w.SH, 1), SW: max(w.SW, 1), DH: max(w.DH, 1), DW: max(w.DW, 1)}
	if g.KH <= 0 || g.KW <= 0 {
		return ConvGeom{}, fmt.Errorf("window size %dx%d must be positive", w.KH, w.KW)
	}
	ekh, ekw := (g.KH-1)*g.DH+1, (g.KW-1)*g.DW+1
	var pb, pr int
	switch w.Padding {
	case "", "valid":
	case "same":
		g.OH, g.OW = (g.H+g.SH-1)/g.SH, (g.W+g.SW-1)/g.SW
		ph := max((g.OH-1)*g.SH+ekh-g.H, 0)
		pw := max((g.OW-1)*g.SW+ekw-g.W, 0)
		g.PadT, g.PadL = ph/2, pw/2
		return g, nil
	case "explicit":
		g.PadT, pb, g.PadL, pr = w.Pads[0], w.Pads[1], w.Pads[2], w.Pads[3]
	default:
		return ConvGeom{}, fmt.Errorf("unknown padding %q (want valid, same or explicit)", w.Padding)
	}
	hh, ww := g.H+g.PadT+pb, g.W+g.PadL+pr
	if hh < ekh || ww < ekw {
		return ConvGeom{}, &ShapeError{Op: "Conv2D", Got: slices.Clone(in), Msg: fmt.Sprintf("window %dx%d larger than padded input %dx%d", ekh, ekw, hh, ww)}
	}
	g.OH, g.OW = (hh-ekh)/g.SH+1, (ww-ekw)/g.SW+1
	return g, nil
}

// MustConvGeometry is ConvGeometry that panics with the error, for
// expressions whose shapes were checked when the model was built.
func MustConvGeometry(in []int, w Window) ConvGeom {
	g, err := ConvGeometry(in, w)
	if err != nil {
		if se, ok := err.(*ShapeError); ok {
			panic(se)
		}
		panic(&ShapeError{Op: "Conv2D", Got: in, Msg: err.Error()})
	}
	return g
}

// Im2ColInto writes the patches of x [N, H, W, C] into dst
// [N·OH·OW, KH·KW·C] (allocated when nil) and returns it.
func Im2ColInto(dst, x *Tensor, g ConvGeom) *Tensor {
	if dst == nil {
		dst = Zeros(g.N*g.OH*g.OW, g.KH*g.KW*g.C)
	}
	kernels.Im2Col(dst.data, x.data, g, g.KH*g.KW*g.C)
	return dst
}

// Col2ImAcc adds the patch rows of cols back into gx [N, H, W, C] (the
// adjoint of Im2Col).
func Col2ImAcc(gx, cols *Tensor, g ConvGeom) { kernels.Col2ImAcc(gx.data, cols.data, g) }

// Conv2D returns the convolution of x [N, H, W, C] with kernel
// [KH, KW, C, F]: y[n, i, j, f] = Σ x[n, i·s + a·d − p, j·s + b·d − p, c]·k[a, b, c, f],
// computed as im2col followed by one GEMM. The output is [N, OH, OW, F].
func Conv2D(x, kernel *Tensor, w Window) *Tensor {
	ks := kernel.shape
	if len(ks) != 4 {
		panic(&ShapeError{Op: "Conv2D", Got: ks, Msg: "kernel must be [kh, kw, in, out]"})
	}
	w.KH, w.KW = ks[0], ks[1]
	g := MustConvGeometry(x.shape, w)
	if ks[2] != g.C {
		panic(&ShapeError{Op: "Conv2D", Got: x.shape, Want: []int{g.N, g.H, g.W, ks[2]}, Msg: "input channels differ from kernel"})
	}
	cols := Im2ColInto(nil, x, g)
	out := Zeros(g.N, g.OH, g.OW, ks[3])
	kernels.Sgemm(false, false, g.N*g.OH*g.OW, ks[3], g.KH*g.KW*g.C, 1, cols.data, g.KH*g.KW*g.C, kernel.data, ks[3], 0, out.data, ks[3])
	return out
}

// MaxPool2D returns the window maxima of x [N, H, W, C] as [N, OH, OW, C]
// and the flat input index of each maximum (for the backward pass).
func MaxPool2D(x *Tensor, w Window) (*Tensor, []int32) {
	g := MustConvGeometry(x.shape, w)
	out := Zeros(g.N, g.OH, g.OW, g.C)
	arg := make([]int32, len(out.data))
	kernels.MaxPool(out.data, arg, x.data, g)
	return out, arg
}

// AvgPool2D returns the window means of x [N, H, W, C] as [N, OH, OW, C];
// padded positions are not counted.
func AvgPool2D(x *Tensor, w Window) *Tensor {
	g := MustConvGeometry(x.shape, w)
	out := Zeros(g.N, g.OH, g.OW, g.C)
	kernels.AvgPool(out.data, x.data, g)
	return out
}
