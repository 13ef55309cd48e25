package optim

import (
	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// SGD is stochastic gradient descent with optional momentum, in Keras's
// form (the velocity carries the learning rate). For each parameter p with
// gradient g, μ = Momentum and λ = WeightDecay:
//
//	p ← p − lr·λ·p                           (decoupled weight decay, when λ > 0)
//	μ = 0:       p ← p − lr·g
//	classical:   u ← μ·u − lr·g;  p ← p + u
//	Nesterov:    u ← μ·u − lr·g;  p ← p + μ·u − lr·g
//
// with the velocity u starting at zero. With a constant learning rate this
// is PyTorch's SGD with b = −u/lr. The weight decay is decoupled, as
// Keras's weight_decay is; PyTorch's SGD instead adds λ·p to g, which is
// the same without momentum. State: "sgd.momentum.<param>" when μ > 0.
type SGD struct {
	Base
	Momentum    float64 `json:"momentum"`     // μ in [0, 1] [0]
	Nesterov    bool    `json:"nesterov"`     // Nesterov momentum (Sutskever et al. 2013)
	WeightDecay float64 `json:"weight_decay"` // λ [0]
}

func (o *SGD) layout() layout {
	return layout{prefix: "sgd", names: [maxBufs]string{"momentum"}, on: [maxBufs]bool{o.Momentum > 0}}
}

// Name returns "sgd".
func (o *SGD) Name() string { return "sgd" }

// Step applies one SGD update; see Optimizer.Step.
func (o *SGD) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	if err := checkUnit("sgd", "momentum", o.Momentum, true); err != nil {
		return err
	}
	if err := checkNonNeg("sgd", "weight_decay", o.WeightDecay); err != nil {
		return err
	}
	l := o.layout()
	slots, lr, err := o.begin(&l, o.options(0.01), params, grads)
	if err != nil {
		return err
	}
	for i, s := range slots {
		g := grads[i]
		if g == nil {
			continue
		}
		var vel []float32
		if o.Momentum > 0 {
			vel = s.buf[0].Data()
		}
		kernels.SGD(params[i].Value.Data(), g.Data(), vel, float32(lr), float32(o.Momentum), float32(lr*o.WeightDecay), o.Nesterov)
	}
	o.step++
	return nil
}

// LR returns the learning rate of the next Step.
func (o *SGD) LR() float64 { return o.lrAt(o.options(0.01)) }

// State returns the step counter and the velocities; see Optimizer.State.
func (o *SGD) State() []NamedTensor {
	l := o.layout()
	return o.state(&l)
}

// LoadState restores what State returned; see Optimizer.LoadState.
func (o *SGD) LoadState(state []NamedTensor) error {
	l := o.layout()
	return o.loadState(&l, state)
}

// Config returns the resolved hyperparameters.
func (o *SGD) Config() map[string]any {
	m := o.options(0.01).config("sgd")
	m["momentum"], m["nesterov"], m["weight_decay"] = o.Momentum, o.Nesterov, o.WeightDecay
	return m
}
