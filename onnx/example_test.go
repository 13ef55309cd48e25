package onnx_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx"
	"github.com/strata-dl/strata/tensor"
)

// Export a small convolutional network to ONNX and import it back: the
// imported model is an nn.Layer with the same outputs.
func Example() {
	net := nn.NewSequential(
		&nn.Conv2D{Filters: 4, KernelSize: [2]int{3, 3}, Activation: "relu"},
		&nn.MaxPool2D{},
		&nn.Flatten{},
		&nn.Dense{Units: 3, Activation: "softmax"},
	)
	if _, err := nn.Build(net, []int{8, 8, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "onnx-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "net.onnx")
	if err := onnx.Save(path, net, []int{8, 8, 1}, onnx.ExportOptions{Meta: map[string]string{"classes": "a,b,c"}}); err != nil {
		panic(err)
	}
	m, err := onnx.Load(path)
	if err != nil {
		panic(err)
	}
	x := autograd.Const(tensor.RandUniform(rand.New(rand.NewPCG(2, 2)), 0, 1, 2, 8, 8, 1))
	want := net.Forward(&nn.Ctx{}, x).Value
	got := m.Forward(&nn.Ctx{}, x).Value
	diff := 0.0
	for i, v := range want.Data() {
		diff = max(diff, float64(abs(got.Data()[i]-v)))
	}
	fmt.Println("inputs:", m.Inputs[0].Name, m.Inputs[0].Shape)
	fmt.Println("classes:", m.Meta["classes"])
	fmt.Println("same output:", diff < 1e-5)
	// Output:
	// inputs: input [-1 8 8 1]
	// classes: a,b,c
	// same output: true
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

// Decode returns an error for a file that is not a model.
func ExampleDecode() {
	_, err := onnx.Decode(nil)
	fmt.Println(err)
	// Output:
	// onnx: the model has no graph
}
