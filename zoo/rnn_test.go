package zoo

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func TestRowRNNClassifiers(t *testing.T) {
	for _, tc := range []struct {
		name   string
		params int
		names  []string
	}{
		{"lstm", 81674, []string{"lstm.kernel", "lstm.recurrent_kernel", "lstm.bias", "dense.kernel", "dense.bias"}},
		{"gru", 61962, []string{"gru.kernel", "gru.recurrent_kernel", "gru.bias", "dense.kernel", "dense.bias"}},
		{"rnn", 21386, []string{"simple_rnn.kernel", "simple_rnn.recurrent_kernel", "simple_rnn.bias", "dense.kernel", "dense.bias"}},
	} {
		c, err := LookupClassifier(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		m := c.New(10)
		out, err := nn.Build(m, c.Input, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(out, []int{10}) {
			t.Errorf("%s: output %v, want [10]", tc.name, out)
		}
		if got, _ := nn.CountParams(m); got != tc.params {
			t.Errorf("%s: %d parameters, want %d", tc.name, got, tc.params)
		}
		var names []string
		for _, w := range nn.AllWeights(m) {
			names = append(names, w.Path)
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("%s: weights %v, want %v", tc.name, names, tc.names)
		}
	}
}

// A row-reading LSTM learns to tell apart images whose bright row is in
// the top half from those where it is in the bottom half: the label
// depends on which step carried the signal, so the state must carry it.
func TestRowLSTMLearns(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, side = 256, 8
	x := tensor.Zeros(n, side, side, 1)
	y := tensor.Zeros(n)
	for i := 0; i < n; i++ {
		row := rng.IntN(side)
		for j := 0; j < side; j++ {
			x.Set(0.5+0.5*rng.Float32(), i, row, j, 0)
		}
		if row >= side/2 {
			y.Data()[i] = 1
		}
	}
	net := NewRowLSTM(16, 2)
	if _, err := nn.Build(net, []int{side, side, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	opt, _ := optim.ByName("adam", 0.01)
	m, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Fit(context.Background(), x, y, train.FitOptions{Epochs: 15, BatchSize: 32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	logs, err := m.Evaluate(context.Background(), data.Tensors{X: x, Y: y}, 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.4f", logs["loss"])
	if logs["loss"] > 0.2 {
		t.Errorf("loss %.3f after training, want < 0.2", logs["loss"])
	}
}
