package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkAttentionWorkload times forward and backward apart at the
// attention_T workloads' shape (batch 4, 4 heads, head size 64, no mask).
func BenchmarkAttentionWorkload(b *testing.B) {
	for _, T := range []int{256, 1024} {
		g := AttentionGeom{B: 4, H: 4, Tq: T, Tk: T, D: 64, Dv: 64, Scale: 0.125, Overwrite: true}
		rng := rand.New(rand.NewPCG(1, 2))
		n := g.B * T * g.H * g.D
		q, k, v, dout := randSlice(rng, n, 1), randSlice(rng, n, 1), randSlice(rng, n, 1), randSlice(rng, n, 1)
		out, lse := make([]float32, n), make([]float32, g.B*g.H*T)
		dq, dk, dv := make([]float32, n), make([]float32, n), make([]float32, n)
		probs := make([]float32, AttentionProbsLen(g)) // kept where the autograd op keeps them
		if len(probs) == 0 {
			probs = nil
		}
		AttentionForward(g, q, k, v, nil, out, lse, probs)
		b.Run(fmt.Sprintf("T=%d/fwd", T), func(b *testing.B) {
			c0 := processCPUSeconds()
			for range b.N {
				AttentionForward(g, q, k, v, nil, out, lse, probs)
			}
			b.ReportMetric((processCPUSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
		b.Run(fmt.Sprintf("T=%d/bwd", T), func(b *testing.B) {
			c0 := processCPUSeconds()
			for range b.N {
				AttentionBackward(g, q, k, v, nil, out, lse, probs, dout, dq, dk, dv)
			}
			b.ReportMetric((processCPUSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
		})
	}
}

func BenchmarkAttnGemmShapes(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	big := randSlice(rng, 1<<20, 1)
	c := make([]float32, 1<<20)
	for _, x := range []struct {
		name          string
		transA        bool
		m, n, k       int
		lda, ldb, ldc int
	}{
		{"S_ldq256", false, 64, 64, 64, 256, 64, 64},
		{"S_ldq64", false, 64, 64, 64, 64, 64, 64},
		{"dV_ldb256", true, 64, 64, 64, 64, 256, 256},
		{"dV_ldb64", true, 64, 64, 64, 64, 64, 64},
		{"dQ_ldb256", false, 64, 64, 64, 64, 256, 256},
		{"dQ_ldb64", false, 64, 64, 64, 64, 64, 64},
		{"dV_k128_ldb256", true, 64, 64, 128, 64, 256, 256},
		{"S_m96", false, 96, 64, 64, 64, 64, 64},
	} {
		b.Run(x.name, func(b *testing.B) {
			c0 := processCPUSeconds()
			for range b.N {
				attnGemm(x.transA, x.m, x.n, x.k, 1, big, x.lda, big[200000:], x.ldb, 1, c, x.ldc)
			}
			s := processCPUSeconds() - c0
			b.ReportMetric(2*float64(x.m*x.n*x.k)*float64(b.N)/s/1e9, "cpu-GFLOPs")
		})
	}
}
