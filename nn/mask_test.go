package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

func ids(rows ...[]float32) *autograd.Var {
	t := tensor.Zeros(len(rows), len(rows[0]))
	for i, r := range rows {
		copy(t.Data()[i*len(r):], r)
	}
	return autograd.Const(t)
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestMaskSkipsPadding: Embedding(MaskZero) → recurrent layer gives, for a
// padded sequence (before or after), the output of the unpadded one, as
// Keras does; with ReturnSequences a masked step repeats the previous
// output.
func TestMaskSkipsPadding(t *testing.T) {
	layers := map[string]func() Layer{
		"simple_rnn":     func() Layer { return &SimpleRNN{Units: 3} },
		"lstm":           func() Layer { return &LSTM{Units: 3} },
		"gru":            func() Layer { return &GRU{Units: 3} },
		"lstm/backwards": func() Layer { return &LSTM{Units: 3, GoBackwards: true} },
		"bidirectional":  func() Layer { return &Bidirectional{Layer: &GRU{Units: 2}} },
		"stacked": func() Layer {
			return NewSequential(&LSTM{Units: 3, ReturnSequences: true}, &Dropout{Rate: 0.5}, &GRU{Units: 2})
		},
	}
	for name, mk := range layers {
		t.Run(name, func(t *testing.T) {
			net := NewSequential(&Embedding{InputDim: 5, OutputDim: 4, MaskZero: true}, mk())
			if _, err := Build(net, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
				t.Fatal(err)
			}
			want := net.Forward(&Ctx{}, ids([]float32{3, 1, 2})).Value.Data()
			got := net.Forward(&Ctx{}, ids([]float32{3, 1, 2, 0, 0}, []float32{0, 0, 3, 1, 2})).Value
			k := len(want)
			for row := range 2 {
				if d := maxDiff(got.Data()[row*k:(row+1)*k], want); d > 1e-6 {
					t.Errorf("padded row %d differs from the unpadded sequence by %g", row, d)
				}
			}
		})
	}
	// Return sequences: a masked step's output is the previous one.
	net := NewSequential(&Embedding{InputDim: 5, OutputDim: 4, MaskZero: true}, &LSTM{Units: 2, ReturnSequences: true})
	if _, err := Build(net, []int{4}, rand.New(rand.NewPCG(2, 2))); err != nil {
		t.Fatal(err)
	}
	y := net.Forward(&Ctx{}, ids([]float32{0, 2, 0, 4})).Value // [1, 4, 2]
	for _, c := range []struct{ step, prev int }{{2, 1}} {
		for u := range 2 {
			if y.At(0, c.step, u) != y.At(0, c.prev, u) {
				t.Errorf("masked step %d output %v, want step %d's %v", c.step, y.At(0, c.step, u), c.prev, y.At(0, c.prev, u))
			}
		}
	}
	for u := range 2 {
		if y.At(0, 0, u) != 0 {
			t.Errorf("a leading masked step outputs %v, want the zero initial state", y.At(0, 0, u))
		}
	}
}

// TestMaskedRNNGradients checks the masked path's gradients to the
// weights and embeddings by finite differences.
func TestMaskedRNNGradients(t *testing.T) {
	for _, mk := range []func() Layer{
		func() Layer { return &SimpleRNN{Units: 2, ReturnSequences: true} },
		func() Layer { return &LSTM{Units: 2} },
		func() Layer { return &GRU{Units: 2, GoBackwards: true} },
	} {
		rnn := mk()
		net := NewSequential(&Embedding{InputDim: 4, OutputDim: 3, MaskZero: true}, rnn)
		if _, err := Build(net, []int{4}, rand.New(rand.NewPCG(3, 3))); err != nil {
			t.Fatal(err)
		}
		x := ids([]float32{1, 0, 2, 3}, []float32{2, 3, 0, 0})
		f := func() *autograd.Var { return net.Forward(&Ctx{}, x) }
		if err := autograd.CheckVarGradients(f, Trainable(net), autograd.CheckOptions{MaxProbes: 24}); err != nil {
			t.Errorf("%T: %v", rnn, err)
		}
	}
}

func TestMaskShapeMismatch(t *testing.T) {
	l := &LSTM{Units: 2, Name: "l"}
	x := autograd.Const(tensor.Ones(2, 3, 1))
	if _, err := Build(l, []int{3, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	c := &Ctx{}
	c.SetMask(x, tensor.Ones(2, 2))
	defer func() {
		if e, ok := recover().(*ShapeError); !ok {
			t.Errorf("a mask of the wrong shape: got %v, want a *ShapeError", fmt.Sprint(e))
		}
	}()
	l.Forward(c, x)
}
