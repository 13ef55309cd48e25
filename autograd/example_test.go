package autograd_test

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// The gradient of y = Σ (w·x + b)² with respect to w and b.
func ExampleTape() {
	w := autograd.NewParam("w", tensor.New([]int{2}, []float32{1, 2}))
	b := autograd.NewParam("b", tensor.Scalar(0.5))
	x := autograd.Const(tensor.New([]int{2}, []float32{3, -1}))

	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(w, b)
	y := autograd.Sum(autograd.Square(autograd.Add(autograd.Mul(w, x), b)), false)
	grads, err := tape.Gradients(y, w, b)
	if err != nil {
		panic(err)
	}
	fmt.Println(y.Item(), grads[0].Data(), grads[1].Data())
	// Output: 14.5 [21 3] [4]
}

// Dense fuses x·W + b and the activation.
func ExampleDense() {
	x := autograd.Const(tensor.New([]int{1, 2}, []float32{1, -1}))
	w := autograd.Const(tensor.New([]int{2, 2}, []float32{1, 2, 3, 4}))
	b := autograd.Const(tensor.New([]int{2}, []float32{0.5, 0.5}))
	y := autograd.Dense(x, w, b, autograd.Act(tensor.OpRelu, 0))
	fmt.Println(y.Value.Data())
	// Output: [0 0]
}

// An inference tape kept from one request to the next: Reset gives its
// buffers back to the pool and readies it for the next forward pass.
func ExampleTape_Reset() {
	w := autograd.NewParam("w", tensor.New([]int{2, 1}, []float32{1, 2}))
	tape := autograd.NewInferenceTape(autograd.NewPool())
	for _, in := range [][]float32{{1, 1}, {3, -1}} {
		y := autograd.MatMul(tape.Input(tensor.New([]int{1, 2}, in)), w, false, false)
		fmt.Println(y.Value.Data()) // copy what is needed before Reset
		tape.Reset()
	}
	// Output:
	// [3]
	// [1]
}
