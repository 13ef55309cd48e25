package bench

import (
	"context"
	"math/rand/v2"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// generativeStep returns one training step of the DCGAN (one
// discriminator and one generator step) or the MLP VAE on random images
// [batch, 28, 28, 1] in [0, 1], through the same trainers strata train
// uses.
func generativeStep(model string, batch int) (func() error, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var t train.Trainer
	switch model {
	case "dcgan":
		m := zoo.NewDCGAN(zoo.GANConfig{})
		if err := m.Build(rng); err != nil {
			return nil, err
		}
		gt, err := zoo.NewGANTrainer(m, nil, nil, zoo.GANOptions{Seed: 1})
		if err != nil {
			return nil, err
		}
		t = gt
	default:
		m := zoo.NewVAE(zoo.VAEConfig{})
		if err := m.Build(rng); err != nil {
			return nil, err
		}
		vt, err := zoo.NewVAETrainer(m, nil, zoo.VAEOptions{Seed: 1})
		if err != nil {
			return nil, err
		}
		t = vt
	}
	b := &data.Batch{X: tensor.RandUniform(rng, 0, 1, batch, 28, 28, 1)}
	return func() error { _, err := t.TrainStep(b); return err }, nil
}

func generativeWorkload(name, model string, batch, steps int) func(ctx context.Context, o Options) (Result, error) {
	return func(ctx context.Context, o Options) (Result, error) {
		step, err := generativeStep(model, batch)
		if err != nil {
			return Result{}, err
		}
		n := o.Steps
		if steps > 0 {
			n = max(5, o.Steps/steps)
		}
		s, err := timed(ctx, n, step)
		r := result(name)
		r.SamplesPerSec = float64(batch) / s
		return r, err
	}
}

func init() {
	// torch_bench.py times the DCGAN over steps/4 steps.
	register("dcgan_step", generativeWorkload("dcgan_step", "dcgan", 64, 4))
	register("vae_train", generativeWorkload("vae_train", "vae", 128, 0))
}
