package main

import (
	"context"
	"io"
)

// cmdTrainGenerative trains the GAN and VAE models (dcgan, gan, vae, cvae).
func cmdTrainGenerative(ctx context.Context, args []string, out io.Writer) error {
	return usagef("generative models are not wired yet")
}
