package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// convDirect is the plain twin of the convolutions: the definition, summed
// in float64, for y [N, OH, OW, f] from x and the kernel w [KH, KW, C, f].
func convDirect(x, w []float32, g ConvGeom, f int) []float64 {
	y := make([]float64, g.N*g.OH*g.OW*f)
	for n := 0; n < g.N; n++ {
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				for o := 0; o < f; o++ {
					var s float64
					for kh := 0; kh < g.KH; kh++ {
						for kw := 0; kw < g.KW; kw++ {
							for c := 0; c < g.C; c++ {
								v, _ := at(x, g, n, oh-g.PadT+kh, ow-g.PadL+kw, c)
								s += float64(v) * float64(w[((kh*g.KW+kw)*g.C+c)*f+o])
							}
						}
					}
					y[((n*g.OH+oh)*g.OW+ow)*f+o] = s
				}
			}
		}
	}
	return y
}

func winogradGeom(n, h, w, c, pad int) ConvGeom {
	return ConvGeom{N: n, H: h, W: w, C: c, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: pad, PadL: pad,
		OH: h + 2*pad - 2, OW: w + 2*pad - 2}
}

// TestWinogradMatchesDirect checks WinogradConv3x3 against the definition
// and against the im2col form (ConvForward) on awkward sizes: odd outputs
// (tiles half outside), one-pixel outputs, "same" and "valid" padding,
// channel counts off the vector widths, more tiles than one block, and
// guard values around y that must survive.
func TestWinogradMatchesDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []struct {
		g ConvGeom
		f int
	}{
		{winogradGeom(1, 3, 3, 1, 0), 1},   // one output pixel
		{winogradGeom(2, 7, 6, 3, 1), 5},   // odd height, "same"
		{winogradGeom(2, 7, 9, 19, 0), 17}, // odd both, "valid"
		{winogradGeom(3, 13, 13, 32, 0), 64},
		{winogradGeom(2, 16, 16, 64, 1), 70},
		{winogradGeom(9, 10, 11, 5, 1), 3}, // odd width; 324 tiles (the C = 64 and C = 32 cases span two blocks)
	}
	for _, tc := range cases {
		g, f := tc.g, tc.f
		t.Run(fmt.Sprintf("%dx%dx%dx%d_f%d_pad%d", g.N, g.H, g.W, g.C, f, g.PadT), func(t *testing.T) {
			x := uniformSlice(rng, g.N*g.H*g.W*g.C)
			w := uniformSlice(rng, 9*g.C*f)
			want := convDirect(x, w, g, f)
			u := make([]float32, 16*g.C*f)
			WinogradKernel(u, w, g.C, f)
			const guard = 5
			buf := make([]float32, len(want)+2*guard)
			for i := range buf {
				buf[i] = -99
			}
			WinogradConv3x3(buf[guard:guard+len(want)], x, u, g, f)
			for i := 0; i < guard; i++ {
				if buf[i] != -99 || buf[len(buf)-1-i] != -99 {
					t.Fatalf("guard value overwritten")
				}
			}
			got := buf[guard : guard+len(want)]
			ld := PatchStride(9 * g.C)
			im := make([]float32, len(want))
			ConvForward(im, make([]float32, g.N*g.OH*g.OW*ld), x, w, g, f, ld)
			// |error| ≤ tol·(Σ|x·w| scale): the transforms add up to 4 inputs and 9 weights
			tol := 1e-5 * math.Sqrt(float64(9*g.C)) * 8
			var worst, worstIm float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i])-want[i]))
				worstIm = max(worstIm, math.Abs(float64(im[i])-want[i]))
			}
			t.Logf("max |Winograd − exact| = %.2g, |im2col − exact| = %.2g", worst, worstIm)
			if worst > tol {
				t.Errorf("max |Winograd − exact| = %.3g, want ≤ %.3g", worst, tol)
			}
		})
	}
}

// TestWinogradInputGrad checks that the input gradient of a 3×3
// convolution computed as a Winograd convolution of the output gradient
// (WinogradGradGeom, RotateKernel3x3) equals ConvInputGrad's, "same" and
// "valid".
func TestWinogradInputGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, pad := range []int{0, 1} {
		g, f := winogradGeom(2, 9, 8, 18, pad), 20
		gz, w := uniformSlice(rng, g.N*g.OH*g.OW*f), uniformSlice(rng, 9*g.C*f)
		want := make([]float32, g.N*g.H*g.W*g.C)
		ConvInputGrad(want, gz, w, g, f, false)
		gi, ok := WinogradGradGeom(g, f)
		if !ok {
			t.Fatal("no Winograd form for a 3×3 convolution")
		}
		rot, u := make([]float32, 9*g.C*f), make([]float32, 16*g.C*f)
		RotateKernel3x3(rot, w, g.C, f)
		WinogradKernel(u, rot, f, g.C)
		got := make([]float32, len(want))
		WinogradConv3x3(got, gz, u, gi, g.C)
		var worst float64
		for i := range want {
			worst = max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-4 {
			t.Errorf("pad %d: max |Winograd − ConvInputGrad| = %.3g", pad, worst)
		}
	}
}

// TestWinogradPool checks WinogradConv3x3Pool against WinogradConv3x3,
// bias, ReLU and 2×2 max pooling done one after the other, with channel
// counts on and off the vector width and guard values after y.
func TestWinogradPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []struct {
		g    ConvGeom
		f    int
		relu bool
	}{{winogradGeom(2, 8, 6, 16, 1), 35, true}, {winogradGeom(3, 10, 12, 20, 0), 32, false}} {
		g, f := tc.g, tc.f
		x, w, bias := uniformSlice(rng, g.N*g.H*g.W*g.C), uniformSlice(rng, 9*g.C*f), uniformSlice(rng, f)
		u := make([]float32, 16*g.C*f)
		WinogradKernel(u, w, g.C, f)
		full := make([]float32, g.N*g.OH*g.OW*f)
		WinogradConv3x3(full, x, u, g, f)
		ph, pw := g.OH/2, g.OW/2
		got := make([]float32, g.N*ph*pw*f+3)
		for i := range got {
			got[i] = -99
		}
		WinogradConv3x3Pool(got[:g.N*ph*pw*f], x, u, bias, g, f, tc.relu)
		for i := g.N * ph * pw * f; i < len(got); i++ {
			if got[i] != -99 {
				t.Fatal("guard value overwritten")
			}
		}
		for n := 0; n < g.N; n++ {
			for i := 0; i < ph; i++ {
				for j := 0; j < pw; j++ {
					for k := 0; k < f; k++ {
						v := float32(math.Inf(-1))
						for a := 0; a < 2; a++ {
							for b := 0; b < 2; b++ {
								v = max(v, full[((n*g.OH+2*i+a)*g.OW+2*j+b)*f+k]+bias[k])
							}
						}
						if tc.relu {
							v = max(v, 0)
						}
						if d := got[((n*ph+i)*pw+j)*f+k] - v; d > 1e-5 || d < -1e-5 {
							t.Fatalf("%+v: pooled (%d, %d, %d, %d) = %g, want %g", g, n, i, j, k, got[((n*ph+i)*pw+j)*f+k], v)
						}
					}
				}
			}
		}
	}
}

func uniformSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*rng.Float32() - 1
	}
	return s
}

// BenchmarkWinograd compares, at one thread, the VGG's 3×3 convolutions as
// im2col + GEMM (ConvForward) and as Winograd F(2×2, 3×3) (kernel
// transform included, as inference pays it per call), batch 32.
func BenchmarkWinograd(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for _, s := range []struct{ h, c, f int }{{32, 64, 64}, {16, 64, 128}, {16, 128, 128}, {8, 128, 256}} {
		g := winogradGeom(32, s.h, s.h, s.c, 1)
		rng := rand.New(rand.NewPCG(1, 1))
		x, w := uniformSlice(rng, g.N*g.H*g.W*g.C), uniformSlice(rng, 9*g.C*s.f)
		y := make([]float32, g.N*g.OH*g.OW*s.f)
		flops := 2 * float64(9*g.C*s.f*g.N*g.OH*g.OW)
		name := fmt.Sprintf("%dx%dx%d-%d", s.h, s.h, s.c, s.f)
		b.Run(name+"/im2col", func(b *testing.B) {
			ld := PatchStride(9 * g.C)
			cols := make([]float32, g.N*g.OH*g.OW*ld)
			for i := 0; i < b.N; i++ {
				ConvForward(y, cols, x, w, g, s.f, ld)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run(name+"/winograd", func(b *testing.B) {
			u := make([]float32, 16*g.C*s.f)
			for i := 0; i < b.N; i++ {
				WinogradKernel(u, w, g.C, s.f)
				WinogradConv3x3(y, x, u, g, s.f)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "eff-GFLOP/s")
		})
	}
}
