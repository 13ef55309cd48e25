package autograd_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// twoLayer records a loss of a two-layer network on tape and returns it.
func twoLayer(x *autograd.Var, w1, b1, w2, b2 *autograd.Var) *autograd.Var {
	h := autograd.Dense(x, w1, b1, autograd.Act(tensor.OpTanh, 0))
	y := autograd.Dense(h, w2, b2, autograd.Activation{})
	return autograd.Sum(autograd.Square(y), false)
}

func TestBackwardHooked(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(shape ...int) *tensor.Tensor {
		d := make([]float32, tensor.Numel(shape))
		for i := range d {
			d[i] = float32(rng.NormFloat64())
		}
		return tensor.New(shape, d)
	}
	w1, b1 := autograd.NewParam("w1", randn(3, 4)), autograd.NewParam("b1", randn(4))
	w2, b2 := autograd.NewParam("w2", randn(4, 2)), autograd.NewParam("b2", randn(2))
	unused := autograd.NewParam("unused", randn(5))
	params := []*autograd.Var{w1, b1, w2, b2, unused}
	x := autograd.Const(randn(6, 3))

	ref := autograd.NewTape(nil)
	ref.Watch(params...)
	grads, err := ref.Gradients(twoLayer(x, w1, b1, w2, b2), params...)
	if err != nil {
		t.Fatal(err)
	}
	want := make([][]float32, len(grads))
	for i, g := range grads {
		want[i] = slices.Clone(g.Data())
	}
	ref.Release()

	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(params...)
	loss := twoLayer(x, w1, b1, w2, b2)
	bufs := make([][]float32, len(params))
	for i, p := range params {
		bufs[i] = make([]float32, p.Value.Len())
		bufs[i][0] = 99 // must be cleared
	}
	bufs[1] = nil // a pooled buffer
	var order []int
	atReady := make([][]float32, len(params))
	err = tape.BackwardHooked(loss, params, bufs, func(i int) {
		order = append(order, i)
		atReady[i] = slices.Clone(tape.Grad(params[i]).Data())
	})
	if err != nil {
		t.Fatal(err)
	}
	// The second layer's parameters are ready before the first's; the
	// unused one last.
	if len(order) != 5 || order[4] != 4 || slices.Index(order, 2) > slices.Index(order, 0) || slices.Index(order, 3) > slices.Index(order, 1) {
		t.Fatalf("ready order %v", order)
	}
	for i, p := range params {
		got := tape.Grad(p).Data()
		if bufs[i] != nil && &got[0] != &bufs[i][0] {
			t.Errorf("%s: gradient not written into its buffer", p.Name())
		}
		if !slices.Equal(got, want[i]) || !slices.Equal(atReady[i], got) {
			t.Errorf("%s: gradient %v (at ready %v), want %v", p.Name(), got, atReady[i], want[i])
		}
	}
	// Misuse is an error.
	if err := tape.BackwardHooked(loss, params, bufs, func(int) {}); err == nil {
		t.Error("second backward accepted")
	}
	tape.Release()
	t2 := autograd.NewTape(nil)
	defer t2.Release()
	t2.Watch(w1)
	l2 := autograd.Sum(w1, false)
	if err := t2.BackwardHooked(l2, []*autograd.Var{w1}, [][]float32{make([]float32, 3)}, func(int) {}); err == nil {
		t.Error("a buffer of the wrong size accepted")
	}
}

// BackwardHooked reports each parameter's gradient as soon as it is final.
func ExampleTape_BackwardHooked() {
	w := autograd.NewParam("w", tensor.New([]int{2}, []float32{1, 2}))
	b := autograd.NewParam("b", tensor.Scalar(0.5))
	x := autograd.Const(tensor.New([]int{2}, []float32{3, -1}))
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(w, b)
	y := autograd.Sum(autograd.Square(autograd.Add(autograd.Mul(w, x), b)), false)
	flat := make([]float32, 3) // both gradients in one buffer
	err := tape.BackwardHooked(y, []*autograd.Var{w, b}, [][]float32{flat[:2], flat[2:]}, func(i int) {
		fmt.Println("ready:", i)
	})
	fmt.Println(flat, err)
	// Output:
	// ready: 1
	// ready: 0
	// [21 3 4] <nil>
}
