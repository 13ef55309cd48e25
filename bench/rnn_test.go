package bench

import (
	"context"
	"testing"
)

// BenchmarkRNNTrainStep measures one training step (forward, BPTT, Adam)
// of the row-MNIST LSTM and GRU at batch 64, the lstm_train and gru_train
// workloads.
func BenchmarkRNNTrainStep(b *testing.B) {
	b.Run("LSTM128/batch64", func(b *testing.B) { benchStep(b, "lstm", 64, []int{28, 28}) })
	b.Run("GRU128/batch64", func(b *testing.B) { benchStep(b, "gru", 64, []int{28, 28}) })
	b.Run("SimpleRNN128/batch64", func(b *testing.B) { benchStep(b, "rnn", 64, []int{28, 28}) })
}

// TestRNNSteadyStateAllocations checks that a recurrent training step
// takes its buffers from the pool once warm.
func TestRNNSteadyStateAllocations(t *testing.T) {
	for _, model := range []string{"lstm", "gru"} {
		step, err := classifierStep(model, 64, []int{28, 28})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
		allocs := testing.AllocsPerRun(5, func() { step() })
		t.Logf("%.0f allocations per %s training step", allocs, model)
		if allocs > 100 {
			t.Errorf("%s: %.0f allocations per step, want ≤ 100 (tensor data must come from the pool)", model, allocs)
		}
	}
}

func TestRNNWorkloadsRun(t *testing.T) {
	for _, n := range []string{"lstm_train", "gru_train"} {
		w, err := Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		if testing.Short() {
			continue
		}
		r, err := w.Run(context.Background(), Options{Steps: 2})
		if err != nil {
			t.Fatal(err)
		}
		if r.SamplesPerSec <= 0 || r.Workload != n {
			t.Errorf("%s: %+v", n, r)
		}
	}
}
