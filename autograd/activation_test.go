package autograd

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// activationTwins are plain float64 definitions of every name of the
// vocabulary (softmax separately), to check the table's math against.
var activationTwins = map[string]func(x float64) float64{
	"relu": func(x float64) float64 { return math.Max(x, 0) },
	"leaky_relu": func(x float64) float64 {
		if x > 0 {
			return x
		}
		return 0.2 * x
	},
	"elu": func(x float64) float64 {
		if x > 0 {
			return x
		}
		return math.Exp(x) - 1
	},
	"gelu": func(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) },
	"gelu_tanh": func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	},
	"sigmoid":      func(x float64) float64 { return 1 / (1 + math.Exp(-x)) },
	"hard_sigmoid": func(x float64) float64 { return math.Min(math.Max(x/6+0.5, 0), 1) },
	"tanh":         math.Tanh,
	"softmax":      nil, // over the last axis, below
	"softplus":     func(x float64) float64 { return math.Log1p(math.Exp(x)) },
	"silu":         func(x float64) float64 { return x / (1 + math.Exp(-x)) },
	"swish":        func(x float64) float64 { return x / (1 + math.Exp(-x)) },
	"linear":       func(x float64) float64 { return x },
}

// activationInput is [2, 8] with values in ±[0.3, 4], away from kinks and
// past hard_sigmoid's clipping points ±3.
func activationInput() *tensor.Tensor {
	x := tensor.Zeros(2, 8)
	for i := range x.Data() {
		v := 0.3 + float32(i)*0.25
		if i%2 == 1 {
			v = -v
		}
		x.Data()[i] = v
	}
	return x
}

// TestActivationVocabulary checks every name against its float64 twin,
// its gradient by finite differences, and that the layer and recurrent
// contexts accept exactly what the table says.
func TestActivationVocabulary(t *testing.T) {
	if len(Activations()) != len(activationTwins) {
		t.Fatalf("%d activations, %d twins: add a twin for every new name", len(Activations()), len(activationTwins))
	}
	x := activationInput()
	for _, a := range Activations() {
		twin, ok := activationTwins[a.Name]
		if !ok {
			t.Errorf("%s: no twin", a.Name)
			continue
		}
		if a.Fused.On && a.Apply != nil {
			t.Errorf("%s: both Fused and Apply set", a.Name)
		}
		got, err := ResolveActivation(a.Name)
		if err != nil || got.Name != a.Name {
			t.Errorf("ResolveActivation(%q) = %v, %v", a.Name, got.Name, err)
		}
		y := a.Call(Const(x)).Value.Data()
		for r := 0; r < 2; r++ {
			var sum float64
			for c := 0; c < 8; c++ {
				sum += math.Exp(float64(x.At(r, c)))
			}
			for c := 0; c < 8; c++ {
				v := float64(x.At(r, c))
				want := math.Exp(v) / sum
				if twin != nil {
					want = twin(v)
				}
				if d := math.Abs(float64(y[r*8+c]) - want); d > 1e-4*(1+math.Abs(want)) {
					t.Errorf("%s(%v) = %v, want %v", a.Name, v, y[r*8+c], want)
				}
			}
		}
		if err := CheckGradients(func(v []*Var) *Var { return a.Call(v[0]) }, []*tensor.Tensor{x}, CheckOptions{}); err != nil {
			t.Errorf("%s gradient: %v", a.Name, err)
		}
		rec, err := ResolveRecurrentActivation(a.Name)
		if (a.Recurrent != RecDefault) != (err == nil) || rec != a.Recurrent {
			t.Errorf("ResolveRecurrentActivation(%q) = %v, %v; table says %v", a.Name, rec, err, a.Recurrent)
		}
		var ae *ActivationError
		if err != nil && (!errors.As(err, &ae) || !ae.Known || !strings.Contains(err.Error(), "SimpleRNN, LSTM and GRU")) {
			t.Errorf("%s in a recurrent layer: got %v, want a Known *ActivationError", a.Name, err)
		}
	}
	if a, err := ResolveActivation(""); err != nil || a.Name != "linear" {
		t.Errorf(`ResolveActivation("") = %q, %v; want linear`, a.Name, err)
	}
	if r, err := ResolveRecurrentActivation(""); err != nil || r != RecDefault {
		t.Errorf(`ResolveRecurrentActivation("") = %v, %v; want RecDefault`, r, err)
	}
}

// TestActivationErrors checks the one error format: unknown names in
// both contexts, and a known name where it is not implemented.
func TestActivationErrors(t *testing.T) {
	_, err1 := ResolveActivation("swishy")
	_, err2 := ResolveRecurrentActivation("swishy")
	_, err3 := ResolveRecurrentActivation("softmax")
	for _, c := range []struct {
		err  error
		want string
	}{
		{err1, `unknown activation "swishy": Dense, convolution, Activation and Transformer layers take relu, leaky_relu, elu, gelu, gelu_tanh, sigmoid, hard_sigmoid, tanh, softmax, softplus, silu, swish or linear`},
		{err2, `unknown activation "swishy": SimpleRNN, LSTM and GRU take relu, sigmoid, hard_sigmoid, tanh or linear`},
		{err3, `activation "softmax" is not implemented in SimpleRNN, LSTM and GRU, which take relu, sigmoid, hard_sigmoid, tanh or linear`},
	} {
		var ae *ActivationError
		if !errors.As(c.err, &ae) || c.err.Error() != c.want {
			t.Errorf("got %v\nwant %s", c.err, c.want)
		}
	}
}

// TestRecurrentActivationsMatchLayers checks, for every name both contexts
// accept, that the recurrent kernels compute the same function and
// derivative as the layer form.
func TestRecurrentActivationsMatchLayers(t *testing.T) {
	x := activationInput()
	n := 0
	for _, a := range Activations() {
		if a.Recurrent == RecDefault {
			continue
		}
		n++
		xv := NewParam("x", x.Clone())
		tape := NewTape(nil)
		tape.Watch(xv)
		y := a.Call(xv)
		g := tensor.RandNormal(rand.New(rand.NewPCG(1, 2)), 0, 1, 2, 8)
		if err := tape.Backward(Sum(Mul(y, Const(g)), false)); err != nil {
			t.Fatal(err)
		}
		rec := make([]float32, x.Len())
		kernels.RecActivate(a.Recurrent.kernel(0), rec, x.Data())
		recGrad := make([]float32, x.Len())
		kernels.RecActGrad(a.Recurrent.kernel(0), recGrad, rec, g.Data())
		for i, v := range rec {
			if d := math.Abs(float64(v - y.Value.Data()[i])); d > 1e-5 {
				t.Errorf("%s: recurrent %v, layer %v at x = %v", a.Name, v, y.Value.Data()[i], x.Data()[i])
			}
			if d := math.Abs(float64(recGrad[i] - tape.Grad(xv).Data()[i])); d > 1e-5 {
				t.Errorf("%s′: recurrent %v, layer %v at x = %v", a.Name, recGrad[i], tape.Grad(xv).Data()[i], x.Data()[i])
			}
		}
		tape.Release()
	}
	if n != 5 {
		t.Errorf("%d names in both contexts, want 5 (tanh, sigmoid, hard_sigmoid, relu, linear)", n)
	}
}
