package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Conv2D is a 2-D convolution over NHWC input: y = σ(W ∗ x + b) for x
// [batch, h, w, in], kernel W [kh, kw, in, filters], bias b [filters];
// output [batch, oh, ow, filters]. Padding is "valid" (default) or "same";
// zero Strides and DilationRate mean 1.
//
// Zero values: GlorotUniform kernel, zero bias, no regularization.
type Conv2D struct {
	Filters           int         // output channels (required, > 0)
	KernelSize        [2]int      // window height and width (required, > 0)
	Strides           [2]int      // step along height and width [1, 1]
	Padding           string      // "valid" (default) or "same"
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

func (l *Conv2D) layerName() string     { return l.Name }
func (l *Conv2D) setLayerName(n string) { l.Name = n }

// Weights returns kernel and bias.
func (l *Conv2D) Weights() []Weight {
	return []Weight{{"kernel", l.Kernel, true, l.KernelRegularizer}, {"bias", l.Bias, true, l.BiasRegularizer}}
}

func (l *Conv2D) window() tensor.Window {
	return tensor.Window{KH: l.KernelSize[0], KW: l.KernelSize[1], SH: l.Strides[0], SW: l.Strides[1], DH: l.DilationRate[0], DW: l.DilationRate[1], Padding: l.Padding}
}

func (l *Conv2D) build(c *Ctx, in []int) {
	if len(in) != 4 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, -1}, Got: in, Msg: "Conv2D needs [batch, height, width, channels]"})
	}
	if l.Filters <= 0 || l.KernelSize[0] <= 0 || l.KernelSize[1] <= 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("filters %d and kernel size %v must be positive", l.Filters, l.KernelSize)})
	}
	if _, err := tensor.ConvGeometry(in, l.window()); err != nil {
		panic(&ShapeError{Layer: l.Name, Msg: err.Error(), Got: in})
	}
	act, post, err := activation(l.Activation)
	if err != nil {
		panic(&ConfigError{Layer: l.Name, Msg: err.Error()})
	}
	l.act, l.post = act, post
	kh, kw, ch := l.KernelSize[0], l.KernelSize[1], in[3]
	rng := c.buildRNG(l.Name)
	k := c.weight(l.Name, kh, kw, ch, l.Filters)
	orDefault(l.KernelInitializer, GlorotUniform{}).Init(rng, k, kh*kw*ch, kh*kw*l.Filters)
	l.Kernel = autograd.NewParam(l.Name+".kernel", k)
	if !l.NoBias {
		b := c.weight(l.Name, l.Filters)
		orDefault(l.BiasInitializer, Zeros{}).Init(rng, b, kh*kw*ch, kh*kw*l.Filters)
		l.Bias = autograd.NewParam(l.Name+".bias", b)
	}
}

// check returns the geometry of the layer on a built input shape in, or
// panics with a *ShapeError naming the layer.
func (l *Conv2D) check(in []int) tensor.ConvGeom {
	if len(in) != 4 || in[3] != l.Kernel.Value.Dim(2) {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, l.Kernel.Value.Dim(2)}, Got: in})
	}
	g, err := tensor.ConvGeometry(in, l.window())
	if err != nil {
		panic(&ShapeError{Layer: l.Name, Msg: err.Error(), Got: in})
	}
	return g
}

// Forward computes σ(W ∗ x + b).
func (l *Conv2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if l.Kernel == nil {
		l.build(c, x.Shape())
	}
	l.check(x.Shape())
	y := applyPost(autograd.Conv2D(x, l.Kernel, l.Bias, l.window(), l.act), l.post)
	c.trace(l.Name, "Conv2D", y, numel(l.Kernel, l.Bias))
	return y
}

// ConvPool returns pool.Forward(c, conv.Forward(c, x)) through the fused
// autograd.Conv2DMaxPool, which does not store the convolution's output
// whole where the pooling window and the activation allow it. A layer
// that is not built yet, a summary trace or a post-activation (softmax,
// sigmoid) takes the two layers one after the other.
func ConvPool(c *Ctx, conv *Conv2D, pool *MaxPool2D, x *autograd.Var) *autograd.Var {
	if conv.Kernel == nil || conv.post != nil || (c != nil && c.build != nil) {
		return pool.Forward(c, conv.Forward(c, x))
	}
	g := conv.check(x.Shape())
	w := poolWindow(pool.PoolSize, pool.Strides, pool.Padding)
	if _, err := tensor.ConvGeometry([]int{g.N, g.OH, g.OW, conv.Filters}, w); err != nil {
		panic(&ShapeError{Layer: pool.Name, Msg: err.Error(), Got: []int{g.N, g.OH, g.OW, conv.Filters}})
	}
	return autograd.Conv2DMaxPool(x, conv.Kernel, conv.Bias, conv.window(), conv.act, w)
}

// MaxPool2D takes the maximum over PoolSize windows of NHWC input. Zero
// Strides mean PoolSize (Keras); zero PoolSize means 2×2.
type MaxPool2D struct {
	PoolSize [2]int
	Strides  [2]int
	Padding  string
	Name     string
}

// AveragePool2D takes the mean over PoolSize windows of NHWC input (padded
// positions not counted). Zero Strides mean PoolSize; zero PoolSize 2×2.
type AveragePool2D struct {
	PoolSize [2]int
	Strides  [2]int
	Padding  string
	Name     string
}

func poolWindow(size, strides [2]int, padding string) tensor.Window {
	if size == [2]int{} {
		size = [2]int{2, 2}
	}
	if strides == [2]int{} {
		strides = size
	}
	return tensor.Window{KH: size[0], KW: size[1], SH: strides[0], SW: strides[1], Padding: padding}
}

func checkPool(name string, x *autograd.Var, w tensor.Window) {
	if _, err := tensor.ConvGeometry(x.Shape(), w); err != nil {
		panic(&ShapeError{Layer: name, Msg: err.Error(), Got: x.Shape()})
	}
}

func (l *MaxPool2D) layerName() string     { return l.Name }
func (l *MaxPool2D) setLayerName(n string) { l.Name = n }

// Forward pools x [batch, h, w, c].
func (l *MaxPool2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	w := poolWindow(l.PoolSize, l.Strides, l.Padding)
	checkPool(l.Name, x, w)
	y := autograd.MaxPool2D(x, w)
	c.trace(l.Name, "MaxPooling2D", y, 0)
	return y
}

func (l *AveragePool2D) layerName() string     { return l.Name }
func (l *AveragePool2D) setLayerName(n string) { l.Name = n }

// Forward pools x [batch, h, w, c].
func (l *AveragePool2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	w := poolWindow(l.PoolSize, l.Strides, l.Padding)
	checkPool(l.Name, x, w)
	y := autograd.AvgPool2D(x, w)
	c.trace(l.Name, "AveragePooling2D", y, 0)
	return y
}

// GlobalAveragePool2D averages over height and width: [batch, h, w, c] →
// [batch, c].
type GlobalAveragePool2D struct{ Name string }

func (l *GlobalAveragePool2D) layerName() string     { return l.Name }
func (l *GlobalAveragePool2D) setLayerName(n string) { l.Name = n }

// Forward averages x over axes 1 and 2.
func (l *GlobalAveragePool2D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() != 4 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1, -1}, Got: x.Shape()})
	}
	y := autograd.Mean(x, false, 1, 2)
	c.trace(l.Name, "GlobalAveragePooling2D", y, 0)
	return y
}
