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
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < 3; i++ { // warm the buffer pool
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := step(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.batch*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
