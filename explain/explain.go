package explain

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Target selects the score F_c that an attribution explains.
type Target int

const (
	// Logit explains the pre-softmax score z_c (the default): for a model
	// ending in softmax or sigmoid, the input of that activation (see
	// autograd.Var.Logits); otherwise the model's output itself. Logits do
	// not saturate, so gradients stay informative when the model is sure,
	// and Integrated Gradients' completeness is measured on them.
	Logit Target = iota
	// Probability explains the class probability p_c: the model's output
	// when it ends in softmax or sigmoid, otherwise the softmax (sigmoid
	// for one output unit) of the output.
	Probability
)

// String returns "logit" or "probability".
func (t Target) String() string {
	switch t {
	case Logit:
		return "logit"
	case Probability:
		return "probability"
	}
	return fmt.Sprintf("Target(%d)", int(t))
}

// MarshalText writes the target's name, so that options marshal to
// readable JSON.
func (t Target) MarshalText() ([]byte, error) {
	if t != Logit && t != Probability {
		return nil, fmt.Errorf("explain: unknown target %d", int(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads "logit" or "probability" (empty means logit).
func (t *Target) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "", "logit", "logits":
		*t = Logit
	case "probability", "prob", "p":
		*t = Probability
	default:
		return fmt.Errorf("explain: unknown target %q (want logit or probability)", b)
	}
	return nil
}

// Predicted, passed as the class, explains for each sample the class the
// model predicts for it (the argmax of its output).
const Predicted = -1

// Attribution is the result of a Method on a batch x [n, ...].
type Attribution struct {
	// Method is the method's name (see Method.Name).
	Method string `json:"method"`
	// Layer is the layer GradCAM used; empty for the other methods.
	Layer string `json:"layer,omitempty"`
	// Target is the explained score.
	Target Target `json:"target"`
	// Map holds the attributions, x's shape (GradCAM: [n, h, w, 1] in
	// [0, 1]; Saliency with MaxOverChannels: [n, h, w, 1]).
	Map *tensor.Tensor `json:"-"`
	// Classes are the explained classes, one per sample, and Probs the
	// model's probability of each.
	Classes []int     `json:"classes"`
	Probs   []float32 `json:"probs"`
	// Predicted are the classes the model predicts (argmax), one per
	// sample, and PredictedProbs their probabilities.
	Predicted      []int     `json:"predicted"`
	PredictedProbs []float32 `json:"predicted_probs"`
	// Delta and CompletenessError are set by IntegratedGradients, one per
	// sample: Delta = Σ attributions − (F_c(x) − F_c(x′)) and
	// CompletenessError = |Delta| / |F_c(x) − F_c(x′)| (0 when both are 0).
	Delta             []float64 `json:"delta,omitempty"`
	CompletenessError []float64 `json:"completeness_error,omitempty"`
}

// MaxCompletenessError returns the largest CompletenessError over the
// samples, or NaN when the method does not report one.
func (a *Attribution) MaxCompletenessError() float64 {
	if len(a.CompletenessError) == 0 {
		return math.NaN()
	}
	m := 0.0
	for _, e := range a.CompletenessError {
		m = math.Max(m, e)
	}
	return m
}

// MaxSteps bounds the forward and backward passes one method may run per
// sample: IntegratedGradients' Steps (and Quadrature's points) and
// SmoothGrad's Samples. Above it a method returns an error that says so,
// instead of running for hours with a path of millions of images in
// memory.
const MaxSteps = 10000

// Method is an attribution method. Attribute explains class (or Predicted)
// of net's output for each sample of the batch x [n, ...]; it returns an
// error when the shapes do not fit, the class is out of range or ctx is
// cancelled.
type Method interface {
	Name() string
	Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (*Attribution, error)
}

// Names lists the method names New accepts.
func Names() []string {
	return []string{"saliency", "gradxinput", "smoothgrad", "ig", "occlusion", "gradcam", "attention"}
}

// New returns the method with the given name (see Names; "gradient_x_input"
// and "integrated_gradients" are accepted too) with default options.
func New(name string) (Method, error) {
	switch strings.ToLower(name) {
	case "saliency", "gradient":
		return Saliency{}, nil
	case "gradxinput", "gradient_x_input", "inputxgradient":
		return GradientXInput{}, nil
	case "smoothgrad":
		return SmoothGrad{}, nil
	case "ig", "integrated_gradients", "integratedgradients":
		return IntegratedGradients{}, nil
	case "occlusion":
		return Occlusion{}, nil
	case "gradcam", "grad-cam", "grad_cam":
		return GradCAM{}, nil
	case "attention", "attention_rollout", "rollout":
		return AttentionRollout{}, nil
	}
	return nil, fmt.Errorf("explain: unknown method %q (want one of %s)", name, strings.Join(Names(), ", "))
}

// session is what every method needs about one call: the model, the
// explained score, the model's predictions and the classes to explain.
type session struct {
	net    nn.Layer
	target Target
	x      *tensor.Tensor
	out    *tensor.Tensor // the model's raw output on x, [n, k]
	width  int            // k: columns of the model's output
	a      *Attribution
}

// start checks x, runs the model once (building it if needed) and resolves
// the classes to explain.
func start(ctx context.Context, method string, net nn.Layer, x *tensor.Tensor, class int, target Target) (*session, error) {
	if net == nil {
		return nil, fmt.Errorf("explain: %s: nil model", method)
	}
	if x == nil || x.Rank() < 2 || x.Dim(0) == 0 {
		var s []int
		if x != nil {
			s = x.Shape()
		}
		return nil, fmt.Errorf("explain: %s: input must be a non-empty batch [n, ...], got shape %v", method, s)
	}
	if target != Logit && target != Probability {
		return nil, fmt.Errorf("explain: %s: unknown target %d", method, int(target))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	y := net.Forward(&nn.Ctx{}, autograd.Const(x))
	if y.Value.Rank() != 2 || y.Value.Dim(0) != x.Dim(0) {
		return nil, fmt.Errorf("explain: %s: model output must be [batch, classes] = [%d, k], got %v", method, x.Dim(0), y.Value.Shape())
	}
	k := y.Value.Dim(1)
	probs := probabilities(y)
	kp := probs.Dim(1)
	if class != Predicted && (class < 0 || class >= kp) {
		return nil, fmt.Errorf("explain: %s: class %d out of range [0, %d)", method, class, kp)
	}
	a := &Attribution{Method: method, Target: target}
	for i, b := range tensor.ArgMax(probs, 1).Data() {
		best, c := int(b), class
		if class == Predicted {
			c = best
		}
		a.Classes = append(a.Classes, c)
		a.Probs = append(a.Probs, probs.At(i, c))
		a.Predicted = append(a.Predicted, best)
		a.PredictedProbs = append(a.PredictedProbs, probs.At(i, best))
	}
	return &session{net: net, target: target, x: x, out: y.Value, width: k, a: a}, nil
}

// probabilities returns the class probabilities of a model output y
// [n, k]: y itself after softmax, the softmax of y otherwise; for one
// output unit, [1 − p, p] with p the sigmoid probability.
func probabilities(y *autograd.Var) *tensor.Tensor {
	p := y.Value
	_, kind := y.Logits()
	if p.Dim(1) == 1 {
		if kind == 0 {
			p = tensor.Sigmoid(p)
		}
		return tensor.Concat(1, tensor.AddScalar(tensor.Neg(p), 1), p)
	}
	if kind == 0 {
		p = tensor.Softmax(p, -1)
	}
	return p
}

// score returns the explained scores of a model output y [rows, k] as the
// Var whose columns hold F (logits or probabilities; see Target).
func (s *session) score(y *autograd.Var) *autograd.Var {
	z, kind := y.Logits()
	switch s.target {
	case Logit:
		if z != nil {
			return z
		}
		return y
	default:
		if kind != 0 {
			return y
		}
		if y.Value.Dim(1) == 1 {
			return autograd.Sigmoid(y)
		}
		return autograd.Softmax(y, -1)
	}
}

// mask returns the [len(classes), k] selector of the explained scores:
// one-hot rows, or ±1 for a single sigmoid unit (class 1: +F, class 0:
// −F, which differs from 1 − p only by a constant).
func (s *session) mask(classes []int) *tensor.Tensor {
	if s.width == 1 {
		m := tensor.Zeros(len(classes), 1)
		for i, c := range classes {
			m.Data()[i] = float32(2*c - 1)
		}
		return m
	}
	return tensor.OneHot(classes, s.width)
}

// repeat returns c n times.
func repeat(c, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = c
	}
	return out
}

// gradient returns ∂(Σ_i F_{c_i}(x_i))/∂x for the batch x (each row's
// gradient is that of its own score, as samples do not interact in
// inference mode) and the scores F_{c_i}(x_i) [rows]. The tape's buffers
// are released; the returned tensors are copies.
func (s *session) gradient(x *tensor.Tensor, classes []int) (grad, scores *tensor.Tensor, err error) {
	tape := autograd.NewTape(nil)
	defer tape.Release()
	xv := autograd.NewParam("input", x)
	tape.Watch(xv)
	y := s.net.Forward(&nn.Ctx{}, xv)
	f := s.score(y)
	m := s.mask(classes)
	total := autograd.Sum(autograd.Mul(f, autograd.Const(m)), false)
	gs, err := tape.Gradients(total, xv)
	if err != nil {
		return nil, nil, err
	}
	return gs[0].Clone(), tensor.Sum(tensor.Mul(f.Value, m), false, 1), nil
}

// scores returns F_{c_i}(x_i) [rows] from a forward pass without a tape.
func (s *session) scores(x *tensor.Tensor, classes []int) *tensor.Tensor {
	y := s.net.Forward(&nn.Ctx{}, autograd.Const(x))
	return tensor.Sum(tensor.Mul(s.score(y).Value, s.mask(classes)), false, 1)
}

// sample returns the view x[i : i+1].
func sample(x *tensor.Tensor, i int) *tensor.Tensor { return x.Slice(i, i+1) }

// guard turns the project's shape panics in a method into its returned
// error, prefixed with the method's name; any other panic is re-raised.
func guard(method string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("explain: %s: %w", method, nn.AsError(r))
	}
}

// cancelled wraps ctx.Err() with the method's name.
func cancelled(ctx context.Context, method string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("explain: %s: %w", method, err)
	}
	return nil
}

var errNoRank4 = errors.New("input must be images [n, height, width, channels]")
