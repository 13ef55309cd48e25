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
	LearningRate   float64  `json:"learning_rate"`             // lr [0.01]; unused when Schedule is set
	Momentum       float64  `json:"momentum"`                  // μ in [0, 1] [0]
	Nesterov       bool     `json:"nesterov"`                  // Nesterov momentum (Sutskever et al. 2013)
	WeightDecay    float64  `json:"weight_decay"`              // λ [0]
	Schedule       Schedule `json:"-"`                         // learning-rate schedule, replacing LearningRate
	ClipValue      float64  `json:"clipvalue,omitempty"`       // [off]
	ClipNorm       float64  `json:"clipnorm,omitempty"`        // [off]
	GlobalClipNorm float64  `json:"global_clipnorm,omitempty"` // [off]
	core
}

func (o *SGD) options() options {
	return options{lr: orDefault(o.LearningRate, 0.01), schedule: o.Schedule, clipValue: o.ClipValue, clipNorm: o.ClipNorm, globalClipNorm: o.GlobalClipNorm}
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
	slots, lr, err := o.begin(&l, o.options(), params, grads)
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
func (o *SGD) LR() float64 { return o.lrAt(o.options()) }

// SetLR sets a constant learning rate, replacing any Schedule.
func (o *SGD) SetLR(lr float64) { setLR(&o.LearningRate, &o.Schedule, lr) }

// SetSchedule attaches s, replacing LearningRate (nil: back to LearningRate).
func (o *SGD) SetSchedule(s Schedule) { o.Schedule = s }

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
	m := o.options().config("sgd")
	m["momentum"], m["nesterov"], m["weight_decay"] = o.Momentum, o.Nesterov, o.WeightDecay
	return m
}
