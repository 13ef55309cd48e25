package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// rnnCase is one configuration of a fused recurrent op under test.
type rnnCase struct {
	gates          int // 1 SimpleRNN, 4 LSTM, 3 GRU
	b, steps, in   int
	u              int
	noBias, noInit bool
	masks          bool
	o              RNNOptions
}

func (c rnnCase) String() string {
	return fmt.Sprintf("%s/b%d-t%d-in%d-u%d/seq=%v/back=%v/restore=%v/bias=%v/init=%v/masks=%v/act=%d-%d",
		rnnName(c.gates), c.b, c.steps, c.in, c.u, c.o.ReturnSequences, c.o.GoBackwards, c.o.RestoreOrder,
		!c.noBias, !c.noInit, c.masks, c.o.Activation, c.o.RecurrentActivation)
}

// inputs returns x, W, R, b (unless noBias) and the initial states
// (unless noInit), with weights small enough to keep the gates unsaturated.
func (c rnnCase) inputs(rng *rand.Rand) []*tensor.Tensor {
	scaled := func(s float32, shape ...int) *tensor.Tensor { return tensor.RandNormal(rng, 0, s, shape...) }
	ts := []*tensor.Tensor{
		scaled(1, c.b, c.steps, c.in),
		scaled(0.5, c.in, c.gates*c.u),
		scaled(0.5, c.u, c.gates*c.u),
	}
	if !c.noBias {
		if c.gates == 3 {
			ts = append(ts, scaled(0.3, 2, 3*c.u))
		} else {
			ts = append(ts, scaled(0.3, c.gates*c.u))
		}
	}
	if !c.noInit {
		ts = append(ts, scaled(0.5, c.b, c.u))
		if c.gates == 4 {
			ts = append(ts, scaled(0.5, c.b, c.u))
		}
	}
	return ts
}

// withMasks fills the dropout masks of c.o (inverted dropout, keep 0.7).
func (c rnnCase) withMasks(rng *rand.Rand) RNNOptions {
	o := c.o
	if !c.masks {
		return o
	}
	mask := func(n, d int) *tensor.Tensor {
		m := tensor.Zeros(n, d)
		for i := range m.Data() {
			if rng.Float64() < 0.7 {
				m.Data()[i] = 1 / 0.7
			}
		}
		return m
	}
	o.InputMask, o.RecurrentMask = mask(c.b, c.in), mask(c.b, c.u)
	return o
}

// split names the inputs: x, W, R, b, h0, c0 (nil where absent).
func (c rnnCase) split(xs []*Var) (x, w, r, b, h0, c0 *Var) {
	x, w, r = xs[0], xs[1], xs[2]
	i := 3
	if !c.noBias {
		b = xs[i]
		i++
	}
	if !c.noInit {
		h0 = xs[i]
		if c.gates == 4 {
			c0 = xs[i+1]
		}
	}
	return
}

// fused runs the op under test.
func (c rnnCase) fused(xs []*Var, o RNNOptions) (out, h, cell *Var) {
	x, w, r, b, h0, c0 := c.split(xs)
	switch c.gates {
	case 1:
		out, h = SimpleRNN(x, w, r, b, h0, o)
	case 4:
		out, h, cell = LSTM(x, w, r, b, h0, c0, o)
	default:
		out, h = GRU(x, w, r, b, h0, o)
	}
	return
}

func composedAct(a RecurrentActivation, def RecurrentActivation, x *Var) *Var {
	if a == RecDefault {
		a = def
	}
	switch a {
	case RecTanh:
		return Tanh(x)
	case RecSigmoid:
		return Sigmoid(x)
	case RecRelu:
		return Relu(x)
	case RecHardSigmoid:
		return Clip(AddScalar(Scale(x, 1.0/6), 0.5), 0, 1)
	}
	return x
}

// composed runs the same recurrence step by step with primitive ops
// (MatMul, Add, Mul, Sigmoid, Tanh, ...): the reference for the fused op.
func (c rnnCase) composed(xs []*Var, o RNNOptions) (out, h, cell *Var) {
	x, w, r, b, h0, c0 := c.split(xs)
	B, T, in, u := c.b, c.steps, c.in, c.u
	act := func(v *Var) *Var { return composedAct(o.Activation, RecTanh, v) }
	rec := func(v *Var) *Var { return composedAct(o.RecurrentActivation, RecSigmoid, v) }
	gate := func(v *Var, k int) *Var { return SliceAxis(v, 1, k*u, (k+1)*u) }
	h = h0
	if h == nil {
		h = Const(tensor.Zeros(B, u))
	}
	cell = c0
	if cell == nil && c.gates == 4 {
		cell = Const(tensor.Zeros(B, u))
	}
	var bIn, bRec *Var
	if b != nil {
		if c.gates == 3 {
			bIn, bRec = Reshape(SliceAxis(b, 0, 0, 1), 3*u), Reshape(SliceAxis(b, 0, 1, 2), 3*u)
		} else {
			bIn = b
		}
	}
	addBias := func(v, bias *Var) *Var {
		if bias == nil {
			return v
		}
		return Add(v, bias)
	}
	outs := make([]*Var, T)
	for s := 0; s < T; s++ {
		ts := s
		if o.GoBackwards {
			ts = T - 1 - s
		}
		xt := Reshape(SliceAxis(x, 1, ts, ts+1), B, in)
		if o.InputMask != nil {
			xt = Mul(xt, Const(o.InputMask))
		}
		hm := h
		if o.RecurrentMask != nil {
			hm = Mul(h, Const(o.RecurrentMask))
		}
		switch c.gates {
		case 1:
			h = act(addBias(Add(MatMul(xt, w, false, false), MatMul(hm, r, false, false)), bIn))
		case 4:
			z := addBias(Add(MatMul(xt, w, false, false), MatMul(hm, r, false, false)), bIn)
			i, f, g, og := rec(gate(z, 0)), rec(gate(z, 1)), act(gate(z, 2)), rec(gate(z, 3))
			cell = Add(Mul(f, cell), Mul(i, g))
			h = Mul(og, act(cell))
		case 3:
			xz := addBias(MatMul(xt, w, false, false), bIn)
			hz := addBias(MatMul(hm, r, false, false), bRec)
			z := rec(Add(gate(xz, 0), gate(hz, 0)))
			rr := rec(Add(gate(xz, 1), gate(hz, 1)))
			hh := act(Add(gate(xz, 2), Mul(rr, gate(hz, 2))))
			h = Add(hh, Mul(z, Sub(h, hh)))
		}
		os := s
		if o.GoBackwards && o.RestoreOrder {
			os = T - 1 - s
		}
		outs[os] = Reshape(h, B, 1, u)
	}
	out = h
	if o.ReturnSequences {
		out = Concat(1, outs...)
	}
	return out, h, cell
}

// rnnJoined flattens the op's results into one [batch, ·] value so that one
// objective covers the output and the final states.
func rnnJoined(out, h, c *Var) *Var {
	parts := []*Var{Reshape(out, out.Shape()[0], -1), h}
	if c != nil {
		parts = append(parts, c)
	}
	return Concat(1, parts...)
}

func rnnCases() []rnnCase {
	var cs []rnnCase
	for _, gates := range []int{1, 4, 3} {
		base := rnnCase{gates: gates, b: 2, steps: 5, in: 3, u: 3}
		cs = append(cs, base)
		v := base
		v.o.ReturnSequences = true
		cs = append(cs, v)
		v = base
		v.o.GoBackwards, v.o.ReturnSequences = true, true
		cs = append(cs, v)
		v.o.RestoreOrder = true
		cs = append(cs, v)
		v = base
		v.noBias, v.noInit = true, true
		v.o.ReturnSequences = true
		cs = append(cs, v)
		v = base
		v.masks = true
		v.o.ReturnSequences = true
		cs = append(cs, v)
		v = base
		v.steps = 1
		cs = append(cs, v)
		v = base
		v.o.Activation, v.o.RecurrentActivation = RecLinear, RecHardSigmoid
		if gates == 1 {
			v.o.Activation = RecSigmoid
		}
		cs = append(cs, v)
	}
	return cs
}

// TestRNNGradients checks the fused ops' BPTT against finite differences
// over several steps, for every input including the initial states.
func TestRNNGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	for _, c := range rnnCases() {
		t.Run(c.String(), func(t *testing.T) {
			o := c.withMasks(rng)
			f := func(xs []*Var) *Var { return rnnJoined(c.fused(xs, o)) }
			if err := CheckGradients(f, c.inputs(rng), CheckOptions{Eps: 1e-2, Tol: 1e-2}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestRNNMatchesComposed compares the fused ops with the same recurrence
// built from primitive ops: values and gradients of every input.
func TestRNNMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 0))
	cases := rnnCases()
	for _, gates := range []int{1, 4, 3} {
		v := rnnCase{gates: gates, b: 4, steps: 6, in: 5, u: 7, masks: true}
		v.o.ReturnSequences, v.o.GoBackwards = true, true
		v.o.Activation = RecRelu
		cases = append(cases, v)
	}
	for _, c := range cases {
		t.Run(c.String(), func(t *testing.T) {
			o := c.withMasks(rng)
			ins := c.inputs(rng)
			run := func(f func([]*Var, RNNOptions) (*Var, *Var, *Var)) (vals []*tensor.Tensor, grads []*tensor.Tensor) {
				vars := make([]*Var, len(ins))
				for i, x := range ins {
					vars[i] = NewParam(fmt.Sprint("in", i), x)
				}
				tape := NewTape(nil)
				defer tape.Release()
				tape.Watch(vars...)
				out, h, cell := f(vars, o)
				res := []*Var{out, h}
				if cell != nil {
					res = append(res, cell)
				}
				var loss *Var
				for i, v := range res {
					// the same fixed weights for both runs
					wt := tensor.RandNormal(rand.New(rand.NewPCG(uint64(i), 9)), 0, 1, v.Shape()...)
					l := Sum(Mul(v, Const(wt)), false)
					if loss == nil {
						loss = l
					} else {
						loss = Add(loss, l)
					}
					vals = append(vals, v.Value.Clone())
				}
				gs, err := tape.Gradients(loss, vars...)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range gs {
					grads = append(grads, g.Clone())
				}
				return vals, grads
			}
			fv, fg := run(c.fused)
			cv, cg := run(c.composed)
			for i := range cv {
				rnnCloseTensors(t, fmt.Sprint("result ", i), fv[i], cv[i])
			}
			for i := range cg {
				rnnCloseTensors(t, fmt.Sprint("gradient of input ", i), fg[i], cg[i])
			}
		})
	}
}

func rnnCloseTensors(t *testing.T, what string, got, want *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(got, want) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	for i, w := range want.Data() {
		g := got.Data()[i]
		if d := math.Abs(float64(g - w)); d > 1e-4*(1+math.Abs(float64(w))) || g != g {
			t.Fatalf("%s: element %d = %v, want %v", what, i, g, w)
		}
	}
}

// TestRNNUntracked checks that the ops give the same values without a tape.
func TestRNNUntracked(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	for _, gates := range []int{1, 4, 3} {
		c := rnnCase{gates: gates, b: 3, steps: 4, in: 2, u: 5}
		c.o.ReturnSequences = true
		ins := c.inputs(rng)
		consts := make([]*Var, len(ins))
		params := make([]*Var, len(ins))
		for i, x := range ins {
			consts[i] = Const(x)
			params[i] = NewParam("p", x)
		}
		tape := NewTape(nil)
		tape.Watch(params...)
		want, _, _ := c.fused(params, c.o)
		got, h, _ := c.fused(consts, c.o)
		if got.Tracked() || h.Tracked() {
			t.Fatal("untracked inputs gave tracked outputs")
		}
		rnnCloseTensors(t, rnnName(gates), got.Value, want.Value)
		tape.Release()
	}
}

// TestRNNSteadyStateAllocs checks that a training step of an LSTM on a
// pooled tape allocates only small bookkeeping, not its buffers.
func TestRNNSteadyStateAllocs(t *testing.T) {
	if rnnRace {
		t.Skip("allocation counts are meaningless with the race detector")
	}
	rng := rand.New(rand.NewPCG(14, 0))
	c := rnnCase{gates: 4, b: 16, steps: 10, in: 8, u: 32}
	ins := c.inputs(rng)
	vars := make([]*Var, len(ins))
	for i, x := range ins {
		vars[i] = NewParam("p", x)
	}
	pool := NewPool()
	step := func() {
		tape := NewTape(pool)
		tape.Watch(vars...)
		out, _, _ := c.fused(vars, RNNOptions{ReturnSequences: true})
		if _, err := tape.Gradients(Sum(out, false), vars...); err != nil {
			t.Fatal(err)
		}
		tape.Release()
	}
	for i := 0; i < 3; i++ {
		step()
	}
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	const n = 10
	for i := 0; i < n; i++ {
		step()
	}
	runtime.ReadMemStats(&m1)
	if per := (m1.TotalAlloc - m0.TotalAlloc) / n; per > 8<<10 {
		t.Errorf("a steady-state step allocates %d bytes; want only bookkeeping (< 8 KiB)", per)
	}
}

func TestRNNShapeErrors(t *testing.T) {
	x := Const(tensor.Zeros(2, 3, 4))
	for name, f := range map[string]func(){
		"rank": func() {
			LSTM(Const(tensor.Zeros(2, 4)), Const(tensor.Zeros(4, 8)), Const(tensor.Zeros(2, 8)), nil, nil, nil, RNNOptions{})
		},
		"kernel":    func() { LSTM(x, Const(tensor.Zeros(5, 8)), Const(tensor.Zeros(2, 8)), nil, nil, nil, RNNOptions{}) },
		"recurrent": func() { GRU(x, Const(tensor.Zeros(4, 6)), Const(tensor.Zeros(2, 8)), nil, nil, RNNOptions{}) },
		"bias": func() {
			GRU(x, Const(tensor.Zeros(4, 6)), Const(tensor.Zeros(2, 6)), Const(tensor.Zeros(6)), nil, RNNOptions{})
		},
		"state": func() {
			SimpleRNN(x, Const(tensor.Zeros(4, 2)), Const(tensor.Zeros(2, 2)), nil, Const(tensor.Zeros(3, 2)), RNNOptions{})
		},
		"mask": func() {
			SimpleRNN(x, Const(tensor.Zeros(4, 2)), Const(tensor.Zeros(2, 2)), nil, nil, RNNOptions{InputMask: tensor.Zeros(2, 3)})
		},
	} {
		func() {
			defer func() {
				if _, ok := recover().(*tensor.ShapeError); !ok {
					t.Errorf("%s: want a *tensor.ShapeError panic", name)
				}
			}()
			f()
		}()
	}
}

// TestRNNDeterministic checks that values and gradients are bit-identical
// from run to run and between one and two threads (the GEMM and the gate
// kernels split work without changing any sum).
func TestRNNDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 0))
	for _, gates := range []int{4, 3} {
		c := rnnCase{gates: gates, b: 32, steps: 6, in: 16, u: 64}
		c.o.ReturnSequences = true
		ins := c.inputs(rng)
		run := func(procs int) []float32 {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			vars := make([]*Var, len(ins))
			for i, x := range ins {
				vars[i] = NewParam("p", x)
			}
			tape := NewTape(nil)
			defer tape.Release()
			tape.Watch(vars...)
			out, h, _ := c.fused(vars, c.o)
			loss := Add(Sum(Square(out), false), Sum(h, false))
			grads, err := tape.Gradients(loss, vars...)
			if err != nil {
				t.Fatal(err)
			}
			res := append([]float32(nil), out.Value.Data()...)
			for _, g := range grads {
				res = append(res, g.Data()...)
			}
			return res
		}
		a, b, c2 := run(1), run(2), run(2)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) || math.Float32bits(b[i]) != math.Float32bits(c2[i]) {
				t.Fatalf("%s: value %d differs: %v (1 thread), %v, %v (2 threads)", rnnName(gates), i, a[i], b[i], c2[i])
			}
		}
	}
}
