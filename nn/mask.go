package nn

import (
	"slices"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Masks (Keras's mask propagation): a layer may attach to its output a
// mask [batch, time] of ones (real steps) and zeros (padding) that later
// layers read from the Ctx. Embedding with MaskZero attaches one (zero
// where the id is 0); Dropout passes it on; SimpleRNN, LSTM and GRU skip
// masked steps — a masked step carries the previous state and output
// forward unchanged, so a padded sequence gives the output of the
// unpadded one — and pass it on when they return sequences.

// Mask returns the mask attached to x in this forward pass, or nil.
func (c *Ctx) Mask(x *autograd.Var) *tensor.Tensor {
	if c == nil || c.masks == nil {
		return nil
	}
	return c.masks[x]
}

// SetMask attaches the mask m [batch, time] (1 keep, 0 masked) to x for
// the layers that read x later in this forward pass. It does nothing on a
// nil Ctx or a nil mask.
func (c *Ctx) SetMask(x *autograd.Var, m *tensor.Tensor) {
	if c == nil || m == nil {
		return
	}
	if c.masks == nil {
		c.masks = map[*autograd.Var]*tensor.Tensor{}
	}
	c.masks[x] = m
}

// stepMask returns the mask of the sequence x [batch, time, ...] as a
// [batch, time] tensor, or nil when there is none or every step is kept.
func stepMask(c *Ctx, name string, x *autograd.Var) *tensor.Tensor {
	m := c.Mask(x)
	if m == nil {
		return nil
	}
	xs := x.Shape()
	if len(xs) < 2 || m.Len() != xs[0]*xs[1] {
		panic(&ShapeError{Layer: name, Want: xs[:min(len(xs), 2)], Got: m.Shape(), Msg: "the mask does not match the sequence [batch, time]"})
	}
	if !slices.Contains(m.Data(), 0) {
		return nil
	}
	return m.Reshape(xs[0], xs[1])
}

// runMasked runs the recurrence one step at a time through the fused op,
// blending each step's new states with the previous ones by the step's
// mask m_t [batch, 1]:
//
//	h_t = h_{t−1} + m_t⊙(h̃_t − h_{t−1})   (and c_t alike for the LSTM)
//
// so a masked step (m_t = 0) carries the state, and the output (which is
// h), forward. The gradient follows from the composed ops.
func runMasked(s rnnSpec, x, k, r, b, h0, c0 *autograd.Var, o autograd.RNNOptions, mask *tensor.Tensor) (*autograd.Var, []*autograd.Var) {
	xs := x.Shape()
	batch, steps := xs[0], xs[1]
	if h0 == nil {
		h0 = autograd.Const(tensor.Zeros(batch, s.units))
	}
	if s.gates == 4 && c0 == nil {
		c0 = autograd.Const(tensor.Zeros(batch, s.units))
	}
	step := o
	step.ReturnSequences, step.GoBackwards, step.RestoreOrder = false, false, false
	h, cell := h0, c0
	outs := make([]*autograd.Var, steps)
	for i := range steps {
		t := i
		if s.goBack {
			t = steps - 1 - i
		}
		xt := autograd.SliceAxis(x, 1, t, t+1)
		m := autograd.Const(tensor.SliceAxis(mask, 1, t, t+1)) // [batch, 1]
		var hn, cn *autograd.Var
		switch s.gates {
		case 4:
			_, hn, cn = autograd.LSTM(xt, k, r, b, h, cell, step)
			cell = blend(cell, cn, m)
		case 3:
			_, hn = autograd.GRU(xt, k, r, b, h, step)
		default:
			_, hn = autograd.SimpleRNN(xt, k, r, b, h, step)
		}
		h = blend(h, hn, m)
		slot := i // Keras: output step i is the i-th step processed ...
		if s.goBack && s.restore {
			slot = t // ... unless Bidirectional asks for input order
		}
		outs[slot] = autograd.Reshape(h, batch, 1, s.units)
	}
	states := []*autograd.Var{h}
	if s.gates == 4 {
		states = append(states, cell)
	}
	if !s.retSeq {
		return h, states
	}
	return autograd.Concat(1, outs...), states
}

// blend returns old + m⊙(new − old).
func blend(old, new, m *autograd.Var) *autograd.Var {
	return autograd.Add(old, autograd.Mul(autograd.Sub(new, old), m))
}
