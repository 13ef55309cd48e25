package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Conv1D is a temporal convolution (Keras's Conv1D, channels last):
//
//	y[b, t, f] = σ(Σ_{i,c} x[b, t·s + i·r − p, c]·W[i, c, f] + bias[f])
//
// for x [B, T, C], kernel W [KernelSize, C, Filters], bias [Filters],
// stride s, dilation r; output [B, T', Filters]. Padding is "valid"
// (none), "same" (T' = ⌈T/s⌉) or "causal" (p = (KernelSize−1)·r zeros on
// the left only, so y[t] sees x up to t: T' = ⌈T/s⌉ for WaveNet-style
// models). It runs as Conv2D on a height of 1.
//
// Zero values: stride 1, dilation 1, valid padding, Glorot-uniform kernel,
// zero bias, linear activation (names as Dense's).
type Conv1D struct {
	Filters      int    `json:"filters"`
	KernelSize   int    `json:"kernel_size"`
	Strides      int    `json:"strides,omitempty"`
	Padding      string `json:"padding,omitempty"`
	DilationRate int    `json:"dilation_rate,omitempty"`
	Activation   string `json:"activation,omitempty"`
	NoBias       bool   `json:"no_bias,omitempty"`
	Name         string `json:"name,omitempty"`

	Kernel, Bias *autograd.Var
	act          autograd.Activation
	post         func(*autograd.Var) *autograd.Var
}

func (l *Conv1D) layerName() string     { return l.Name }
func (l *Conv1D) setLayerName(n string) { l.Name = n }

// Weights returns kernel and bias.
func (l *Conv1D) Weights() []Weight {
	return []Weight{{"kernel", l.Kernel, true, nil}, {"bias", l.Bias, true, nil}}
}

// window returns the 1×KernelSize Conv2D window.
func (l *Conv1D) window(T int) tensor.Window {
	s, r := max(l.Strides, 1), max(l.DilationRate, 1)
	w := tensor.Window{KH: 1, KW: l.KernelSize, SH: 1, SW: s, DH: 1, DW: r, Padding: l.Padding}
	if l.Padding == "causal" {
		left := (l.KernelSize - 1) * r
		// pad on the right only what a stride needs to give ⌈T/s⌉ outputs
		out := (T + s - 1) / s
		right := max(0, (out-1)*s+(l.KernelSize-1)*r+1-T-left)
		w.Padding, w.Pads = "explicit", [4]int{0, 0, left, right}
	}
	return w
}

func (l *Conv1D) build(c *Ctx, in []int) {
	if len(in) != 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: in, Msg: "Conv1D needs [batch, time, channels]"})
	}
	if l.Filters <= 0 || l.KernelSize <= 0 || l.Strides < 0 || l.DilationRate < 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("filters %d and kernel_size %d must be positive, strides %d and dilation_rate %d not negative", l.Filters, l.KernelSize, l.Strides, l.DilationRate)})
	}
	switch l.Padding {
	case "", "valid", "same", "causal":
	default:
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("unknown padding %q (want valid, same or causal)", l.Padding)})
	}
	act, post, err := activation(l.Activation)
	if err != nil {
		panic(&ConfigError{Layer: l.Name, Msg: err.Error()})
	}
	l.act, l.post = act, post
	k, ch := l.KernelSize, in[2]
	rng := c.buildRNG(l.Name)
	w := tensor.Zeros(k, ch, l.Filters)
	GlorotUniform{}.Init(rng, w, k*ch, k*l.Filters)
	l.Kernel = autograd.NewParam(l.Name+".kernel", w)
	if !l.NoBias {
		l.Bias = autograd.NewParam(l.Name+".bias", tensor.Zeros(l.Filters))
	}
}

// Forward convolves x [B, T, C].
func (l *Conv1D) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if l.Kernel == nil {
		l.build(c, x.Shape())
	}
	s := x.Shape()
	if len(s) != 3 || s[2] != l.Kernel.Value.Dim(1) {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, l.Kernel.Value.Dim(1)}, Got: s})
	}
	w := l.window(s[1])
	x4 := autograd.Reshape(x, s[0], 1, s[1], s[2])
	if _, err := tensor.ConvGeometry(x4.Shape(), w); err != nil {
		panic(&ShapeError{Layer: l.Name, Got: s, Msg: err.Error()})
	}
	k4 := autograd.Reshape(l.Kernel, 1, l.KernelSize, s[2], l.Filters)
	y4 := autograd.Conv2D(x4, k4, l.Bias, w, l.act)
	ys := y4.Shape()
	y := applyPost(autograd.Reshape(y4, ys[0], ys[2], ys[3]), l.post)
	c.trace(l.Name, "Conv1D", y, numel(l.Kernel, l.Bias))
	return y
}
