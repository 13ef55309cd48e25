package train_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// builtCNN returns CNNNet built for 28×28×1 images and five such images.
func builtCNN(t testing.TB) (*zoo.CNNNet, *tensor.Tensor) {
	t.Helper()
	net := zoo.NewCNNNet(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{28, 28, 1}, rng); err != nil {
		t.Fatal(err)
	}
	return net, tensor.RandUniform(rng, 0, 1, 5, 28, 28, 1)
}

// TestPredictorBatchesAndReuse checks that a Predictor, whose calls reuse
// one tape from batch to batch and from call to call, gives every row the
// output it gets alone: over batches of 2 (the last one partial), again on
// a second call, and after a call that failed on a bad shape.
func TestPredictorBatchesAndReuse(t *testing.T) {
	net, x := builtCNN(t)
	p := &train.Predictor{Net: net}
	ctx := context.Background()
	var want []float32
	for i := range x.Dim(0) {
		y, err := p.Predict(ctx, x.Slice(i, i+1), 1)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, y.Data()...)
	}
	for call := range 2 {
		y, err := p.Predict(ctx, x, 2)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Shape(), []int{5, 10}) || !slices.Equal(y.Data(), want) {
			t.Fatalf("call %d: batches of 2 give %v %v, want rows alone %v", call, y.Shape(), y.Data(), want)
		}
	}
	var se *nn.ShapeError
	if _, err := p.Predict(ctx, tensor.Zeros(1, 27, 27, 2), 1); !errors.As(err, &se) {
		t.Fatalf("a 27×27×2 image: got %v, want a shape error", err)
	}
	y, err := p.Predict(ctx, x, 5)
	if err != nil || !slices.Equal(y.Data(), want) {
		t.Fatalf("after a shape error: %v, %v; want %v", y, err, want)
	}
}
