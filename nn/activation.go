package nn

import (
	"github.com/strata-dl/strata/autograd"
)

// activation resolves a Keras activation name of the shared vocabulary
// (autograd.Activations; "" is linear). Elementwise ones are fused into the
// layer (returned as act); the others ("softmax", "sigmoid",
// "hard_sigmoid", exact "gelu", "silu"/"swish") come back as post,
// applied as separate ops (so that losses can reach the logits of
// sigmoid and softmax, see autograd.Var.Logits). post is nil when there
// is none.
func activation(name string) (act autograd.Activation, post func(*autograd.Var) *autograd.Var, err error) {
	a, err := autograd.ResolveActivation(name)
	if err != nil {
		return autograd.Activation{}, nil, err
	}
	return a.Fused, a.Apply, nil
}

// applyPost applies a non-fused output activation (nil: none).
func applyPost(x *autograd.Var, post func(*autograd.Var) *autograd.Var) *autograd.Var {
	if post == nil {
		return x
	}
	return post(x)
}

// Activation is a layer applying a named activation (see Dense for the
// names). LeakyReLU's slope is Alpha (zero means 0.2, as Keras).
type Activation struct {
	Name  string
	Fn    string
	Alpha float32

	act  autograd.Activation
	post func(*autograd.Var) *autograd.Var
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
