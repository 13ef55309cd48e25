package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// lnRef returns LayerNorm's output and gradients in float64 for x [rows, f]
// and output gradient dy.
func lnRef(x, gamma, beta, dy []float32, f int, eps float64) (y, dx, dg, db []float64) {
	rows := len(x) / f
	y, dx, dg, db = make([]float64, len(x)), make([]float64, len(x)), make([]float64, f), make([]float64, f)
	for r := range rows {
		var mu, v float64
		for j := range f {
			mu += float64(x[r*f+j])
		}
		mu /= float64(f)
		for j := range f {
			d := float64(x[r*f+j]) - mu
			v += d * d
		}
		rs := 1 / math.Sqrt(v/float64(f)+eps)
		var sg, sgx float64
		for j := range f {
			xh := (float64(x[r*f+j]) - mu) * rs
			y[r*f+j] = float64(gamma[j])*xh + float64(beta[j])
			g := float64(gamma[j]) * float64(dy[r*f+j])
			sg += g
			sgx += g * xh
			dg[j] += float64(dy[r*f+j]) * xh
			db[j] += float64(dy[r*f+j])
		}
		for j := range f {
			xh := (float64(x[r*f+j]) - mu) * rs
			dx[r*f+j] = rs * (float64(gamma[j])*float64(dy[r*f+j]) - sg/float64(f) - xh*sgx/float64(f))
		}
	}
	return y, dx, dg, db
}

// TestLayerNormKernels compares every LayerNorm implementation with the
// float64 reference on awkward widths, rows with a large mean (σ² by two
// passes), an unaligned start and guard values around the outputs; then
// the parallel entry points with the reference.
func TestLayerNormKernels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	near := func(what string, got float32, want, scale float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 2e-5*scale {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
	}
	for _, f := range []int{1, 7, 15, 16, 17, 31, 64, 128, 1000} {
		rows := 5
		n := rows * f
		x, dy := make([]float32, n+1)[1:], make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64()*3 + 100*float64(i/f%2)) // every other row has mean 100
			dy[i] = float32(rng.NormFloat64())
		}
		gamma, beta := make([]float32, f), make([]float32, f)
		for j := range gamma {
			gamma[j], beta[j] = float32(1+rng.NormFloat64()/4), float32(rng.NormFloat64())
		}
		yw, dxw, dgw, dbw := lnRef(x, gamma, beta, dy, f, 1e-5)
		for _, impl := range lnImpls {
			name := fmt.Sprintf("%s/f=%d", impl.name, f)
			y := make([]float32, n+2)
			mean, rstd := make([]float32, rows), make([]float32, rows)
			impl.fwd(y[1:n+1], x, gamma, beta, mean, rstd, f, 1e-5)
			dx, dg, db := make([]float32, n+2), make([]float32, f+2), make([]float32, f+2)
			for i := range dx {
				dx[i] = 0.5
			}
			impl.bwd(dx[1:n+1], dg[1:f+1], db[1:f+1], dy, x, gamma, mean, rstd, f)
			if y[0] != 0 || y[n+1] != 0 || dx[0] != 0.5 || dx[n+1] != 0.5 || dg[0] != 0 || dg[f+1] != 0 || db[0] != 0 || db[f+1] != 0 {
				t.Fatalf("%s: write outside the outputs", name)
			}
			for i := range n {
				near(name+" y", y[1+i], yw[i], 1)
				near(name+" dx", dx[1+i], 0.5+dxw[i], 1)
			}
			for j := range f {
				near(name+" dgamma", dg[1+j], dgw[j], math.Sqrt(float64(rows)))
				near(name+" dbeta", db[1+j], dbw[j], math.Sqrt(float64(rows)))
			}
		}
	}
	// The parallel entry points, with nil gradients left out.
	f, rows := 48, 3000
	x, dy := make([]float32, f*rows), make([]float32, f*rows)
	for i := range x {
		x[i], dy[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	gamma, beta := make([]float32, f), make([]float32, f)
	for j := range gamma {
		gamma[j], beta[j] = 1.5, 0.25
	}
	yw, dxw, dgw, _ := lnRef(x, gamma, beta, dy, f, 1e-5)
	y, mean, rstd := make([]float32, len(x)), make([]float32, rows), make([]float32, rows)
	LayerNormForward(y, x, gamma, beta, mean, rstd, f, 1e-5)
	dx, dg := make([]float32, len(x)), make([]float32, f)
	LayerNormBackward(dx, dg, nil, dy, x, gamma, mean, rstd, f)
	for i := range y {
		near("LayerNormForward", y[i], yw[i], 1)
		near("LayerNormBackward dx", dx[i], dxw[i], 1)
	}
	for j := range dg {
		near("LayerNormBackward dgamma", dg[j], dgw[j], math.Sqrt(float64(rows)))
	}
	dg2 := make([]float32, f)
	LayerNormBackward(nil, dg2, nil, dy, x, gamma, mean, rstd, f)
	for j := range dg {
		if dg2[j] != dg[j] {
			t.Fatalf("dgamma without dx: %v, with: %v", dg2[j], dg[j])
		}
	}
}

func BenchmarkLayerNorm(b *testing.B) {
	f, rows := 128, 4096
	x, y, dy := make([]float32, f*rows), make([]float32, f*rows), make([]float32, f*rows)
	for i := range x {
		x[i], dy[i] = float32(i%17), float32(i%5)
	}
	gamma, beta, dg, db := make([]float32, f), make([]float32, f), make([]float32, f), make([]float32, f)
	mean, rstd := make([]float32, rows), make([]float32, rows)
	for _, impl := range lnImpls {
		b.Run(impl.name+"/fwd", func(b *testing.B) {
			for range b.N {
				impl.fwd(y, x, gamma, beta, mean, rstd, f, 1e-5)
			}
		})
		b.Run(impl.name+"/bwd", func(b *testing.B) {
			for range b.N {
				impl.bwd(y, dg, db, dy, x, gamma, mean, rstd, f)
			}
		})
	}
}
