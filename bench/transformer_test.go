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
	if err != nil {
		b.Fatal(err)
	}
	for range 2 {
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkViTTrainStep(b *testing.B) {
	step, err := classifierStep("vit", 64, []int{28, 28, 1})
	if err != nil {
		b.Fatal(err)
	}
	for range 2 {
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
}
