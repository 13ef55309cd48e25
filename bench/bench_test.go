package bench

import (
	"context"
	"math/rand/v2"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// benchSteps times step (made with err) after warm untimed calls, which
// fill the buffer pool, allocations included, and reports samples per
// second for batches of the given size.
func benchSteps(b *testing.B, step func() error, err error, warm, batch int) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
	for range warm {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := step(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func benchStep(b *testing.B, model string, batch int, in []int) {
	step, err := classifierStep(model, batch, in)
	benchSteps(b, step, err, 5, batch)
}

// BenchmarkTrainStep measures one full training step (forward, loss,
// backward, Adam) of the zoo classifiers, allocations included.
func BenchmarkTrainStep(b *testing.B) {
	b.Run("SimpleNet/batch32", func(b *testing.B) { benchStep(b, "mlp", 32, []int{784}) })
	b.Run("CNNNet/batch32", func(b *testing.B) { benchStep(b, "cnn", 32, []int{28, 28, 1}) })
	b.Run("CNNNet/batch128", func(b *testing.B) { benchStep(b, "cnn", 128, []int{28, 28, 1}) })
}

// TestSteadyStateAllocations checks that a training step of the 3-layer
// MLP allocates almost nothing once the pool is warm: no tensor data, only
// small bookkeeping.
func TestSteadyStateAllocations(t *testing.T) {
	step, err := classifierStep("mlp", 32, []int{784})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		step()
	}
	allocs := testing.AllocsPerRun(20, func() { step() })
	t.Logf("%.0f allocations per SimpleNet training step", allocs)
	if allocs > 100 {
		t.Errorf("%.0f allocations per step, want ≤ 100 (tensor data must come from the pool)", allocs)
	}
}

func TestWorkloadsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every workload once")
	}
	for _, n := range []string{"gemm_32x784x64", "mlp_train", "cnn_predict1"} {
		w, err := Lookup(n)
		if err != nil {
			t.Fatal(err)
		}
		r, err := w.Run(context.Background(), Options{Steps: 3})
		if err != nil {
			t.Fatal(err)
		}
		if r.SamplesPerSec <= 0 && r.GFLOPS <= 0 && r.P50ms <= 0 {
			t.Errorf("%s: no measurement in %+v", n, r)
		}
		if n == "cnn_predict1" && (r.NoiseP50ms <= 0 || r.NoiseP99ms < r.NoiseP50ms) {
			t.Errorf("%s: no noise floor beside its percentiles in %+v", n, r)
		}
	}
}

// BenchmarkLarge measures the workloads of large.go one step at a time:
// the CIFAR-shaped VGG's training step (batch 64) and inference (batch
// 128), the wide MLP and the LSTM(512).
func BenchmarkLarge(b *testing.B) {
	run := func(b *testing.B, step func() error, batch int) { benchSteps(b, step, nil, 3, batch) }
	b.Run("VGG/train", func(b *testing.B) {
		step, err := netStep(NewVGG(10), 64, []int{32, 32, 3})
		if err != nil {
			b.Fatal(err)
		}
		run(b, step, 64)
	})
	b.Run("VGG/infer", func(b *testing.B) {
		net := NewVGG(10)
		rng := rand.New(rand.NewPCG(1, 2))
		if _, err := nn.Build(net, []int{32, 32, 3}, rng); err != nil {
			b.Fatal(err)
		}
		x := tensor.RandUniform(rng, 0, 1, 128, 32, 32, 3)
		p := &train.Predictor{Net: net}
		run(b, func() error { _, err := p.Predict(context.Background(), x, 128); return err }, 128)
	})
	b.Run("WideMLP/train", func(b *testing.B) {
		step, err := netStep(newWideMLP(), 256, []int{3072})
		if err != nil {
			b.Fatal(err)
		}
		run(b, step, 256)
	})
	b.Run("LSTM512/train", func(b *testing.B) {
		step, err := netStep(newLSTM512(), 64, []int{100, 64})
		if err != nil {
			b.Fatal(err)
		}
		run(b, step, 64)
	})
}

// TestTwinHasEveryWorkload checks that every workload of this package
// (fma_peak, a property of the machine, aside) has a PyTorch twin: in
// bench/torch/twin.py, the twin compare.py runs beside strata bench, or
// for the Transformer workloads in bench/torch_transformer.py; and that
// twin.py defines no workload strata bench lacks.
func TestTwinHasEveryWorkload(t *testing.T) {
	src, err := os.ReadFile("torch/twin.py")
	if err != nil {
		t.Fatal(err)
	}
	table := regexp.MustCompile(`(?s)\nW = \{\n(.*?)\n\}`).FindSubmatch(src) // the workload table
	if table == nil {
		t.Fatal("no workload table W = {...} in bench/torch/twin.py")
	}
	twin := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+"([a-z0-9_]+)": `).FindAllStringSubmatch(string(table[1]), -1) {
		twin[m[1]] = true
	}
	// torch_transformer.py: WORKLOADS = {"gpt_train": ..., ...} and the
	// attention lengths in "for _T in (256, 1024, 4096):".
	tsrc, err := os.ReadFile("torch_transformer.py")
	if err != nil {
		t.Fatal(err)
	}
	transformer := map[string]bool{}
	if m := regexp.MustCompile(`WORKLOADS = \{(.*)\}`).FindSubmatch(tsrc); m != nil {
		for _, k := range regexp.MustCompile(`"([a-z0-9_]+)":`).FindAllSubmatch(m[1], -1) {
			transformer[string(k[1])] = true
		}
	}
	if m := regexp.MustCompile(`for _T in \(([0-9, ]+)\):`).FindSubmatch(tsrc); m != nil {
		for _, v := range strings.Split(string(m[1]), ",") {
			transformer["attention_"+strings.TrimSpace(v)] = true
		}
	}
	for _, n := range Names() {
		if n != "fma_peak" && !twin[n] && !transformer[n] {
			t.Errorf("workload %s has no twin in bench/torch/twin.py or bench/torch_transformer.py", n)
		}
		delete(twin, n)
	}
	for n := range twin {
		t.Errorf("bench/torch/twin.py defines %s, which strata bench does not have", n)
	}
}
