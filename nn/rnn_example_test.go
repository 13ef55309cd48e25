package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// A sequence classifier over token ids: embedding, a bidirectional LSTM
// whose sequence feeds a GRU, and a softmax over three classes.
func ExampleLSTM() {
	model := nn.NewSequential(
		&nn.Embedding{InputDim: 100, OutputDim: 16, MaskZero: true},
		&nn.Bidirectional{Layer: &nn.LSTM{Units: 32, ReturnSequences: true}},
		&nn.GRU{Units: 8},
		&nn.Dense{Units: 3, Activation: "softmax"},
	)
	if _, err := nn.Build(model, []int{20}, rand.New(rand.NewPCG(1, 2))); err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range nn.AllWeights(model)[:4] {
		fmt.Println(w.Path, w.Var.Shape())
	}
	ids := tensor.Zeros(2, 20) // a batch of two padded sequences
	ids.Set(7, 0, 0)
	ids.Set(42, 1, 3)
	y := model.Forward(&nn.Ctx{}, autograd.Const(ids))
	fmt.Println(y.Shape())
	trainable, _ := nn.CountParams(model)
	fmt.Println(trainable)
	// Output:
	// embedding.embeddings [100 16]
	// bidirectional.forward_lstm.kernel [16 128]
	// bidirectional.forward_lstm.recurrent_kernel [32 128]
	// bidirectional.forward_lstm.bias [128]
	// [2 3]
	// 15947
}
