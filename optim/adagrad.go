package optim

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Adagrad scales each coordinate's step by the root of its accumulated
// squared gradients (Duchi et al. 2011,
// https://jmlr.org/papers/v12/duchi11a.html), in Keras's form. For each
// parameter p with gradient g:
//
//	A ← A + g²
//	p ← p − lr·g / √(A + ε)
//
// with A starting at InitialAccumulator. PyTorch's Adagrad starts A at 0
// and adds ε outside the root. State: "adagrad.accumulator.<param>".
//
// Zero fields mean the defaults in brackets; set InitialAccumulator or
// Epsilon to Zero for a true 0.
type Adagrad struct {
	Base
	InitialAccumulator float64 `json:"initial_accumulator_value"` // A's starting value [0.1]
	Epsilon            float64 `json:"epsilon"`                   // ε [1e-7]
}

func (o *Adagrad) layout() layout {
	return layout{
		prefix: "adagrad",
		names:  [maxBufs]string{"accumulator"},
		on:     [maxBufs]bool{true},
		init:   [maxBufs]float32{float32(orDefault(o.InitialAccumulator, 0.1))},
	}
}

// Name returns "adagrad".
func (o *Adagrad) Name() string { return "adagrad" }

// Step applies one Adagrad update; see Optimizer.Step.
func (o *Adagrad) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	acc0, eps := orDefault(o.InitialAccumulator, 0.1), orDefault(o.Epsilon, 1e-7)
	if err := checkNonNeg("adagrad", "initial_accumulator_value", acc0); err != nil {
		return err
	}
	if err := checkNonNeg("adagrad", "epsilon", eps); err != nil {
		return err
	}
	l := o.layout()
	slots, lr, err := o.begin(&l, o.options(0.001), params, grads)
	if err != nil {
		return err
	}
	for i, s := range slots {
		if g := grads[i]; g != nil {
			kernels.Adagrad(params[i].Value.Data(), g.Data(), s.buf[0].Data(), float32(lr), float32(eps))
		}
	}
	o.step++
	return nil
}

// LR returns the learning rate of the next Step.
func (o *Adagrad) LR() float64 { return o.lrAt(o.options(0.001)) }

// State returns the step counter and the accumulators; see
// Optimizer.State.
func (o *Adagrad) State() []NamedTensor {
	l := o.layout()
	return o.state(&l)
}

// LoadState restores what State returned; see Optimizer.LoadState.
func (o *Adagrad) LoadState(state []NamedTensor) error {
	l := o.layout()
	return o.loadState(&l, state)
}

// Config returns the resolved hyperparameters.
func (o *Adagrad) Config() map[string]any {
	m := o.options(0.001).config("adagrad")
	m["initial_accumulator_value"], m["epsilon"] = orDefault(o.InitialAccumulator, 0.1), orDefault(o.Epsilon, 1e-7)
	return m
}
