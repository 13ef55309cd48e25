package explain_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/explain"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Integrated Gradients of a linear softmax classifier: for the logit
// z_c = Σ_i w_ic x_i + b_c and a zero baseline the attributions are
// exactly x_i·w_ic, and they add up to z_c(x) − z_c(0).
func ExampleIntegratedGradients() {
	net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
	if _, err := nn.Build(net, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		fmt.Println(err)
		return
	}
	kernel := nn.AllWeights(net)[0].Var.Value // [3, 2]
	copy(kernel.Data(), []float32{1, -1, 2, 0, 0, 3})

	x := tensor.New([]int{1, 3}, []float32{1, 2, 3})
	a, err := explain.IntegratedGradients{}.Attribute(context.Background(), net, x, explain.Predicted)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("class %d (p=%.3f)\n", a.Classes[0], a.Probs[0])
	fmt.Printf("attributions %.3f\n", a.Map.Data())
	fmt.Printf("completeness error below 1e-5: %v\n", a.MaxCompletenessError() < 1e-5)
	// Output:
	// class 1 (p=0.953)
	// attributions [-1.000 0.000 9.000]
	// completeness error below 1e-5: true
}
