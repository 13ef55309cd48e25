package zoo

import (
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

// Sampler is a generative model that draws images: Sample returns n images
// [n, height, width, channels] with pixels in [0, 1], generated from noise
// drawn from a source seeded with seed (the same seed gives the same
// images, which makes a fixed-noise grid per epoch).
type Sampler interface {
	Sample(n int, seed uint64) *tensor.Tensor
}

// GANConfig sizes a GAN. Zero values mean the defaults in brackets.
type GANConfig struct {
	Latent int `json:"latent"` // size of the noise vector z [100]
	// Width is the base width: for dcgan the discriminator's first
	// filters (the generator mirrors it) [64]; for gan the generator's
	// first hidden layer (256 → 512 in G, 512 → 256 in D) [256].
	Width int `json:"width"`
}

// GAN is a generative adversarial network (Goodfellow et al. 2014): a
// generator G mapping noise z ~ N(0, I) [batch, Latent] to images
// [batch, 28, 28, 1] with pixels in [−1, 1] (tanh), and a discriminator D
// mapping images to one logit each, the log-odds that the image is real.
// They play min_G max_D E[log D(x)] + E[log(1 − D(G(z)))]; see GANTrainer
// for how they are trained.
//
// A GAN is an nn.Layer whose Forward runs the generator, so that
// nn.AllWeights names its weights "generator.<layer>.<weight>" and
// "discriminator.<layer>.<weight>" (the checkpoint format).
type GAN struct {
	Generator     *nn.Sequential
	Discriminator *nn.Sequential
	// Arch is the model's zoo name ("dcgan" or "gan") and Config its sizes,
	// for the architecture metadata of a checkpoint.
	Arch   string    `nn:"-"`
	Config GANConfig `nn:"-"`
}

// imageShape is the per-sample shape of the images the zoo's generative
// models produce and take: MNIST's 28×28×1.
var imageShape = []int{28, 28, 1}

// ImageShape returns the per-sample shape [28, 28, 1] of the images the
// generative models (dcgan, gan, vae, cvae) produce and take.
func ImageShape() []int { return append([]int(nil), imageShape...) }

// NewDCGAN returns an unbuilt DCGAN (Radford et al. 2016) for 28×28×1
// images; with the default config (Latent 100, Width 64):
//
//	G: z 100 → dense 7·7·128 → reshape 7×7×128 → bn1 → relu
//	   → convt1 64 (4×4, stride 2, same) 14×14 → bn2 → relu
//	   → convt2 1 (4×4, stride 2, same) 28×28 → tanh
//	D: conv1 64 (4×4, stride 2, same) → leaky relu 0.2
//	   → conv2 128 (4×4, stride 2, same) → bn2 → leaky relu 0.2
//	   → flatten → dense 1 (logit)
//
// The transposed convolutions are PyTorch's ConvTranspose2d(·, ·, 4, 2, 1).
// Layers followed by batch normalization have no bias; batch normalization
// uses PyTorch's momentum (Keras momentum 0.9) and ε = 1e-5; kernels are
// drawn from N(0, 0.02²) as in the paper. Weight names: generator.dense,
// generator.bn1, generator.convt1, generator.bn2, generator.convt2,
// discriminator.conv1, discriminator.conv2, discriminator.bn2,
// discriminator.dense.
func NewDCGAN(cfg GANConfig) *GAN {
	cfg = cfg.withDefaults(64)
	w := cfg.Width
	init := nn.RandomNormal{Stddev: 0.02}
	bn := func(name string) *nn.BatchNormalization {
		return &nn.BatchNormalization{Name: name, Momentum: 0.9, Epsilon: 1e-5}
	}
	k4s2 := func(name string, filters int, act string, noBias bool) *nn.ConvTranspose2D {
		return &nn.ConvTranspose2D{Name: name, Filters: filters, KernelSize: [2]int{4, 4}, Strides: [2]int{2, 2}, Padding: "same",
			Activation: act, NoBias: noBias, KernelInitializer: init}
	}
	g := &nn.Sequential{Name: "generator", Layers: []nn.Layer{
		&nn.Dense{Name: "dense", Units: 7 * 7 * 2 * w, NoBias: true, KernelInitializer: init},
		&nn.Reshape{Name: "reshape", Shape: []int{7, 7, 2 * w}},
		bn("bn1"),
		&nn.Activation{Name: "relu1", Fn: "relu"},
		k4s2("convt1", w, "", true),
		bn("bn2"),
		&nn.Activation{Name: "relu2", Fn: "relu"},
		k4s2("convt2", 1, "tanh", false),
	}}
	d := &nn.Sequential{Name: "discriminator", Layers: []nn.Layer{
		&nn.Conv2D{Name: "conv1", Filters: w, KernelSize: [2]int{4, 4}, Strides: [2]int{2, 2}, Padding: "same", Activation: "leaky_relu", KernelInitializer: init},
		&nn.Conv2D{Name: "conv2", Filters: 2 * w, KernelSize: [2]int{4, 4}, Strides: [2]int{2, 2}, Padding: "same", NoBias: true, KernelInitializer: init},
		bn("bn2"),
		&nn.LeakyReLU{Name: "lrelu2", Alpha: 0.2},
		&nn.Flatten{Name: "flatten"},
		&nn.Dense{Name: "dense", Units: 1, KernelInitializer: init},
	}}
	return &GAN{Generator: g, Discriminator: d, Arch: "dcgan", Config: cfg}
}

// NewGAN returns an unbuilt fully connected GAN, the architecture of the
// original paper's MNIST experiments with leaky rectifiers (slope 0.2)
// instead of maxout; with the default config:
//
//	G: z 100 → dense1 256 → dense2 512 → dense3 784 tanh → reshape 28×28×1
//	D: flatten → dense1 512 → dense2 256 → dense3 1 (logit)
//
// Kernels use Keras's default Glorot-uniform initialization.
func NewGAN(cfg GANConfig) *GAN {
	cfg = cfg.withDefaults(256)
	w := cfg.Width
	g := &nn.Sequential{Name: "generator", Layers: []nn.Layer{
		&nn.Dense{Name: "dense1", Units: w, Activation: "leaky_relu"},
		&nn.Dense{Name: "dense2", Units: 2 * w, Activation: "leaky_relu"},
		&nn.Dense{Name: "dense3", Units: tensor.Numel(imageShape), Activation: "tanh"},
		&nn.Reshape{Name: "reshape", Shape: ImageShape()},
	}}
	d := &nn.Sequential{Name: "discriminator", Layers: []nn.Layer{
		&nn.Flatten{Name: "flatten"},
		&nn.Dense{Name: "dense1", Units: 2 * w, Activation: "leaky_relu"},
		&nn.Dense{Name: "dense2", Units: w, Activation: "leaky_relu"},
		&nn.Dense{Name: "dense3", Units: 1},
	}}
	return &GAN{Generator: g, Discriminator: d, Arch: "gan", Config: cfg}
}

// NewGANModel returns the unbuilt GAN with the zoo name "dcgan" or "gan".
func NewGANModel(name string, cfg GANConfig) (*GAN, error) {
	switch name {
	case "dcgan":
		return NewDCGAN(cfg), nil
	case "gan":
		return NewGAN(cfg), nil
	}
	return nil, fmt.Errorf("unknown GAN %q (want dcgan or gan)", name)
}

func (c GANConfig) withDefaults(width int) GANConfig {
	if c.Latent <= 0 {
		c.Latent = 100
	}
	if c.Width <= 0 {
		c.Width = width
	}
	return c
}

// Latent returns the size of the noise vector.
func (m *GAN) Latent() int { return m.Config.withDefaults(1).Latent }

// Build creates and initializes the weights of both networks from rng
// (generator first) and names every weight by its full dotted path. It
// returns an error when the generator does not produce 28×28×1 images or
// the discriminator does not give one logit per image.
func (m *GAN) Build(rng *rand.Rand) error {
	out, err := nn.Build(m.Generator, []int{m.Latent()}, rng)
	if err != nil {
		return fmt.Errorf("generator: %w", err)
	}
	if !tensor.EqualShapes(out, imageShape) {
		return fmt.Errorf("generator output %v, want %v", out, imageShape)
	}
	if out, err = nn.Build(m.Discriminator, imageShape, rng); err != nil {
		return fmt.Errorf("discriminator: %w", err)
	}
	if tensor.Numel(out) != 1 {
		return fmt.Errorf("discriminator output %v, want one logit", out)
	}
	nameWeights(m)
	return nil
}

// nameWeights names every weight of l by its dotted path from l.
func nameWeights(l nn.Layer) {
	for _, w := range nn.AllWeights(l) {
		w.Var.SetName(w.Path)
	}
}

// Forward runs the generator: z [batch, Latent] → images [batch, 28, 28, 1]
// in [−1, 1].
func (m *GAN) Forward(c *nn.Ctx, z *autograd.Var) *autograd.Var { return m.Generator.Forward(c, z) }

// Sample returns n images [n, 28, 28, 1] with pixels in [0, 1] generated
// from noise drawn from a source seeded with seed, with batch
// normalization in inference mode (moving statistics), so that an image
// depends only on its noise vector. It panics if n < 1.
func (m *GAN) Sample(n int, seed uint64) *tensor.Tensor {
	z := tensor.Zeros(n, m.Latent())
	fillNormal(rand.New(rand.NewPCG(seed, sampleStream)), z.Data())
	return m.Generate(z)
}

// Generate returns the images [n, 28, 28, 1] with pixels in [0, 1] that
// the generator makes from the noise z [n, Latent] (inference mode).
func (m *GAN) Generate(z *tensor.Tensor) *tensor.Tensor {
	y := m.Generator.Forward(&nn.Ctx{}, autograd.Const(z)).Value
	out := tensor.UnaryInto(nil, tensor.OpAddScalar, y, 1)
	return tensor.UnaryInto(out, tensor.OpMulScalar, out, 0.5)
}

// sampleStream is the second word of the PCG seed of Sample's noise, so
// that sample seeds do not collide with training seeds.
const sampleStream = 0x5a3b1e

// fillNormal fills d with samples of N(0, 1) from rng.
func fillNormal(rng *rand.Rand, d []float32) {
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
}

// GANOptions are the hyperparameters of adversarial training. Zero values
// mean the defaults in brackets.
type GANOptions struct {
	// LabelSmoothing is one-sided label smoothing (Salimans et al. 2016):
	// the discriminator's target for real images is 1 − LabelSmoothing,
	// e.g. 0.1 for 0.9 [0: targets 1].
	LabelSmoothing float32 `json:"label_smoothing"`
	// DSteps is the number of discriminator updates per generator update:
	// the generator trains on every DSteps-th batch, the discriminator on
	// every batch [1].
	DSteps int `json:"d_steps"`
	// GSteps is the number of generator updates on a batch where the
	// generator trains, each on fresh noise [1].
	GSteps int `json:"g_steps"`
	// EMA, when in (0, 1), keeps an exponential moving average of the
	// generator's weights and batch-normalization statistics with this
	// decay (e.g. 0.999), the generator to sample from (Yazıcı et al.
	// 2019, https://arxiv.org/abs/1806.04498): averaging smooths out the
	// oscillation of adversarial training. See GANTrainer.Averaged [0: off].
	EMA float32 `json:"ema"`
	// Seed seeds the noise the trainer draws [0].
	Seed uint64 `json:"seed"`
}

// GANTrainer trains a GAN one batch at a time (the custom step that
// train.Fit calls). Each TrainStep on real images x, scaled from [0, 1] to
// [−1, 1] to match the generator's tanh, with z ~ N(0, I) and
// BCE(ℓ, y) = −y·log σ(ℓ) − (1 − y)·log(1 − σ(ℓ)) averaged over the batch:
//
//	fake := G(z)                                  (training mode)
//	D step: L_D = BCE(D(x), 1 − smoothing) + BCE(D(fake), 0)
//	        gradients for D's parameters only (fake is a constant here)
//	G step: L_G = BCE(D(fake), 1) = −mean log D(G(z))
//	        through the updated D, whose parameters are constants here
//
// The generator minimizes the non-saturating loss −log D(G(z)) rather
// than the minimax log(1 − D(G(z))), whose gradient vanishes while the
// discriminator confidently rejects the early, poor samples (Goodfellow et
// al. 2014, §3). This is the step of PyTorch's DCGAN example, including
// the reuse of one generator pass for both steps; DSteps and GSteps change
// the ratio of updates.
//
// A step returns d_loss, g_loss (on batches where G trains), d_real (mean
// D(x), the probability D gives real images) and d_fake (mean D(G(z))
// before the D update); train.Fit keeps their running means, checks them
// and checkpoints the trainer from its Parts. D and G each have their own
// optimizer; the defaults are Adam with learning rate 2e-4 and β1 = 0.5
// (Radford et al. 2016).
type GANTrainer struct {
	Model   *GAN
	DOpt    optim.Optimizer
	GOpt    optim.Optimizer
	Options GANOptions

	dParams, gParams []*autograd.Var
	avg              *GAN           // the averaged generator with the trained discriminator; nil without EMA
	average          *train.Average // of the generator's weights, into avg.Generator; nil without EMA
	pool             *autograd.Pool
	rngSrc           *rand.PCG
	rng              *rand.Rand
	steps            int // batches trained, for the D/G ratio

	real, z             *tensor.Tensor // per-batch buffers
	ones, smooth, zeros *tensor.Tensor // targets [n, 1]
}

// NewGANTrainer returns a trainer for m, which must be built (GAN.Build),
// with optimizers dOpt for the discriminator and gOpt for the generator
// (nil: Adam with learning rate 2e-4, β1 = 0.5). It returns an error for
// an unbuilt model or invalid options.
func NewGANTrainer(m *GAN, dOpt, gOpt optim.Optimizer, o GANOptions) (*GANTrainer, error) {
	if m == nil || m.Generator == nil || m.Discriminator == nil {
		return nil, errors.New("gan: NewGANTrainer needs a model with a generator and a discriminator")
	}
	t := &GANTrainer{Model: m, DOpt: dOpt, GOpt: gOpt, Options: o, pool: autograd.NewPool()}
	t.dParams, t.gParams = nn.Trainable(m.Discriminator), nn.Trainable(m.Generator)
	if len(t.dParams) == 0 || len(t.gParams) == 0 {
		return nil, errors.New("gan: the model is not built (call Build first)")
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing >= 1 || o.DSteps < 0 || o.GSteps < 0 || !(o.EMA >= 0 && o.EMA < 1) {
		return nil, fmt.Errorf("gan: label smoothing %v and EMA decay %v must be in [0, 1) and step counts %d, %d not negative", o.LabelSmoothing, o.EMA, o.DSteps, o.GSteps)
	}
	if o.EMA > 0 {
		if err := t.startAverage(); err != nil {
			return nil, err
		}
	}
	if t.DOpt == nil {
		t.DOpt = &optim.Adam{Base: optim.Base{LearningRate: 2e-4}, Beta1: 0.5}
	}
	if t.GOpt == nil {
		t.GOpt = &optim.Adam{Base: optim.Base{LearningRate: 2e-4}, Beta1: 0.5}
	}
	t.rngSrc = rand.NewPCG(o.Seed, 0x6a4)
	t.rng = rand.New(t.rngSrc)
	return t, nil
}

// startAverage builds the averaged GAN: a copy of the generator and the
// trained discriminator itself.
func (t *GANTrainer) startAverage() error {
	m := t.Model
	avg, err := NewGANModel(m.Arch, m.Config)
	if err != nil {
		return fmt.Errorf("gan: EMA needs a zoo GAN: %w", err)
	}
	if err := avg.Build(rand.New(rand.NewPCG(0, 0))); err != nil {
		return err
	}
	avg.Discriminator = m.Discriminator
	if t.average, err = train.NewAverage(m.Generator, avg.Generator, t.Options.EMA); err != nil {
		return fmt.Errorf("gan: %w", err)
	}
	t.avg = avg
	return nil
}

// Averaged returns the GAN to sample from and to save: with EMA, a GAN
// whose generator holds the moving averages and whose discriminator is the
// trained one; without, the trained GAN itself.
func (t *GANTrainer) Averaged() *GAN {
	if t.avg != nil {
		return t.avg
	}
	return t.Model
}

// Network returns the GAN (both networks' weights).
func (t *GANTrainer) Network() nn.Layer { return t.Model }

// Optimizers returns the discriminator's and the generator's optimizers.
func (t *GANTrainer) Optimizers() []optim.Optimizer { return []optim.Optimizer{t.DOpt, t.GOpt} }

// imageBatch returns b.X ([n, 28, 28, 1] or [n, 784]) viewed as
// [n, 28, 28, 1], or an error for any other shape.
func imageBatch(model string, b *data.Batch) (*tensor.Tensor, error) {
	if b == nil || b.X == nil || b.X.Rank() < 1 || b.X.Dim(0) == 0 {
		return nil, fmt.Errorf("%s: empty batch", model)
	}
	n := b.X.Dim(0)
	if b.X.Len() != n*tensor.Numel(imageShape) || (b.X.Rank() > 2 && !tensor.EqualShapes(b.X.Shape()[1:], imageShape)) {
		return nil, fmt.Errorf("%s: batch of shape %v, want [batch %d %d %d] images", model, b.X.Shape(), imageShape[0], imageShape[1], imageShape[2])
	}
	if b.X.Rank() > 2 {
		return b.X, nil
	}
	return b.X.Reshape(append([]int{n}, imageShape...)...), nil
}

// buffer returns *p resized to shape, reusing its storage when the element
// count matches.
func buffer(p **tensor.Tensor, shape ...int) *tensor.Tensor {
	if *p == nil || (*p).Len() != tensor.Numel(shape) {
		*p = tensor.Zeros(shape...)
	} else if !tensor.EqualShapes((*p).Shape(), shape) {
		(*p).ReshapeInPlace(shape)
	}
	return *p
}

// targets returns the label tensors [n, 1] for a batch of n.
func (t *GANTrainer) targets(n int) (ones, smooth, zeros *tensor.Tensor) {
	if t.ones == nil || t.ones.Dim(0) != n {
		t.ones = tensor.Full(1, n, 1)
		t.smooth = tensor.Full(1-t.Options.LabelSmoothing, n, 1)
		t.zeros = tensor.Zeros(n, 1)
	}
	return t.ones, t.smooth, t.zeros
}

// noise draws a fresh z [n, Latent] into the trainer's buffer.
func (t *GANTrainer) noise(n int) *tensor.Tensor {
	z := buffer(&t.z, n, t.Model.Latent())
	fillNormal(t.rng, z.Data())
	return z
}

// TrainStep runs the discriminator step and, on every DSteps-th batch,
// GSteps generator steps on a batch of real images b.X [n, 28, 28, 1] (or
// [n, 784]) with pixels in [0, 1], and returns the batch's losses and
// discriminator outputs.
func (t *GANTrainer) TrainStep(b *data.Batch) (train.Logs, error) {
	x, err := imageBatch("gan", b)
	if err != nil {
		return nil, err
	}
	n := x.Dim(0)
	real := buffer(&t.real, x.Shape()...)
	tensor.UnaryInto(real, tensor.OpMulScalar, x, 2)
	tensor.UnaryInto(real, tensor.OpAddScalar, real, -1)
	t.steps++

	// One generator pass serves both steps: its tape watches G, and the
	// D step reads only the values.
	tg := autograd.NewTape(t.pool)
	tg.Watch(t.gParams...)
	ctx := &nn.Ctx{Training: true, RNG: t.rng}
	fake := t.Model.Generator.Forward(ctx, autograd.Const(t.noise(n)))
	logs, err := t.discriminatorStep(real, fake.Value)
	if err != nil || t.steps%max(t.Options.DSteps, 1) != 0 {
		tg.Release()
		return logs, err
	}
	var gLoss float64
	gSteps := max(t.Options.GSteps, 1)
	for i := 0; i < gSteps; i++ {
		if i > 0 {
			tg = autograd.NewTape(t.pool)
			tg.Watch(t.gParams...)
			fake = t.Model.Generator.Forward(ctx, autograd.Const(t.noise(n)))
		}
		lv, err := t.generatorStep(tg, fake)
		tg.Release()
		if err != nil {
			return nil, err
		}
		gLoss += lv / float64(gSteps)
	}
	logs["g_loss"] = gLoss
	return logs, nil
}

// discriminatorStep updates D on real and fake images (constants) and
// returns d_loss, d_real and d_fake.
func (t *GANTrainer) discriminatorStep(real, fake *tensor.Tensor) (train.Logs, error) {
	n := real.Dim(0)
	_, smooth, zeros := t.targets(n)
	tape := autograd.NewTape(t.pool)
	defer tape.Release()
	tape.Watch(t.dParams...)
	ctx := &nn.Ctx{Training: true, RNG: t.rng}
	lr := t.Model.Discriminator.Forward(ctx, autograd.Const(real))
	lf := t.Model.Discriminator.Forward(ctx, autograd.Const(fake))
	loss := autograd.Add(
		autograd.Mean(autograd.SigmoidBinaryCrossEntropy(lr, smooth), false),
		autograd.Mean(autograd.SigmoidBinaryCrossEntropy(lf, zeros), false))
	logs := train.Logs{"d_loss": float64(loss.Item()), "d_real": meanSigmoid(lr.Value.Data()), "d_fake": meanSigmoid(lf.Value.Data())}
	if lv := logs["d_loss"]; math.IsNaN(lv) || math.IsInf(lv, 0) {
		return logs, nil // Fit stops on it; the weights stay as they are
	}
	grads, err := tape.Gradients(loss, t.dParams...)
	if err != nil {
		return nil, err
	}
	if err := t.DOpt.Step(t.dParams, grads); err != nil {
		return nil, fmt.Errorf("discriminator optimizer: %w", err)
	}
	return logs, nil
}

// generatorStep updates G through D on the fake images recorded on tape
// and returns its loss.
func (t *GANTrainer) generatorStep(tape *autograd.Tape, fake *autograd.Var) (float64, error) {
	n := fake.Value.Dim(0)
	ones, _, _ := t.targets(n)
	lf := t.Model.Discriminator.Forward(&nn.Ctx{Training: true, RNG: t.rng}, fake)
	loss := autograd.Mean(autograd.SigmoidBinaryCrossEntropy(lf, ones), false)
	lv := float64(loss.Item())
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return lv, nil
	}
	grads, err := tape.Gradients(loss, t.gParams...)
	if err != nil {
		return 0, err
	}
	if err := t.GOpt.Step(t.gParams, grads); err != nil {
		return 0, fmt.Errorf("generator optimizer: %w", err)
	}
	t.average.Update()
	return lv, nil
}

// recoverShape turns a shape panic of the inference helpers into the error
// it carries.
func recoverShape(err *error) {
	if r := recover(); r != nil {
		*err = nn.AsError(r)
	}
}

// meanSigmoid returns the mean of σ(v) over logits.
func meanSigmoid(logits []float32) float64 {
	var s float64
	for _, v := range logits {
		s += 1 / (1 + math.Exp(-float64(v)))
	}
	return s / float64(max(len(logits), 1))
}

// Parts returns what a checkpoint of the trainer holds: the weights
// ("model/generator...", "model/discriminator..."), both optimizers'
// state ("optimizer_d/", "optimizer_g/"), with EMA the averaged generator
// ("ema/generator.…" and its update count), the noise source and the step
// counter.
func (t *GANTrainer) Parts() train.Parts {
	p := train.Parts{
		Networks:   map[string]nn.Layer{"model/": t.Model},
		Optimizers: map[string]optim.Optimizer{"optimizer_d/": t.DOpt, "optimizer_g/": t.GOpt},
		RNGs:       map[string]*rand.PCG{"rng.gan": t.rngSrc},
		Counters:   map[string]*int{"gan.steps": &t.steps},
	}
	if t.average != nil {
		p.Averages = map[string]*train.Average{"ema/generator.": t.average}
	}
	return p
}
