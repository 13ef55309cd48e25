package bench

import "testing"

// BenchmarkGenerativeStep measures one training step of the MLP VAE
// (batch 128) and of the DCGAN (batch 64, a discriminator and a generator
// step), allocations included.
func BenchmarkGenerativeStep(b *testing.B) {
	for _, c := range []struct {
		name, model string
		batch       int
	}{{"VAE/batch128", "vae", 128}, {"DCGAN/batch64", "dcgan", 64}} {
		b.Run(c.name, func(b *testing.B) {
			step, err := generativeStep(c.model, c.batch)
			benchSteps(b, step, err, 3, c.batch)
		})
	}
}
