package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// ConvTranspose2D is a transposed 2-D convolution ("deconvolution", Keras
// Conv2DTranspose) over NHWC input: y = σ(W ⋆ᵀ x + b) for x
// [batch, h, w, in], kernel W [kh, kw, filters, in] (Keras layout), bias b
// [filters]; output [batch, oh, ow, filters]. It is the input gradient of
// a Conv2D with the same kernel, and upsamples by the stride:
//
//	valid: oh = (h−1)·s + k + p     (Keras: h·s + max(k − s, 0) when p is 0)
//	same:  oh = h·s + p             (max(k − s, 0)/2 rows cropped at the top)
//
// with k = (kh−1)·d + 1 and p the OutputPadding, which must be smaller than
// the stride or the dilation (PyTorch's output_padding; with "same" and a
// non-zero p this differs from Keras, which then changes the cropping).
// PyTorch's ConvTranspose2d(in, filters, 4, stride=2, padding=1) is
// Padding "same" with Strides {2, 2}: 7×7 → 14×14 → 28×28.
//
// Zero values: Strides and DilationRate 1, Padding "valid", GlorotUniform
// kernel (fans as Keras computes them for this layout: in = kh·kw·filters,
// out = kh·kw·in), zero bias, no regularization.
type ConvTranspose2D struct {
	Filters           int         // output channels (required, > 0)
	KernelSize        [2]int      // window height and width (required, > 0)
	Strides           [2]int      // step along height and width [1, 1]
	Padding           string      // "valid" (default) or "same"
	OutputPadding     [2]int      // extra output rows and columns, smaller than the stride or the dilation [Keras's]
	DilationRate      [2]int      // spacing of the kernel taps along height and width [1, 1]
	Activation        string      // a name of autograd.Activations [linear]
	NoBias            bool        // no bias (Keras use_bias=False)
	KernelInitializer Initializer // of kernel [glorot_uniform]
	BiasInitializer   Initializer // of bias [zeros]
	KernelRegularizer Regularizer // penalty on kernel [none]
	BiasRegularizer   Regularizer // penalty on bias [none]
	Name              string      // layer name; empty: Build names it after its place in the model

	Kernel, Bias *autograd.Var // created on first Forward / Build
	act          autograd.Activation
	post         func(*autograd.Var) *autograd.Var
}

func (l *ConvTranspose2D) layerName() string     { return l.Name }
func (l *ConvTranspose2D) setLayerName(n string) { l.Name = n }

// Weights returns kernel and bias.
func (l *ConvTranspose2D) Weights() []Weight {
	return []Weight{{"kernel", l.Kernel, true, l.KernelRegularizer}, {"bias", l.Bias, true, l.BiasRegularizer}}
}

func (l *ConvTranspose2D) window() tensor.Window {
	return tensor.Window{KH: l.KernelSize[0], KW: l.KernelSize[1], SH: l.Strides[0], SW: l.Strides[1], DH: l.DilationRate[0], DW: l.DilationRate[1], Padding: l.Padding}
}

// outputPadding returns the output padding the op gets: the field, or for
// "valid" with a zero field Keras's default that makes oh = h·s when the
// (dilated) kernel is smaller than the stride.
func (l *ConvTranspose2D) outputPadding() [2]int {
	p := l.OutputPadding
	if p == [2]int{} && (l.Padding == "" || l.Padding == "valid") {
		for i := range p {
			s, d := max(l.Strides[i], 1), max(l.DilationRate[i], 1)
			k := (l.KernelSize[i]-1)*d + 1
			p[i] = max(s-k, 0)
		}
	}
	return p
}

// geometry checks the layer's hyperparameters against an input shape.
func (l *ConvTranspose2D) geometry(in []int, channels int) tensor.ConvGeom {
	if len(in) != 4 || (channels > 0 && in[3] != channels) {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, channels}, Got: in, Msg: "ConvTranspose2D needs [batch, height, width, channels]"})
	}
	if l.Padding != "" && l.Padding != "valid" && l.Padding != "same" {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("unknown padding %q (want valid or same)", l.Padding)})
	}
	g, err := autograd.ConvTransposeGeometry(in, []int{l.KernelSize[0], l.KernelSize[1], l.Filters, in[3]}, l.window(), l.outputPadding())
	if err != nil {
		panic(&ShapeError{Layer: l.Name, Msg: err.Error(), Got: in})
	}
	return g
}

func (l *ConvTranspose2D) build(c *Ctx, in []int) {
	if l.Filters <= 0 || l.KernelSize[0] <= 0 || l.KernelSize[1] <= 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("filters %d and kernel size %v must be positive", l.Filters, l.KernelSize)})
	}
	l.geometry(in, -1)
	act, post, err := activation(l.Activation)
	if err != nil {
		panic(&ConfigError{Layer: l.Name, Msg: err.Error()})
	}
	l.act, l.post = act, post
	kh, kw, ch := l.KernelSize[0], l.KernelSize[1], in[3]
	rng := c.buildRNG(l.Name)
	k := c.weight(l.Name, kh, kw, l.Filters, ch)
	orDefault(l.KernelInitializer, GlorotUniform{}).Init(rng, k, kh*kw*l.Filters, kh*kw*ch)
	l.Kernel = autograd.NewParam(l.Name+".kernel", k)
	if !l.NoBias {
		b := c.weight(l.Name, l.Filters)
		orDefault(l.BiasInitializer, Zeros{}).Init(rng, b, kh*kw*l.Filters, kh*kw*ch)
		l.Bias = autograd.NewParam(l.Name+".bias", b)
	}
}

// Forward computes σ(W ⋆ᵀ x + b).
func (l *ConvTranspose2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if l.Kernel == nil {
		l.build(c, x.Shape())
	}
	l.geometry(x.Shape(), l.Kernel.Value.Dim(3))
	y := applyPost(autograd.ConvTranspose2D(x, l.Kernel, l.Bias, l.window(), l.outputPadding(), l.act), l.post)
	c.trace(l.Name, "Conv2DTranspose", y, numel(l.Kernel, l.Bias))
	return y
}

// UpSampling2D repeats each pixel of NHWC input Size[0] times along the
// height and Size[1] times along the width (nearest neighbour): [batch, h,
// w, c] → [batch, h·Size[0], w·Size[1], c]. Zero Size means 2×2;
// Interpolation must be "nearest" (the default; "bilinear" is not
// implemented).
type UpSampling2D struct {
	Size          [2]int
	Interpolation string
	Name          string
}

func (l *UpSampling2D) layerName() string     { return l.Name }
func (l *UpSampling2D) setLayerName(n string) { l.Name = n }

// Forward upsamples x [batch, h, w, c].
func (l *UpSampling2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	size := l.Size
	if size == [2]int{} {
		size = [2]int{2, 2}
	}
	if size[0] <= 0 || size[1] <= 0 || (l.Interpolation != "" && l.Interpolation != "nearest") {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("size %v must be positive and interpolation %q nearest", l.Size, l.Interpolation)})
	}
	if x.Value.Rank() != 4 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, -1}, Got: x.Shape()})
	}
	y := autograd.UpSampling2D(x, size[0], size[1])
	c.trace(l.Name, "UpSampling2D", y, 0)
	return y
}

// LeakyReLU is x for x > 0 and Alpha·x otherwise (Maas et al. 2013).
// Zero Alpha means 0.3, the default of Keras's LeakyReLU layer (the
// "leaky_relu" activation name of Dense and Activation uses 0.2).
type LeakyReLU struct {
	Alpha float32
	Name  string
}

func (l *LeakyReLU) layerName() string     { return l.Name }
func (l *LeakyReLU) setLayerName(n string) { l.Name = n }

// Forward applies the leaky rectifier elementwise.
func (l *LeakyReLU) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	a := l.Alpha
	if a == 0 {
		a = 0.3
	}
	y := autograd.LeakyRelu(x, a)
	c.trace(l.Name, "LeakyReLU", y, 0)
	return y
}
