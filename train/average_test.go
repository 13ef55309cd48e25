package train

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/nn"
)

func averageNets(t *testing.T) (live, shadow nn.Layer) {
	mk := func(seed uint64) nn.Layer {
		net := &nn.Sequential{Layers: []nn.Layer{&nn.Dense{Units: 3}, &nn.BatchNormalization{}}}
		if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(seed, 1))); err != nil {
			t.Fatal(err)
		}
		return net
	}
	return mk(1), mk(2)
}

// TestAverage checks the bias-corrected moving average against its
// definition Σ (1 − β)·β^(u−i)·w_i / (1 − β^u) over a trajectory of
// weights, including non-trainable ones, and the checkpoint round trip.
func TestAverage(t *testing.T) {
	live, shadow := averageNets(t)
	const beta = 0.8
	a, err := NewAverage(live, shadow, beta)
	if err != nil {
		t.Fatal(err)
	}
	lw, sw := nn.AllWeights(live), nn.AllWeights(shadow)
	if len(lw) != 6 { // kernel, bias, gamma, beta, moving mean, moving variance
		t.Fatalf("%d weights", len(lw))
	}
	for u := 1; u <= 5; u++ {
		for i, w := range lw {
			w.Var.Value.Data()[0] = float32(10*u + i)
		}
		a.Update()
		for i, w := range sw {
			var num, den float64
			for k := 1; k <= u; k++ {
				c := (1 - beta) * math.Pow(beta, float64(u-k))
				num += c * float64(10*k+i)
				den += c
			}
			if got := float64(w.Var.Value.Data()[0]); math.Abs(got-num/den) > 1e-4 {
				t.Errorf("update %d: %s = %v, want %v", u, w.Path, got, num/den)
			}
		}
	}

	// The state restores the average and the update count exactly.
	meta := map[string]string{}
	ts := a.State("ema/", nil, meta)
	path := filepath.Join(t.TempDir(), "s.safetensors")
	if err := checkpoint.SaveSafetensors(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	_, shadow2 := averageNets(t)
	b, err := NewAverage(live, shadow2, beta)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.LoadState(f, "ema/"); err != nil {
		t.Fatal(err)
	}
	a.Update()
	b.Update()
	for i, w := range nn.AllWeights(shadow2) {
		if w.Var.Value.Data()[0] != sw[i].Var.Value.Data()[0] {
			t.Errorf("%s after a restored update %v, want %v", w.Path, w.Var.Value.Data()[0], sw[i].Var.Value.Data()[0])
		}
	}

	var none *Average // averages nothing
	none.Update()
	if m := map[string]string{}; len(none.State("ema/", nil, m)) != 0 || len(m) != 0 || none.LoadState(f, "ema/") != nil {
		t.Error("a nil Average saves or loads something")
	}

	if _, err := NewAverage(live, shadow, 1); err == nil {
		t.Error("no error for decay 1")
	}
	other := &nn.Sequential{Layers: []nn.Layer{&nn.Dense{Units: 4}}}
	if _, err := nn.Build(other, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if _, err := NewAverage(live, other, 0.9); err == nil {
		t.Error("no error for a shadow of another architecture")
	}
	delete(f.Metadata, "ema/updates")
	if err := b.LoadState(f, "ema/"); err == nil {
		t.Error("no error for a checkpoint without the update count")
	}
}
