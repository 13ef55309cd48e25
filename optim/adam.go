package optim

import (
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Adam is the Adam optimizer (Kingma & Ba 2015,
// https://arxiv.org/abs/1412.6980) in the form Keras uses, with the bias
// correction folded into the step size and ε̂ added to √v. At step
// t = Iterations()+1, for each parameter p with gradient g:
//
//	m ← β1·m + (1 − β1)·g
//	v ← β2·v + (1 − β2)·g²
//	α_t = lr · √(1 − β2^t) / (1 − β1^t)
//	p ← p − α_t · m / (√v + ε̂)
//
// With AMSGrad (Reddi et al. 2018, https://openreview.net/forum?id=ryQu7f-RZ)
// v̂ ← max(v̂, v) replaces v in the last line. m, v (and v̂) start at zero.
// PyTorch's Adam differs only in where ε sits (lr·m̂/(√v̂ + ε) with
// m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)); the two agree when ε is negligible.
//
// The update runs in one fused pass (kernels.Adam) in float32, with α_t and
// the coefficients computed in float64 and rounded once. State:
// "adam.m.<param>", "adam.v.<param>", "adam.vhat.<param>" (AMSGrad).
//
// Zero fields mean the defaults in brackets; set Beta1 or Epsilon to Zero
// for a true 0.
type Adam struct {
	Base
	Beta1   float64 `json:"beta_1"`  // β1, decay of the first moment [0.9]
	Beta2   float64 `json:"beta_2"`  // β2, decay of the second moment [0.999]
	Epsilon float64 `json:"epsilon"` // ε̂ [1e-7, as Keras; PyTorch uses 1e-8]
	AMSGrad bool    `json:"amsgrad"` // use the running maximum of v
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019,
// https://arxiv.org/abs/1711.05101), as Keras applies it: before the Adam
// update of step t,
//
//	p ← p − lr·λ·p
//
// with λ = WeightDecay and lr this step's learning rate; the rest is Adam's
// update (see Adam). The default λ is Keras's 0.004 (PyTorch's AdamW uses
// 0.01). State: "adamw.m.<param>", "adamw.v.<param>", "adamw.vhat.<param>".
type AdamW struct {
	Base
	WeightDecay float64 `json:"weight_decay"` // λ [0.004]; Zero turns it off
	Beta1       float64 `json:"beta_1"`       // β1 [0.9]
	Beta2       float64 `json:"beta_2"`       // β2 [0.999]
	Epsilon     float64 `json:"epsilon"`      // ε̂ [1e-7]
	AMSGrad     bool    `json:"amsgrad"`      // use the running maximum of v
}

// adamHyper are Adam's resolved hyperparameters.
type adamHyper struct {
	b1, b2, eps, wd float64
	amsgrad         bool
}

func (h adamHyper) layout(prefix string) layout {
	return layout{prefix: prefix, names: [maxBufs]string{"m", "v", "vhat"}, on: [maxBufs]bool{true, true, h.amsgrad}}
}

func (h adamHyper) check(prefix string) error {
	if err := checkUnit(prefix, "beta_1", h.b1, false); err != nil {
		return err
	}
	if err := checkUnit(prefix, "beta_2", h.b2, false); err != nil {
		return err
	}
	if err := checkNonNeg(prefix, "epsilon", h.eps); err != nil {
		return err
	}
	return checkNonNeg(prefix, "weight_decay", h.wd)
}

func (h adamHyper) config(o options, name string) map[string]any {
	m := o.config(name)
	m["beta_1"], m["beta_2"], m["epsilon"], m["amsgrad"] = h.b1, h.b2, h.eps, h.amsgrad
	if name == "adamw" {
		m["weight_decay"] = h.wd
	}
	return m
}

// adamStep is the Step of Adam and AdamW.
func adamStep(c *core, prefix string, h adamHyper, o options, params []*autograd.Var, grads []*tensor.Tensor) error {
	if err := h.check(prefix); err != nil {
		return err
	}
	l := h.layout(prefix)
	slots, lr, err := c.begin(&l, o, params, grads)
	if err != nil {
		return err
	}
	t := float64(c.step + 1)
	k := kernels.AdamCoeffs{
		Beta1: float32(h.b1), Beta2: float32(h.b2),
		C1: float32(1 - h.b1), C2: float32(1 - h.b2),
		Alpha: float32(lr * math.Sqrt(1-math.Pow(h.b2, t)) / (1 - math.Pow(h.b1, t))),
		Eps:   float32(h.eps),
		Decay: float32(lr * h.wd),
	}
	for i, s := range slots {
		g := grads[i]
		if g == nil {
			continue
		}
		var vhat []float32
		if h.amsgrad {
			vhat = s.buf[2].Data()
		}
		kernels.Adam(params[i].Value.Data(), g.Data(), s.buf[0].Data(), s.buf[1].Data(), vhat, k)
	}
	c.step++
	return nil
}

func (a *Adam) hyper() adamHyper {
	return adamHyper{b1: orDefault(a.Beta1, 0.9), b2: orDefault(a.Beta2, 0.999), eps: orDefault(a.Epsilon, 1e-7), amsgrad: a.AMSGrad}
}

// Name returns "adam".
func (a *Adam) Name() string { return "adam" }

// Step applies one Adam update; see Optimizer.Step.
func (a *Adam) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	return adamStep(&a.core, "adam", a.hyper(), a.options(0.001), params, grads)
}

// LR returns the learning rate of the next Step.
func (a *Adam) LR() float64 { return a.lrAt(a.options(0.001)) }

// State returns the step counter and the moment estimates; see
// Optimizer.State.
func (a *Adam) State() []NamedTensor {
	l := a.hyper().layout("adam")
	return a.state(&l)
}

// LoadState restores what State returned; see Optimizer.LoadState.
func (a *Adam) LoadState(state []NamedTensor) error {
	l := a.hyper().layout("adam")
	return a.loadState(&l, state)
}

// Config returns the resolved hyperparameters.
func (a *Adam) Config() map[string]any { return a.hyper().config(a.options(0.001), "adam") }

func (a *AdamW) hyper() adamHyper {
	return adamHyper{b1: orDefault(a.Beta1, 0.9), b2: orDefault(a.Beta2, 0.999), eps: orDefault(a.Epsilon, 1e-7), wd: orDefault(a.WeightDecay, 0.004), amsgrad: a.AMSGrad}
}

// Name returns "adamw".
func (a *AdamW) Name() string { return "adamw" }

// Step applies one AdamW update; see Optimizer.Step.
func (a *AdamW) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	return adamStep(&a.core, "adamw", a.hyper(), a.options(0.001), params, grads)
}

// LR returns the learning rate of the next Step.
func (a *AdamW) LR() float64 { return a.lrAt(a.options(0.001)) }

// State returns the step counter and the moment estimates; see
// Optimizer.State.
func (a *AdamW) State() []NamedTensor {
	l := a.hyper().layout("adamw")
	return a.state(&l)
}

// LoadState restores what State returned; see Optimizer.LoadState.
func (a *AdamW) LoadState(state []NamedTensor) error {
	l := a.hyper().layout("adamw")
	return a.loadState(&l, state)
}

// Config returns the resolved hyperparameters.
func (a *AdamW) Config() map[string]any { return a.hyper().config(a.options(0.001), "adamw") }
