package optim

import (
	"fmt"
	"math"
	"strings"
)

// base gives SetClip the Base of an optimizer of this package.
func (b *Base) base() *Base { return b }

// ClipNames are the kinds of gradient clipping SetClip accepts, Keras's
// names without "clip": "value" (clipvalue), "norm" (clipnorm) and
// "global_norm" (global_clipnorm).
var ClipNames = []string{"value", "norm", "global_norm"}

// SetClip sets o's gradient clipping of the named kind to c (0 turns it
// off): "value" clips every gradient element to [−c, c], "norm" every
// gradient tensor's L2 norm to c, "global_norm" the L2 norm of all
// gradients together to c (see Optimizer.Step for how they combine). It
// returns an error for an unknown kind, a c that is not a non-negative
// number, or an optimizer that does not embed Base.
func SetClip(o Optimizer, kind string, c float64) error {
	b, ok := o.(interface{ base() *Base })
	if !ok {
		return fmt.Errorf("optim: %T has no gradient clipping (it does not embed optim.Base)", o)
	}
	if !(c >= 0) || math.IsInf(c, 0) {
		return fmt.Errorf("optim: %s clipping %v is not a non-negative number", kind, c)
	}
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "value", "clipvalue":
		b.base().ClipValue = c
	case "norm", "clipnorm":
		b.base().ClipNorm = c
	case "global_norm", "global_clipnorm":
		b.base().GlobalClipNorm = c
	default:
		return fmt.Errorf("optim: unknown clipping %q (want %s)", kind, strings.Join(ClipNames, ", "))
	}
	return nil
}

// ScheduleNames are the names ScheduleByName accepts.
var ScheduleNames = []string{"constant", "cosine", "warmup_cosine", "exponential"}

// ScheduleByName returns the learning-rate schedule with a name as written
// in a config file or on the command line, for a run of steps optimizer
// steps starting from the rate lr:
//
//   - "constant" (or ""): nil, the optimizer's constant LearningRate;
//   - "cosine": CosineDecay from lr to 0 over steps;
//   - "warmup_cosine": a linear warmup over the first 5% of steps (at
//     least 1), then the cosine decay over the rest;
//   - "exponential": ExponentialDecay from lr to lr/100 over steps.
//
// Attach the result with Optimizer.SetSchedule. It returns an error for an
// unknown name, an lr that is not a non-negative number or steps < 1 for
// a decaying schedule.
func ScheduleByName(name string, lr float64, steps int) (Schedule, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" || name == "constant" {
		return nil, nil
	}
	if !(lr >= 0) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("optim: schedule %s: learning rate %v is not a non-negative number", name, lr)
	}
	if steps < 1 {
		return nil, fmt.Errorf("optim: schedule %s needs the run's number of steps, got %d", name, steps)
	}
	switch name {
	case "cosine":
		return CosineDecay{Initial: lr, DecaySteps: steps}, nil
	case "warmup_cosine":
		w := max(steps/20, 1)
		return Warmup{Steps: w, Then: CosineDecay{Initial: lr, DecaySteps: max(steps-w, 1)}}, nil
	case "exponential":
		return ExponentialDecay{Initial: lr, DecaySteps: steps, Rate: 0.01}, nil
	}
	return nil, fmt.Errorf("optim: unknown schedule %q (want %s)", name, strings.Join(ScheduleNames, ", "))
}
