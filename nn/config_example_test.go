package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

func ExampleMarshalLayer() {
	net := nn.NewSequential(
		&nn.Dense{Units: 4, Activation: "relu", KernelInitializer: nn.HeNormal{}},
		&nn.Dense{Units: 2, Activation: "softmax", Name: "out"},
	)
	if _, err := nn.Build(net, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	js, err := nn.MarshalLayer(net) // the architecture, without the weights
	if err != nil {
		panic(err)
	}
	fmt.Println(string(js)[:100])

	// Rebuild it, build it and copy the weights by path.
	copied, err := nn.UnmarshalLayer(js)
	if err != nil {
		panic(err)
	}
	if _, err := nn.Build(copied, []int{3}, rand.New(rand.NewPCG(2, 2))); err != nil {
		panic(err)
	}
	src := nn.AllWeights(net)
	var paths []string
	for i, w := range nn.AllWeights(copied) {
		paths = append(paths, w.Path)
		w.Var.Value.CopyFrom(src[i].Var.Value)
	}
	fmt.Println(paths)
	x := autograd.Const(tensor.New([]int{1, 3}, []float32{1, 2, 3}))
	a := net.Forward(&nn.Ctx{}, x).Value.Data()
	b := copied.Forward(&nn.Ctx{}, x).Value.Data()
	fmt.Println("same output:", fmt.Sprint(a) == fmt.Sprint(b))
	// Output:
	// {"type":"Sequential","config":{"Layers":[{"type":"Dense","config":{"Activation":"relu","BiasInitiali
	// [dense.kernel dense.bias out.kernel out.bias]
	// same output: true
}

func ExampleCtx_Mask() {
	// Token 0 is padding: the LSTM skips it, so a padded sequence gives
	// the output of the unpadded one (Keras's mask propagation).
	net := nn.NewSequential(&nn.Embedding{InputDim: 5, OutputDim: 3, MaskZero: true}, &nn.LSTM{Units: 2})
	if _, err := nn.Build(net, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	short := net.Forward(&nn.Ctx{}, autograd.Const(tensor.New([]int{1, 3}, []float32{4, 2, 1}))).Value
	padded := net.Forward(&nn.Ctx{}, autograd.Const(tensor.New([]int{1, 5}, []float32{4, 2, 1, 0, 0}))).Value
	fmt.Printf("%.5f\n%.5f\n", short.Data(), padded.Data())
	// Output:
	// [-0.00072 -0.00642]
	// [-0.00072 -0.00642]
}

func ExampleBuildLimit() {
	// An architecture read from a file that holds 3·4 + 4 values, edited
	// to a hidden layer of 10⁸ units: refused before the kernel is made.
	net := nn.NewSequential(&nn.Dense{Units: 100_000_000, Name: "hidden"})
	_, err := nn.BuildLimit(net, []int{3}, rand.New(rand.NewPCG(1, 1)), 3*4+4)
	fmt.Println(err)
	// Output:
	// layer "hidden": a weight of shape [3 100000000] would take the model to 300000000 parameters or more, over the limit of 16
}
