package kernels

import (
	"fmt"
	"math"
	"testing"
)

// geluGradRef is the float64 reference of GeluErfGrad's factor
// Φ(x) + x·φ(x).
func geluGradRef(x float32) float64 {
	u := float64(x)
	return 0.5*math.Erfc(-u/math.Sqrt2) + u*math.Exp(-u*u/2)/math.Sqrt(2*math.Pi)
}

// geluInputs returns n inputs spread over [−14, 14], denser near 0, with
// 0, −0 and tiny values among them.
func geluInputs(n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		u := float64(i%4001-2000) / 2000 // −1 … 1
		x[i] = float32(14 * u * math.Abs(u))
	}
	if n > 3 {
		x[1], x[2], x[3] = float32(math.Copysign(0, -1)), 1e-30, -3e-8
	}
	return x
}

// TestGeluErf compares every implementation of the exact GELU and its
// gradient with the float64 formulas (relative error within
// 4e-7 + 1.2e-7·x², plus 1e-36 absolute for results near float32's
// smallest normal; the gradient's relative to |Φ| + |x·φ|) and with the Go twin, on awkward lengths, an unaligned
// start and guard values past the end.
func TestGeluErf(t *testing.T) {
	for _, impl := range geluImpls {
		for _, n := range []int{0, 1, 7, 15, 16, 17, 31, 255, 256, 257, 1000, 8001} {
			t.Run(fmt.Sprintf("%s/%d", impl.name, n), func(t *testing.T) {
				x := geluInputs(n + 1)[1:] // unaligned
				y := make([]float32, n+2)
				impl.fwd(y[1:n+1], x)
				gy := make([]float32, n)
				for i := range gy {
					gy[i] = float32(i%3) - 0.5
				}
				g := make([]float32, n+2)
				for i := range g {
					g[i] = 0.25
				}
				impl.grad(g[1:n+1], x, gy, true)
				if y[0] != 0 || y[n+1] != 0 || g[0] != 0.25 || g[n+1] != 0.25 {
					t.Fatalf("write outside [0, %d)", n)
				}
				yt, gt := make([]float32, n), make([]float32, n)
				for i := range gt {
					gt[i] = 0.25
				}
				geluErfGo(yt, x)
				geluErfGradGo(gt, x, gy, true)
				for i, v := range x {
					u := float64(v)
					tol := 4e-7 + 1.2e-7*u*u
					want, dwant := geluErfRef(v), 0.25+float64(gy[i])*geluGradRef(v)
					if math.Abs(float64(y[1+i])-want) > tol*math.Abs(want)+1e-36 {
						t.Fatalf("gelu(%v) = %v, want %v (error %.2g relative)", v, y[1+i], want, math.Abs(float64(y[1+i])-want)/math.Abs(want))
					}
					// Φ + x·φ cancels for x < 0: the error is relative to |Φ| + |x·φ|.
					scale := 0.5*math.Erfc(-u/math.Sqrt2) + math.Abs(u)*math.Exp(-u*u/2)/math.Sqrt(2*math.Pi)
					if math.Abs(float64(g[1+i])-dwant) > tol*math.Abs(float64(gy[i]))*scale+1e-7 {
						t.Fatalf("gelu'(%v)·%v + 0.25 = %v, want %v", v, gy[i], g[1+i], dwant)
					}
					if d := math.Abs(float64(y[1+i] - yt[i])); d > 2*tol*math.Abs(float64(yt[i]))+1e-36 {
						t.Fatalf("gelu(%v): %s %v, Go twin %v", v, impl.name, y[1+i], yt[i])
					}
					if d := math.Abs(float64(g[1+i] - gt[i])); d > 2*tol*math.Abs(float64(gy[i]))*scale+1e-7 {
						t.Fatalf("gelu'(%v): %s %v, Go twin %v", v, impl.name, g[1+i], gt[i])
					}
				}
			})
		}
	}
}

// TestGeluErfParallel checks that the parallel GeluErf and GeluErfGrad
// equal their implementation on one thread (and that acc false writes).
func TestGeluErfParallel(t *testing.T) {
	n := 3*geluGrain + 5
	x := geluInputs(n)
	y, want := make([]float32, n), make([]float32, n)
	GeluErf(y, x)
	geluImpl.fwd(want, x)
	g, gwant := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i) // overwritten
	}
	GeluErfGrad(g, x, x, false)
	geluImpl.grad(gwant, x, x, true)
	for i := range y {
		if y[i] != want[i] || g[i] != gwant[i] {
			t.Fatalf("element %d: %v, %v; one thread %v, %v", i, y[i], g[i], want[i], gwant[i])
		}
	}
}

func BenchmarkGeluErf(b *testing.B) {
	x := geluInputs(1 << 16)
	y := make([]float32, len(x))
	for _, impl := range geluImpls {
		b.Run(impl.name+"/fwd", func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for range b.N {
				impl.fwd(y, x)
			}
		})
		b.Run(impl.name+"/grad", func(b *testing.B) {
			b.SetBytes(int64(4 * len(x)))
			for range b.N {
				impl.grad(y, x, x, true)
			}
		})
	}
}
