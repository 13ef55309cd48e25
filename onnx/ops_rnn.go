package onnx

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Recurrent operators RNN, LSTM and GRU run as Strata's fused recurrent
// ops. ONNX's weights are converted on each run (gate blocks reordered
// from ONNX's i, o, f, c to Keras's i, f, c, o for the LSTM and
// transposed), with autograd ops, so fine-tuning reaches the file's
// initializers. A GRU with linear_before_reset = 1 (PyTorch's form, which
// is Strata's reset_after GRU) runs fused; with 0 (ONNX's default) it runs
// step by step as autograd ops (gruSteps); peepholes, clip, input_forget, custom
// activations other than Tanh, Sigmoid, Relu and Keras's HardSigmoid, and
// sequence_lens shorter than the sequence are rejected.

func init() {
	check := func(n *node) string {
		return firstReason(
			attrIs(n, "clip", func(*aproto) bool { return false }, "clip"),
			attrIs(n, "input_forget", func(a *aproto) bool { return a.GetI() == 0 }, "input_forget"),
			func() string {
				if n.op == "LSTM" && len(n.in) > 7 && n.in[7] != "" {
					return "peepholes"
				}
				return ""
			}())
	}
	reg("RNN", opRecurrent(1), check)
	reg("LSTM", opRecurrent(4), check)
	reg("GRU", opRecurrent(3), check)
}

func recAct(c *opCtx, i int, def string) autograd.RecurrentActivation {
	name := def
	if a, ok := c.n.attrs["activations"]; ok && i < len(a.GetStrings()) {
		name = string(a.GetStrings()[i])
	}
	switch name {
	case "Tanh":
		return autograd.RecTanh
	case "Sigmoid":
		return autograd.RecSigmoid
	case "Relu":
		return autograd.RecRelu
	case "HardSigmoid":
		al, be := c.n.attrs["activation_alpha"], c.n.attrs["activation_beta"]
		if al != nil && be != nil && i < len(al.GetFloats()) && i < len(be.GetFloats()) &&
			abs32(al.GetFloats()[i]-1.0/6) < 1e-6 && be.GetFloats()[i] == 0.5 {
			return autograd.RecHardSigmoid
		}
	}
	reject("activation %s", name)
	return 0
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// gateOrder reorders the G blocks of rows of m [G·H, X] (ONNX order) to
// Strata's and transposes the result to [X, G·H].
func gateOrder(m *autograd.Var, gates int) *autograd.Var {
	if gates == 4 { // ONNX i, o, f, c → Keras i, f, c, o
		h := m.Shape()[0] / 4
		blk := func(k int) *autograd.Var { return autograd.SliceAxis(m, 0, k*h, (k+1)*h) }
		m = autograd.Concat(0, blk(0), blk(2), blk(3), blk(1))
	}
	return autograd.Transpose(m, 1, 0)
}

func opRecurrent(gates int) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := L(need(in, 0, "X"))
		w, r := L(need(in, 1, "W")), L(need(in, 2, "R"))
		layout := c.int("layout", 0)
		xs := x.Shape()
		if len(xs) != 3 || len(w.Shape()) != 3 || len(r.Shape()) != 3 {
			fail("X %v, W %v and R %v must have rank 3", xs, w.Shape(), r.Shape())
		}
		if layout == 0 {
			x = autograd.Transpose(x, 1, 0, 2) // [seq, batch, in] → [batch, seq, in]
			xs = x.Shape()
		}
		batch, seq := xs[0], xs[1]
		dirs := w.Shape()[0]
		hid := int(c.int("hidden_size", int64(r.Shape()[2])))
		if r.Shape()[2] != hid || w.Shape()[1] != gates*hid || w.Shape()[2] != xs[2] {
			fail("W %v and R %v do not fit hidden_size %d and input %v", w.Shape(), r.Shape(), hid, xs)
		}
		dir := c.str("direction", "forward")
		if (dir == "bidirectional") != (dirs == 2) || dirs < 1 || dirs > 2 {
			fail("direction %s with %d weight sets", dir, dirs)
		}
		if len(in) > 4 && in[4] != nil {
			for _, l := range in[4].intsOf() {
				if int(l) != seq {
					reject("sequence_lens shorter than the sequence")
				}
			}
		}
		state := func(i int, d int) *autograd.Var {
			if len(in) <= i || in[i] == nil {
				return nil
			}
			s := L(in[i])
			if layout == 1 {
				s = autograd.Transpose(s, 1, 0, 2)
			}
			return autograd.Reshape(autograd.SliceAxis(s, 0, d, d+1), batch, hid)
		}
		var ys, hs, cs []*autograd.Var
		for d := 0; d < dirs; d++ {
			o := autograd.RNNOptions{ReturnSequences: true, RestoreOrder: true,
				GoBackwards: dir == "reverse" || d == 1}
			ai := d * 3
			if gates == 3 {
				ai = d * 2
			} else if gates == 1 {
				ai = d
			}
			switch gates {
			case 4:
				o.RecurrentActivation, o.Activation = recAct(c, ai, "Sigmoid"), recAct(c, ai+1, "Tanh")
				if recAct(c, ai+2, "Tanh") != o.Activation {
					reject("LSTM with different cell and hidden activations")
				}
			case 3:
				o.RecurrentActivation, o.Activation = recAct(c, ai, "Sigmoid"), recAct(c, ai+1, "Tanh")
			default:
				o.Activation = recAct(c, ai, "Tanh")
			}
			wd := gateOrder(autograd.Reshape(autograd.SliceAxis(w, 0, d, d+1), gates*hid, xs[2]), gates)
			rd := gateOrder(autograd.Reshape(autograd.SliceAxis(r, 0, d, d+1), gates*hid, hid), gates)
			var bd *autograd.Var
			if len(in) > 3 && in[3] != nil {
				b := autograd.Reshape(autograd.SliceAxis(L(in[3]), 0, d, d+1), 2, gates*hid)
				if gates == 3 {
					bd = b
				} else {
					sum := autograd.Add(autograd.SliceAxis(b, 0, 0, 1), autograd.SliceAxis(b, 0, 1, 2))
					bd = autograd.Reshape(gateOrder(autograd.Reshape(sum, gates*hid, 1), gates), gates*hid)
				}
			}
			var y, h, cell *autograd.Var
			switch gates {
			case 4:
				y, h, cell = autograd.LSTM(x, wd, rd, bd, state(5, d), state(6, d), o)
			case 3:
				if c.int("linear_before_reset", 0) == 0 {
					y, h = gruSteps(x, wd, rd, bd, state(5, d), o)
				} else {
					y, h = autograd.GRU(x, wd, rd, bd, state(5, d), o)
				}
			default:
				y, h = autograd.SimpleRNN(x, wd, rd, bd, state(5, d), o)
			}
			ys = append(ys, autograd.Reshape(y, batch, seq, 1, hid))
			hs = append(hs, autograd.Reshape(h, 1, batch, hid))
			if cell != nil {
				cs = append(cs, autograd.Reshape(cell, 1, batch, hid))
			}
		}
		y, h := autograd.Concat(2, ys...), autograd.Concat(0, hs...)
		if layout == 0 {
			y = autograd.Transpose(y, 1, 2, 0, 3) // → [seq, dirs, batch, H]
		} else {
			h = autograd.Transpose(h, 1, 0, 2)
		}
		outs := []*value{fl(y), fl(h)}
		if cs != nil {
			cc := autograd.Concat(0, cs...)
			if layout == 1 {
				cc = autograd.Transpose(cc, 1, 0, 2)
			}
			outs = append(outs, fl(cc))
		}
		return outs
	}
}

func applyRec(a autograd.RecurrentActivation, def autograd.RecurrentActivation, x *autograd.Var) *autograd.Var {
	if a == autograd.RecDefault {
		a = def
	}
	switch a {
	case autograd.RecSigmoid:
		return autograd.Sigmoid(x)
	case autograd.RecRelu:
		return autograd.Relu(x)
	case autograd.RecHardSigmoid:
		return autograd.Clip(autograd.AddScalar(autograd.Scale(x, 1.0/6), 0.5), 0, 1)
	}
	return autograd.Tanh(x)
}

// gruSteps runs a GRU with the reset gate applied before the recurrent
// product (ONNX's linear_before_reset = 0, Cho et al. 2014) as autograd
// ops, one step at a time: with W [in, 3u], R [u, 3u] (gates z, r, h) and
// b [2, 3u],
//
//	z = f(x·Wz + h·Rz + bz);  r = f(x·Wr + h·Rr + br)
//	ĥ = g(x·Wh + (r⊙h)·Rh + bh);  h' = (1 − z)⊙ĥ + z⊙h
//
// It returns every step's output [batch, time, u] (in input order) and
// the last state.
func gruSteps(x, w, r, b, h0 *autograd.Var, o autograd.RNNOptions) (*autograd.Var, *autograd.Var) {
	xs := x.Shape()
	bn, steps, u := xs[0], xs[1], r.Shape()[0]
	xw := autograd.MatMul(autograd.Reshape(x, bn*steps, xs[2]), w, false, false)
	if b != nil {
		xw = autograd.Add(xw, autograd.Reshape(autograd.SliceAxis(b, 0, 0, 1), 3*u))
	}
	xw = autograd.Reshape(xw, bn, steps, 3*u)
	rzr := autograd.SliceAxis(r, 1, 0, 2*u)
	rh := autograd.SliceAxis(r, 1, 2*u, 3*u)
	var bzr, bh *autograd.Var
	if b != nil {
		rb := autograd.Reshape(autograd.SliceAxis(b, 0, 1, 2), 3*u)
		bzr, bh = autograd.SliceAxis(rb, 0, 0, 2*u), autograd.SliceAxis(rb, 0, 2*u, 3*u)
	}
	h := h0
	if h == nil {
		h = autograd.Const(tensor.Zeros(bn, u))
	}
	outs := make([]*autograd.Var, steps)
	for s := 0; s < steps; s++ {
		t := s
		if o.GoBackwards {
			t = steps - 1 - s
		}
		xt := autograd.Reshape(autograd.SliceAxis(xw, 1, t, t+1), bn, 3*u)
		g := autograd.Add(autograd.SliceAxis(xt, 1, 0, 2*u), autograd.MatMul(h, rzr, false, false))
		if bzr != nil {
			g = autograd.Add(g, bzr)
		}
		z := applyRec(o.RecurrentActivation, autograd.RecSigmoid, autograd.SliceAxis(g, 1, 0, u))
		rr := applyRec(o.RecurrentActivation, autograd.RecSigmoid, autograd.SliceAxis(g, 1, u, 2*u))
		cand := autograd.Add(autograd.SliceAxis(xt, 1, 2*u, 3*u), autograd.MatMul(autograd.Mul(rr, h), rh, false, false))
		if bh != nil {
			cand = autograd.Add(cand, bh)
		}
		hh := applyRec(o.Activation, autograd.RecTanh, cand)
		h = autograd.Add(hh, autograd.Mul(z, autograd.Sub(h, hh)))
		outs[t] = autograd.Reshape(h, bn, 1, u)
	}
	return autograd.Concat(1, outs...), h
}
