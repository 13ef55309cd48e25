package train_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// TestConcurrentInference runs inference from many goroutines at once on
// one network (Forward on an inference tape, train.Predict, one shared
// Predictor and Model.Predict), each goroutine with its own input, and
// checks every output against the one computed alone. Run it with -race.
func TestConcurrentInference(t *testing.T) {
	nets := []struct {
		name string
		net  nn.Layer
		in   []int
	}{
		{"cnn", zoo.NewCNNNet(10), []int{12, 12, 1}},
		{"bn_dropout", &nn.Sequential{Layers: []nn.Layer{
			&nn.Conv2D{Filters: 4, KernelSize: [2]int{3, 3}, Activation: "relu"},
			&nn.BatchNormalization{},
			&nn.Flatten{},
			&nn.Dropout{Rate: 0.5},
			&nn.Dense{Units: 3, Activation: "softmax"},
		}}, []int{6, 6, 2}},
		{"lstm", zoo.NewRowLSTM(8, 4), []int{5, 6}},
		{"gru", zoo.NewRowGRU(8, 4), []int{5, 6}},
		{"embedding", &nn.Sequential{Layers: []nn.Layer{
			&nn.Embedding{InputDim: 20, OutputDim: 4, MaskZero: true},
			&nn.LSTM{Units: 5},
			&nn.Dense{Units: 3},
		}}, []int{7}},
	}
	const goroutines, rows = 8, 3
	for _, tc := range nets {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			if _, err := nn.Build(tc.net, tc.in, rng); err != nil {
				t.Fatal(err)
			}
			m, err := train.Compile(tc.net, &optim.SGD{Base: optim.Base{LearningRate: 0.1}}, losses.MSE{})
			if err != nil {
				t.Fatal(err)
			}
			inputs := make([]*tensor.Tensor, goroutines)
			want := make([][]float32, goroutines)
			for g := range inputs {
				x := tensor.RandUniform(rng, 0, 1, append([]int{rows}, tc.in...)...)
				if tc.name == "embedding" { // token ids 0..19
					for i, v := range x.Data() {
						x.Data()[i] = float32(int(v * 20))
					}
				}
				inputs[g] = x
				y, err := train.Predict(context.Background(), tc.net, x, rows)
				if err != nil {
					t.Fatal(err)
				}
				want[g] = slices.Clone(y.Data())
			}
			shared := &train.Predictor{Net: tc.net}
			ways := map[string]func(x *tensor.Tensor) ([]float32, error){
				"forward": func(x *tensor.Tensor) ([]float32, error) {
					tape := autograd.NewInferenceTape(nil)
					defer tape.Release()
					return slices.Clone(tc.net.Forward(&nn.Ctx{}, tape.Input(x)).Value.Data()), nil
				},
				"train.Predict": func(x *tensor.Tensor) ([]float32, error) {
					y, err := train.Predict(context.Background(), tc.net, x, rows)
					return dataOf(y), err
				},
				"Predictor": func(x *tensor.Tensor) ([]float32, error) {
					y, err := shared.Predict(context.Background(), x, rows)
					return dataOf(y), err
				},
				"Model.Predict": func(x *tensor.Tensor) ([]float32, error) {
					y, err := m.Predict(context.Background(), x, rows)
					return dataOf(y), err
				},
			}
			var wg sync.WaitGroup
			errs := make(chan error, goroutines*len(ways)*3)
			for way, run := range ways {
				for g := range goroutines {
					wg.Go(func() {
						for range 3 {
							got, err := run(inputs[g])
							if err != nil {
								errs <- fmt.Errorf("%s: %v", way, err)
								return
							}
							if !slices.Equal(got, want[g]) {
								errs <- fmt.Errorf("%s, goroutine %d: got %v, want %v", way, g, got, want[g])
								return
							}
						}
					})
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

func dataOf(y *tensor.Tensor) []float32 {
	if y == nil {
		return nil
	}
	return y.Data()
}
