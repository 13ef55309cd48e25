package modelfile_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// XORNet is a model written as a Go struct: its exported fields are
// layers, its Forward is plain Go.
type XORNet struct {
	Hidden *nn.Dense
	Out    *nn.Dense
}

func (m *XORNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return m.Out.Forward(c, m.Hidden.Forward(c, x))
}

// Registered once, so that a model file rebuilds it by name.
func init() { nn.RegisterLayer("example.XORNet", func() nn.Layer { return &XORNet{} }) }

func Example() {
	// Define and build the model.
	net := &XORNet{Hidden: &nn.Dense{Units: 8, Activation: "tanh"}, Out: &nn.Dense{Units: 2, Activation: "softmax"}}
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	// Train it.
	x := tensor.New([]int{4, 2}, []float32{0, 0, 0, 1, 1, 0, 1, 1})
	y := tensor.New([]int{4}, []float32{0, 1, 1, 0})
	opt, _ := optim.ByName("adam", 0.05)
	model, _ := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	if _, err := model.Fit(context.Background(), x, y, train.FitOptions{Epochs: 300, BatchSize: 4}); err != nil {
		panic(err)
	}
	// Save it whole: architecture, weights and what feeding it needs.
	dir, _ := os.MkdirTemp("", "xor")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "xor.safetensors")
	meta := modelfile.Meta{InputShape: []int{2}, Classes: []string{"same", "different"}}
	if err := modelfile.Save(path, net, meta); err != nil {
		panic(err)
	}
	// Load it (in another program: no XORNet code needed but its
	// registration; a Sequential of nn layers needs none) and predict.
	m, err := modelfile.Load(path)
	if err != nil {
		panic(err)
	}
	probs, err := train.Predict(context.Background(), m.Net, x, 256)
	if err != nil {
		panic(err)
	}
	for i, c := range tensor.ArgMax(probs, -1).Data() {
		fmt.Println(x.Data()[2*i:2*i+2], m.Meta.Classes[int(c)])
	}
	// Output:
	// [0 0] same
	// [0 1] different
	// [1 0] different
	// [1 1] same
}
