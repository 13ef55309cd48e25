//go:build !race

// The race detector drops sync.Pool items at random, so the kernels'
// pooled tasks would show up as allocations under it.

package train_test

import (
	"context"
	"testing"

	"github.com/strata-dl/strata/train"
)

// TestPredictorAllocatesOnlyItsResult checks that a steady-state Predict of
// one image through CNNNet allocates its result (a header and the data)
// and nothing else: no tape, Vars, headers or kernel closures. On the
// machines this project is measured on, every fresh heap page costs a
// page fault of about 13 µs, a third of the call, so allocations show up
// directly in the latency tail (see BENCHMARKS.md, cnn_predict1).
func TestPredictorAllocatesOnlyItsResult(t *testing.T) {
	net, x := builtCNN(t)
	p := &train.Predictor{Net: net}
	ctx := context.Background()
	x1 := x.Slice(0, 1)
	if _, err := p.Predict(ctx, x1, 1); err != nil { // the pool fills up
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(20, func() {
		if _, err := p.Predict(ctx, x1, 1); err != nil {
			t.Fatal(err)
		}
	}); a > 2 {
		t.Errorf("Predict of one image: %v allocations per call, want 2 (its result)", a)
	}
}
