package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// convKernelGradDirect is the plain twin of the kernel gradient: Pᵀ·δ from
// the definition, summed in float64, as [3, 3, C, f].
func convKernelGradDirect(x, gz []float32, g ConvGeom, f int) []float64 {
	gk := make([]float64, g.KH*g.KW*g.C*f)
	for n := 0; n < g.N; n++ {
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				d := gz[((n*g.OH+oh)*g.OW+ow)*f:][:f]
				for kh := 0; kh < g.KH; kh++ {
					for kw := 0; kw < g.KW; kw++ {
						for c := 0; c < g.C; c++ {
							v, ok := at(x, g, n, oh-g.PadT+kh, ow-g.PadL+kw, c)
							if !ok {
								continue
							}
							row := gk[((kh*g.KW+kw)*g.C+c)*f:][:f]
							for o, dv := range d {
								row[o] += float64(v) * float64(dv)
							}
						}
					}
				}
			}
		}
	}
	return gk
}

// TestWinogradKernelGrad checks WinogradKernelGrad against the definition
// (Pᵀ·δ in float64) and against the im2col form in float32, on odd output
// sizes (edge tiles half outside), "same" and "valid" padding, channel
// counts off the vector width, several tile blocks and groups, beta = 1,
// and the same bits at one thread as at several.
func TestWinogradKernelGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, tc := range []struct {
		g ConvGeom
		f int
	}{
		{winogradGeom(1, 3, 3, 1, 0), 1},
		{winogradGeom(2, 7, 6, 3, 1), 5},
		{winogradGeom(2, 7, 9, 19, 0), 17},
		{winogradGeom(3, 13, 13, 32, 0), 64}, // CNNNet's second convolution: 11×11 outputs
		{winogradGeom(9, 16, 16, 16, 1), 35}, // 576 tiles: several blocks
	} {
		g, f := tc.g, tc.f
		t.Run(fmt.Sprintf("%dx%dx%dx%d_f%d_pad%d", g.N, g.H, g.W, g.C, f, g.PadT), func(t *testing.T) {
			x, gz := uniformSlice(rng, g.N*g.H*g.W*g.C), uniformSlice(rng, g.N*g.OH*g.OW*f)
			want := convKernelGradDirect(x, gz, g, f)
			got := make([]float32, len(want))
			WinogradKernelGrad(got, x, gz, g, f, 0)
			ld := PatchStride(9 * g.C)
			cols := make([]float32, g.N*g.OH*g.OW*ld)
			Im2Col(cols, x, g, ld)
			im := make([]float32, len(want))
			Sgemm(true, false, 9*g.C, f, g.N*g.OH*g.OW, 1, cols, ld, gz, f, 0, im, f)
			// Each element sums N·OH·OW products of values in [−1, 1]:
			// rounding grows like the square root of their number.
			tol := 8e-6 * math.Sqrt(float64(g.N*g.OH*g.OW))
			var worst, worstIm float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i])-want[i]))
				worstIm = max(worstIm, math.Abs(float64(im[i])-want[i]))
			}
			t.Logf("max |Winograd − exact| = %.2g, |im2col − exact| = %.2g (tolerance %.2g)", worst, worstIm, tol)
			if worst > tol {
				t.Errorf("max |Winograd − exact| = %.3g, want ≤ %.3g", worst, tol)
			}
			// The same bits at one thread.
			one := make([]float32, len(want))
			prev := runtime.GOMAXPROCS(1)
			WinogradKernelGrad(one, x, gz, g, f, 0)
			runtime.GOMAXPROCS(prev)
			for i := range one {
				if one[i] != got[i] {
					t.Fatalf("gk[%d] = %g at one thread, %g at %d", i, one[i], got[i], prev)
				}
			}
			// beta = 1 adds to what is there.
			acc := make([]float32, len(want))
			for i := range acc {
				acc[i] = 1
			}
			WinogradKernelGrad(acc, x, gz, g, f, 1)
			for i := range acc {
				if acc[i] != got[i]+1 {
					t.Fatalf("beta = 1: gk[%d] = %g, want %g + 1", i, acc[i], got[i])
				}
			}
		})
	}
}

// TestWinogradGradTwins checks the AVX-512 transform of the output
// gradient against its pure-Go twin, edge tiles included.
func TestWinogradGradTwins(t *testing.T) {
	if !archWinograd() {
		t.Skip("no AVX-512 Winograd transforms here")
	}
	rng := rand.New(rand.NewPCG(13, 14))
	g, f := winogradGeom(2, 7, 8, 3, 0), 48 // 5×6 outputs: the last row of tiles is half outside
	th, tw := (g.OH+1)/2, (g.OW+1)/2
	gz, zero := uniformSlice(rng, g.N*g.OH*g.OW*f), make([]float32, f)
	for tile := 0; tile < g.N*th*tw; tile++ {
		want, got := make([]float32, 16*f), make([]float32, 16*f)
		winogradGradTile(want, f, gz, zero, g, f, th, tw, tile, false)
		winogradGradTile(got, f, gz, zero, g, f, th, tw, tile, true)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("tile %d: W[%d] = %g (AVX-512), %g (Go)", tile, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkWinogradKernelGrad compares, at one thread, the kernel gradient
// of the VGG's 3×3 convolutions (batch 32, kernels.BenchmarkWinograd's
// shapes) as im2col + Pᵀ·δ and through the Winograd transforms.
func BenchmarkWinogradKernelGrad(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range []struct{ n, h, c, f, pad int }{{32, 32, 64, 64, 1}, {32, 16, 64, 128, 1}, {32, 16, 128, 128, 1}, {32, 8, 128, 256, 1}, {32, 13, 32, 64, 0}, {128, 13, 32, 64, 0}} {
		g := winogradGeom(s.n, s.h, s.h, s.c, s.pad)
		rng := rand.New(rand.NewPCG(1, 1))
		x, gz := uniformSlice(rng, g.N*g.H*g.W*g.C), uniformSlice(rng, g.N*g.OH*g.OW*s.f)
		gk := make([]float32, 9*g.C*s.f)
		flops := 2 * float64(9*g.C*s.f*g.N*g.OH*g.OW)
		name := fmt.Sprintf("n%d-%dx%dx%d-%d", s.n, s.h, s.h, s.c, s.f)
		b.Run(name+"/im2col", func(b *testing.B) {
			ld := PatchStride(9 * g.C)
			cols := make([]float32, g.N*g.OH*g.OW*ld)
			cpu := processCPUSeconds()
			for i := 0; i < b.N; i++ {
				Im2Col(cols, x, g, ld)
				Sgemm(true, false, 9*g.C, s.f, g.N*g.OH*g.OW, 1, cols, ld, gz, s.f, 0, gk, s.f)
			}
			reportCPU(b, cpu, flops)
		})
		b.Run(name+"/winograd", func(b *testing.B) {
			cpu := processCPUSeconds()
			for i := 0; i < b.N; i++ {
				WinogradKernelGrad(gk, x, gz, g, s.f, 0)
			}
			reportCPU(b, cpu, flops)
		})
	}
}

// reportCPU reports the CPU time per operation since cpu (processCPUSeconds)
// and the nominal GFLOP/s (flops per operation) per CPU second, figures
// that a busy machine's descheduling does not depress at one thread.
func reportCPU(b *testing.B, cpu, flops float64) {
	if sec := processCPUSeconds() - cpu; sec > 0 {
		b.ReportMetric(sec*1e3/float64(b.N), "cpu-ms/op")
		b.ReportMetric(flops*float64(b.N)/sec/1e9, "GFLOP/cpu-s")
	}
}
