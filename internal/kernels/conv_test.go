package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// geometries covers valid/padded windows, strides, dilations and channel
// counts, including C = 1 (the first layer of an MNIST CNN).
func geometries() []ConvGeom {
	var out []ConvGeom
	for _, c := range []int{1, 3, 19} { // 19: vector kernels and their scalar tail
		for _, k := range [][2]int{{1, 1}, {2, 2}, {3, 3}, {3, 2}, {4, 4}} {
			for _, s := range []int{1, 2} {
				for _, d := range []int{1, 2} {
					for _, pad := range []int{0, 1} {
						g := ConvGeom{N: 2, H: 7, W: 6, C: c, KH: k[0], KW: k[1], SH: s, SW: s, DH: d, DW: d, PadT: pad, PadL: pad}
						ekh, ekw := (g.KH-1)*d+1, (g.KW-1)*d+1
						g.OH = (g.H+2*pad-ekh)/s + 1
						g.OW = (g.W+2*pad-ekw)/s + 1
						out = append(out, g)
					}
				}
			}
		}
	}
	// Larger images, where most windows lie inside.
	for _, c := range []int{2, 19} {
		out = append(out, ConvGeom{N: 2, H: 18, W: 19, C: c, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 18, OW: 19})
	}
	return out
}

// at returns x at (n, ih, iw, c), or 0 with ok false in the padding.
func at(x []float32, g ConvGeom, n, ih, iw, c int) (float32, bool) {
	if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
		return 0, false
	}
	return x[((n*g.H+ih)*g.W+iw)*g.C+c], true
}

func TestIm2ColMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	gs := geometries()
	// Window rows of a multiple of 8 values, moved by copyRuns: CNNNet's
	// second layer, and 16 channels with padding and stride 2.
	gs = append(gs, ConvGeom{N: 2, H: 13, W: 13, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 11, OW: 11},
		ConvGeom{N: 2, H: 7, W: 6, C: 16, KH: 3, KW: 3, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 4, OW: 3},
		ConvGeom{N: 1, H: 6, W: 7, C: 8, KH: 2, KW: 2, SH: 1, SW: 1, DH: 1, DW: 1, OH: 5, OW: 6})
	for _, g := range gs {
		x := make([]float32, g.N*g.H*g.W*g.C)
		for i := range x {
			x[i] = rng.Float32()
		}
		kk := g.KH * g.KW * g.C
		for _, rowLen := range []int{kk, kk + 5} { // dense, and rows with unused values between them
			got := make([]float32, g.N*g.OH*g.OW*rowLen+3) // guard values past the end
			for i := range got {
				got[i] = -7
			}
			Im2Col(got, x, g, rowLen)
			for n := 0; n < g.N; n++ {
				for oh := 0; oh < g.OH; oh++ {
					for ow := 0; ow < g.OW; ow++ {
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								for c := 0; c < g.C; c++ {
									want, _ := at(x, g, n, oh*g.SH-g.PadT+kh*g.DH, ow*g.SW-g.PadL+kw*g.DW, c)
									i := ((n*g.OH+oh)*g.OW+ow)*rowLen + (kh*g.KW+kw)*g.C + c
									if got[i] != want {
										t.Fatalf("%+v: cols[%d] = %v, want %v", g, i, got[i], want)
									}
								}
							}
						}
					}
				}
			}
			for r := 0; r < g.N*g.OH*g.OW; r++ {
				for i := r*rowLen + kk; i < (r+1)*rowLen; i++ {
					if got[i] != -7 {
						t.Fatalf("%+v, stride %d: wrote %v into the unused value %d of row %d", g, rowLen, got[i], i-r*rowLen, r)
					}
				}
			}
			if !slices.Equal(got[len(got)-3:], []float32{-7, -7, -7}) {
				t.Fatalf("%+v: wrote past the end", g)
			}
		}
	}
}

// TestCopyRuns checks the vector strided copy against copyRunsGo, with
// guard values around every run.
func TestCopyRuns(t *testing.T) {
	for _, c := range []struct{ ds, ss, runs, n int }{{304, 32, 10, 96}, {20, 8, 3, 8}, {16, 48, 5, 16}, {7, 3, 4, 5}, {9, 9, 1, 0}} {
		src := make([]float32, c.runs*c.ss+c.n+8)
		for i := range src {
			src[i] = float32(i) + 0.5
		}
		want, got := make([]float32, c.runs*c.ds+c.n+8), make([]float32, c.runs*c.ds+c.n+8)
		for i := range want {
			want[i], got[i] = -7, -7
		}
		copyRunsGo(want, c.ds, src, c.ss, c.runs, c.n)
		copyRuns(got, c.ds, src, c.ss, c.runs, c.n)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: copyRuns differs from copyRunsGo", c)
		}
	}
}

// TestPatchStride checks that padded strides leave an odd number of cache
// lines between rows and stay within 7% of the dense size.
func TestPatchStride(t *testing.T) {
	for kk := 1; kk <= 4096; kk++ {
		ld := PatchStride(kk)
		if ld < kk || float64(ld) > 1.07*float64(kk) {
			t.Fatalf("PatchStride(%d) = %d", kk, ld)
		}
		if ld != kk && (ld*4/64)%2 != 1 {
			t.Fatalf("PatchStride(%d) = %d: %d cache lines per row", kk, ld, ld*4/64)
		}
	}
	if PatchStride(1024) == 1024 {
		t.Error("no padding for 4 KiB rows")
	}
}

func TestMaxPoolMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, g := range geometries() {
		x := make([]float32, g.N*g.H*g.W*g.C)
		for i := range x {
			x[i] = float32(rng.IntN(5)) // many ties: the first position wins
		}
		out := make([]float32, g.N*g.OH*g.OW*g.C)
		arg := make([]int32, len(out))
		MaxPool(out, arg, x, g)
		for n := 0; n < g.N; n++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					for c := 0; c < g.C; c++ {
						best, bi := float32(0), int32(-1)
						for kh := 0; kh < g.KH; kh++ {
							for kw := 0; kw < g.KW; kw++ {
								ih, iw := oh*g.SH-g.PadT+kh*g.DH, ow*g.SW-g.PadL+kw*g.DW
								if v, ok := at(x, g, n, ih, iw, c); ok && (bi < 0 || v > best) {
									best, bi = v, int32(((n*g.H+ih)*g.W+iw)*g.C+c)
								}
							}
						}
						if bi < 0 {
							best = 0
						}
						o := ((n*g.OH+oh)*g.OW+ow)*g.C + c
						if out[o] != best || arg[o] != bi {
							t.Fatalf("%+v: out[%d] = %v at %d, want %v at %d", g, o, out[o], arg[o], best, bi)
						}
					}
				}
			}
		}
	}
}

// BenchmarkMaxPool pools CNNNet's first activation (batch 32).
func BenchmarkMaxPool(b *testing.B) {
	g := ConvGeom{N: 32, H: 26, W: 26, C: 32, KH: 2, KW: 2, SH: 2, SW: 2, DH: 1, DW: 1, OH: 13, OW: 13}
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, g.N*g.H*g.W*g.C)
	for i := range x {
		x[i] = rng.Float32()
	}
	out := make([]float32, g.N*g.OH*g.OW*g.C)
	arg := make([]int32, len(out))
	b.SetBytes(int64(4 * len(x)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		MaxPool(out, arg, x, g)
	}
}

// TestMaxPoolValuesMatchesArgmaxPath checks the inference path (no
// argmax) against the training path.
func TestMaxPoolValuesMatchesArgmaxPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, g := range geometries() {
		x := make([]float32, g.N*g.H*g.W*g.C)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		a := make([]float32, g.N*g.OH*g.OW*g.C)
		b := make([]float32, len(a))
		MaxPool(a, make([]int32, len(a)), x, g)
		MaxPool(b, nil, x, g)
		if !slices.Equal(a, b) {
			t.Fatalf("%+v: inference max pooling differs from training's", g)
		}
	}
}

// TestConvAdjoints checks Col2ImAcc and MaxPoolGradAcc against scatter
// loops over their definitions (adding to what gx holds), and the writing
// MaxPoolGrad against the same from zero, over a gx filled with garbage
// (TestConvInputGrad covers col2im's writing variant).
func TestConvAdjoints(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	random := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.IntN(9)) - 4 // exact sums in any order
		}
		return x
	}
	for _, g := range geometries() {
		img := g.N * g.H * g.W * g.C
		rowLen := g.KH * g.KW * g.C
		cols := random(g.N * g.OH * g.OW * rowLen)
		base := random(img)
		want := slices.Clone(base)
		for n := 0; n < g.N; n++ {
			for oh := 0; oh < g.OH; oh++ {
				for ow := 0; ow < g.OW; ow++ {
					for kh := 0; kh < g.KH; kh++ {
						for kw := 0; kw < g.KW; kw++ {
							ih, iw := oh*g.SH-g.PadT+kh*g.DH, ow*g.SW-g.PadL+kw*g.DW
							if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
								continue
							}
							for c := 0; c < g.C; c++ {
								want[((n*g.H+ih)*g.W+iw)*g.C+c] += cols[((n*g.OH+oh)*g.OW+ow)*rowLen+(kh*g.KW+kw)*g.C+c]
							}
						}
					}
				}
			}
		}
		got := slices.Clone(base)
		Col2ImAcc(got, cols, g)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: Col2ImAcc differs from its definition", g)
		}

		x := random(img)
		out := make([]float32, g.N*g.OH*g.OW*g.C)
		arg := make([]int32, len(out))
		MaxPool(out, arg, x, g)
		gy := random(len(out))
		want = slices.Clone(base)
		for i, a := range arg {
			if a >= 0 {
				want[a] += gy[i]
			}
		}
		got = slices.Clone(base)
		MaxPoolGradAcc(got, gy, arg, g)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: MaxPoolGradAcc differs from its definition", g)
		}
		for i := range want {
			want[i] -= base[i]
		}
		got = random(img)
		MaxPoolGrad(got, gy, arg, g)
		if !slices.Equal(got, want) {
			t.Fatalf("%+v: MaxPoolGrad differs from MaxPoolGradAcc from zero", g)
		}
	}
}

// TestBiasActAndReluGrad checks the threaded one-pass kernels against
// plain loops or their serial twins, on sizes below and above the
// threading threshold.
func TestBiasActAndReluGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, size := range [][2]int{{3, 5}, {4096, 32}, {3000, 64}, {1, 1 << 17}} {
		rows, f := size[0], size[1]
		y := make([]float32, rows*f)
		bias := make([]float32, f)
		for i := range y {
			y[i] = rng.Float32()*2 - 1
		}
		for i := range bias {
			bias[i] = rng.Float32() - 0.5
		}
		for _, c := range []struct {
			name string
			bias []float32
			act  bool
		}{{"bias+relu", bias, true}, {"bias", bias, false}, {"relu", nil, true}} {
			want := slices.Clone(y)
			for i := range want {
				if c.bias != nil {
					want[i] += c.bias[i%f]
				}
				if c.act {
					want[i] = max(want[i], 0)
				}
			}
			got := slices.Clone(y)
			BiasAct(got, c.bias, c.act, Relu, 0)
			if !slices.Equal(got, want) {
				t.Errorf("%d×%d %s: BiasAct differs from the plain loop", rows, f, c.name)
			}
		}
		g := make([]float32, len(y))
		for i := range g {
			g[i] = rng.Float32()
		}
		want := make([]float32, len(y))
		for i, v := range y {
			if v > 0 {
				want[i] = g[i]
			}
		}
		got := make([]float32, len(y))
		UnaryGradThreaded(Relu, got, y, y, g, 0, false)
		if !slices.Equal(got, want) {
			t.Errorf("%d elements: UnaryGradThreaded(Relu) differs from the plain loop", len(y))
		}
		for _, op := range []UnaryOp{LeakyRelu, Tanh} {
			want, got := make([]float32, len(y)), make([]float32, len(y))
			Unary(op, want, y, 0.2)
			UnaryThreaded(op, got, y, 0.2)
			if !slices.Equal(got, want) {
				t.Errorf("%d elements: UnaryThreaded(%v) differs from Unary", len(y), op)
			}
			wantG, gotG := slices.Clone(g), slices.Clone(g)
			UnaryGradAcc(op, wantG, y, want, g, 0.2)
			UnaryGradThreaded(op, gotG, y, want, g, 0.2, true)
			if !slices.Equal(gotG, wantG) {
				t.Errorf("%d elements: UnaryGradThreaded(%v, acc) differs from UnaryGradAcc", len(y), op)
			}
		}
	}
}

// TestUnaryGrad checks that writing each unary op's input gradient
// (UnaryGrad, UnaryGradThreaded) gives what accumulating it into zeros
// gives (UnaryGradAcc), below and above the threading threshold.
func TestUnaryGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 7, 513, 1 << 17} {
		x, g := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], g[i] = rng.Float32()*4-2, rng.Float32()*2-1
		}
		x[0] = 0 // the kink
		for op := Neg; op <= Sign; op++ {
			p := float32(0.2)
			if op == PowScalar {
				p = 2
			}
			in := x
			if op == Log || op == Sqrt || op == PowScalar || op == Reciprocal {
				in = make([]float32, n)
				for i, v := range x {
					in[i] = abs32(v) + 0.5
				}
			}
			y := make([]float32, n)
			Unary(op, y, in, p)
			want := make([]float32, n)
			UnaryGradAcc(op, want, in, y, g, p)
			threaded := func(op UnaryOp, gx, x, y, gy []float32, p float32) { UnaryGradThreaded(op, gx, x, y, gy, p, false) }
			for _, grad := range []func(UnaryOp, []float32, []float32, []float32, []float32, float32){UnaryGrad, threaded} {
				got := make([]float32, n)
				for i := range got {
					got[i] = float32(math.NaN()) // every element must be written
				}
				grad(op, got, in, y, g, p)
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("op %d, %d elements: [%d] = %g, accumulated into zeros %g", op, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func abs32(v float32) float32 { return float32(math.Abs(float64(v))) }

// TestSumRowsAcc checks the column sums, through the per-row loop and the
// GEMM, against a plain loop (integer data: exact in any order).
func TestSumRowsAcc(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, size := range [][2]int{{3, 7}, {63, 32}, {64, 32}, {5000, 10}, {2000, 70}} {
		rows, n := size[0], size[1]
		x := make([]float32, rows*n)
		for i := range x {
			x[i] = float32(rng.IntN(7) - 3)
		}
		dst := make([]float32, n)
		want := make([]float32, n)
		for j := range dst {
			dst[j] = float32(j)
			want[j] = float32(j)
		}
		for i, v := range x {
			want[i%n] += v
		}
		SumRowsAcc(dst, x)
		if !slices.Equal(dst, want) {
			t.Errorf("%d×%d: SumRowsAcc differs from the plain loop", rows, n)
		}
	}
}

// TestConvInputGrad checks the grouped GEMM + col2im, writing and
// accumulating, against the whole GEMM followed by Col2ImAcc on every test
// geometry and on one whose patch rows are padded (PatchStride) and span
// several groups.
func TestConvInputGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	gs := append(geometries(), ConvGeom{N: 11, H: 14, W: 14, C: 64, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7})
	for _, g := range gs {
		for _, f := range []int{1, 5, 12, 64} {
			kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
			gz, w := make([]float32, rows*f), make([]float32, kk*f)
			for i := range gz {
				gz[i] = rng.Float32()*2 - 1
			}
			for i := range w {
				w[i] = rng.Float32()*2 - 1
			}
			base := make([]float32, g.N*g.H*g.W*g.C)
			for i := range base {
				base[i] = rng.Float32()
			}
			dcols := make([]float32, rows*kk)
			Sgemm(false, true, rows, kk, f, 1, gz, f, w, f, 0, dcols, kk)
			for _, acc := range []bool{false, true} {
				want := make([]float32, len(base)) // from zero, or from base
				if acc {
					copy(want, base)
				}
				Col2ImAcc(want, dcols, g)
				got := slices.Clone(base)
				ConvInputGrad(got, gz, w, g, f, acc)
				for i := range want { // within rounding: Sgemm takes dot products for kk = 1
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%+v f=%d acc=%v: gx[%d] = %v, want %v", g, f, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestConvForward checks the grouped im2col + GEMM against Im2Col followed
// by one Sgemm: the same patches, and the same outputs within rounding
// (Sgemm takes dot products for f = 1); without patches kept, the same
// outputs bit for bit.
func TestConvForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	gs := append(geometries(), ConvGeom{N: 11, H: 14, W: 14, C: 64, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7})
	for _, g := range gs {
		for _, f := range []int{1, 12, 64} {
			kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
			ld := PatchStride(kk)
			x, w := make([]float32, g.N*g.H*g.W*g.C), make([]float32, kk*f)
			for i := range x {
				x[i] = rng.Float32()*2 - 1
			}
			for i := range w {
				w[i] = rng.Float32()*2 - 1
			}
			wantCols, gotCols := make([]float32, rows*ld), make([]float32, rows*ld)
			Im2Col(wantCols, x, g, ld)
			want, got := make([]float32, rows*f), make([]float32, rows*f)
			Sgemm(false, false, rows, f, kk, 1, wantCols, ld, w, f, 0, want, f)
			ConvForward(got, gotCols, x, w, g, f, ld)
			if !slices.Equal(gotCols, wantCols) {
				t.Fatalf("%+v: patches differ from Im2Col's", g)
			}
			dropped := make([]float32, rows*f) // patches in scratch, not kept
			ConvForward(dropped, nil, x, w, g, f, ld)
			if !slices.Equal(dropped, got) {
				t.Fatalf("%+v f=%d: outputs with patches dropped differ from those with patches kept", g, f)
			}
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v f=%d: y[%d] = %v, want %v", g, f, i, got[i], want[i])
				}
			}
		}
	}
}

// TestIm2ColMaxPool2x2 checks the fused patches + convolution + pooling
// against Im2Col followed by ConvMaxPool2x2: the same patches (an odd last
// row included) and bit-identical outputs and winners.
func TestIm2ColMaxPool2x2(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, g := range geometries() {
		if g.OH < 2 || g.OW < 2 {
			continue
		}
		const f = 19
		kk := g.KH * g.KW * g.C
		ld := kk + 3
		x := make([]float32, g.N*g.H*g.W*g.C)
		k, bias := make([]float32, kk*f), make([]float32, f)
		for _, s := range [][]float32{x, k, bias} {
			for i := range s {
				s[i] = rng.Float32()*2 - 1
			}
		}
		rows, out := g.N*g.OH*g.OW, g.N*(g.OH/2)*(g.OW/2)*f
		wantCols, gotCols := make([]float32, rows*ld), make([]float32, rows*ld)
		Im2Col(wantCols, x, g, ld)
		want, wantArg := make([]float32, out), make([]int32, out)
		ConvMaxPool2x2(want, wantArg, wantCols, ld, k, bias, g, f, true, Tanh, 0)
		got, gotArg := make([]float32, out), make([]int32, out)
		Im2ColMaxPool2x2(got, gotArg, gotCols, ld, x, k, bias, g, f, true, Tanh, 0)
		for r := 0; r < rows; r++ {
			if !slices.Equal(gotCols[r*ld:r*ld+kk], wantCols[r*ld:r*ld+kk]) {
				t.Fatalf("%+v: patch row %d differs", g, r)
			}
		}
		if !slices.Equal(got, want) || !slices.Equal(gotArg, wantArg) {
			t.Fatalf("%+v: outputs or winners differ", g)
		}
		inf := make([]float32, out)
		Im2ColMaxPool2x2(inf, nil, nil, 0, x, k, bias, g, f, true, Tanh, 0)
		if !slices.Equal(inf, want) {
			t.Fatalf("%+v: inference outputs differ", g)
		}
		// Patches in scratch, winners kept (training with ConvKernelGrad).
		scr, scrArg := make([]float32, out), make([]int32, out)
		Im2ColMaxPool2x2(scr, scrArg, nil, 0, x, k, bias, g, f, true, Tanh, 0)
		if !slices.Equal(scr, want) || !slices.Equal(scrArg, wantArg) {
			t.Fatalf("%+v: outputs or winners with patches in scratch differ", g)
		}
	}
}

// TestConvKernelGrad checks the kernel and bias gradients split by
// images, the patches rebuilt in scratch, against the plain Pᵀ·gz (Im2Col
// and the reference GEMM) and Σ gz within rounding, for beta 0, 1 and 0.5, at odd batch
// sizes and batch 1, and that it gives the same bits at 1, 2 and 4
// threads.
func TestConvKernelGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	gs := geometries()
	for _, n := range []int{1, 3, 5} { // CNNNet's second layer, trimmed to 10×10
		gs = append(gs, ConvGeom{N: n, H: 13, W: 13, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 10, OW: 10})
	}
	gs = append(gs, ConvGeom{N: 7, H: 5, W: 5, C: 3, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 3, OW: 3})
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, g := range gs {
		const f = 19
		kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
		x, gz, base := make([]float32, g.N*g.H*g.W*g.C), make([]float32, rows*f), make([]float32, kk*f)
		for _, s := range [][]float32{x, gz, base} {
			for i := range s {
				s[i] = rng.Float32()*2 - 1
			}
		}
		cols := make([]float32, rows*kk)
		Im2Col(cols, x, g, kk)
		bias := base[:f]
		wantB := slices.Clone(bias) // gb += Σ gz
		for r := 0; r < rows; r++ {
			for j := range f {
				wantB[j] += gz[r*f+j]
			}
		}
		for _, beta := range []float32{0, 1, 0.5} {
			want := slices.Clone(base)
			sgemmRef(true, false, kk, f, rows, 1, cols, kk, gz, f, beta, want, f)
			var first, firstB []float32
			for _, procs := range []int{1, 2, 4} {
				runtime.GOMAXPROCS(procs)
				got, gotB := slices.Clone(base), slices.Clone(bias)
				ConvKernelGrad(got, gotB, x, gz, g, f, beta)
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%+v beta=%v threads=%d: gk[%d] = %v, want %v", g, beta, procs, i, got[i], want[i])
					}
				}
				for i := range wantB {
					if math.Abs(float64(gotB[i]-wantB[i])) > 1e-5*(1+math.Abs(float64(wantB[i]))) {
						t.Fatalf("%+v threads=%d: gb[%d] = %v, want %v", g, procs, i, gotB[i], wantB[i])
					}
				}
				if first == nil {
					first, firstB = got, gotB
				} else if !slices.Equal(got, first) || !slices.Equal(gotB, firstB) {
					t.Fatalf("%+v beta=%v: %d threads give other bits than 1", g, beta, procs)
				}
			}
		}
		noBias := slices.Clone(base) // gb nil: the kernel's gradient alone
		ConvKernelGrad(noBias, nil, x, gz, g, f, 0)
		if want := slices.Clone(base); len(want) > 0 {
			sgemmRef(true, false, kk, f, rows, 1, cols, kk, gz, f, 0, want, f)
			for i := range want {
				if math.Abs(float64(noBias[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
					t.Fatalf("%+v without gb: gk[%d] = %v, want %v", g, i, noBias[i], want[i])
				}
			}
		}
	}
}

// dcganGeoms are the 4×4 stride-2 "same" convolutions of the DCGAN at
// batch 64: the discriminator's conv1 (28×28×1 → 14×14) and conv2
// (14×14×64 → 7×7), whose adjoints are the generator's transposed
// convolutions convt2 and convt1.
func dcganGeoms() []ConvGeom {
	return []ConvGeom{
		{N: 64, H: 28, W: 28, C: 1, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 14, OW: 14},
		{N: 64, H: 14, W: 14, C: 64, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7},
	}
}

// BenchmarkPatchesDCGAN measures the patch matrix of the DCGAN's
// convolutions (Im2Col) and its adjoint (Col2ImAcc), the work around the
// GEMMs of a convolution and of a transposed convolution.
func BenchmarkPatchesDCGAN(b *testing.B) {
	for _, g := range dcganGeoms() {
		kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
		ld := PatchStride(kk)
		x, cols := make([]float32, g.N*g.H*g.W*g.C), make([]float32, rows*ld)
		name := fmt.Sprintf("C%d", g.C)
		b.Run("im2col/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * rows * kk))
			for i := 0; i < b.N; i++ {
				Im2Col(cols, x, g, ld)
			}
		})
		b.Run("col2im/"+name, func(b *testing.B) {
			b.SetBytes(int64(4 * rows * kk))
			for i := 0; i < b.N; i++ {
				Col2ImAcc(x, cols[:rows*kk], g)
			}
		})
	}
}

// BenchmarkConvForwardDCGAN measures the DCGAN discriminator's
// convolutions (im2col and GEMM, 64 output channels for conv1, 128 for
// conv2) with the patches kept for the weight gradient and with them
// dropped (cols nil, a constant kernel).
func BenchmarkConvForwardDCGAN(b *testing.B) {
	for i, g := range dcganGeoms() {
		f := 64 << i
		kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
		ld := PatchStride(kk)
		x, w, y := make([]float32, g.N*g.H*g.W*g.C), make([]float32, kk*f), make([]float32, rows*f)
		cols := make([]float32, rows*ld)
		for _, keep := range []bool{true, false} {
			pt, name := cols, fmt.Sprintf("C%d/kept", g.C)
			if !keep {
				pt, name = nil, fmt.Sprintf("C%d/dropped", g.C)
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					ConvForward(y, pt, x, w, g, f, ld)
				}
			})
		}
	}
}

// BenchmarkConvKernelGrad measures the kernel gradient of CNNNet's second
// convolution (13×13×32 → 10×10×64 trimmed for the pooling) at batch 32
// and 128: from a stored patch matrix (one Sgemm, its threads splitting
// the 288 rows of the result) and split by images with the patches rebuilt
// in scratch (ConvKernelGrad), bias gradient included in both.
func BenchmarkConvKernelGrad(b *testing.B) {
	for _, n := range []int{32, 128} {
		g := ConvGeom{N: n, H: 13, W: 13, C: 32, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1, OH: 10, OW: 10}
		const f = 64
		kk, rows := g.KH*g.KW*g.C, g.N*g.OH*g.OW
		ld := PatchStride(kk)
		x, gz := make([]float32, g.N*g.H*g.W*g.C), make([]float32, rows*f)
		for i := range x {
			x[i] = float32(i%7) - 3
		}
		for i := range gz {
			gz[i] = float32(i%5) - 2
		}
		cols, gk, gb := make([]float32, rows*ld), make([]float32, kk*f), make([]float32, f)
		Im2Col(cols, x, g, ld)
		b.Run(fmt.Sprintf("stored/batch%d", n), func(b *testing.B) {
			for b.Loop() {
				Sgemm(true, false, kk, f, rows, 1, cols, ld, gz, f, 0, gk, f)
				SumRowsAcc(gb, gz)
			}
		})
		b.Run(fmt.Sprintf("rebuilt/batch%d", n), func(b *testing.B) {
			for b.Loop() {
				ConvKernelGrad(gk, gb, x, gz, g, f, 0)
			}
		})
	}
}

// TestConvInputGrad4x4s2 checks the direct 4×4 stride-2 input gradient
// with every micro-kernel family, writing and accumulating, on one and
// two threads, against the whole GEMM followed by Col2ImAcc (its plain
// twin), at odd output sizes, batch 1, channel counts that leave partial
// panels and K blocks of unequal length; and that it runs on the
// DCGAN's layer.
func TestConvInputGrad4x4s2(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 9))
	gs := []ConvGeom{
		{N: 1, H: 6, W: 10, C: 16, OH: 3, OW: 5},
		{N: 3, H: 14, W: 14, C: 64, OH: 7, OW: 7},
		{N: 5, H: 2, W: 4, C: 80, OH: 1, OW: 2},
		{N: 2, H: 8, W: 6, C: 17, OH: 4, OW: 3},
	}
	for _, g := range gs {
		g.KH, g.KW, g.SH, g.SW, g.DH, g.DW, g.PadT, g.PadL = 4, 4, 2, 2, 1, 1, 1, 1
		for _, f := range []int{16, 131, 300} {
			kk, rows := 16*g.C, g.N*g.OH*g.OW
			gz, w := gemmRandSlice(rng, rows*f), gemmRandSlice(rng, kk*f)
			base := gemmRandSlice(rng, g.N*g.H*g.W*g.C)
			dcols := make([]float32, rows*kk)
			sgemmRef(false, true, rows, kk, f, 1, gz, f, w, f, 0, dcols, kk)
			for _, kern := range gemmKernels {
				if !conv4x4s2Fits(kern, g, f) {
					if g.C%kern.nr == 0 || kern.edge != nil {
						t.Fatalf("%+v f=%d: conv4x4s2Fits false for %s", g, f, kern.name)
					}
					continue
				}
				for _, acc := range []bool{false, true} {
					want := make([]float32, len(base))
					if acc {
						copy(want, base)
					}
					Col2ImAcc(want, dcols, g)
					var first []float32
					for _, threads := range []int{1, 2} {
						got := slices.Clone(base)
						convInputGrad4x4s2(kern, threads, got, gz, w, g, f, acc)
						for i := range want {
							if math.Abs(float64(got[i]-want[i])) > 1e-7*float64(f)*(1+math.Abs(float64(want[i]))) {
								t.Fatalf("%s %+v f=%d acc=%v threads=%d: gx[%d] = %v, want %v", kern.name, g, f, acc, threads, i, got[i], want[i])
							}
						}
						if first == nil {
							first = got
						} else if !slices.Equal(first, got) {
							t.Fatalf("%s %+v f=%d acc=%v: 2 threads differ from 1", kern.name, g, f, acc)
						}
					}
				}
			}
		}
	}
	dcgan := ConvGeom{N: 64, H: 14, W: 14, C: 64, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7}
	if !conv4x4s2Fits(gemmBest, dcgan, 128) {
		t.Error("the DCGAN's 14×14×64 → 7×7×128 layer does not take the direct input gradient")
	}
	if g := dcgan; func() bool { g.PadT = 0; return conv4x4s2Fits(gemmBest, g, 128) }() {
		t.Error("conv4x4s2Fits accepts a window without the top padding")
	}
}

// BenchmarkConvInputGradDCGAN measures the input gradient of the DCGAN's
// 14×14×64 → 7×7×128 convolution (batch 64; also its generator's first
// transposed convolution) directly (convInputGrad4x4s2) and as GEMM +
// col2im, in CPU time per call, with its operands in memory.
func BenchmarkConvInputGradDCGAN(b *testing.B) {
	g := ConvGeom{N: 64, H: 14, W: 14, C: 64, KH: 4, KW: 4, SH: 2, SW: 2, DH: 1, DW: 1, PadT: 1, PadL: 1, OH: 7, OW: 7}
	f := 128
	rng := rand.New(rand.NewPCG(1, 1))
	// Eight sets of operands (38 MB), taken in turn, so that each call
	// finds its operands in memory as in a training step, not in cache.
	var gzs, gxs [8][]float32
	for i := range gzs {
		gzs[i], gxs[i] = gemmRandSlice(rng, g.N*g.OH*g.OW*f), make([]float32, g.N*g.H*g.W*g.C)
	}
	w := gemmRandSlice(rng, 16*g.C*f)
	for _, direct := range []bool{true, false} {
		name := map[bool]string{true: "direct", false: "gemm_col2im"}[direct]
		b.Run(name, func(b *testing.B) {
			defer func(on bool) { conv4x4s2On = on }(conv4x4s2On)
			conv4x4s2On = direct
			ConvInputGrad(gxs[0], gzs[0], w, g, f, false)
			c0, i := processCPUSeconds(), 0
			for b.Loop() {
				i = (i + 1) % len(gzs)
				ConvInputGrad(gxs[i], gzs[i], w, g, f, false)
			}
			b.ReportMetric((processCPUSeconds()-c0)*1e3/float64(b.N), "cpu-ms/op")
			b.ReportMetric(2*float64(g.N*g.H*g.W*g.C)*4*float64(f)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
