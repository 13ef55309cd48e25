package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

var (
	xorX = tensor.New([]int{4, 2}, []float32{0, 0, 0, 1, 1, 0, 1, 1})
	xorY = tensor.New([]int{4}, []float32{0, 1, 1, 0})
)

// A Sequential model, compiled and fitted as in Keras.
func Example_sequential() {
	net := nn.NewSequential(
		&nn.Dense{Units: 8, Activation: "tanh"},
		&nn.Dense{Units: 2, Activation: "softmax"},
	)
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	opt, _ := optim.ByName("adam", 0.05)
	model, _ := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	hist, err := model.Fit(context.Background(), xorX, xorY, train.FitOptions{Epochs: 300, BatchSize: 4})
	if err != nil {
		panic(err)
	}
	fmt.Printf("accuracy %.2f\n", hist.Last()["accuracy"])
	// Output: accuracy 1.00
}

// MLP is a subclassed model: a Go struct whose fields are layers, with a
// hand-written Forward. Its weights are named hidden.kernel, out.bias, ...
type MLP struct {
	Hidden *nn.Dense
	Out    *nn.Dense
}

func (m *MLP) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return m.Out.Forward(c, m.Hidden.Forward(c, x))
}

func Example_subclassedModel() {
	net := &MLP{Hidden: &nn.Dense{Units: 8, Activation: "tanh"}, Out: &nn.Dense{Units: 2, Activation: "softmax"}}
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	for _, w := range nn.AllWeights(net) {
		fmt.Println(w.Path, w.Var.Value.Shape())
	}
	// Output:
	// hidden.kernel [2 8]
	// hidden.bias [8]
	// out.kernel [8 2]
	// out.bias [2]
}

// meanSquared is a custom Trainer: Fit calls its TrainStep for each batch,
// which writes the step by hand with a tape, a loss and an optimizer (a
// GAN would use two tapes, two losses and two optimizers here) and returns
// the batch's loss. Fit keeps its running mean, checks it for NaN and
// divergence and recovers shape panics; with Network and Optimizers
// methods it would also checkpoint and resume the trainer.
type meanSquared struct {
	net nn.Layer
	opt optim.Optimizer
}

func (m *meanSquared) TrainStep(b *data.Batch) (train.Logs, error) {
	tape := autograd.NewTape(nil)
	defer tape.Release()
	params := nn.Trainable(m.net)
	tape.Watch(params...)
	pred := m.net.Forward(&nn.Ctx{Training: true}, autograd.Const(b.X))
	loss := autograd.Mean(autograd.Square(autograd.Sub(pred, autograd.Const(b.Y))), false)
	grads, err := tape.Gradients(loss, params...)
	if err != nil {
		return nil, err
	}
	if err := m.opt.Step(params, grads); err != nil {
		return nil, err
	}
	return train.Logs{"mse": float64(loss.Item())}, nil
}

func Example_customTrainingStep() {
	// learn y = 2x − 1
	x := tensor.New([]int{4, 1}, []float32{0, 1, 2, 3})
	y := tensor.New([]int{4, 1}, []float32{-1, 1, 3, 5})
	net := &nn.Dense{Units: 1}
	if _, err := nn.Build(net, []int{1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	opt, _ := optim.ByName("sgd", 0.05)
	loader, _ := data.NewLoader(data.Tensors{X: x, Y: y}, data.LoaderOptions{BatchSize: 4})
	hist, err := train.Fit(context.Background(), &meanSquared{net: net, opt: opt}, loader, train.FitOptions{Epochs: 500})
	if err != nil {
		panic(err)
	}
	fmt.Printf("mse %.4f, w %.2f, b %.2f\n", hist.Last()["mse"], net.Kernel.Value.Item(), net.Bias.Value.Item())
	// Output: mse 0.0000, w 2.00, b -1.00
}

func ExampleMeans() {
	// What Fit does with the values steps return: batches of 32, 32 and 16
	// samples with losses 0.9, 0.6 and 0.3.
	var m train.Means
	for i, loss := range []float64{0.9, 0.6, 0.3} {
		m.Add(train.Logs{"loss": loss}, []float64{32, 32, 16}[i])
	}
	fmt.Printf("%.2f\n", m.Logs()["loss"]) // (0.9·32 + 0.6·32 + 0.3·16) / 80
	// Output: 0.66
}

// A trainer declares what its checkpoint holds; SaveParts and LoadParts
// (which Fit calls) do the rest.
func ExampleParts() {
	net := &nn.Dense{Units: 2}
	if _, err := nn.Build(net, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	steps := 7
	p := train.Parts{
		Networks:   map[string]nn.Layer{"model/": net},
		Optimizers: map[string]optim.Optimizer{"optimizer/": &optim.Adam{}},
		Counters:   map[string]*int{"my.steps": &steps},
	}
	tensors, meta, err := train.SaveParts(p)
	if err != nil {
		panic(err)
	}
	for _, t := range tensors {
		fmt.Println(t.Name, t.Tensor.Shape())
	}
	fmt.Println(meta["my.steps"], meta["optimizer/lr"])
	// Output:
	// model/kernel [3 2]
	// model/bias [2]
	// optimizer/adam.step [1]
	// 7 0.001
}
