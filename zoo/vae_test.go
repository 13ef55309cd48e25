package zoo

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func buildVAE(t testing.TB, m *VAE, seed uint64) *VAE {
	t.Helper()
	if err := m.Build(rand.New(rand.NewPCG(seed, 1))); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVAEParamCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		m    *VAE
		want int
	}{
		// PyTorch's example: fc1 784·400+400 = 314,000; fc21, fc22
		// 400·20+20 = 8,020 each; fc3 20·400+400 = 8,400; fc4
		// 400·784+784 = 314,384. Total 652,824.
		{"vae", NewVAE(VAEConfig{}), 652824},
		// conv1 3·3·1·32+32 = 320; conv2 3·3·32·64+64 = 18,496; dense
		// 3136·256+256 = 803,072; z_mean, z_log_var 256·20+20 = 5,140
		// each; decoder dense 20·3136+3136 = 65,856; convt1 3·3·64·64+64
		// = 36,928; convt2 3·3·32·64+32 = 18,464; convt3 3·3·1·32+1 =
		// 289. Total 953,705.
		{"cvae", NewCVAE(VAEConfig{}), 953705},
	} {
		m := buildVAE(t, c.m, 1)
		if got, frozen := nn.CountParams(m); got != c.want || frozen != 0 {
			t.Errorf("%s: %d + %d parameters, want %d", c.name, got, frozen, c.want)
		}
	}
	m := buildVAE(t, NewVAE(VAEConfig{}), 1)
	var names []string
	for _, w := range nn.AllWeights(m) {
		names = append(names, w.Path)
	}
	want := []string{"encoder.dense.kernel", "encoder.dense.bias", "z_mean.kernel", "z_mean.bias", "z_log_var.kernel", "z_log_var.bias",
		"decoder.dense.kernel", "decoder.dense.bias", "decoder.output.kernel", "decoder.output.bias"}
	if !slices.Equal(names, want) {
		t.Errorf("weights %v, want %v", names, want)
	}
	if _, err := NewVAEModel("vqvae", VAEConfig{}); err == nil {
		t.Error("no error for an unknown VAE")
	}
}

func TestVAEInference(t *testing.T) {
	for _, m := range []*VAE{NewVAE(VAEConfig{Latent: 4, Hidden: 16}), NewCVAE(VAEConfig{Latent: 4, Hidden: 16})} {
		t.Run(m.Arch, func(t *testing.T) {
			m = buildVAE(t, m, 2)
			x := syntheticImages(rand.New(rand.NewPCG(1, 1)), 5)
			mu, lv, err := m.Encode(x)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(mu.Shape(), []int{5, 4}) || !slices.Equal(lv.Shape(), []int{5, 4}) {
				t.Fatalf("encode shapes %v %v", mu.Shape(), lv.Shape())
			}
			rec, err := m.Reconstruct(x.Reshape(5, 784))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.Shape(), []int{5, 28, 28, 1}) {
				t.Fatalf("reconstruction %v", rec.Shape())
			}
			for _, v := range rec.Data() {
				if v < 0 || v > 1 {
					t.Fatalf("probability %v", v)
				}
			}
			fwd := m.Forward(&nn.Ctx{}, autograd.Const(x)).Value
			if !slices.Equal(fwd.Data(), rec.Data()) {
				t.Error("Forward in inference mode differs from Reconstruct")
			}
			path, err := m.Interpolate(x.Slice(0, 1), x.Slice(3, 4).Reshape(28, 28, 1), 5)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(path.Shape(), []int{5, 28, 28, 1}) {
				t.Fatalf("interpolation %v", path.Shape())
			}
			for i, v := range path.Slice(0, 1).Data() {
				if math.Abs(float64(v-rec.Data()[i])) > 1e-5 {
					t.Fatal("interpolation does not start at a's reconstruction")
				}
			}
			end := rec.Slice(3, 4).Data()
			for i, v := range path.Slice(4, 5).Data() {
				if math.Abs(float64(v-end[i])) > 1e-5 {
					t.Fatal("interpolation does not end at b's reconstruction")
				}
			}
			s := m.Sample(3, 1)
			if !slices.Equal(s.Shape(), []int{3, 28, 28, 1}) || !slices.Equal(s.Data(), m.Sample(3, 1).Data()) {
				t.Error("Sample not deterministic or wrong shape")
			}
			if _, err := m.Decode(tensor.Zeros(2, 5)); err == nil {
				t.Error("no error for latent points of the wrong size")
			}
			if _, err := m.Reconstruct(tensor.Zeros(2, 10)); err == nil {
				t.Error("no error for images of the wrong size")
			}
			if _, err := m.Interpolate(x.Slice(0, 1), x.Slice(1, 2), 1); err == nil {
				t.Error("no error for one interpolation step")
			}
		})
	}
}

// TestVAETrainSmoke trains a small VAE on synthetic images for a few dozen
// steps: the loss must be finite and fall well below its start, and the
// test-set negative ELBO must agree with TestStep.
func TestVAETrainSmoke(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	x := syntheticImages(rng, 64)
	for _, c := range []struct {
		m     *VAE
		steps int
	}{
		{NewVAE(VAEConfig{Latent: 4, Hidden: 64}), 40},
		{NewCVAE(VAEConfig{Latent: 4, Hidden: 16}), 30},
	} {
		t.Run(c.m.Arch, func(t *testing.T) {
			m := buildVAE(t, c.m, 3)
			tr, err := NewVAETrainer(m, nil, VAEOptions{Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			var first, last float64
			for step := 0; step < c.steps; step++ {
				lo := (step * 16) % 64
				logs, err := tr.TrainStep(&data.Batch{X: x.Slice(lo, lo+16)})
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"loss", "reconstruction", "kl"} {
					if v := logs[k]; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
						t.Fatalf("step %d: %s = %v", step, k, v)
					}
				}
				if math.Abs(logs["loss"]-logs["reconstruction"]-logs["kl"]) > 1e-6*logs["loss"] {
					t.Fatalf("loss %v ≠ reconstruction + kl %v", logs["loss"], logs["reconstruction"]+logs["kl"])
				}
				if step == 0 {
					first = logs["loss"]
				}
				last = logs["loss"]
			}
			if !(last < 0.8*first) {
				t.Errorf("loss %v → %v: did not decrease", first, last)
			}
			// Test-set negative ELBO: NegELBO with the trainer's seed and
			// TestStep over the same batches draw the same noise.
			res, err := m.NegELBO(context.Background(), x, 32, 1)
			if err != nil {
				t.Fatal(err)
			}
			loader, err := data.NewLoader(data.Tensors{X: x}, data.LoaderOptions{BatchSize: 32})
			if err != nil {
				t.Fatal(err)
			}
			logs, err := train.Evaluate(context.Background(), tr, loader)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.NegELBO-logs["loss"]) > 1e-3 || math.Abs(res.KL-logs["kl"]) > 1e-3 || math.Abs(res.NegELBO-res.Reconstruction-res.KL) > 1e-3 {
				t.Errorf("NegELBO %+v, TestStep %v", res, logs)
			}
		})
	}
	tr, _ := NewVAETrainer(buildVAE(t, NewVAE(VAEConfig{Latent: 2, Hidden: 4}), 1), nil, VAEOptions{})
	if _, err := tr.TrainStep(&data.Batch{X: tensor.Zeros(2, 27, 28, 1)}); err == nil {
		t.Error("no error for 27×28 images")
	}
	if _, err := NewVAETrainer(NewVAE(VAEConfig{}), nil, VAEOptions{}); err == nil {
		t.Error("no error for an unbuilt model")
	}
}

func benchmarkVAE(b *testing.B, m *VAE, batch int) {
	tr, err := NewVAETrainer(buildVAE(b, m, 1), nil, VAEOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, tr, batch)
}

// BenchmarkVAEStep is one training step of the MLP VAE on a batch of 128
// (the vae_train workload of bench/ and its PyTorch twin bench/torch/twin.py).
func BenchmarkVAEStep(b *testing.B) { benchmarkVAE(b, NewVAE(VAEConfig{}), 128) }

// BenchmarkCVAEStep is the same for the convolutional VAE.
func BenchmarkCVAEStep(b *testing.B) { benchmarkVAE(b, NewCVAE(VAEConfig{}), 128) }
