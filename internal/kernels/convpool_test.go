package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// convPoolGeoms are the shapes ConvPool3x3 is tested on: CNNNet's first
// layer, odd outputs (a dropped row and column), padding, 64 channels.
func convPoolGeoms() []struct {
	g ConvGeom
	f int
} {
	mk := func(n, h, w, pad, f int) struct {
		g ConvGeom
		f int
	} {
		g := ConvGeom{N: n, H: h, W: w, C: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: pad, PadL: pad}
		g.OH, g.OW = h+2*pad-2, w+2*pad-2
		return struct {
			g ConvGeom
			f int
		}{g, f}
	}
	return []struct {
		g ConvGeom
		f int
	}{mk(3, 28, 28, 0, 32), mk(2, 9, 7, 0, 32), mk(2, 6, 5, 1, 64), mk(1, 4, 4, 0, 32), mk(2, 8, 11, 1, 32)}
}

// TestConvPool3x3MatchesIm2Col compares the direct kernels (each
// implementation of this build) with im2col + ConvMaxPool2x2 forward and
// with MaxPoolGrad, the weight-gradient GEMM and SumRowsAcc backward.
func TestConvPool3x3MatchesIm2Col(t *testing.T) {
	type impl struct {
		name string
		row  func(x []float32, xs int, w []float32, ws int, bias, y []float32, arg []int32, ys, npw, base, f, owf int, relu bool)
		grad func(x []float32, xs int, gp []float32, arg []int32, ys, nph, npw, base, f, owf int, acc []float32, as int)
	}
	impls := []impl{{"go", convPoolRowGo, convPoolGradGo}}
	if archConvPool() {
		impls = append(impls, impl{"avx512", convPoolRowAsm, convPoolGradAsm})
	}
	row0, grad0 := convPoolRow, convPoolGrad
	defer func() { convPoolRow, convPoolGrad = row0, grad0 }()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range convPoolGeoms() {
		g, f := tc.g, tc.f
		if !convPoolFits(g, f) {
			t.Fatalf("%+v f=%d does not fit", g, f)
		}
		x := uniformSlice(rng, g.N*g.H*g.W)
		k, bias := uniformSlice(rng, 9*f), uniformSlice(rng, f)
		ph, pw := g.OH/2, g.OW/2
		out := g.N * ph * pw * f
		cols := make([]float32, g.N*g.OH*g.OW*9)
		Im2Col(cols, x, g, 9)
		pool := ConvGeom{N: g.N, H: g.OH, W: g.OW, C: f, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, OH: ph, OW: pw}
		for _, relu := range []bool{false, true} {
			want, wantArg := make([]float32, out), make([]int32, out)
			ConvMaxPool2x2(want, wantArg, cols, 9, k, bias, g, f, relu, Relu, 0)
			z := make([]float32, g.N*g.OH*g.OW*f) // the unpooled output
			Sgemm(false, false, g.N*g.OH*g.OW, f, 9, 1, cols, 9, k, f, 0, z, f)
			biasActSerial(z, bias, relu, Relu, 0)
			gp := uniformSlice(rng, out)
			for _, im := range impls {
				convPoolRow, convPoolGrad = im.row, im.grad
				name := fmt.Sprintf("%s %dx%dx%d pad %d f %d relu %v", im.name, g.N, g.H, g.W, g.PadT, f, relu)
				got, gotArg := make([]float32, out+5), make([]int32, out+5)
				for i := out; i < out+5; i++ { // guards
					got[i], gotArg[i] = -7, -7
				}
				ConvPool3x3(got, gotArg, x, k, bias, g, f, relu)
				for i := 0; i < out; i++ {
					// The winner lies in the window and holds the maximum (two
					// pixels within rounding of each other may swap).
					j, q, h, n := i%f, i/f%pw, i/(f*pw)%ph, i/(f*pw*ph)
					base := ((n*g.OH+2*h)*g.OW+2*q)*f + j
					a := int(gotArg[i])
					inWindow := a == base || a == base+f || a == base+g.OW*f || a == base+g.OW*f+f
					if d := abs32(got[i] - want[i]); d > 1e-5 || !inWindow || abs32(z[a]-want[i]) > 1e-5 {
						t.Fatalf("%s: y[%d] = %v (winner %d), want %v (winner %d)", name, i, got[i], gotArg[i], want[i], wantArg[i])
					}
				}
				if got[out] != -7 || gotArg[out+4] != -7 {
					t.Fatalf("%s: wrote past the output", name)
				}
				noArg := make([]float32, out)
				ConvPool3x3(noArg, nil, x, k, bias, g, f, relu)
				for i := range noArg {
					if noArg[i] != got[i] {
						t.Fatalf("%s: without argmax y[%d] = %v, with %v", name, i, noArg[i], got[i])
					}
				}
				// Backward, from the winners the kernel chose, into buffers
				// holding a prior contribution (acc) and not.
				gz := make([]float32, g.N*g.OH*g.OW*f)
				MaxPoolGrad(gz, gp, gotArg, pool)
				refGK, refGB := make([]float32, 9*f), make([]float32, f)
				Sgemm(true, false, 9, f, g.N*g.OH*g.OW, 1, cols, 9, gz, f, 0, refGK, f)
				SumRowsAcc(refGB, gz)
				for _, acc := range []bool{false, true} {
					gk, gb := make([]float32, 9*f+3), make([]float32, f+3)
					for i := range gk {
						gk[i] = 0.5
					}
					for i := range gb {
						gb[i] = 0.25
					}
					ConvPool3x3Grad(gk[:9*f], gb[:f], x, gp, gotArg, g, f, acc)
					for i := 0; i < 9*f; i++ {
						w := refGK[i]
						if acc {
							w += 0.5
						}
						if d := abs32(gk[i] - w); d > 1e-4*(1+abs32(w)) {
							t.Fatalf("%s acc %v: gk[%d] = %v, want %v", name, acc, i, gk[i], w)
						}
					}
					for i := 0; i < f; i++ {
						if d := abs32(gb[i] - 0.25 - refGB[i]); d > 1e-4*(1+abs32(refGB[i])) {
							t.Fatalf("%s: gb[%d] = %v, want %v", name, i, gb[i]-0.25, refGB[i])
						}
					}
					if gk[9*f] != 0.5 || gb[f] != 0.25 {
						t.Fatalf("%s: wrote past the gradients", name)
					}
				}
			}
		}
	}
}

// BenchmarkConvPool3x3 compares CNNNet's first layer at batch 32 through
// im2col + ConvMaxPool2x2 (and the GEMM-based gradient) with the direct
// kernels.
func BenchmarkConvPool3x3(b *testing.B) {
	const n, f = 32, 32
	g := ConvGeom{N: n, H: 28, W: 28, C: 1, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 26, OW: 26}
	rng := rand.New(rand.NewPCG(1, 1))
	x, k, bias := uniformSlice(rng, n*28*28), uniformSlice(rng, 9*f), uniformSlice(rng, f)
	cols := make([]float32, n*26*26*9)
	y, arg := make([]float32, n*13*13*f), make([]int32, n*13*13*f)
	gp, gz := uniformSlice(rng, len(y)), make([]float32, n*26*26*f)
	gk, gb := make([]float32, 9*f), make([]float32, f)
	pool := ConvGeom{N: n, H: 26, W: 26, C: f, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, OH: 13, OW: 13}
	b.Run("forward/im2col", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			Im2Col(cols, x, g, 9)
			ConvMaxPool2x2(y, arg, cols, 9, k, bias, g, f, true, Relu, 0)
		}
	})
	b.Run("forward/direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ConvPool3x3(y, arg, x, k, bias, g, f, true)
		}
	})
	b.Run("backward/im2col", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			MaxPoolGrad(gz, gp, arg, pool)
			Sgemm(true, false, 9, f, n*26*26, 1, cols, 9, gz, f, 0, gk, f)
			SumRowsAcc(gb, gz)
		}
	})
	b.Run("backward/direct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			ConvPool3x3Grad(gk, gb, x, gp, arg, g, f, false)
		}
	})
}
