package optim

import (
	"fmt"
	"math"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Optimizer updates parameters in place from their gradients.
type Optimizer interface {
	// Name returns the optimizer's name as ByName accepts it ("adam").
	Name() string
	// Step applies one update: params[i].Value is changed in place from
	// grads[i], the gradient of the loss with respect to params[i]. A nil
	// grads[i] leaves params[i] (and its state) untouched. Gradient
	// clipping, when configured, rescales grads in place, in the order
	// ClipNorm, GlobalClipNorm, ClipValue (Keras allows only one of them;
	// here they combine). Step returns an
	// error, and changes nothing, for invalid hyperparameters, lists of
	// different lengths, a gradient whose size differs from its
	// parameter's, or parameter names that are empty or repeated.
	Step(params []*autograd.Var, grads []*tensor.Tensor) error
	// LR returns the learning rate the next Step will use (the schedule's
	// value at Iterations() when a schedule is attached).
	LR() float64
	// SetLR sets a constant learning rate from now on, replacing any
	// schedule (what a reduce-on-plateau callback needs).
	SetLR(lr float64)
	// SetSchedule attaches a learning-rate schedule, evaluated at every
	// Step with Iterations(); nil goes back to the constant LearningRate.
	SetSchedule(s Schedule)
	// Iterations returns the number of Steps taken (the step counter that
	// schedules and Adam's bias correction use).
	Iterations() int
	// State returns the step counter and every per-parameter buffer as
	// named tensors, in a stable order: "<name>.step" (a 1-element tensor,
	// exact up to 2^24 steps), then "<name>.<buffer>.<parameter name>".
	// The tensors are the optimizer's own buffers, not copies.
	State() []NamedTensor
	// LoadState replaces the optimizer's state with a copy of state as
	// State returned it, so that training continues exactly. It may be
	// called before the first Step; the buffers are matched to parameters
	// by name when Step sees them. It returns an error, and changes
	// nothing, for a name that does not belong to this optimizer, a
	// missing step counter, or buffers of one parameter with different
	// shapes.
	LoadState(state []NamedTensor) error
	// Config returns the hyperparameters with defaults applied, under
	// Keras's names ("learning_rate", "beta_1", ...), plus "name" and, when
	// one is attached, "schedule".
	Config() map[string]any
}

// The optimizers of this package.
var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*AdamW)(nil)
	_ Optimizer = (*RMSprop)(nil)
	_ Optimizer = (*Adagrad)(nil)
	_ Scaled    = (*Adam)(nil)
)

// NamedTensor is a tensor with a name, as State returns it (and as a
// checkpoint stores it).
type NamedTensor struct {
	Name   string
	Tensor *tensor.Tensor
}

// Zero is the sentinel that asks for a true zero in a field whose default
// is not zero (there, 0 means "the default"): &Adam{Beta1: Zero} runs Adam
// with β1 = 0.
const Zero = -1.0

// orDefault resolves a hyperparameter field: 0 is the default d and Zero
// is 0; any other value is itself.
func orDefault(v, d float64) float64 {
	switch v {
	case 0:
		return d
	case Zero:
		return 0
	}
	return v
}

// ByName returns a new optimizer with default hyperparameters for a name as
// written in a config file or on the command line: "sgd", "adam", "adamw",
// "rmsprop" or "adagrad" (case-insensitive). A learning rate of 0 keeps the
// optimizer's default.
func ByName(name string, lr float64) (Optimizer, error) {
	if lr < 0 || math.IsNaN(lr) || math.IsInf(lr, 0) {
		return nil, fmt.Errorf("optim: learning rate %v is not a non-negative number", lr)
	}
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "sgd":
		return &SGD{Base: Base{LearningRate: lr}}, nil
	case "adam":
		return &Adam{Base: Base{LearningRate: lr}}, nil
	case "adamw":
		return &AdamW{Base: Base{LearningRate: lr}}, nil
	case "rmsprop":
		return &RMSprop{Base: Base{LearningRate: lr}}, nil
	case "adagrad":
		return &Adagrad{Base: Base{LearningRate: lr}}, nil
	}
	return nil, fmt.Errorf("optim: unknown optimizer %q (want sgd, adam, adamw, rmsprop or adagrad)", name)
}

// maxBufs is the most per-parameter buffers an optimizer keeps.
const maxBufs = 3

// layout describes an optimizer's state for one Step: the prefix of its
// state names, the names of its buffers, which of them the current
// hyperparameters use, and the value a new buffer starts from.
type layout struct {
	prefix string
	names  [maxBufs]string
	on     [maxBufs]bool
	init   [maxBufs]float32
}

// slot is the state of one parameter.
type slot struct {
	name  string
	shape []int
	n     int
	buf   [maxBufs]*tensor.Tensor
}

// Base holds what every optimizer of this package has besides its own
// hyperparameters — the learning rate or a schedule, gradient clipping,
// and the state (step counter and per-parameter buffers) — with the
// methods that go with them. Each optimizer embeds it:
//
//	&optim.Adam{Base: optim.Base{LearningRate: 2e-4, GlobalClipNorm: 1}, Beta1: 0.5}
//
// The learning rate of a step is
//
//	lr = (Schedule.LR(Iterations()) when a Schedule is set, else LearningRate) · scale
//
// where scale is 1 until ScaleLR changes it (what ReduceLROnPlateau does, so
// that an attached schedule keeps its shape from a lower level).
type Base struct {
	LearningRate   float64  `json:"learning_rate"`             // lr [0.01 for SGD, 0.001 for the others]; unused when Schedule is set
	Schedule       Schedule `json:"-"`                         // learning-rate schedule, replacing LearningRate
	ClipValue      float64  `json:"clipvalue,omitempty"`       // clip each gradient element to [−c, c] [off]
	ClipNorm       float64  `json:"clipnorm,omitempty"`        // clip each gradient tensor's L2 norm to c [off]
	GlobalClipNorm float64  `json:"global_clipnorm,omitempty"` // clip the L2 norm of all gradients together to c [off]

	scale float64 // factor set by ScaleLR (0 means 1)
	core
}

// SetLR sets a constant learning rate from now on, replacing any Schedule
// and any ScaleLR factor.
func (b *Base) SetLR(lr float64) {
	b.LearningRate, b.Schedule, b.scale = lr, nil, 0
	if lr == 0 {
		b.LearningRate = Zero
	}
}

// SetSchedule attaches s, replacing LearningRate (nil: back to
// LearningRate). The ScaleLR factor stays.
func (b *Base) SetSchedule(s Schedule) { b.Schedule = s }

// ScaleLR multiplies the learning rate from now on by factor > 0: the
// constant rate, or every later value of the schedule (which keeps its
// shape). Factors accumulate: two calls with 0.5 give 0.25.
func (b *Base) ScaleLR(factor float64) {
	if !(factor > 0) || math.IsInf(factor, 0) {
		return
	}
	b.scale = b.LRScale() * factor
}

// LRScale returns the factor ScaleLR has set (1 when none).
func (b *Base) LRScale() float64 {
	if b.scale == 0 {
		return 1
	}
	return b.scale
}

// SetLRScale sets the ScaleLR factor directly (for restoring a
// checkpoint); factors that are not positive numbers are ignored.
func (b *Base) SetLRScale(factor float64) {
	if factor > 0 && !math.IsInf(factor, 0) {
		b.scale = factor
	}
}

// options returns the shared settings, with def the optimizer's default
// learning rate.
func (b *Base) options(def float64) options {
	return options{lr: orDefault(b.LearningRate, def), scale: b.LRScale(), schedule: b.Schedule, clipValue: b.ClipValue, clipNorm: b.ClipNorm, globalClipNorm: b.GlobalClipNorm}
}

// Scaled is implemented by the optimizers of this package (through Base):
// a learning-rate factor on top of the rate or schedule, which
// ReduceLROnPlateau changes and checkpoints keep.
type Scaled interface {
	ScaleLR(factor float64)
	LRScale() float64
	SetLRScale(factor float64)
}

// core is the bookkeeping every optimizer shares: the step counter and the
// per-parameter state, keyed by parameter name.
type core struct {
	step  int
	slots map[string]*slot
	order []*slot // in the order first seen, for State
	bound []*slot // the slots of the last Step's parameters, by position
}

// Iterations returns the number of Steps taken.
func (c *core) Iterations() int { return c.step }

// bind returns the slots of params by position, creating state for
// parameters seen for the first time and any buffer the layout turns on.
// In steady state (the same parameter names as the last call) it does not
// allocate.
func (c *core) bind(l *layout, params []*autograd.Var, grads []*tensor.Tensor) ([]*slot, error) {
	if len(params) != len(grads) {
		return nil, fmt.Errorf("optim: %s: %d parameters but %d gradients", l.prefix, len(params), len(grads))
	}
	if !c.boundTo(params) {
		if err := c.rebind(l, params); err != nil {
			return nil, err
		}
	}
	for i, p := range params {
		s := c.bound[i]
		if p.Value.Len() != s.n {
			return nil, fmt.Errorf("optim: %s: parameter %q has shape %v, its state %v", l.prefix, s.name, p.Value.Shape(), s.shape)
		}
		if g := grads[i]; g != nil && g.Len() != s.n {
			return nil, fmt.Errorf("optim: %s: gradient of %q has shape %v, want %v", l.prefix, s.name, g.Shape(), p.Value.Shape())
		}
	}
	for _, s := range c.bound {
		for j, on := range l.on {
			if on && s.buf[j] == nil {
				s.buf[j] = tensor.Full(l.init[j], s.shape...)
			}
		}
	}
	return c.bound, nil
}

// boundTo reports whether the last bound parameters have params' names.
func (c *core) boundTo(params []*autograd.Var) bool {
	if len(params) != len(c.bound) {
		return false
	}
	for i, p := range params {
		if p.Name() != c.bound[i].name {
			return false
		}
	}
	return true
}

func (c *core) rebind(l *layout, params []*autograd.Var) error {
	bound := make([]*slot, len(params))
	seen := make(map[string]bool, len(params))
	for i, p := range params {
		name := p.Name()
		switch {
		case name == "":
			return fmt.Errorf("optim: %s: parameter %d (shape %v) has no name; create parameters with autograd.NewParam", l.prefix, i, p.Value.Shape())
		case seen[name]:
			return fmt.Errorf("optim: %s: two parameters are named %q", l.prefix, name)
		}
		seen[name] = true
		s := c.slots[name]
		if s != nil && !tensor.EqualShapes(s.shape, p.Value.Shape()) {
			return fmt.Errorf("optim: %s: state of %q has shape %v, the parameter %v", l.prefix, name, s.shape, p.Value.Shape())
		}
		bound[i] = s
	}
	if c.slots == nil {
		c.slots = map[string]*slot{}
	}
	for i, p := range params {
		if bound[i] == nil {
			s := &slot{name: p.Name(), shape: append([]int(nil), p.Value.Shape()...), n: p.Value.Len()}
			c.slots[s.name] = s
			c.order = append(c.order, s)
			bound[i] = s
		}
	}
	c.bound = bound
	return nil
}

// state implements Optimizer.State.
func (c *core) state(l *layout) []NamedTensor {
	out := []NamedTensor{{Name: l.prefix + ".step", Tensor: tensor.New([]int{1}, []float32{float32(c.step)})}}
	for _, s := range c.order {
		for j, b := range s.buf {
			if b != nil {
				out = append(out, NamedTensor{Name: l.prefix + "." + l.names[j] + "." + s.name, Tensor: b})
			}
		}
	}
	return out
}

// loadState implements Optimizer.LoadState.
func (c *core) loadState(l *layout, state []NamedTensor) error {
	prefix := l.prefix + "."
	step := -1
	slots := map[string]*slot{}
	var order []*slot
	for _, nt := range state {
		if nt.Tensor == nil {
			return fmt.Errorf("optim: %s: state %q has no tensor", l.prefix, nt.Name)
		}
		if nt.Name == prefix+"step" {
			v := math.NaN()
			if nt.Tensor.Len() == 1 {
				v = float64(nt.Tensor.Data()[0])
			}
			if v < 0 || v != math.Trunc(v) || math.IsInf(v, 0) {
				return fmt.Errorf("optim: %s: step counter %v is not a non-negative integer", l.prefix, nt.Tensor)
			}
			step = int(v)
			continue
		}
		rest, ok := strings.CutPrefix(nt.Name, prefix)
		if !ok {
			return fmt.Errorf("optim: %s: state %q does not belong to this optimizer (want names starting %q)", l.prefix, nt.Name, prefix)
		}
		bufName, param, ok := strings.Cut(rest, ".")
		j := -1
		for k, n := range l.names {
			if n != "" && n == bufName {
				j = k
			}
		}
		if !ok || param == "" || j < 0 {
			return fmt.Errorf("optim: %s: unknown state %q", l.prefix, nt.Name)
		}
		s := slots[param]
		if s == nil {
			s = &slot{name: param, shape: append([]int(nil), nt.Tensor.Shape()...), n: nt.Tensor.Len()}
			slots[param] = s
			order = append(order, s)
		} else if !tensor.EqualShapes(s.shape, nt.Tensor.Shape()) {
			return fmt.Errorf("optim: %s: state of %q has tensors of shapes %v and %v", l.prefix, param, s.shape, nt.Tensor.Shape())
		}
		if s.buf[j] != nil {
			return fmt.Errorf("optim: %s: state %q appears twice", l.prefix, nt.Name)
		}
		s.buf[j] = nt.Tensor.Clone()
	}
	if step < 0 {
		return fmt.Errorf("optim: %s: state has no step counter %q", l.prefix, prefix+"step")
	}
	c.step, c.slots, c.order, c.bound = step, slots, order, nil
	return nil
}

// options are the settings every optimizer has besides its own.
type options struct {
	lr                                  float64 // resolved base learning rate
	scale                               float64 // ScaleLR factor
	schedule                            Schedule
	clipValue, clipNorm, globalClipNorm float64
}

// begin validates the shared options and the parameter lists, binds the
// state, clips the gradients and returns the slots and this step's
// learning rate.
func (c *core) begin(l *layout, o options, params []*autograd.Var, grads []*tensor.Tensor) ([]*slot, float64, error) {
	if err := checkNonNeg(l.prefix, "learning_rate", o.lr); err != nil {
		return nil, 0, err
	}
	for _, f := range [...]struct {
		name string
		v    float64
	}{{"clipvalue", o.clipValue}, {"clipnorm", o.clipNorm}, {"global_clipnorm", o.globalClipNorm}} {
		if err := checkNonNeg(l.prefix, f.name, f.v); err != nil {
			return nil, 0, err
		}
	}
	slots, err := c.bind(l, params, grads)
	if err != nil {
		return nil, 0, err
	}
	lr := o.lr * o.scale
	if o.schedule != nil {
		lr = o.schedule.LR(c.step) * o.scale
		if err := checkNonNeg(l.prefix, "scheduled learning rate", lr); err != nil {
			return nil, 0, err
		}
	}
	if o.clipNorm > 0 {
		ClipByNorm(grads, o.clipNorm)
	}
	if o.globalClipNorm > 0 {
		ClipByGlobalNorm(grads, o.globalClipNorm)
	}
	if o.clipValue > 0 {
		ClipByValue(grads, o.clipValue)
	}
	return slots, lr, nil
}

// lrAt returns the learning rate of the next step.
func (c *core) lrAt(o options) float64 {
	if o.schedule != nil {
		return o.schedule.LR(c.step) * o.scale
	}
	return o.lr * o.scale
}

// config returns the shared part of Config.
func (o options) config(name string) map[string]any {
	m := map[string]any{
		"name":            name,
		"learning_rate":   o.lr,
		"clipvalue":       o.clipValue,
		"clipnorm":        o.clipNorm,
		"global_clipnorm": o.globalClipNorm,
	}
	if o.schedule != nil {
		m["schedule"] = ScheduleConfig(o.schedule)
	}
	if o.scale != 1 {
		m["lr_scale"] = o.scale
	}
	return m
}

func checkNonNeg(opt, field string, v float64) error {
	if !(v >= 0) || math.IsInf(v, 0) {
		return fmt.Errorf("optim: %s: %s %v is not a non-negative number", opt, field, v)
	}
	return nil
}

// checkUnit checks 0 ≤ v < 1 (or ≤ 1 when closed).
func checkUnit(opt, field string, v float64, closed bool) error {
	if !(v >= 0) || v > 1 || (v == 1 && !closed) {
		r := "[0, 1)"
		if closed {
			r = "[0, 1]"
		}
		return fmt.Errorf("optim: %s: %s %v is not in %s", opt, field, v, r)
	}
	return nil
}

// data returns t's storage, or nil for a nil tensor.
func data(t *tensor.Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.Data()
}
