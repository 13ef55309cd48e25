package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
)

// Dense is a fully connected layer: y = σ(x·W + b) for x [batch, ..., in],
// kernel W [in, units], bias b [units]; output [batch, ..., units].
// Activation is a name of the activation vocabulary, autograd.Activations
// (relu, leaky_relu, elu, gelu, gelu_tanh, sigmoid, hard_sigmoid, tanh,
// softmax, softplus, silu, swish, linear; empty = linear), as for every
// layer with an Activation field. The bias add and the elementwise
// activations that have a fused form (all but softmax, sigmoid,
// hard_sigmoid, gelu and silu/swish, applied after) are fused into the
// GEMM's output pass.
//
// Zero values: GlorotUniform kernel, zero bias, no regularization.
type Dense struct {
	Units             int
	Activation        string
	NoBias            bool
	KernelInitializer Initializer
	BiasInitializer   Initializer
	KernelRegularizer Regularizer
	BiasRegularizer   Regularizer
	Name              string

	Kernel, Bias *autograd.Var // created on first Forward / Build
	act          autograd.Activation
	post         func(*autograd.Var) *autograd.Var
}

func (d *Dense) layerName() string     { return d.Name }
func (d *Dense) setLayerName(n string) { d.Name = n }

// Weights returns kernel and bias.
func (d *Dense) Weights() []Weight {
	return []Weight{{"kernel", d.Kernel, true, d.KernelRegularizer}, {"bias", d.Bias, true, d.BiasRegularizer}}
}

func (d *Dense) build(c *Ctx, in []int) {
	if len(in) < 2 {
		panic(&ShapeError{Layer: d.Name, Want: []int{-1, -1}, Got: in, Msg: "Dense needs at least [batch, features]"})
	}
	if d.Units <= 0 {
		panic(&ConfigError{Layer: d.Name, Msg: fmt.Sprintf("units must be positive, got %d", d.Units)})
	}
	act, post, err := activation(d.Activation)
	if err != nil {
		panic(&ConfigError{Layer: d.Name, Msg: err.Error()})
	}
	d.act, d.post = act, post
	fin := in[len(in)-1]
	rng := c.buildRNG(d.Name)
	k := c.weight(d.Name, fin, d.Units)
	orDefault(d.KernelInitializer, GlorotUniform{}).Init(rng, k, fin, d.Units)
	d.Kernel = autograd.NewParam(d.Name+".kernel", k)
	if !d.NoBias {
		b := c.weight(d.Name, d.Units)
		orDefault(d.BiasInitializer, Zeros{}).Init(rng, b, fin, d.Units)
		d.Bias = autograd.NewParam(d.Name+".bias", b)
	}
}

func orDefault(i, def Initializer) Initializer {
	if i == nil {
		return def
	}
	return i
}

// Forward computes σ(x·W + b).
func (d *Dense) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if d.Kernel == nil {
		d.build(c, x.Shape())
	}
	if in := x.Shape(); len(in) < 2 || in[len(in)-1] != d.Kernel.Value.Dim(0) {
		panic(&ShapeError{Layer: d.Name, Want: []int{-1, d.Kernel.Value.Dim(0)}, Got: in})
	}
	y := applyPost(autograd.Dense(x, d.Kernel, d.Bias, d.act), d.post)
	c.trace(d.Name, "Dense", y, numel(d.Kernel, d.Bias))
	return y
}
