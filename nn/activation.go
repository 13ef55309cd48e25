package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// activation resolves a Keras activation name. Elementwise ones are fused
// into the layer (returned as act); "softmax" and "sigmoid" are applied as
// separate ops so that losses can reach their logits (see
// autograd.Var.Logits).
func activation(name string) (act autograd.Activation, post string, err error) {
	switch name {
	case "", "linear":
		return autograd.Activation{}, "", nil
	case "relu":
		return autograd.Act(tensor.OpRelu, 0), "", nil
	case "tanh":
		return autograd.Act(tensor.OpTanh, 0), "", nil
	case "elu":
		return autograd.Act(tensor.OpElu, 1), "", nil
	case "gelu":
		return autograd.Act(tensor.OpGelu, 0), "", nil
	case "leaky_relu":
		return autograd.Act(tensor.OpLeakyRelu, 0.2), "", nil // Keras's default slope
	case "softplus":
		return autograd.Act(tensor.OpSoftplus, 0), "", nil
	case "sigmoid", "softmax":
		return autograd.Activation{}, name, nil
	}
	return autograd.Activation{}, "", fmt.Errorf("unknown activation %q (want relu, leaky_relu, elu, gelu, sigmoid, tanh, softmax, softplus or linear)", name)
}

// applyPost applies a non-fused output activation.
func applyPost(x *autograd.Var, post string) *autograd.Var {
	switch post {
	case "softmax":
		return autograd.Softmax(x, -1)
	case "sigmoid":
		return autograd.Sigmoid(x)
	}
	return x
}

// Activation is a layer applying a named activation (see Dense for the
// names). LeakyReLU's slope is Alpha (zero means 0.2, as Keras).
type Activation struct {
	Name  string
	Fn    string
	Alpha float32

	act  autograd.Activation
	post string
	ok   bool
}

func (a *Activation) layerName() string     { return a.Name }
func (a *Activation) setLayerName(n string) { a.Name = n }

// Forward applies the activation elementwise (softmax along the last axis).
func (a *Activation) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if !a.ok {
		act, post, err := activation(a.Fn)
		if err != nil {
			panic(&ConfigError{Layer: a.Name, Msg: err.Error()})
		}
		if a.Fn == "leaky_relu" && a.Alpha != 0 {
			act.Param = a.Alpha
		}
		a.act, a.post, a.ok = act, post, true
	}
	y := applyPost(autograd.Activate(x, a.act), a.post)
	c.trace(a.Name, "Activation", y, 0)
	return y
}
