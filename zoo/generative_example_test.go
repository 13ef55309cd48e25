package zoo_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// A DCGAN trained by hand: the loop that train.Fit stands for, with the
// GAN's own step.
func ExampleGANTrainer() {
	m := zoo.NewDCGAN(zoo.GANConfig{Latent: 16, Width: 8})
	if err := m.Build(rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	g, _ := nn.CountParams(m.Generator)
	d, _ := nn.CountParams(m.Discriminator)
	fmt.Println("generator", g, "discriminator", d)

	tr, err := zoo.NewGANTrainer(m, nil, nil, zoo.GANOptions{LabelSmoothing: 0.1, Seed: 1})
	if err != nil {
		panic(err)
	}
	images := tensor.RandUniform(rand.New(rand.NewPCG(3, 4)), 0, 1, 8, 28, 28, 1) // pixels in [0, 1]
	logs, err := tr.TrainStep(&data.Batch{X: images})
	if err != nil {
		panic(err)
	}
	fmt.Println(logs.Keys())
	fmt.Println(m.Sample(4, 42).Shape())
	// Output:
	// generator 14769 discriminator 3001
	// [d_fake d_loss d_real g_loss]
	// [4 28 28 1]
}

func ExampleVAE() {
	m := zoo.NewVAE(zoo.VAEConfig{})
	if err := m.Build(rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	n, _ := nn.CountParams(m)
	fmt.Println(n, "parameters")
	x := tensor.RandUniform(rand.New(rand.NewPCG(3, 4)), 0, 1, 2, 28, 28, 1)
	rec, _ := m.Reconstruct(x)
	walk, _ := m.Interpolate(x.Slice(0, 1), x.Slice(1, 2), 8)
	fmt.Println(rec.Shape(), walk.Shape())
	// Output:
	// 652824 parameters
	// [2 28 28 1] [8 28 28 1]
}
