package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
)

// GeluExact returns the exact GELU x·Φ(x) = ½·x·(1 + erf(x/√2)) (Keras's
// gelu with approximate=False, PyTorch's default nn.GELU); Gelu is the
// tanh approximation. Backward: ∂L/∂x = ∂L/∂y·(Φ(x) + x·φ(x)).
func GeluExact(x *Var) *Var {
	t := tapeOf(x)
	out := alloc(t, x.Value.Shape())
	kernels.GeluErf(out.Data(), x.Value.Data())
	return result(t, out, node{back: backGeluExact, in: [3]*Var{x}})
}

func backGeluExact(t *Tape, n *node) {
	if gx, acc := t.gradOut(n.in[0]); gx != nil {
		kernels.GeluErfGrad(gx.Data(), n.in[0].Value.Data(), t.grads[n.out.id].Data(), acc)
	}
}

// Silu returns x·σ(x) (SiLU, also called swish; Ramachandran et al.
// 2017), composed from Sigmoid and Mul.
func Silu(x *Var) *Var { return Mul(x, Sigmoid(x)) }
