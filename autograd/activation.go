package autograd

import (
	"fmt"
	"strings"

	"github.com/strata-dl/strata/tensor"
)

// The activation vocabulary: the Keras names that layers take in their
// Activation (and RecurrentActivation) fields, defined once here. Layer
// configurations store these names as strings, so a name, once listed,
// keeps its meaning. Dense, the convolutions and nn.Activation accept
// every name; the fused recurrent kernels (SimpleRNN, LSTM, GRU) accept
// the names whose entry has a Recurrent form. An activation added to the
// library is one more entry of the table below.

// NamedActivation is one entry of the activation vocabulary: a Keras name
// and how each kind of layer computes it. Exactly one of Fused and Apply
// is set, or neither for "linear" (the identity).
type NamedActivation struct {
	Name    string // Keras name, as layer configurations store it
	Formula string // what it computes, y = f(x)

	// Fused is the elementwise form that Dense and the convolutions fuse
	// with their bias add (see Dense).
	Fused Activation
	// Apply computes the activation as separate ops after the layer when
	// it is not fused: softmax (over the last axis), hard_sigmoid,
	// sigmoid (kept apart so that losses reach the logits, see
	// Var.Logits), exact gelu (GeluExact) and silu/swish (Silu).
	Apply func(x *Var) *Var
	// Recurrent is the form of the fused recurrent ops (SimpleRNN, LSTM,
	// GRU); RecDefault: the recurrent kernels do not implement this name.
	Recurrent RecurrentActivation
}

// activations is the vocabulary, in the order error messages list it.
var activations = []NamedActivation{
	{Name: "relu", Formula: "max(x, 0)", Fused: Act(tensor.OpRelu, 0), Recurrent: RecRelu},
	{Name: "leaky_relu", Formula: "x for x > 0, else 0.2·x (Keras's default slope)", Fused: Act(tensor.OpLeakyRelu, 0.2)},
	{Name: "elu", Formula: "x for x > 0, else eˣ − 1", Fused: Act(tensor.OpElu, 1)},
	{Name: "gelu", Formula: "x·Φ(x) = ½·x·(1 + erf(x/√2)), exact (Keras 3, PyTorch)", Apply: GeluExact},
	{Name: "gelu_tanh", Formula: "½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh approximation (\"gelu\" before exact GELU)", Fused: Act(tensor.OpGelu, 0)},
	{Name: "sigmoid", Formula: "1/(1 + e⁻ˣ)", Apply: Sigmoid, Recurrent: RecSigmoid},
	{Name: "hard_sigmoid", Formula: "clip(x/6 + ½, 0, 1) = relu6(x + 3)/6 (Keras 3)", Apply: hardSigmoid, Recurrent: RecHardSigmoid},
	{Name: "tanh", Formula: "tanh x", Fused: Act(tensor.OpTanh, 0), Recurrent: RecTanh},
	{Name: "softmax", Formula: "eˣ/Σ eˣ over the last axis", Apply: softmaxLast},
	{Name: "softplus", Formula: "ln(1 + eˣ)", Fused: Act(tensor.OpSoftplus, 0)},
	{Name: "silu", Formula: "x·σ(x) = x/(1 + e⁻ˣ)", Apply: Silu},
	{Name: "swish", Formula: "x·σ(x), the same as silu (Keras's other name)", Apply: Silu},
	{Name: "linear", Formula: "x", Recurrent: RecLinear},
}

func hardSigmoid(x *Var) *Var { return Clip(AddScalar(Scale(x, 1.0/6), 0.5), 0, 1) }

func softmaxLast(x *Var) *Var { return Softmax(x, -1) }

// Activations returns the activation vocabulary (a copy), in the order
// error messages list it.
func Activations() []NamedActivation { return append([]NamedActivation(nil), activations...) }

// LookupActivation returns the vocabulary entry named name. The empty
// name is not an entry: layers read it as their default (see
// ResolveActivation and ResolveRecurrentActivation).
func LookupActivation(name string) (NamedActivation, bool) {
	for _, a := range activations {
		if a.Name == name {
			return a, true
		}
	}
	return NamedActivation{}, false
}

// ResolveActivation resolves an activation name for a layer that computes
// its activation elementwise (Dense, Conv2D, ConvTranspose2D,
// nn.Activation): every entry of the vocabulary, and "" meaning linear.
// An other name is an *ActivationError.
func ResolveActivation(name string) (NamedActivation, error) {
	if name == "" {
		name = "linear"
	}
	if a, ok := LookupActivation(name); ok {
		return a, nil
	}
	return NamedActivation{}, activationError(name, "Dense, convolution, Activation and Transformer layers", func(NamedActivation) bool { return true })
}

// ResolveRecurrentActivation resolves an activation name for the fused
// recurrent ops (RNNOptions): tanh, sigmoid, hard_sigmoid, relu or linear
// (the entries with a Recurrent form), and "" meaning the op's default
// (RecDefault). An other name, of the vocabulary or not, is an
// *ActivationError.
func ResolveRecurrentActivation(name string) (RecurrentActivation, error) {
	if name == "" {
		return RecDefault, nil
	}
	if a, ok := LookupActivation(name); ok && a.Recurrent != RecDefault {
		return a.Recurrent, nil
	}
	return RecDefault, activationError(name, "SimpleRNN, LSTM and GRU",
		func(a NamedActivation) bool { return a.Recurrent != RecDefault })
}

// ActivationError is an activation name that a layer cannot compute:
// unknown, or (Known) of the vocabulary but not implemented where it was
// asked for, as softmax in a recurrent layer.
type ActivationError struct {
	Name    string   // the name asked for
	Where   string   // the layers that were asked: "Dense, convolution, Activation and Transformer layers", "SimpleRNN, LSTM and GRU"
	Known   bool     // Name is in the vocabulary
	Accepts []string // the names Where accepts, in vocabulary order
}

func (e *ActivationError) Error() string {
	list := strings.Join(e.Accepts[:len(e.Accepts)-1], ", ") + " or " + e.Accepts[len(e.Accepts)-1]
	if e.Known {
		return fmt.Sprintf("activation %q is not implemented in %s, which take %s", e.Name, e.Where, list)
	}
	return fmt.Sprintf("unknown activation %q: %s take %s", e.Name, e.Where, list)
}

func activationError(name, where string, accepts func(NamedActivation) bool) *ActivationError {
	_, known := LookupActivation(name)
	e := &ActivationError{Name: name, Where: where, Known: known}
	for _, a := range activations {
		if accepts(a) {
			e.Accepts = append(e.Accepts, a.Name)
		}
	}
	return e
}

// Call applies the activation to x: its Fused form, its Apply form, or x
// itself for linear. Layers that fuse call Fused and Apply themselves.
func (a NamedActivation) Call(x *Var) *Var {
	if a.Apply != nil {
		return a.Apply(x)
	}
	return Activate(x, a.Fused)
}
