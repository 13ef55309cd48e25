// Package zoo holds the reference architectures as small constructors,
// named as in the seed examples so that checkpoints are predictable:
// SimpleNet (mlp), CNNNet (cnn) and LeNet-5 (lenet) for MNIST, and the
// recurrent, GAN and VAE models in their own files.
//
// Classifiers take NHWC pixels scaled to [0, 1] (x/255) and end in a
// softmax over the classes.
package zoo

import (
	"fmt"
	"sort"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
)

// SimpleNet is the multilayer perceptron 784 → 64 relu → 32 relu → 10
// softmax (52,650 parameters). It flattens its input.
type SimpleNet struct {
	Dense1, Dense2, Dense3 *nn.Dense
}

// NewSimpleNet returns an unbuilt SimpleNet for the given number of
// classes.
func NewSimpleNet(classes int) *SimpleNet {
	return &SimpleNet{
		Dense1: &nn.Dense{Units: 64, Activation: "relu"},
		Dense2: &nn.Dense{Units: 32, Activation: "relu"},
		Dense3: &nn.Dense{Units: classes, Activation: "softmax"},
	}
}

// Forward computes softmax(W3·relu(W2·relu(W1·x + b1) + b2) + b3).
func (m *SimpleNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() > 2 {
		x = autograd.Flatten(x)
	}
	return m.Dense3.Forward(c, m.Dense2.Forward(c, m.Dense1.Forward(c, x)))
}

// CNNNet is conv 32 3×3 relu → max-pool 2 → conv 64 3×3 relu → max-pool 2
// → flatten → dense 128 relu → dense 10 softmax (225,034 parameters on
// 28×28×1).
type CNNNet struct {
	Conv1   *nn.Conv2D
	Pool1   *nn.MaxPool2D
	Conv2   *nn.Conv2D
	Pool2   *nn.MaxPool2D
	Flatten *nn.Flatten
	Dense1  *nn.Dense
	Dense2  *nn.Dense
}

// NewCNNNet returns an unbuilt CNNNet for the given number of classes.
func NewCNNNet(classes int) *CNNNet {
	return &CNNNet{
		Conv1:   &nn.Conv2D{Filters: 32, KernelSize: [2]int{3, 3}, Activation: "relu"},
		Pool1:   &nn.MaxPool2D{},
		Conv2:   &nn.Conv2D{Filters: 64, KernelSize: [2]int{3, 3}, Activation: "relu"},
		Pool2:   &nn.MaxPool2D{},
		Flatten: &nn.Flatten{},
		Dense1:  &nn.Dense{Units: 128, Activation: "relu"},
		Dense2:  &nn.Dense{Units: classes, Activation: "softmax"},
	}
}

// Forward applies the layers in order.
func (m *CNNNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = nn.ConvPool(c, m.Conv1, m.Pool1, x) // Pool1.Forward(c, Conv1.Forward(c, x)), fused
	x = nn.ConvPool(c, m.Conv2, m.Pool2, x)
	return m.Dense2.Forward(c, m.Dense1.Forward(c, m.Flatten.Forward(c, x)))
}

// NewLeNet5 returns LeNet-5 (LeCun et al. 1998) in its common modern form:
// conv 6 5×5 same relu → max-pool 2 → conv 16 5×5 relu → max-pool 2 →
// flatten → dense 120 relu → dense 84 relu → dense softmax (61,706
// parameters on 28×28×1).
func NewLeNet5(classes int) *nn.Sequential {
	return &nn.Sequential{Name: "lenet", Layers: []nn.Layer{
		&nn.Conv2D{Name: "conv1", Filters: 6, KernelSize: [2]int{5, 5}, Padding: "same", Activation: "relu"},
		&nn.MaxPool2D{Name: "pool1"},
		&nn.Conv2D{Name: "conv2", Filters: 16, KernelSize: [2]int{5, 5}, Activation: "relu"},
		&nn.MaxPool2D{Name: "pool2"},
		&nn.Flatten{Name: "flatten"},
		&nn.Dense{Name: "dense1", Units: 120, Activation: "relu"},
		&nn.Dense{Name: "dense2", Units: 84, Activation: "relu"},
		&nn.Dense{Name: "dense3", Units: classes, Activation: "softmax"},
	}}
}

// Classifier describes a zoo classifier: how to make it and what it takes.
type Classifier struct {
	Name        string
	Description string
	New         func(classes int) nn.Layer
	// Input is the per-sample input shape the model is built for on MNIST.
	Input []int
}

var classifiers = map[string]Classifier{
	"mlp":   {"mlp", "SimpleNet: dense 64 relu → 32 relu → softmax", func(k int) nn.Layer { return NewSimpleNet(k) }, []int{28, 28, 1}},
	"cnn":   {"cnn", "CNNNet: conv 32 → pool → conv 64 → pool → dense 128 → softmax", func(k int) nn.Layer { return NewCNNNet(k) }, []int{28, 28, 1}},
	"lenet": {"lenet", "LeNet-5: conv 6 → pool → conv 16 → pool → dense 120 → 84 → softmax", func(k int) nn.Layer { return NewLeNet5(k) }, []int{28, 28, 1}},
}

// RegisterClassifier adds a classifier to the zoo (called from init by the
// files that define more models).
func RegisterClassifier(c Classifier) { classifiers[c.Name] = c }

// LookupClassifier returns the classifier with the given name.
func LookupClassifier(name string) (Classifier, error) {
	c, ok := classifiers[name]
	if !ok {
		return Classifier{}, fmt.Errorf("unknown model %q (classifiers: %v)", name, ClassifierNames())
	}
	return c, nil
}

// ClassifierNames returns the classifier names, sorted.
func ClassifierNames() []string {
	var out []string
	for n := range classifiers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// orDefault is v, or d when v is its type's zero value: one field of an
// options struct's WithDefaults.
func orDefault[T comparable](v, d T) T {
	var zero T
	if v == zero {
		return d
	}
	return v
}
