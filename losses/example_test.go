package losses_test

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/tensor"
)

func ExampleSparseCategoricalCrossentropy() {
	probs := tensor.New([]int{2, 3}, []float32{0.05, 0.95, 0, 0.1, 0.8, 0.1})
	labels := tensor.New([]int{2}, []float32{1, 2})
	loss := losses.SparseCategoricalCrossentropy{}
	fmt.Printf("%.3f\n", loss.Compute(autograd.Const(probs), labels, nil).Item())
	weights := tensor.New([]int{2}, []float32{0.3, 0.7})
	fmt.Printf("%.3f\n", loss.Compute(autograd.Const(probs), labels, weights).Item())
	perSample := losses.SparseCategoricalCrossentropy{Reduction: losses.None}.Compute(autograd.Const(probs), labels, nil)
	fmt.Printf("%.4f\n", perSample.Value.Data())
	// Output:
	// 1.177
	// 0.814
	// [0.0513 2.3026]
}

// A model that ends in a softmax: the loss uses the logits behind it, so a
// saturated softmax does not lose the gradient to clipping.
func ExampleCategoricalCrossentropy_softmax() {
	logits := autograd.Const(tensor.New([]int{1, 2}, []float32{0, 100}))
	probs := autograd.Softmax(logits, -1) // [e^-100, 1]: 0 and 1 in float32
	target := tensor.New([]int{1, 2}, []float32{1, 0})
	fmt.Printf("%.1f\n", losses.CategoricalCrossentropy{}.Compute(probs, target, nil).Item())
	// Output:
	// 100.0
}
