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
			SigmoidBCERowsGradAcc(gz[:n], g, sig[:n], y, cols)
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
					if gw := float64(r+1) * (s - w); math.Abs(float64(gz[r*cols+j])-gw) > 1e-5*(1+math.Abs(gw)) {
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

func BenchmarkSigmoidBCERows(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	z, y, sig := make([]float32, 128*784), make([]float32, 128*784), make([]float32, 128*784)
	for i := range z {
		z[i], y[i] = float32(rng.NormFloat64()*3), rng.Float32()
	}
	loss := make([]float32, 128)
	b.SetBytes(int64(len(z) * 12))
	for i := 0; i < b.N; i++ {
		SigmoidBCERows(loss, sig, z, y, 784)
	}
}
