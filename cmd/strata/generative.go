package main

import (
	"context"
	"io"

	runs "github.com/strata-dl/strata/run"
)

// generator is what the CLI needs of a GAN or a VAE.
type generator = runs.Generator

const genExamples = `  strata train --model dcgan --epochs 10          # samples_epoch_NNN.png every epoch
  strata train --model vae --epochs 10 --json      # test negative ELBO in nats per image
  strata train --model gan --label-smoothing 0.1 --d-steps 2
  strata train --model dcgan --g-steps 2 --ema 0.999      # two generator updates per batch; averaged generator
`

func cmdTrainGenerative(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", "train --model dcgan|gan|vae|cvae [flags]", genExamples, out)
	c := genConfig{}
	fs.StringVar(&c.Model, "model", "dcgan", "model: dcgan, gan, vae or cvae")
	fs.StringVar(&c.Data, "data", "mnist", "images: mnist or idx:DIR (MNIST-layout IDX files)")
	fs.IntVar(&c.Epochs, "epochs", 10, "number of epochs")
	fs.IntVar(&c.BatchSize, "batch-size", 0, "batch size (0: 64 for GANs, 128 for VAEs)")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: 2e-4 for GANs, 1e-3 for VAEs)")
	fs.StringVar(&c.LRSchedule, "lr-schedule", "constant", "learning-rate schedule: "+runs.Schedules+" (decays to 0 over the run)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed")
	fs.Float64Var(&c.LabelSmoothing, "label-smoothing", 0, "GAN: one-sided label smoothing of real targets (0.1: targets 0.9)")
	fs.IntVar(&c.DSteps, "d-steps", 1, "GAN: discriminator steps per generator step")
	fs.IntVar(&c.GSteps, "g-steps", 1, "GAN: generator steps (each on fresh noise) per batch on which the generator trains")
	fs.Float64Var(&c.EMA, "ema", -1, "decay of a moving average of the weights (GAN: the generator's) to sample from, evaluate and save; 0: off, -1: 0.995 for VAEs, off for GANs")
	fs.Float64Var(&c.Beta, "beta", 1, "VAE: weight of the KL term (β-VAE)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first N training images (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first N test images (0: all)")
	rf := addRunFlags(fs, "runs/MODEL-TIMESTAMP")
	if err := parseRun(fs, args, rf, &c); err != nil {
		return err
	}
	c.Defaults()
	res, err := runs.TrainGenerative(ctx, c, version(), rf.options(ctx, args))
	return rf.report(out, res, err)
}

// loadGenerator rebuilds a trained GAN or VAE from its run directory.
func loadGenerator(dir string) (generator, *genConfig, error) { return runs.LoadGenerator(dir) }
