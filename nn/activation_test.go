package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// activationContexts are the layer fields that take an activation name:
// recurrent reports whether the field is read by the fused recurrent
// kernels (a subset of the vocabulary) or elementwise (all of it).
var activationContexts = []struct {
	name      string
	recurrent bool
	in        []int
	make      func(act string) Layer
}{
	{"Dense", false, []int{4}, func(a string) Layer { return &Dense{Units: 3, Activation: a} }},
	{"Conv2D", false, []int{5, 5, 2}, func(a string) Layer { return &Conv2D{Filters: 2, KernelSize: [2]int{3, 3}, Activation: a} }},
	{"ConvTranspose2D", false, []int{3, 3, 2}, func(a string) Layer {
		return &ConvTranspose2D{Filters: 2, KernelSize: [2]int{3, 3}, Activation: a}
	}},
	{"Activation", false, []int{4}, func(a string) Layer { return &Activation{Fn: a} }},
	{"TransformerBlock", false, []int{3, 4}, func(a string) Layer { return &TransformerBlock{NumHeads: 2, FFDim: 4, Activation: a} }},
	{"SimpleRNN.Activation", true, []int{3, 2}, func(a string) Layer { return &SimpleRNN{Units: 2, Activation: a} }},
	{"LSTM.Activation", true, []int{3, 2}, func(a string) Layer { return &LSTM{Units: 2, Activation: a} }},
	{"LSTM.RecurrentActivation", true, []int{3, 2}, func(a string) Layer { return &LSTM{Units: 2, RecurrentActivation: a} }},
	{"GRU.Activation", true, []int{3, 2}, func(a string) Layer { return &GRU{Units: 2, Activation: a} }},
	{"GRU.RecurrentActivation", true, []int{3, 2}, func(a string) Layer { return &GRU{Units: 2, RecurrentActivation: a} }},
}

// TestActivationNamesEveryContext checks that every name of the
// vocabulary builds in every layer field it is valid in, and that other
// names give the vocabulary's one error (as a *ConfigError) listing what
// that field accepts.
func TestActivationNamesEveryContext(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	names := []string{"", "bogus"}
	for _, a := range autograd.Activations() {
		names = append(names, a.Name)
	}
	for _, c := range activationContexts {
		for _, name := range names {
			_, err := Build(c.make(name), c.in, rng)
			a, known := autograd.LookupActivation(name)
			valid := name == "" || (known && (!c.recurrent || a.Recurrent != autograd.RecDefault))
			if valid {
				if err != nil {
					t.Errorf("%s %q: %v", c.name, name, err)
				}
				continue
			}
			var want error
			if c.recurrent {
				_, want = autograd.ResolveRecurrentActivation(name)
			} else {
				_, want = autograd.ResolveActivation(name)
			}
			if _, ok := err.(*ConfigError); !ok || want == nil || !strings.Contains(err.Error(), want.Error()) {
				t.Errorf("%s %q: got %v, want a *ConfigError saying %v", c.name, name, err, want)
			}
		}
	}
}

// TestRecurrentActivationsMatchDense checks, for every name that both
// Dense and the recurrent layers accept, that one step of a SimpleRNN
// with an identity kernel and no recurrence computes what a Dense with an
// identity kernel computes, forward and backward.
func TestRecurrentActivationsMatchDense(t *testing.T) {
	const u = 6
	x := tensor.New([]int{2, u}, []float32{-3.5, -2, -0.7, -0.3, 0.4, 0.9, 1.3, 2.2, 3.4, -1.1, 0.1, -0.05})
	rng := rand.New(rand.NewPCG(2, 2))
	n := 0
	for _, a := range autograd.Activations() {
		if a.Recurrent == autograd.RecDefault {
			continue
		}
		n++
		t.Run(a.Name, func(t *testing.T) {
			d := &Dense{Units: u, Activation: a.Name}
			r := &SimpleRNN{Units: u, Activation: a.Name}
			if _, err := Build(d, []int{u}, rng); err != nil {
				t.Fatal(err)
			}
			if _, err := Build(r, []int{1, u}, rng); err != nil {
				t.Fatal(err)
			}
			for _, k := range []*tensor.Tensor{d.Kernel.Value, r.Kernel.Value} {
				k.Fill(0)
				for i := 0; i < u; i++ {
					k.Data()[i*u+i] = 1
				}
			}
			r.RecurrentKernel.Value.Fill(0)
			y1, g1 := forwardGrad(t, d, x, x.Shape())
			y2, g2 := forwardGrad(t, r, x, []int{2, 1, u})
			for i := range y1 {
				if math.Abs(float64(y1[i]-y2[i])) > 1e-5 || math.Abs(float64(g1[i]-g2[i])) > 1e-5 {
					t.Errorf("x = %v: Dense %v (grad %v), SimpleRNN %v (grad %v)", x.Data()[i], y1[i], g1[i], y2[i], g2[i])
				}
			}
		})
	}
	if n == 0 {
		t.Fatal("no name is shared by Dense and the recurrent layers")
	}
}

// forwardGrad runs l on x (reshaped to shape) and returns the output and
// the gradient of Σ i·y_i with respect to x.
func forwardGrad(t *testing.T, l Layer, x *tensor.Tensor, shape []int) (y, g []float32) {
	t.Helper()
	xv := autograd.NewParam("x", x.Clone().Reshape(shape...))
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(xv)
	out := l.Forward(&Ctx{}, xv)
	w := tensor.Zeros(out.Shape()...)
	for i := range w.Data() {
		w.Data()[i] = float32(i + 1)
	}
	if err := tape.Backward(autograd.Sum(autograd.Mul(out, autograd.Const(w)), false)); err != nil {
		t.Fatal(fmt.Errorf("backward: %w", err))
	}
	return append([]float32(nil), out.Value.Data()...), append([]float32(nil), tape.Grad(xv).Data()...)
}
