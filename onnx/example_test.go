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
	fmt.Println("classes:", m.Meta["classes"], "output:", m.OutputOp())
	fmt.Println("same output:", diff < 1e-5)
	// Output:
	// inputs: input [-1 8 8 1]
	// classes: a,b,c output: Softmax
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

// Export returns the ModelProto; its nodes show where the NHWC↔NCHW
// transposes go: around the run of convolution and pooling, not inside.
func ExampleExport() {
	net := nn.NewSequential(
		&nn.Conv2D{Filters: 2, KernelSize: [2]int{3, 3}, Activation: "relu"},
		&nn.MaxPool2D{},
		&nn.Flatten{},
		&nn.Dense{Units: 2},
	)
	if _, err := nn.Build(net, []int{6, 6, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	mp, err := onnx.Export(net, []int{6, 6, 1}, onnx.ExportOptions{})
	if err != nil {
		panic(err)
	}
	for _, n := range mp.GetGraph().GetNode() {
		fmt.Print(n.GetOpType(), " ")
	}
	fmt.Println()
	// Output:
	// Transpose Conv Relu MaxPool Transpose Flatten Gemm Identity
}

// tagger is a struct model that declares its layers' order through
// nn.Chained, so that Export can take it apart.
type tagger struct {
	Embed    *nn.Embedding
	Position *nn.SinusoidalPositionEncoding
	Block    *nn.TransformerBlock
	Head     *nn.Dense
}

func (m *tagger) Chain() []nn.Layer { return []nn.Layer{m.Embed, m.Position, m.Block, m.Head} }

func (m *tagger) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	for _, l := range m.Chain() {
		x = l.Forward(c, x)
	}
	return x
}

// A causal Transformer exports as opset-17 nodes: LayerNormalization,
// attention through MatMul and Softmax (the causal mask an added
// constant), exact GELU through Erf.
func ExampleExport_transformer() {
	net := &tagger{&nn.Embedding{InputDim: 20, OutputDim: 8}, &nn.SinusoidalPositionEncoding{},
		&nn.TransformerBlock{NumHeads: 2, Causal: true}, &nn.Dense{Units: 3, Activation: "softmax"}}
	if _, err := nn.Build(net, []int{5}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	mp, err := onnx.Export(net, []int{5}, onnx.ExportOptions{})
	if err != nil {
		panic(err)
	}
	count := map[string]int{}
	for _, n := range mp.GetGraph().GetNode() {
		count[n.GetOpType()]++
	}
	fmt.Println("LayerNormalization:", count["LayerNormalization"], "Softmax:", count["Softmax"], "Erf:", count["Erf"])
	// Output:
	// LayerNormalization: 2 Softmax: 2 Erf: 1
}

// Run evaluates a graph on tensors in its own layout: here the LSTM
// classifier that torch.onnx.export wrote, on a [batch, time, features]
// input.
func ExampleModel_Run() {
	m, err := onnx.Load(filepath.Join("testdata", "torch", "lstm", "model.onnx"))
	if err != nil {
		panic(err)
	}
	x := tensor.Zeros(2, 5, 8)
	out, err := m.Run(map[string]*tensor.Tensor{m.Inputs[0].Name: x})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Inputs[0].Name, m.Inputs[0].Shape, "→", out[m.Outputs[0].Name].Shape())
	// Output:
	// input [-1 5 8] → [2 4]
}

// SupportedOps lists the operator types import runs.
func ExampleSupportedOps() {
	ops := map[string]bool{}
	for _, op := range onnx.SupportedOps() {
		ops[op] = true
	}
	fmt.Println(ops["Conv"], ops["LSTM"], ops["Loop"])
	// Output:
	// true true false
}

// InputShape gives the per-sample shape Forward takes: PyTorch's NCHW
// image model takes Strata's NHWC images.
func ExampleModel_InputShape() {
	m, err := onnx.Load(filepath.Join("testdata", "torch", "cnn", "model.onnx"))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Inputs[0].Shape, "→", m.InputShape(), m.OutputOp())
	// Output:
	// [-1 1 28 28] → [28 28 1] Gemm
}

// Weights are the imported model's parameters (what train.Fit updates);
// Save writes them back into an ONNX file.
func ExampleModel_Save() {
	m, err := onnx.Load(filepath.Join("testdata", "torch", "mlp", "model.onnx"))
	if err != nil {
		panic(err)
	}
	for _, w := range m.Weights() {
		fmt.Println(w.Name, w.Var.Shape(), w.Trainable)
	}
	dir, _ := os.MkdirTemp("", "onnx-example")
	defer os.RemoveAll(dir)
	if err := m.Save(filepath.Join(dir, "mlp.onnx")); err != nil {
		panic(err)
	}
	again, err := onnx.Load(filepath.Join(dir, "mlp.onnx"))
	fmt.Println(len(again.Weights()), err)
	// Output:
	// net.1.bias [64] true
	// net.1.weight [784 64] true
	// net.3.bias [32] true
	// net.3.weight [64 32] true
	// net.5.bias [10] true
	// net.5.weight [32 10] true
	// 6 <nil>
}
