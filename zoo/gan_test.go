package zoo

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func buildGAN(t testing.TB, m *GAN, seed uint64) *GAN {
	t.Helper()
	if err := m.Build(rand.New(rand.NewPCG(seed, 1))); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestGANParamCounts(t *testing.T) {
	for _, c := range []struct {
		name       string
		m          *GAN
		g, gFrozen int
		d, dFrozen int
	}{
		// DCGAN generator: dense 100·6272 = 627,200 (no bias); bn1 2·128
		// = 256 (+256 moving); convt1 4·4·64·128 = 131,072 (no bias);
		// bn2 2·64 = 128 (+128); convt2 4·4·1·64 + 1 = 1,025.
		// 627,200 + 256 + 131,072 + 128 + 1,025 = 759,681.
		// Discriminator: conv1 4·4·1·64 + 64 = 1,088; conv2 4·4·64·128 =
		// 131,072 (no bias); bn2 2·128 = 256 (+256); dense 6272 + 1 =
		// 6,273. 1,088 + 131,072 + 256 + 6,273 = 138,689.
		{"dcgan", NewDCGAN(GANConfig{}), 759681, 384, 138689, 256},
		// FC GAN generator: 100·256+256 = 25,856; 256·512+512 = 131,584;
		// 512·784+784 = 402,192 → 559,632. Discriminator: 784·512+512 =
		// 401,920; 512·256+256 = 131,328; 256+1 = 257 → 533,505.
		{"gan", NewGAN(GANConfig{}), 559632, 0, 533505, 0},
	} {
		buildGAN(t, c.m, 1)
		g, gf := nn.CountParams(c.m.Generator)
		d, df := nn.CountParams(c.m.Discriminator)
		if g != c.g || gf != c.gFrozen || d != c.d || df != c.dFrozen {
			t.Errorf("%s: G %d + %d, D %d + %d; want G %d + %d, D %d + %d", c.name, g, gf, d, df, c.g, c.gFrozen, c.d, c.dFrozen)
		}
	}
	m := buildGAN(t, NewDCGAN(GANConfig{}), 1)
	var names []string
	for _, w := range nn.AllWeights(m) {
		names = append(names, w.Path)
		if w.Var.Name() != w.Path {
			t.Errorf("weight %s is named %q", w.Path, w.Var.Name())
		}
	}
	want := []string{
		"generator.dense.kernel", "generator.bn1.gamma", "generator.bn1.beta", "generator.bn1.moving_mean", "generator.bn1.moving_variance",
		"generator.convt1.kernel", "generator.bn2.gamma", "generator.bn2.beta", "generator.bn2.moving_mean", "generator.bn2.moving_variance",
		"generator.convt2.kernel", "generator.convt2.bias",
		"discriminator.conv1.kernel", "discriminator.conv1.bias", "discriminator.conv2.kernel",
		"discriminator.bn2.gamma", "discriminator.bn2.beta", "discriminator.bn2.moving_mean", "discriminator.bn2.moving_variance",
		"discriminator.dense.kernel", "discriminator.dense.bias",
	}
	if !slices.Equal(names, want) {
		t.Errorf("weights\n%v\nwant\n%v", names, want)
	}
	if s := m.Generator.Layers[4].(*nn.ConvTranspose2D).Kernel.Shape(); !slices.Equal(s, []int{4, 4, 64, 128}) {
		t.Errorf("convt1 kernel %v, want [4 4 64 128] (Keras layout)", s)
	}
	if _, err := NewGANModel("wgan", GANConfig{}); err == nil {
		t.Error("no error for an unknown GAN")
	}
}

func TestDCGANShapesAndSampling(t *testing.T) {
	m := buildGAN(t, NewDCGAN(GANConfig{Latent: 8, Width: 4}), 2)
	z := tensor.RandNormal(rand.New(rand.NewPCG(1, 1)), 0, 1, 3, 8)
	img := m.Forward(&nn.Ctx{Training: true}, autograd.Const(z)).Value
	if !slices.Equal(img.Shape(), []int{3, 28, 28, 1}) {
		t.Fatalf("generator output %v", img.Shape())
	}
	logits := m.Discriminator.Forward(&nn.Ctx{}, autograd.Const(img))
	if !slices.Equal(logits.Shape(), []int{3, 1}) {
		t.Fatalf("discriminator output %v", logits.Shape())
	}
	a, b := m.Sample(4, 7), m.Sample(4, 7)
	if !slices.Equal(a.Shape(), []int{4, 28, 28, 1}) || !slices.Equal(a.Data(), b.Data()) {
		t.Fatalf("Sample not deterministic or wrong shape %v", a.Shape())
	}
	for _, v := range a.Data() {
		if v < 0 || v > 1 || math.IsNaN(float64(v)) {
			t.Fatalf("sample pixel %v outside [0, 1]", v)
		}
	}
	// Inference-mode batch normalization: an image depends only on its
	// own noise vector, not on the batch it is generated in.
	one := m.Sample(1, 7)
	for i, v := range one.Data() {
		if math.Abs(float64(v-a.Data()[i])) > 1e-5 {
			t.Fatalf("sample 0 differs alone and in a batch: %v vs %v", v, a.Data()[i])
		}
	}
	if c := m.Sample(4, 8); slices.Equal(c.Data(), a.Data()) {
		t.Error("different seeds give the same samples")
	}
}

// syntheticImages returns n 28×28×1 images in [0, 1]: a bright square at
// a random place on a dark background, with noise.
func syntheticImages(rng *rand.Rand, n int) *tensor.Tensor {
	x := tensor.Zeros(n, 28, 28, 1)
	d := x.Data()
	for i := 0; i < n; i++ {
		r, c := 4+rng.IntN(14), 4+rng.IntN(14)
		for y := 0; y < 28; y++ {
			for xx := 0; xx < 28; xx++ {
				v := 0.05 * rng.Float32()
				if y >= r && y < r+8 && xx >= c && xx < c+8 {
					v = 0.9 + 0.1*rng.Float32()
				}
				d[(i*28+y)*28+xx] = v
			}
		}
	}
	return x
}

func snapshot(vs []*autograd.Var) [][]float32 {
	out := make([][]float32, len(vs))
	for i, v := range vs {
		out[i] = slices.Clone(v.Value.Data())
	}
	return out
}

func changed(before [][]float32, vs []*autograd.Var) bool {
	for i, v := range vs {
		if !slices.Equal(before[i], v.Value.Data()) {
			return true
		}
	}
	return false
}

func TestGANTrainSmoke(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := syntheticImages(rng, 16)
	for _, c := range []struct {
		name string
		m    *GAN
		o    GANOptions
	}{
		{"dcgan", NewDCGAN(GANConfig{Latent: 8, Width: 4}), GANOptions{Seed: 1}},
		{"dcgan/smoothing-dsteps2", NewDCGAN(GANConfig{Latent: 8, Width: 4}), GANOptions{LabelSmoothing: 0.1, DSteps: 2, Seed: 2}},
		{"gan/gsteps2", NewGAN(GANConfig{Latent: 8, Width: 16}), GANOptions{GSteps: 2, Seed: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := buildGAN(t, c.m, 4)
			tr, err := NewGANTrainer(m, nil, nil, c.o)
			if err != nil {
				t.Fatal(err)
			}
			d0, g0 := snapshot(tr.dParams), snapshot(tr.gParams)
			var means train.Means
			for step := 0; step < 3; step++ {
				b := &data.Batch{X: x.Slice(step*4, step*4+8)}
				if step == 2 { // flattened images are accepted too
					b.X = b.X.Reshape(8, 784)
				}
				logs, err := tr.TrainStep(b)
				if err != nil {
					t.Fatal(err)
				}
				means.Add(logs, 8)
			}
			logs := means.Logs()
			for _, k := range []string{"d_loss", "g_loss", "d_real", "d_fake"} {
				v, ok := logs[k]
				if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("log %s = %v (present %v)", k, v, ok)
				}
			}
			if logs["d_real"] <= 0 || logs["d_real"] >= 1 || logs["d_fake"] <= 0 || logs["d_fake"] >= 1 || logs["d_loss"] <= 0 || logs["g_loss"] <= 0 {
				t.Errorf("implausible logs %v", logs)
			}
			if !changed(d0, tr.dParams) || !changed(g0, tr.gParams) {
				t.Error("a network was not updated")
			}
			if c.o.DSteps == 2 && tr.GOpt.Iterations() != 1 { // G trained on batch 2 only
				t.Errorf("generator took %v steps, want 1", tr.GOpt.Iterations())
			}
			if c.o.GSteps == 2 && tr.GOpt.Iterations() != 6 { // two G steps per batch
				t.Errorf("generator took %v steps, want 6", tr.GOpt.Iterations())
			}
		})
	}
	tr, _ := NewGANTrainer(buildGAN(t, NewGAN(GANConfig{Latent: 4, Width: 4}), 1), nil, nil, GANOptions{})
	if _, err := tr.TrainStep(&data.Batch{X: tensor.Zeros(2, 10, 10, 1)}); err == nil {
		t.Error("no error for 10×10 images")
	}
	if _, err := tr.TrainStep(&data.Batch{X: tensor.Zeros(2, 1, 28, 28)}); err == nil {
		t.Error("no error for NCHW images")
	}
	if _, err := NewGANTrainer(NewGAN(GANConfig{}), nil, nil, GANOptions{}); err == nil {
		t.Error("no error for an unbuilt model")
	}
	if _, err := NewGANTrainer(tr.Model, nil, nil, GANOptions{LabelSmoothing: 1}); err == nil {
		t.Error("no error for label smoothing 1")
	}
}

// TestGANResume checks that SaveParts and LoadParts restore a trainer
// exactly: the next step gives the same logs and weights.
func TestGANResume(t *testing.T) {
	x := syntheticImages(rand.New(rand.NewPCG(5, 5)), 8)
	newTrainer := func() *GANTrainer {
		tr, err := NewGANTrainer(buildGAN(t, NewDCGAN(GANConfig{Latent: 8, Width: 4}), 6), nil, nil, GANOptions{Seed: 9, DSteps: 2, EMA: 0.9})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a := newTrainer()
	b := &data.Batch{X: x}
	for i := 0; i < 3; i++ {
		if _, err := a.TrainStep(b); err != nil {
			t.Fatal(err)
		}
	}
	tensors, meta, err := train.SaveParts(a.Parts())
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.safetensors")
	if err := checkpoint.SaveSafetensors(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	r := newTrainer()
	if err := train.LoadParts(r.Parts(), f); err != nil {
		t.Fatal(err)
	}
	la, err := a.TrainStep(b)
	if err != nil {
		t.Fatal(err)
	}
	lr, err := r.TrainStep(b)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range la {
		if lr[k] != v {
			t.Errorf("%s after resume %v, want %v", k, lr[k], v)
		}
	}
	for _, m := range [][2]*GAN{{a.Model, r.Model}, {a.Averaged(), r.Averaged()}} {
		wa, wr := nn.AllWeights(m[0]), nn.AllWeights(m[1])
		for i := range wa {
			if !slices.Equal(wa[i].Var.Value.Data(), wr[i].Var.Value.Data()) {
				t.Errorf("%s differs after resume", wa[i].Path)
			}
		}
	}
}

// TestGANAverage checks the moving average of the generator: it starts as
// a copy, follows the bias-corrected avg ← d·avg + (1 − d)·w after each
// generator update (weights and batch-normalization statistics), and
// shares the trained discriminator.
func TestGANAverage(t *testing.T) {
	x := syntheticImages(rand.New(rand.NewPCG(6, 6)), 8)
	m := buildGAN(t, NewDCGAN(GANConfig{Latent: 8, Width: 4}), 7)
	tr, err := NewGANTrainer(m, nil, nil, GANOptions{Seed: 2, EMA: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	avg := tr.Averaged()
	if avg == m || avg.Discriminator != m.Discriminator {
		t.Fatal("the averaged GAN must be a copy of the generator with the trained discriminator")
	}
	live, averaged := nn.AllWeights(m.Generator), nn.AllWeights(avg.Generator)
	want := snapshot(varsOf(live))
	if !slices.EqualFunc(want, snapshot(varsOf(averaged)), slices.Equal) {
		t.Fatal("the average does not start as a copy of the generator")
	}
	for u := 1; u <= 3; u++ {
		if _, err := tr.TrainStep(&data.Batch{X: x}); err != nil {
			t.Fatal(err)
		}
		d := float32(1 - 0.5/(1-math.Pow(0.5, float64(u))))
		for i, w := range live {
			for j, v := range w.Var.Value.Data() {
				want[i][j] = d*want[i][j] + (1-d)*v
			}
			if !slices.Equal(want[i], averaged[i].Var.Value.Data()) {
				t.Fatalf("update %d: %s is not the moving average", u, averaged[i].Path)
			}
		}
	}
	if slices.EqualFunc(want, snapshot(varsOf(live)), slices.Equal) {
		t.Error("the average equals the trained generator after 3 updates")
	}
	if _, err := NewGANTrainer(m, nil, nil, GANOptions{EMA: 1}); err == nil {
		t.Error("no error for EMA decay 1")
	}
	if plain, _ := NewGANTrainer(m, nil, nil, GANOptions{}); plain.Averaged() != m {
		t.Error("without EMA, Averaged is not the trained GAN")
	}
}

func varsOf(ws []nn.NamedWeight) []*autograd.Var {
	out := make([]*autograd.Var, len(ws))
	for i, w := range ws {
		out[i] = w.Var
	}
	return out
}

func benchmarkGAN(b *testing.B, m *GAN, batch int) {
	tr, err := NewGANTrainer(buildGAN(b, m, 1), nil, nil, GANOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	benchmarkStep(b, tr, batch)
}

// benchmarkStep times a trainer's step on batches of synthetic images.
func benchmarkStep(b *testing.B, tr train.Trainer, batch int) {
	bt := &data.Batch{X: syntheticImages(rand.New(rand.NewPCG(1, 1)), batch)}
	for i := 0; i < 2; i++ { // warm the pool and the optimizer state
		if _, err := tr.TrainStep(bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.TrainStep(bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkDCGANStep is one discriminator and one generator step of the
// DCGAN on a batch of 64 (the dcgan_step workload of bench/ and its PyTorch twin bench/torch/twin.py).
func BenchmarkDCGANStep(b *testing.B) { benchmarkGAN(b, NewDCGAN(GANConfig{}), 64) }

// BenchmarkGANStep is the same for the fully connected GAN.
func BenchmarkGANStep(b *testing.B) { benchmarkGAN(b, NewGAN(GANConfig{}), 64) }
