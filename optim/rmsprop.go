package optim

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// RMSprop divides the gradient by a running root mean square of recent
// gradients (Hinton, Neural Networks for Machine Learning, lecture 6e), in
// Keras's form, with ε under the square root. For each parameter p with
// gradient g, ρ = Rho and μ = Momentum:
//
//	s ← ρ·s + (1 − ρ)·g²
//	plain:     d = s + ε
//	centered:  a ← ρ·a + (1 − ρ)·g;  d = s − a² + ε
//	Δ = lr·g / √d
//	μ = 0:  p ← p − Δ
//	μ > 0:  b ← μ·b + Δ;  p ← p − b
//
// with s, a and b starting at zero. PyTorch's RMSprop puts ε outside the
// root (√s + ε) and defaults to ρ = 0.99, ε = 1e-8. State:
// "rmsprop.velocity.<param>" (s), "rmsprop.average_gradient.<param>" (a,
// centered), "rmsprop.momentum.<param>" (b, μ > 0).
//
// Zero fields mean the defaults in brackets; set Epsilon to Zero for a true
// 0.
type RMSprop struct {
	Base
	Rho      float64 `json:"rho"`      // ρ, discount of the running averages [0.9]
	Momentum float64 `json:"momentum"` // μ in [0, 1] [0]
	Epsilon  float64 `json:"epsilon"`  // ε [1e-7]
	Centered bool    `json:"centered"` // normalize by the variance, not the second moment
}

func (o *RMSprop) layout() layout {
	return layout{
		prefix: "rmsprop",
		names:  [maxBufs]string{"velocity", "average_gradient", "momentum"},
		on:     [maxBufs]bool{true, o.Centered, o.Momentum > 0},
	}
}

// Name returns "rmsprop".
func (o *RMSprop) Name() string { return "rmsprop" }

// Step applies one RMSprop update; see Optimizer.Step.
func (o *RMSprop) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	rho, eps := orDefault(o.Rho, 0.9), orDefault(o.Epsilon, 1e-7)
	if err := checkUnit("rmsprop", "rho", rho, false); err != nil {
		return err
	}
	if err := checkUnit("rmsprop", "momentum", o.Momentum, true); err != nil {
		return err
	}
	if err := checkNonNeg("rmsprop", "epsilon", eps); err != nil {
		return err
	}
	l := o.layout()
	slots, lr, err := o.begin(&l, o.options(0.001), params, grads)
	if err != nil {
		return err
	}
	k := kernels.RMSpropCoeffs{Rho: float32(rho), C: float32(1 - rho), LR: float32(lr), Eps: float32(eps), Momentum: float32(o.Momentum)}
	for i, s := range slots {
		g := grads[i]
		if g == nil {
			continue
		}
		var mg, mom []float32
		if o.Centered {
			mg = s.buf[1].Data()
		}
		if o.Momentum > 0 {
			mom = s.buf[2].Data()
		}
		kernels.RMSprop(params[i].Value.Data(), g.Data(), s.buf[0].Data(), mg, mom, k)
	}
	o.step++
	return nil
}

// LR returns the learning rate of the next Step.
func (o *RMSprop) LR() float64 { return o.lrAt(o.options(0.001)) }

// State returns the step counter and the running averages; see
// Optimizer.State.
func (o *RMSprop) State() []NamedTensor {
	l := o.layout()
	return o.state(&l)
}

// LoadState restores what State returned; see Optimizer.LoadState.
func (o *RMSprop) LoadState(state []NamedTensor) error {
	l := o.layout()
	return o.loadState(&l, state)
}

// Config returns the resolved hyperparameters.
func (o *RMSprop) Config() map[string]any {
	m := o.options(0.001).config("rmsprop")
	m["rho"], m["momentum"], m["epsilon"], m["centered"] = orDefault(o.Rho, 0.9), o.Momentum, orDefault(o.Epsilon, 1e-7), o.Centered
	return m
}
