package kernels

import (
	"math"
	"testing"
)

// TestGeluErf compares the fast exact GELU and its gradient with the
// float64 formulas on awkward lengths and a wide range of inputs.
func TestGeluErf(t *testing.T) {
	for _, n := range []int{0, 1, 7, 255, 256, 257, 40000} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(i%2001-1000) / 100 // −10 … 10
		}
		y := append(make([]float32, n), 42)
		GeluErf(y[:n], x)
		gy := make([]float32, n)
		for i := range gy {
			gy[i] = 1
		}
		g := append(make([]float32, n), 42)
		GeluErfGradAcc(g[:n], x, gy)
		if y[n] != 42 || g[n] != 42 {
			t.Fatalf("n=%d: write past the end", n)
		}
		for i, v := range x {
			u := float64(v)
			want := geluErfRef(v)
			dwant := 0.5*(1+math.Erf(u/math.Sqrt2)) + u*math.Exp(-u*u/2)/math.Sqrt(2*math.Pi)
			if math.Abs(float64(y[i])-want) > 2e-6*math.Max(1, math.Abs(u)) || math.Abs(float64(g[i])-dwant) > 2e-6 {
				t.Fatalf("x=%v: gelu %v (want %v), grad %v (want %v)", v, y[i], want, g[i], dwant)
			}
		}
	}
}
