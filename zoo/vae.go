package zoo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// VAEConfig sizes a VAE. Zero values mean the defaults in brackets.
type VAEConfig struct {
	Latent int `json:"latent"` // size of z [20]
	Hidden int `json:"hidden"` // hidden width: vae's dense layers [400], cvae's dense layer [256]
}

func (c VAEConfig) withDefaults(hidden int) VAEConfig {
	if c.Latent <= 0 {
		c.Latent = 20
	}
	if c.Hidden <= 0 {
		c.Hidden = hidden
	}
	return c
}

// VAE is a variational autoencoder (Kingma & Welling 2014) for 28×28×1
// images with pixels in [0, 1]: an encoder q(z|x) = N(μ(x), diag σ²(x)),
// the standard normal prior p(z) = N(0, I) and a Bernoulli decoder p(x|z)
// whose logits the Decoder computes. Training maximizes the evidence lower
// bound
//
//	ELBO(x) = E_q[log p(x|z)] − KL(q(z|x) ‖ N(0, I))
//
// estimated with one reparameterized sample z = μ + σ ⊙ ε, ε ~ N(0, I);
// the loss is the negative ELBO in nats per image, the reconstruction term
// (binary cross-entropy summed over pixels) plus
// KL = −½ Σ_j (1 + log σ²_j − μ_j² − σ²_j).
//
// A VAE is an nn.Layer: Forward maps images to reconstruction
// probabilities (z = μ in inference mode, sampled in training mode with
// Ctx.RNG). Weight names: encoder.<layer>, z_mean, z_log_var,
// decoder.<layer>.
type VAE struct {
	Encoder *nn.Sequential // x → hidden features
	ZMean   *nn.Dense      // hidden → μ [batch, Latent]
	ZLogVar *nn.Dense      // hidden → log σ² [batch, Latent]
	Decoder *nn.Sequential // z → logits [batch, 28, 28, 1]
	// Arch is the model's zoo name ("vae" or "cvae") and Config its sizes,
	// for the architecture metadata of a checkpoint.
	Arch   string    `nn:"-"`
	Config VAEConfig `nn:"-"`
}

// NewVAE returns the unbuilt MLP VAE of PyTorch's example (652,824
// parameters with the defaults):
//
//	encoder: flatten 784 → dense 400 relu → z_mean 20, z_log_var 20
//	decoder: z 20 → dense 400 relu → output 784 (logits; σ gives the pixel
//	         probabilities) → reshape 28×28×1
func NewVAE(cfg VAEConfig) *VAE {
	cfg = cfg.withDefaults(400)
	return &VAE{
		Encoder: &nn.Sequential{Name: "encoder", Layers: []nn.Layer{
			&nn.Flatten{Name: "flatten"},
			torchDense("dense", cfg.Hidden, "relu"),
		}},
		ZMean:   torchDense("z_mean", cfg.Latent, ""),
		ZLogVar: torchDense("z_log_var", cfg.Latent, ""),
		Decoder: &nn.Sequential{Name: "decoder", Layers: []nn.Layer{
			torchDense("dense", cfg.Hidden, "relu"),
			torchDense("output", tensor.Numel(imageShape), ""),
			&nn.Reshape{Name: "reshape", Shape: ImageShape()},
		}},
		Arch: "vae", Config: cfg,
	}
}

// torchInit is PyTorch's default initialization of Linear layers,
// U(−1/√fanIn, 1/√fanIn) for kernel and bias, which the PyTorch VAE
// example (the reference for this model) trains from.
var torchInit = nn.VarianceScaling{Scale: 1.0 / 3, Mode: "fan_in", Distribution: "uniform"}

func torchDense(name string, units int, act string) *nn.Dense {
	return &nn.Dense{Name: name, Units: units, Activation: act, KernelInitializer: torchInit, BiasInitializer: torchInit}
}

// NewCVAE returns the unbuilt convolutional VAE, the architecture of
// Keras's VAE example with a wider bottleneck:
//
//	encoder: conv1 32 (3×3, stride 2, same) relu 14×14 → conv2 64 (3×3,
//	         stride 2, same) relu 7×7 → flatten → dense 256 relu
//	         → z_mean 20, z_log_var 20
//	decoder: z 20 → dense 7·7·64 relu → reshape 7×7×64 → convt1 64 (3×3,
//	         stride 2, same) relu 14×14 → convt2 32 (3×3, stride 2, same)
//	         relu 28×28 → convt3 1 (3×3, same): logits 28×28×1
func NewCVAE(cfg VAEConfig) *VAE {
	cfg = cfg.withDefaults(256)
	s2 := [2]int{2, 2}
	k3 := [2]int{3, 3}
	return &VAE{
		Encoder: &nn.Sequential{Name: "encoder", Layers: []nn.Layer{
			&nn.Conv2D{Name: "conv1", Filters: 32, KernelSize: k3, Strides: s2, Padding: "same", Activation: "relu"},
			&nn.Conv2D{Name: "conv2", Filters: 64, KernelSize: k3, Strides: s2, Padding: "same", Activation: "relu"},
			&nn.Flatten{Name: "flatten"},
			&nn.Dense{Name: "dense", Units: cfg.Hidden, Activation: "relu"},
		}},
		ZMean:   &nn.Dense{Name: "z_mean", Units: cfg.Latent},
		ZLogVar: &nn.Dense{Name: "z_log_var", Units: cfg.Latent},
		Decoder: &nn.Sequential{Name: "decoder", Layers: []nn.Layer{
			&nn.Dense{Name: "dense", Units: 7 * 7 * 64, Activation: "relu"},
			&nn.Reshape{Name: "reshape", Shape: []int{7, 7, 64}},
			&nn.ConvTranspose2D{Name: "convt1", Filters: 64, KernelSize: k3, Strides: s2, Padding: "same", Activation: "relu"},
			&nn.ConvTranspose2D{Name: "convt2", Filters: 32, KernelSize: k3, Strides: s2, Padding: "same", Activation: "relu"},
			&nn.ConvTranspose2D{Name: "convt3", Filters: 1, KernelSize: k3, Padding: "same"},
		}},
		Arch: "cvae", Config: cfg,
	}
}

// NewVAEModel returns the unbuilt VAE with the zoo name "vae" or "cvae".
func NewVAEModel(name string, cfg VAEConfig) (*VAE, error) {
	switch name {
	case "vae":
		return NewVAE(cfg), nil
	case "cvae":
		return NewCVAE(cfg), nil
	}
	return nil, fmt.Errorf("unknown VAE %q (want vae or cvae)", name)
}

// Latent returns the size of z.
func (m *VAE) Latent() int { return m.Config.withDefaults(1).Latent }

// Build creates and initializes the weights from rng (encoder, z_mean,
// z_log_var, decoder) and names them by their dotted paths. It returns an
// error when the decoder does not produce 28×28×1 logits.
func (m *VAE) Build(rng *rand.Rand) error {
	h, err := nn.Build(m.Encoder, imageShape, rng)
	if err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	for _, d := range []*nn.Dense{m.ZMean, m.ZLogVar} {
		out, err := nn.Build(d, h, rng)
		if err != nil {
			return err
		}
		if len(out) != 1 || out[0] != m.Latent() {
			return fmt.Errorf("%s: output %v, want [%d]", d.Name, out, m.Latent())
		}
	}
	out, err := nn.Build(m.Decoder, []int{m.Latent()}, rng)
	if err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	if !tensor.EqualShapes(out, imageShape) {
		return fmt.Errorf("decoder output %v, want %v", out, imageShape)
	}
	nameWeights(m)
	return nil
}

// encode returns μ and log σ² of q(z|x).
func (m *VAE) encode(c *nn.Ctx, x *autograd.Var) (mu, logVar *autograd.Var) {
	h := m.Encoder.Forward(c, x)
	return m.ZMean.Forward(c, h), m.ZLogVar.Forward(c, h)
}

// Forward returns the reconstruction probabilities σ(decoder(z)) of x
// [batch, 28, 28, 1] with z = μ(x), or in training mode with c.RNG a
// reparameterized sample of q(z|x).
func (m *VAE) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	mu, lv := m.encode(c, x)
	z := mu
	if c != nil && c.Training && c.RNG != nil {
		eps := tensor.Zeros(mu.Shape()...)
		fillNormal(c.RNG, eps.Data())
		z = autograd.Reparameterize(mu, lv, eps)
	}
	return autograd.Sigmoid(m.Decoder.Forward(c, z))
}

// inferBatch is the batch size of the inference helpers.
const inferBatch = 256

// batched runs fn over x [n, ...] in batches of inferBatch, untracked,
// and stacks the outputs along the first axis. Shape panics come back as
// errors.
func batched(x *tensor.Tensor, fn func(x *tensor.Tensor) *tensor.Tensor) (out *tensor.Tensor, err error) {
	defer recoverShape(&err)
	if x == nil || x.Rank() < 1 || x.Dim(0) == 0 {
		return nil, errors.New("vae: empty input")
	}
	n := x.Dim(0)
	for lo := 0; lo < n; lo += inferBatch {
		hi := min(lo+inferBatch, n)
		y := fn(x.Slice(lo, hi))
		if out == nil {
			out = tensor.Zeros(append([]int{n}, y.Shape()[1:]...)...)
		}
		copy(out.Slice(lo, hi).Data(), y.Data())
	}
	return out, nil
}

// images returns x viewed as [n, 28, 28, 1] or an error.
func images(x *tensor.Tensor) (*tensor.Tensor, error) {
	if x == nil {
		return nil, errors.New("vae: nil images")
	}
	return imageBatch("vae", &data.Batch{X: x})
}

// Encode returns the mean and log-variance [n, Latent] of q(z|x) for
// images x [n, 28, 28, 1] (or [n, 784]) with pixels in [0, 1].
func (m *VAE) Encode(x *tensor.Tensor) (mean, logVar *tensor.Tensor, err error) {
	x, err = images(x)
	if err != nil {
		return nil, nil, err
	}
	both, err := batched(x, func(x *tensor.Tensor) *tensor.Tensor {
		mu, lv := m.encode(&nn.Ctx{}, autograd.Const(x))
		return tensor.Concat(1, mu.Value, lv.Value)
	})
	if err != nil {
		return nil, nil, err
	}
	k := m.Latent()
	return tensor.SliceAxis(both, 1, 0, k), tensor.SliceAxis(both, 1, k, 2*k), nil
}

// Decode returns the pixel probabilities σ(decoder(z)) [n, 28, 28, 1] of
// latent points z [n, Latent].
func (m *VAE) Decode(z *tensor.Tensor) (*tensor.Tensor, error) {
	if z == nil || z.Rank() != 2 || z.Dim(1) != m.Latent() {
		var s []int
		if z != nil {
			s = z.Shape()
		}
		return nil, fmt.Errorf("vae: latent points of shape %v, want [n %d]", s, m.Latent())
	}
	return batched(z, func(z *tensor.Tensor) *tensor.Tensor {
		return autograd.Sigmoid(m.Decoder.Forward(&nn.Ctx{}, autograd.Const(z))).Value
	})
}

// Reconstruct returns the reconstructions σ(decoder(μ(x))) [n, 28, 28, 1]
// of images x [n, 28, 28, 1] (or [n, 784]) with pixels in [0, 1].
func (m *VAE) Reconstruct(x *tensor.Tensor) (*tensor.Tensor, error) {
	mu, _, err := m.Encode(x)
	if err != nil {
		return nil, err
	}
	return m.Decode(mu)
}

// Interpolate returns steps images [steps, 28, 28, 1] decoded from evenly
// spaced points on the segment between the latent means of images a and b
// (each [28, 28, 1], [1, 28, 28, 1] or 784 values), a's first and b's
// last. steps must be at least 2.
func (m *VAE) Interpolate(a, b *tensor.Tensor, steps int) (*tensor.Tensor, error) {
	if steps < 2 {
		return nil, fmt.Errorf("vae: interpolation needs at least 2 steps, got %d", steps)
	}
	per := tensor.Numel(imageShape)
	if a == nil || b == nil || a.Len() != per || b.Len() != per {
		return nil, fmt.Errorf("vae: interpolation needs two images of %v", imageShape)
	}
	pair := tensor.Concat(0, a.Reshape(1, per), b.Reshape(1, per))
	mu, _, err := m.Encode(pair)
	if err != nil {
		return nil, err
	}
	k := m.Latent()
	z := tensor.Zeros(steps, k)
	za, zb := mu.Data()[:k], mu.Data()[k:]
	for i := 0; i < steps; i++ {
		w := float32(i) / float32(steps-1)
		row := z.Data()[i*k : (i+1)*k]
		for j := range row {
			row[j] = (1-w)*za[j] + w*zb[j]
		}
	}
	return m.Decode(z)
}

// Sample returns n images [n, 28, 28, 1] with pixels in [0, 1]: the
// decoder's probabilities at z ~ N(0, I) drawn from a source seeded with
// seed. It panics if n < 1.
func (m *VAE) Sample(n int, seed uint64) *tensor.Tensor {
	z := tensor.Zeros(n, m.Latent())
	fillNormal(rand.New(rand.NewPCG(seed, sampleStream)), z.Data())
	out, err := m.Decode(z)
	if err != nil {
		panic(err)
	}
	return out
}

// ELBO is a negative evidence lower bound and its two terms, in nats per
// image.
type ELBO struct {
	NegELBO        float64 `json:"neg_elbo"`       // Reconstruction + KL
	Reconstruction float64 `json:"reconstruction"` // −E_q[log p(x|z)], one sample
	KL             float64 `json:"kl"`             // KL(q(z|x) ‖ N(0, I))
}

// NegELBO returns the negative ELBO of images x [n, 28, 28, 1] (or
// [n, 784]) with pixels in [0, 1], in nats per image, estimated as in
// training with one sample z per image drawn from a source seeded with
// seed (the KL term is exact). It runs in batches of batchSize (0: 256)
// and stops with ctx's error when ctx is cancelled.
func (m *VAE) NegELBO(ctx context.Context, x *tensor.Tensor, batchSize int, seed uint64) (res ELBO, err error) {
	defer recoverShape(&err)
	x, err = images(x)
	if err != nil {
		return ELBO{}, err
	}
	if batchSize <= 0 {
		batchSize = inferBatch
	}
	rng := rand.New(rand.NewPCG(seed, elboStream))
	var rec, kl float64
	var eps *tensor.Tensor
	n := x.Dim(0)
	for lo := 0; lo < n; lo += batchSize {
		if err := ctx.Err(); err != nil {
			return ELBO{}, err
		}
		xb := x.Slice(lo, min(lo+batchSize, n))
		r, k := m.negELBO(nil, xb, rng, &eps)
		rec += sum64(r.Value.Data())
		kl += sum64(k.Value.Data())
	}
	return ELBO{NegELBO: (rec + kl) / float64(n), Reconstruction: rec / float64(n), KL: kl / float64(n)}, nil
}

// elboStream is the second word of the PCG seed of evaluation noise.
const elboStream = 0xe1b0

// negELBO computes the per-image reconstruction and KL terms [n] of x
// with ε drawn from rng into *eps; ctx nil means inference mode.
func (m *VAE) negELBO(ctx *nn.Ctx, x *tensor.Tensor, rng *rand.Rand, eps **tensor.Tensor) (rec, kl *autograd.Var) {
	if ctx == nil {
		ctx = &nn.Ctx{}
	}
	xv := autograd.Const(x)
	mu, lv := m.encode(ctx, xv)
	e := buffer(eps, mu.Shape()...)
	fillNormal(rng, e.Data())
	z := autograd.Reparameterize(mu, lv, e)
	logits := m.Decoder.Forward(ctx, z)
	return autograd.SigmoidBCESum(logits, x), autograd.GaussianKL(mu, lv)
}

func sum64(d []float32) float64 {
	var s float64
	for _, v := range d {
		s += float64(v)
	}
	return s
}

// VAEOptions are the hyperparameters of VAE training. Zero values mean the
// defaults in brackets.
type VAEOptions struct {
	// Beta weights the KL term of the loss (β-VAE, Higgins et al. 2017);
	// the logs report the unweighted terms [1].
	Beta float32 `json:"beta"`
	// EMA, when in (0, 1), keeps an exponential moving average of the
	// weights with this decay (e.g. 0.999): the model to evaluate and
	// save. See VAETrainer.Averaged and train.Average [0: off].
	EMA float32 `json:"ema"`
	// Seed seeds the training noise ε and, reseeded at every
	// ResetMetrics, the evaluation noise of TestStep [0].
	Seed uint64 `json:"seed"`
}

// VAETrainer trains a VAE one batch at a time (the custom step that
// train.Fit calls): for images x [n, 28, 28, 1] with pixels in [0, 1],
//
//	μ, log σ² = encoder(x);  z = μ + exp(½ log σ²) ⊙ ε,  ε ~ N(0, I)
//	reconstruction_i = Σ_pixels BCE(decoder(z)_i, x_i)
//	kl_i = −½ Σ_j (1 + log σ²_ij − μ_ij² − σ²_ij)
//	loss = mean_i (reconstruction_i + β·kl_i)      (negative ELBO per image)
//
// then one optimizer step (default Adam, learning rate 1e-3). A step
// returns loss (the negative ELBO, β = 1), reconstruction and kl, in nats
// per image, whose running means train.Fit keeps; TestStep returns the
// same without training.
type VAETrainer struct {
	Model   *VAE
	Opt     optim.Optimizer
	Options VAEOptions

	params       []*autograd.Var
	avg          *VAE           // the averaged model; nil without EMA
	average      *train.Average // of Model's weights, into avg; nil without EMA
	pool         *autograd.Pool
	rngSrc       *rand.PCG
	rng, testRNG *rand.Rand
	eps, testEps *tensor.Tensor
}

// NewVAETrainer returns a trainer for m, which must be built (VAE.Build),
// with optimizer opt (nil: Adam with learning rate 1e-3). It returns an
// error for an unbuilt model or invalid options.
func NewVAETrainer(m *VAE, opt optim.Optimizer, o VAEOptions) (*VAETrainer, error) {
	if m == nil || m.Encoder == nil || m.Decoder == nil || m.ZMean == nil || m.ZLogVar == nil {
		return nil, errors.New("vae: NewVAETrainer needs a model with an encoder and a decoder")
	}
	params := nn.Trainable(m)
	if len(params) == 0 || m.ZMean.Kernel == nil {
		return nil, errors.New("vae: the model is not built (call Build first)")
	}
	if o.Beta < 0 || math.IsNaN(float64(o.Beta)) || !(o.EMA >= 0 && o.EMA < 1) {
		return nil, fmt.Errorf("vae: beta %v must not be negative and EMA decay %v must be in [0, 1)", o.Beta, o.EMA)
	}
	if opt == nil {
		opt = &optim.Adam{Base: optim.Base{LearningRate: 1e-3}}
	}
	t := &VAETrainer{Model: m, Opt: opt, Options: o, params: params, pool: autograd.NewPool()}
	if o.EMA > 0 {
		avg, err := NewVAEModel(m.Arch, m.Config)
		if err != nil {
			return nil, fmt.Errorf("vae: EMA needs a zoo VAE: %w", err)
		}
		if err := avg.Build(rand.New(rand.NewPCG(0, 0))); err != nil {
			return nil, err
		}
		if t.average, err = train.NewAverage(m, avg, o.EMA); err != nil {
			return nil, fmt.Errorf("vae: %w", err)
		}
		t.avg = avg
	}
	t.rngSrc = rand.NewPCG(o.Seed, 0x7ae)
	t.rng = rand.New(t.rngSrc)
	t.ResetMetrics()
	return t, nil
}

// ResetMetrics reseeds the evaluation noise (Fit and train.Evaluate call
// it first), so that every evaluation of one dataset gives the same
// numbers.
func (t *VAETrainer) ResetMetrics() {
	t.testRNG = rand.New(rand.NewPCG(t.Options.Seed, elboStream))
}

// Network returns the VAE.
func (t *VAETrainer) Network() nn.Layer { return t.Model }

// Averaged returns the model to evaluate and save: with EMA, a VAE holding
// the moving averages of the weights; without, the trained VAE itself.
func (t *VAETrainer) Averaged() *VAE {
	if t.avg != nil {
		return t.avg
	}
	return t.Model
}

// Optimizers returns the optimizer.
func (t *VAETrainer) Optimizers() []optim.Optimizer { return []optim.Optimizer{t.Opt} }

func (t *VAETrainer) beta() float32 {
	if t.Options.Beta == 0 {
		return 1
	}
	return t.Options.Beta
}

// stepLogs returns a batch's loss (β = 1), reconstruction and kl terms,
// the means of rec and kl [n].
func stepLogs(rec, kl *tensor.Tensor) train.Logs {
	n := float64(rec.Len())
	r, k := sum64(rec.Data())/n, sum64(kl.Data())/n
	return train.Logs{"loss": r + k, "reconstruction": r, "kl": k}
}

// TrainStep runs one optimization step on images b.X [n, 28, 28, 1] (or
// [n, 784]) with pixels in [0, 1] and returns the batch's loss,
// reconstruction and kl.
func (t *VAETrainer) TrainStep(b *data.Batch) (train.Logs, error) {
	x, err := imageBatch("vae", b)
	if err != nil {
		return nil, err
	}
	tape := autograd.NewTape(t.pool)
	defer tape.Release()
	tape.Watch(t.params...)
	rec, kl := t.Model.negELBO(&nn.Ctx{Training: true, RNG: t.rng}, x, t.rng, &t.eps)
	weighted := kl
	if beta := t.beta(); beta != 1 {
		weighted = autograd.Scale(kl, beta)
	}
	loss := autograd.Mean(autograd.Add(rec, weighted), false)
	logs := stepLogs(rec.Value, kl.Value)
	if lv := float64(loss.Item()); math.IsNaN(lv) || math.IsInf(lv, 0) {
		logs["loss"] = lv
		return logs, nil // Fit stops on it; the weights stay as they are
	}
	grads, err := tape.Gradients(loss, t.params...)
	if err != nil {
		return nil, err
	}
	if err := t.Opt.Step(t.params, grads); err != nil {
		return nil, err
	}
	t.average.Update()
	return logs, nil
}

// TestStep evaluates a batch without training (inference mode, one noise
// sample per image from the evaluation source) and returns its loss,
// reconstruction and kl.
func (t *VAETrainer) TestStep(b *data.Batch) (train.Logs, error) {
	x, err := imageBatch("vae", b)
	if err != nil {
		return nil, err
	}
	rec, kl := t.Model.negELBO(nil, x, t.testRNG, &t.testEps)
	return stepLogs(rec.Value, kl.Value), nil
}

// Parts returns what a checkpoint of the trainer holds: the weights
// ("model/..."), the optimizer's state ("optimizer/"), with EMA the
// averaged weights ("ema/…" and their update count) and the noise source.
func (t *VAETrainer) Parts() train.Parts {
	p := train.Parts{
		Networks:   map[string]nn.Layer{"model/": t.Model},
		Optimizers: map[string]optim.Optimizer{"optimizer/": t.Opt},
		RNGs:       map[string]*rand.PCG{"rng.vae": t.rngSrc},
	}
	if t.average != nil {
		p.Averages = map[string]*train.Average{"ema/": t.average}
	}
	return p
}
