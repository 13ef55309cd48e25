package optim

import (
	"fmt"
	"math"
)

// Schedule gives the learning rate as a function of the step counter (0
// for the first Step). Attach one to an optimizer through its Schedule
// field; it then replaces LearningRate and is evaluated at every Step with
// the optimizer's Iterations(), so a restored step counter restores the
// schedule too.
type Schedule interface {
	LR(step int) float64
}

// ScheduleConfig describes s as a map with a "name" key and its fields,
// for run configs: the schedules of this package report their own
// parameters; another Schedule is described by its Go type.
func ScheduleConfig(s Schedule) map[string]any {
	if c, ok := s.(interface{ Config() map[string]any }); ok {
		return c.Config()
	}
	return map[string]any{"name": fmt.Sprintf("%T", s)}
}

// Constant is a fixed learning rate: LR(step) = c.
type Constant float64

// LR returns c.
func (c Constant) LR(int) float64 { return float64(c) }

// Config describes the schedule.
func (c Constant) Config() map[string]any {
	return map[string]any{"name": "constant", "value": float64(c)}
}

// StepDecay multiplies the rate by Factor every DropEvery steps:
//
//	LR(step) = Initial · Factor^⌊step / DropEvery⌋
//
// DropEvery ≤ 0 never drops; Factor 0 means 0.1 (PyTorch StepLR's gamma).
type StepDecay struct {
	Initial   float64 `json:"initial"`
	DropEvery int     `json:"drop_every"`
	Factor    float64 `json:"factor"`
}

// LR returns the rate at step.
func (s StepDecay) LR(step int) float64 {
	if s.DropEvery <= 0 {
		return s.Initial
	}
	f := s.Factor
	if f == 0 {
		f = 0.1
	}
	return s.Initial * math.Pow(f, float64(step/s.DropEvery))
}

// Config describes the schedule.
func (s StepDecay) Config() map[string]any {
	return map[string]any{"name": "step_decay", "initial": s.Initial, "drop_every": s.DropEvery, "factor": s.Factor}
}

// ExponentialDecay decays the rate by Rate every DecaySteps steps,
// continuously or, with Staircase, in discrete drops (Keras's
// ExponentialDecay):
//
//	LR(step) = Initial · Rate^(step / DecaySteps)     (exponent floored with Staircase)
//
// DecaySteps ≤ 0 or Rate 0 disables the decay (LR = Initial).
type ExponentialDecay struct {
	Initial    float64 `json:"initial"`
	DecaySteps int     `json:"decay_steps"`
	Rate       float64 `json:"rate"`
	Staircase  bool    `json:"staircase"`
}

// LR returns the rate at step.
func (s ExponentialDecay) LR(step int) float64 {
	if s.DecaySteps <= 0 || s.Rate == 0 {
		return s.Initial
	}
	e := float64(step) / float64(s.DecaySteps)
	if s.Staircase {
		e = math.Floor(e)
	}
	return s.Initial * math.Pow(s.Rate, e)
}

// Config describes the schedule.
func (s ExponentialDecay) Config() map[string]any {
	return map[string]any{"name": "exponential_decay", "initial": s.Initial, "decay_steps": s.DecaySteps, "rate": s.Rate, "staircase": s.Staircase}
}

// CosineDecay follows half a cosine from Initial down to Alpha·Initial over
// DecaySteps steps and stays there (Keras's CosineDecay; SGDR without
// restarts, Loshchilov & Hutter 2017, https://arxiv.org/abs/1608.03983):
//
//	s = min(step, DecaySteps)
//	LR(step) = Initial · ((1 − Alpha)·½(1 + cos(π·s/DecaySteps)) + Alpha)
//
// DecaySteps ≤ 0 disables the decay (LR = Initial).
type CosineDecay struct {
	Initial    float64 `json:"initial"`
	DecaySteps int     `json:"decay_steps"`
	Alpha      float64 `json:"alpha"`
}

// LR returns the rate at step.
func (s CosineDecay) LR(step int) float64 {
	if s.DecaySteps <= 0 {
		return s.Initial
	}
	t := float64(min(max(step, 0), s.DecaySteps)) / float64(s.DecaySteps)
	return s.Initial * ((1-s.Alpha)*0.5*(1+math.Cos(math.Pi*t)) + s.Alpha)
}

// Config describes the schedule.
func (s CosineDecay) Config() map[string]any {
	return map[string]any{"name": "cosine_decay", "initial": s.Initial, "decay_steps": s.DecaySteps, "alpha": s.Alpha}
}

// Warmup ramps the rate up linearly over the first Steps steps to Then's
// initial rate, then follows Then, started afresh:
//
//	LR(step) = Then.LR(0) · (step + 1)/Steps    for step < Steps
//	LR(step) = Then.LR(step − Steps)            otherwise
//
// so the first step already moves (at 1/Steps of the rate) and the last
// warm-up step runs at the full rate. Steps ≤ 0 means no warm-up. Then must
// not be nil: LR panics otherwise.
type Warmup struct {
	Steps int      `json:"steps"`
	Then  Schedule `json:"-"`
}

// LR returns the rate at step.
func (w Warmup) LR(step int) float64 {
	if w.Then == nil {
		panic("optim: Warmup.Then is nil")
	}
	if step < w.Steps {
		return w.Then.LR(0) * float64(step+1) / float64(w.Steps)
	}
	return w.Then.LR(step - max(w.Steps, 0))
}

// Config describes the schedule.
func (w Warmup) Config() map[string]any {
	m := map[string]any{"name": "warmup", "steps": w.Steps}
	if w.Then != nil {
		m["then"] = ScheduleConfig(w.Then)
	}
	return m
}
