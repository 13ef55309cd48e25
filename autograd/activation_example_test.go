package autograd_test

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// The activation vocabulary: every Keras name a layer's Activation field
// takes, and which of them the fused recurrent kernels implement.
func ExampleActivations() {
	for _, a := range autograd.Activations() {
		fmt.Printf("%-12s recurrent: %-5v %s\n", a.Name, a.Recurrent != autograd.RecDefault, a.Formula)
	}
	// Output:
	// relu         recurrent: true  max(x, 0)
	// leaky_relu   recurrent: false x for x > 0, else 0.2·x (Keras's default slope)
	// elu          recurrent: false x for x > 0, else eˣ − 1
	// gelu         recurrent: false x·Φ(x) = ½·x·(1 + erf(x/√2)), exact (Keras 3, PyTorch)
	// gelu_tanh    recurrent: false ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), the tanh approximation ("gelu" before exact GELU)
	// sigmoid      recurrent: true  1/(1 + e⁻ˣ)
	// hard_sigmoid recurrent: true  clip(x/6 + ½, 0, 1) = relu6(x + 3)/6 (Keras 3)
	// tanh         recurrent: true  tanh x
	// softmax      recurrent: false eˣ/Σ eˣ over the last axis
	// softplus     recurrent: false ln(1 + eˣ)
	// silu         recurrent: false x·σ(x) = x/(1 + e⁻ˣ)
	// swish        recurrent: false x·σ(x), the same as silu (Keras's other name)
	// linear       recurrent: true  x
}

// ResolveActivation turns a layer's activation name into its computation.
func ExampleResolveActivation() {
	a, err := autograd.ResolveActivation("hard_sigmoid")
	if err != nil {
		panic(err)
	}
	y := a.Call(autograd.Const(tensor.New([]int{4}, []float32{-4, -1.5, 0, 3})))
	fmt.Println(y.Value.Data())
	_, err = autograd.ResolveActivation("swishy")
	fmt.Println(err)
	// Output:
	// [0 0.25 0.5 1]
	// unknown activation "swishy": Dense, convolution, Activation and Transformer layers take relu, leaky_relu, elu, gelu, gelu_tanh, sigmoid, hard_sigmoid, tanh, softmax, softplus, silu, swish or linear
}

// Recurrent layers accept the names whose entry has a Recurrent form.
func ExampleResolveRecurrentActivation() {
	r, err := autograd.ResolveRecurrentActivation("hard_sigmoid")
	fmt.Println(r == autograd.RecHardSigmoid, err)
	_, err = autograd.ResolveRecurrentActivation("softmax")
	fmt.Println(err)
	// Output:
	// true <nil>
	// activation "softmax" is not implemented in SimpleRNN, LSTM and GRU, which take relu, sigmoid, hard_sigmoid, tanh or linear
}

// LookupActivation reads one entry of the vocabulary.
func ExampleLookupActivation() {
	a, ok := autograd.LookupActivation("leaky_relu")
	fmt.Println(ok, a.Fused.Param, a.Formula)
	_, ok = autograd.LookupActivation("")
	fmt.Println(ok)
	// Output:
	// true 0.2 x for x > 0, else 0.2·x (Keras's default slope)
	// false
}
