package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestExpNeg32(t *testing.T) {
	for x := float64(0); x >= -80; x -= 0.0137 {
		got, want := float64(expNeg32(float32(x))), math.Exp(float64(float32(x)))
		if math.Abs(got-want) > 3e-7*want {
			t.Fatalf("expNeg32(%v) = %v, want %v", x, got, want)
		}
	}
	if expNeg32(-100) != 0 || expNeg32(0) != 1 {
		t.Errorf("expNeg32(-100) = %v, expNeg32(0) = %v", expNeg32(-100), expNeg32(0))
	}
}

func TestSigmoidBCERows(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cols := range []int{0, 1, 7, 8, 9, 31, 1000} {
		for _, rows := range []int{1, 3, 64} {
			n := rows * cols
			z, y := make([]float32, n+2), make([]float32, n+2)
			for i := range z {
				z[i] = float32(rng.NormFloat64() * 6)
				y[i] = rng.Float32()
			}
			if n > 3 {
				z[0], z[1], z[2] = 0, 95, -120 // extremes
			}
			loss := make([]float32, rows+1)
			sig := make([]float32, n+1)
			loss[rows], sig[n] = 42, 42 // guards
			SigmoidBCERows(loss[:rows], sig[:n], z, y, cols)
			if loss[rows] != 42 || sig[n] != 42 {
				t.Fatalf("cols %d: stray write", cols)
			}
			gz := make([]float32, n+1)
			g := make([]float32, rows)
			for r := range g {
				g[r] = float32(r + 1)
			}
			gz[n] = 42
			for i := range gz[:n] {
				gz[i] = float32(math.NaN()) // overwritten, never read
			}
			SigmoidBCERowsGrad(gz[:n], g, sig[:n], y, cols, false)
			SigmoidBCERowsGrad(gz[:n], g, sig[:n], y, cols, true) // twice the gradient
			if gz[n] != 42 {
				t.Fatalf("cols %d: stray write in gradient", cols)
			}
			for r := 0; r < rows; r++ {
				var want float64
				for j := 0; j < cols; j++ {
					v, w := float64(z[r*cols+j]), float64(y[r*cols+j])
					want += math.Max(v, 0) - v*w + math.Log1p(math.Exp(-math.Abs(v)))
					s := 1 / (1 + math.Exp(-v))
					if math.Abs(float64(sig[r*cols+j])-s) > 1e-6*s+1e-30 {
						t.Fatalf("σ(%v) = %v, want %v", v, sig[r*cols+j], s)
					}
					if gw := 2 * float64(r+1) * (s - w); math.Abs(float64(gz[r*cols+j])-gw) > 1e-5*(1+math.Abs(gw)) {
						t.Fatalf("gradient %v, want %v", gz[r*cols+j], gw)
					}
				}
				if math.Abs(float64(loss[r])-want) > 1e-6*(1+want) {
					t.Fatalf("rows %d cols %d: row %d loss %v, want %v", rows, cols, r, loss[r], want)
				}
			}
		}
	}
}

// TestBCEImpls runs every implementation of the row loops against the
// reference loops bceRow and bceGradRow on awkward lengths and offsets,
// with guards after each output.
func TestBCEImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, impl := range bceImpls {
		for _, n := range []int{0, 1, 7, 8, 9, 31, 1000} {
			for _, off := range []int{0, 1, 3} {
				z, y := make([]float32, off+n), make([]float32, off+n)
				for i := range z {
					z[i] = float32(rng.NormFloat64() * 8)
					y[i] = rng.Float32()
				}
				if n > 4 {
					z[off], z[off+1], z[off+2], z[off+3] = 0, 95, -120, float32(math.Copysign(0, -1))
				}
				z, y = z[off:], y[off:]
				sig, ref := make([]float32, n+1), make([]float32, n+1)
				sig[n], ref[n] = 42, 42
				got, want := impl.row(sig[:n], z, y), bceRow(ref[:n], z, y)
				if math.Abs(got-want) > 1e-6*(1+math.Abs(want)) || sig[n] != 42 {
					t.Fatalf("%s n=%d off=%d: row loss %v, want %v (guard %v)", impl.name, n, off, got, want, sig[n])
				}
				for i := range ref[:n] {
					if math.Abs(float64(sig[i]-ref[i])) > 2e-7 {
						t.Fatalf("%s n=%d: σ(%v) = %v, want %v", impl.name, n, z[i], sig[i], ref[i])
					}
				}
				if got2 := impl.row(nil, z, y); got2 != got {
					t.Fatalf("%s n=%d: row loss without σ %v, with %v", impl.name, n, got2, got)
				}
				for _, acc := range []bool{false, true} {
					for _, g := range []float32{0, 1.5} {
						d, dr := make([]float32, n+1), make([]float32, n+1)
						for i := range d {
							d[i] = float32(i % 5)
							dr[i] = d[i]
						}
						impl.grad(d[:n], ref[:n], y, g, acc)
						bceGradRow(dr[:n], ref[:n], y, g, acc)
						for i := range d {
							if d[i] != dr[i] {
								t.Fatalf("%s n=%d acc=%v g=%v: gradient[%d] %v, want %v", impl.name, n, acc, g, i, d[i], dr[i])
							}
						}
					}
				}
			}
		}
	}
}

func BenchmarkSigmoidBCERows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	z, y, sig := make([]float32, 128*784), make([]float32, 128*784), make([]float32, 128*784)
	for i := range z {
		z[i], y[i] = float32(rng.NormFloat64()*3), rng.Float32()
	}
	loss := make([]float32, 128)
	defer func(k *bceImpl) { bceKernels = k }(bceKernels)
	for _, impl := range bceImpls {
		bceKernels = impl
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(z) * 12))
			for i := 0; i < b.N; i++ {
				SigmoidBCERows(loss, sig, z, y, 784)
			}
		})
		b.Run(impl.name+"/grad", func(b *testing.B) {
			b.SetBytes(int64(len(z) * 12))
			for i := 0; i < b.N; i++ {
				SigmoidBCERowsGrad(z, loss, sig, y, 784, false)
			}
		})
	}
}
