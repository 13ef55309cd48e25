package nn

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Recurrent layers: SimpleRNN, LSTM and GRU over sequences
// [batch, time, features], with Keras semantics and weight layout. Each
// runs as one fused op (autograd.SimpleRNN, autograd.LSTM, autograd.GRU):
// one GEMM for the input projection of the whole sequence, one per step
// for the recurrence, the gate math fused per step, and backpropagation
// through time with the same structure.
//
// Common fields (zero values are the Keras defaults):
//   - ReturnSequences: output every step [batch, time, units] instead of
//     the last one [batch, units].
//   - ReturnState: Forward returns the output only (nn.Layer); ForwardState
//     also returns the final states (h, and c for the LSTM), whatever this
//     says. It is kept for the config and for callers that follow Keras.
//   - GoBackwards: process the sequence from the last step to the first;
//     output step s is then the s-th step processed, as in Keras.
//   - Dropout, RecurrentDropout: fractions of the inputs and of the
//     recurrent state dropped in training, with one mask per sequence held
//     fixed across the time steps (Gal & Ghahramani 2016); the recurrent
//     mask applies where the state enters the recurrent kernel. Training
//     with dropout needs Ctx.RNG.
//   - Initializers: kernel glorot_uniform, recurrent kernel orthogonal,
//     bias zeros. Weights are named kernel, recurrent_kernel and bias.

// recurrent is implemented by SimpleRNN, LSTM and GRU.
type recurrent interface {
	Layer
	namer
	ForwardState(c *Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var)
	// reversed returns an unbuilt copy that runs the other way in time
	// and writes its output steps in input order (Bidirectional's
	// backward layer).
	reversed() recurrent
	setRestoreOrder(bool)
	returnsSequences() bool
	goesBackwards() bool
}

// rnnSpec is what the three layers share at run time.
type rnnSpec struct {
	kind       string // SimpleRNN, LSTM, GRU
	gates      int
	name       string
	units      int
	act, rec   string
	retSeq     bool
	goBack     bool
	restore    bool
	dropout    float32
	recDropout float32
}

func (s rnnSpec) states() int {
	if s.gates == 4 {
		return 2
	}
	return 1
}

func (s rnnSpec) check(in []int) {
	if len(in) != 3 || in[1] < 1 {
		panic(&ShapeError{Layer: s.name, Want: []int{-1, -1, -1}, Got: in, Msg: s.kind + " needs [batch, time, features]"})
	}
	if s.units <= 0 {
		panic(&ConfigError{Layer: s.name, Msg: fmt.Sprintf("units must be positive, got %d", s.units)})
	}
	for _, a := range []string{s.act, s.rec} {
		if _, err := autograd.ResolveRecurrentActivation(a); err != nil {
			panic(&ConfigError{Layer: s.name, Msg: err.Error()})
		}
	}
	for _, r := range []float32{s.dropout, s.recDropout} {
		if r < 0 || r >= 1 {
			panic(&ConfigError{Layer: s.name, Msg: fmt.Sprintf("dropout rate %v must be in [0, 1)", r)})
		}
	}
}

// buildRNN creates the weights: kernel [in, G·u], recurrent kernel
// [u, G·u] and bias ([G·u], or [2, 3u] for the GRU).
func buildRNN(c *Ctx, s rnnSpec, in []int, noBias, forgetBias bool, kInit, rInit, bInit Initializer) (k, r, b *autograd.Var) {
	s.check(in)
	fin, gu := in[2], s.gates*s.units
	rng := c.buildRNG(s.name)
	kt := c.weight(s.name, fin, gu)
	orDefault(kInit, GlorotUniform{}).Init(rng, kt, fin, gu)
	rt := c.weight(s.name, s.units, gu)
	orDefault(rInit, Orthogonal{}).Init(rng, rt, s.units, gu)
	k = autograd.NewParam(s.name+".kernel", kt)
	r = autograd.NewParam(s.name+".recurrent_kernel", rt)
	if !noBias {
		shape := []int{gu}
		if s.gates == 3 {
			shape = []int{2, gu}
		}
		bt := c.weight(s.name, shape...)
		orDefault(bInit, Zeros{}).Init(rng, bt, fin, gu)
		if forgetBias { // Keras unit_forget_bias: the f block starts at 1
			kernels.Fill(bt.Data()[s.units:2*s.units], 1)
		}
		b = autograd.NewParam(s.name+".bias", bt)
	}
	return k, r, b
}

// dropoutMask returns an inverted-dropout mask [rows, cols] drawn from rng,
// pooled on tape when there is one.
func dropoutMask(tape *autograd.Tape, rows, cols int, rate float32, rng *rand.Rand) *tensor.Tensor {
	var m *tensor.Tensor
	if tape != nil {
		m = tape.Alloc(rows, cols)
	} else {
		m = tensor.Zeros(rows, cols)
	}
	kernels.DropoutMask(m.Data(), 1-rate, rng.Float64)
	return m
}

// runRNN checks x and the initial states and runs the fused op.
func runRNN(c *Ctx, s rnnSpec, x, k, r, b *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var) {
	xs := x.Shape()
	fin := k.Value.Dim(0)
	if len(xs) != 3 || xs[1] < 1 || xs[2] != fin {
		panic(&ShapeError{Layer: s.name, Want: []int{-1, -1, fin}, Got: xs})
	}
	n := s.states()
	if len(init) != 0 && len(init) != n {
		panic(&ShapeError{Layer: s.name, Msg: fmt.Sprintf("%s takes %d initial states, got %d", s.kind, n, len(init))})
	}
	for _, st := range init {
		if st == nil || !tensor.EqualShapes(st.Shape(), []int{xs[0], s.units}) {
			var got []int
			if st != nil {
				got = st.Shape()
			}
			panic(&ShapeError{Layer: s.name, Want: []int{-1, s.units}, Got: got, Msg: "initial state"})
		}
	}
	act, err := autograd.ResolveRecurrentActivation(s.act)
	if err != nil {
		panic(&ConfigError{Layer: s.name, Msg: err.Error()})
	}
	rec, err := autograd.ResolveRecurrentActivation(s.rec)
	if err != nil {
		panic(&ConfigError{Layer: s.name, Msg: err.Error()})
	}
	o := autograd.RNNOptions{Activation: act, RecurrentActivation: rec, ReturnSequences: s.retSeq,
		GoBackwards: s.goBack, RestoreOrder: s.restore}
	if c != nil && c.Training && (s.dropout > 0 || s.recDropout > 0) {
		if c.RNG == nil {
			panic(&ConfigError{Layer: s.name, Msg: "training with dropout needs Ctx.RNG"})
		}
		tape := x.Tape()
		if tape == nil {
			tape = k.Tape()
		}
		if s.dropout > 0 {
			o.InputMask = dropoutMask(tape, xs[0], fin, s.dropout, c.RNG)
		}
		if s.recDropout > 0 {
			o.RecurrentMask = dropoutMask(tape, xs[0], s.units, s.recDropout, c.RNG)
		}
	}
	var h0, c0 *autograd.Var
	if len(init) > 0 {
		h0 = init[0]
		if n == 2 {
			c0 = init[1]
		}
	}
	var y *autograd.Var
	var st []*autograd.Var
	if mask := stepMask(c, s.name, x); mask != nil {
		y, st = runMasked(s, x, k, r, b, h0, c0, o, mask)
	} else {
		y, st = runFused(s, x, k, r, b, h0, c0, o)
	}
	if s.retSeq {
		c.SetMask(y, c.Mask(x)) // stacked recurrent layers see the mask too
	}
	return y, st
}

// runFused runs the whole sequence through the fused op.
func runFused(s rnnSpec, x, k, r, b, h0, c0 *autograd.Var, o autograd.RNNOptions) (*autograd.Var, []*autograd.Var) {
	switch s.gates {
	case 4:
		y, h, cell := autograd.LSTM(x, k, r, b, h0, c0, o)
		return y, []*autograd.Var{h, cell}
	case 3:
		y, h := autograd.GRU(x, k, r, b, h0, o)
		return y, []*autograd.Var{h}
	}
	y, h := autograd.SimpleRNN(x, k, r, b, h0, o)
	return y, []*autograd.Var{h}
}

func rnnWeights(k, r, b *autograd.Var, kr, rr, br Regularizer) []Weight {
	return []Weight{{"kernel", k, true, kr}, {"recurrent_kernel", r, true, rr}, {"bias", b, true, br}}
}

// SimpleRNN is a fully connected recurrent layer:
// h_t = act(x_t·W + h_{t−1}·R + b) for x [batch, time, features], kernel W
// [features, units], recurrent kernel R [units, units], bias b [units].
// Output [batch, units], or [batch, time, units] with ReturnSequences.
// Activation: tanh (default), sigmoid, hard_sigmoid, relu or linear. See
// the package doc (Shared fields) and the field comments.
type SimpleRNN struct {
	Units                int         // size of the output and of each state (required, > 0)
	Activation           string      // candidate and output activation [tanh]: tanh, sigmoid, hard_sigmoid, relu or linear
	ReturnSequences      bool        // output every step [batch, time, units], not only the last [batch, units]
	ReturnState          bool        // kept for the config (Keras); ForwardState returns the final states anyway
	GoBackwards          bool        // process the sequence from its last step to its first
	Dropout              float32     // fraction of the inputs dropped in training, one mask per sequence (needs Ctx.RNG)
	RecurrentDropout     float32     // fraction of the recurrent state dropped in training, one mask per sequence
	NoBias               bool        // no bias (Keras use_bias=False)
	KernelInitializer    Initializer // of kernel [glorot_uniform]
	RecurrentInitializer Initializer // of recurrent_kernel [orthogonal]
	BiasInitializer      Initializer // of bias [zeros]
	KernelRegularizer    Regularizer // penalty on kernel [none]
	RecurrentRegularizer Regularizer // penalty on recurrent_kernel [none]
	BiasRegularizer      Regularizer // penalty on bias [none]
	Name                 string      // layer name; empty: Build names it after its place in the model

	Kernel, RecurrentKernel, Bias *autograd.Var // created on first Forward / Build
	restoreOrder                  bool
}

func (l *SimpleRNN) layerName() string       { return l.Name }
func (l *SimpleRNN) setLayerName(n string)   { l.Name = n }
func (l *SimpleRNN) setRestoreOrder(on bool) { l.restoreOrder = on }
func (l *SimpleRNN) returnsSequences() bool  { return l.ReturnSequences }
func (l *SimpleRNN) goesBackwards() bool     { return l.GoBackwards }

func (l *SimpleRNN) reversed() recurrent {
	cp := *l
	cp.Name, cp.Kernel, cp.RecurrentKernel, cp.Bias = "", nil, nil, nil
	cp.GoBackwards, cp.restoreOrder = !l.GoBackwards, true
	return &cp
}

// Weights returns kernel, recurrent_kernel and bias.
func (l *SimpleRNN) Weights() []Weight {
	return rnnWeights(l.Kernel, l.RecurrentKernel, l.Bias, l.KernelRegularizer, l.RecurrentRegularizer, l.BiasRegularizer)
}

func (l *SimpleRNN) spec() rnnSpec {
	return rnnSpec{kind: "SimpleRNN", gates: 1, name: l.Name, units: l.Units, act: l.Activation,
		retSeq: l.ReturnSequences, goBack: l.GoBackwards, restore: l.restoreOrder, dropout: l.Dropout, recDropout: l.RecurrentDropout}
}

// Forward runs the layer over x [batch, time, features] from a zero state.
func (l *SimpleRNN) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	y, _ := l.ForwardState(c, x, nil)
	return y
}

// ForwardState runs the layer from the initial state init ([h] with h
// [batch, units]; empty: zeros) and returns the output and the final
// state [h].
func (l *SimpleRNN) ForwardState(c *Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var) {
	s := l.spec()
	if l.Kernel == nil {
		l.Kernel, l.RecurrentKernel, l.Bias = buildRNN(c, s, x.Shape(), l.NoBias, false, l.KernelInitializer, l.RecurrentInitializer, l.BiasInitializer)
	}
	y, st := runRNN(c, s, x, l.Kernel, l.RecurrentKernel, l.Bias, init)
	c.trace(l.Name, s.kind, y, numel(l.Kernel, l.RecurrentKernel, l.Bias))
	return y, st
}

// LSTM is a long short-term memory layer (Hochreiter & Schmidhuber 1997)
// over x [batch, time, features], with Keras's gate order i, f, c, o:
//
//	[i f c̃ o] = x_t·W + h_{t−1}·R + b
//	c_t = σ(f)⊙c_{t−1} + σ(i)⊙act(c̃);  h_t = σ(o)⊙act(c_t)
//
// where σ is RecurrentActivation (sigmoid by default; also hard_sigmoid,
// tanh, relu, linear) and act is Activation (tanh by default). Kernel W
// [features, 4·units], recurrent kernel R [units, 4·units], bias
// [4·units]. Output [batch, units], or [batch, time, units] with
// ReturnSequences; states h and c [batch, units].
//
// The forget-gate bias starts at 1 (Keras unit_forget_bias, on by
// default; NoUnitForgetBias turns it off). See the package doc
// (Shared fields) and the field comments.
type LSTM struct {
	Units                int         // size of the output and of each state (required, > 0)
	Activation           string      // candidate and output activation [tanh]: tanh, sigmoid, hard_sigmoid, relu or linear
	RecurrentActivation  string      // gate activation σ [sigmoid]: the same names as Activation
	ReturnSequences      bool        // output every step [batch, time, units], not only the last [batch, units]
	ReturnState          bool        // kept for the config (Keras); ForwardState returns the final states anyway
	GoBackwards          bool        // process the sequence from its last step to its first
	Dropout              float32     // fraction of the inputs dropped in training, one mask per sequence (needs Ctx.RNG)
	RecurrentDropout     float32     // fraction of the recurrent state dropped in training, one mask per sequence
	NoBias               bool        // no bias (Keras use_bias=False)
	NoUnitForgetBias     bool        // forget-gate bias starts at 0, not 1 (Keras unit_forget_bias=False)
	KernelInitializer    Initializer // of kernel [glorot_uniform]
	RecurrentInitializer Initializer // of recurrent_kernel [orthogonal]
	BiasInitializer      Initializer // of bias [zeros]
	KernelRegularizer    Regularizer // penalty on kernel [none]
	RecurrentRegularizer Regularizer // penalty on recurrent_kernel [none]
	BiasRegularizer      Regularizer // penalty on bias [none]
	Name                 string      // layer name; empty: Build names it after its place in the model

	Kernel, RecurrentKernel, Bias *autograd.Var // created on first Forward / Build
	restoreOrder                  bool
}

func (l *LSTM) layerName() string       { return l.Name }
func (l *LSTM) setLayerName(n string)   { l.Name = n }
func (l *LSTM) setRestoreOrder(on bool) { l.restoreOrder = on }
func (l *LSTM) returnsSequences() bool  { return l.ReturnSequences }
func (l *LSTM) goesBackwards() bool     { return l.GoBackwards }

func (l *LSTM) reversed() recurrent {
	cp := *l
	cp.Name, cp.Kernel, cp.RecurrentKernel, cp.Bias = "", nil, nil, nil
	cp.GoBackwards, cp.restoreOrder = !l.GoBackwards, true
	return &cp
}

// Weights returns kernel, recurrent_kernel and bias.
func (l *LSTM) Weights() []Weight {
	return rnnWeights(l.Kernel, l.RecurrentKernel, l.Bias, l.KernelRegularizer, l.RecurrentRegularizer, l.BiasRegularizer)
}

func (l *LSTM) spec() rnnSpec {
	return rnnSpec{kind: "LSTM", gates: 4, name: l.Name, units: l.Units, act: l.Activation, rec: l.RecurrentActivation,
		retSeq: l.ReturnSequences, goBack: l.GoBackwards, restore: l.restoreOrder, dropout: l.Dropout, recDropout: l.RecurrentDropout}
}

// Forward runs the layer over x [batch, time, features] from zero states.
func (l *LSTM) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	y, _ := l.ForwardState(c, x, nil)
	return y
}

// ForwardState runs the layer from the initial states init ([h, c], each
// [batch, units]; empty: zeros) and returns the output and the final
// states [h, c].
func (l *LSTM) ForwardState(c *Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var) {
	s := l.spec()
	if l.Kernel == nil {
		l.Kernel, l.RecurrentKernel, l.Bias = buildRNN(c, s, x.Shape(), l.NoBias, !l.NoUnitForgetBias, l.KernelInitializer, l.RecurrentInitializer, l.BiasInitializer)
	}
	y, st := runRNN(c, s, x, l.Kernel, l.RecurrentKernel, l.Bias, init)
	c.trace(l.Name, s.kind, y, numel(l.Kernel, l.RecurrentKernel, l.Bias))
	return y, st
}

// GRU is a gated recurrent unit layer (Cho et al. 2014) over x [batch,
// time, features] in Keras's reset_after=True form (the CuDNN-compatible
// one, Keras's default), gates z, r, h:
//
//	[xz xr xh] = x_t·W + b_in;  [hz hr hh] = h_{t−1}·R + b_rec
//	z = σ(xz + hz);  r = σ(xr + hr);  ĥ = act(xh + r⊙hh)
//	h_t = z⊙h_{t−1} + (1 − z)⊙ĥ
//
// with σ the RecurrentActivation (sigmoid) and act the Activation (tanh).
// Kernel W [features, 3·units], recurrent kernel R [units, 3·units], bias
// [2, 3·units] (row 0 input, row 1 recurrent). Output [batch, units], or
// [batch, time, units] with ReturnSequences; state h [batch, units]. See
// the package doc (Shared fields) and the field comments.
type GRU struct {
	Units                int         // size of the output and of each state (required, > 0)
	Activation           string      // candidate and output activation [tanh]: tanh, sigmoid, hard_sigmoid, relu or linear
	RecurrentActivation  string      // gate activation σ [sigmoid]: the same names as Activation
	ReturnSequences      bool        // output every step [batch, time, units], not only the last [batch, units]
	ReturnState          bool        // kept for the config (Keras); ForwardState returns the final states anyway
	GoBackwards          bool        // process the sequence from its last step to its first
	Dropout              float32     // fraction of the inputs dropped in training, one mask per sequence (needs Ctx.RNG)
	RecurrentDropout     float32     // fraction of the recurrent state dropped in training, one mask per sequence
	NoBias               bool        // no bias (Keras use_bias=False)
	KernelInitializer    Initializer // of kernel [glorot_uniform]
	RecurrentInitializer Initializer // of recurrent_kernel [orthogonal]
	BiasInitializer      Initializer // of bias [zeros]
	KernelRegularizer    Regularizer // penalty on kernel [none]
	RecurrentRegularizer Regularizer // penalty on recurrent_kernel [none]
	BiasRegularizer      Regularizer // penalty on bias [none]
	Name                 string      // layer name; empty: Build names it after its place in the model

	Kernel, RecurrentKernel, Bias *autograd.Var // created on first Forward / Build
	restoreOrder                  bool
}

func (l *GRU) layerName() string       { return l.Name }
func (l *GRU) setLayerName(n string)   { l.Name = n }
func (l *GRU) setRestoreOrder(on bool) { l.restoreOrder = on }
func (l *GRU) returnsSequences() bool  { return l.ReturnSequences }
func (l *GRU) goesBackwards() bool     { return l.GoBackwards }

func (l *GRU) reversed() recurrent {
	cp := *l
	cp.Name, cp.Kernel, cp.RecurrentKernel, cp.Bias = "", nil, nil, nil
	cp.GoBackwards, cp.restoreOrder = !l.GoBackwards, true
	return &cp
}

// Weights returns kernel, recurrent_kernel and bias.
func (l *GRU) Weights() []Weight {
	return rnnWeights(l.Kernel, l.RecurrentKernel, l.Bias, l.KernelRegularizer, l.RecurrentRegularizer, l.BiasRegularizer)
}

func (l *GRU) spec() rnnSpec {
	return rnnSpec{kind: "GRU", gates: 3, name: l.Name, units: l.Units, act: l.Activation, rec: l.RecurrentActivation,
		retSeq: l.ReturnSequences, goBack: l.GoBackwards, restore: l.restoreOrder, dropout: l.Dropout, recDropout: l.RecurrentDropout}
}

// Forward runs the layer over x [batch, time, features] from a zero state.
func (l *GRU) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	y, _ := l.ForwardState(c, x, nil)
	return y
}

// ForwardState runs the layer from the initial state init ([h] with h
// [batch, units]; empty: zeros) and returns the output and the final
// state [h].
func (l *GRU) ForwardState(c *Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var) {
	s := l.spec()
	if l.Kernel == nil {
		l.Kernel, l.RecurrentKernel, l.Bias = buildRNN(c, s, x.Shape(), l.NoBias, false, l.KernelInitializer, l.RecurrentInitializer, l.BiasInitializer)
	}
	y, st := runRNN(c, s, x, l.Kernel, l.RecurrentKernel, l.Bias, init)
	c.trace(l.Name, s.kind, y, numel(l.Kernel, l.RecurrentKernel, l.Bias))
	return y, st
}
