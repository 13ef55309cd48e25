package bench

import (
	"context"
	"testing"
)

// TestTransformerWorkloadsRun runs the small Transformer workloads once
// with few steps, so that they keep working.
func TestTransformerWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	for _, name := range []string{"attention_256"} {
		w, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.Run(context.Background(), Options{Steps: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.P50ms <= 0 || r.PeakMB <= 0 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func BenchmarkGPTTrainStep(b *testing.B) {
	step, err := GPTTrainStep(32)
	benchSteps(b, step, err, 2, 32*128) // samples/s counts tokens, as gpt_train does
}

func BenchmarkViTTrainStep(b *testing.B) {
	step, err := classifierStep("vit", 64, []int{28, 28, 1})
	benchSteps(b, step, err, 2, 64)
}
