package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

var simdLengths = []int{0, 1, 7, 8, 9, 31, 32, 33, 1000}

// simdInput returns n values of the kind the op sees: mostly in [-scale,
// scale], with some zeros, and (when special) infinities, NaNs, huge and
// subnormal values.
func simdInput(rng *rand.Rand, n int, scale float32, special bool) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (rng.Float32()*2 - 1) * scale
		if special && rng.IntN(8) == 0 {
			x[i] = []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
				float32(math.NaN()), 1e30, -1e30, 1e-40, -1e-40, 88.5, -88, 100, -100}[rng.IntN(13)]
		}
	}
	return x
}

// simdGuarded returns a slice of n elements at offset off (an odd offset
// unaligns it) inside a buffer filled with guard values, and a check that
// the guards are intact.
func simdGuarded(n, off int) ([]float32, func() error) {
	const g = 17
	buf := make([]float32, off+n+g)
	for i := range buf {
		buf[i] = gemmGuardValue
	}
	check := func() error {
		for i := 0; i < off; i++ {
			if buf[i] != gemmGuardValue {
				return fmt.Errorf("write before dst at %d", i-off)
			}
		}
		for i := off + n; i < len(buf); i++ {
			if buf[i] != gemmGuardValue {
				return fmt.Errorf("write after dst at +%d", i-off-n)
			}
		}
		return nil
	}
	return buf[off : off+n], check
}

// at copies x to offset off of a fresh buffer.
func simdAt(x []float32, off int) []float32 {
	return append(make([]float32, off, off+len(x)), x...)[off:]
}

// same reports whether got matches want to within relTol (relative, or
// absolute below 1e-30), treating NaN as equal to NaN.
func simdSame(got, want, relTol float32) bool {
	if got != got || want != want {
		return got != got && want != want
	}
	if got == want {
		return true
	}
	d := math.Abs(float64(got) - float64(want))
	return d <= float64(relTol)*math.Abs(float64(want)) || d < 1e-30
}

// TestSIMDAgainstTwins runs every implementation of every kernel against
// the pure-Go twins on awkward lengths, unaligned slices, special values,
// in place and with guard regions around dst.
func TestSIMDAgainstTwins(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type unaryOp struct {
		name  string
		impl  func(*simdImpl) func(dst, x []float32)
		tol   float32
		scale float32
	}
	unary := []unaryOp{
		{"relu", func(s *simdImpl) func(dst, x []float32) { return s.relu }, 0, 10},
		{"exp", func(s *simdImpl) func(dst, x []float32) { return s.exp }, 1e-6, 100},
		{"tanh", func(s *simdImpl) func(dst, x []float32) { return s.tanh }, 1e-6, 5},
		{"sigmoid", func(s *simdImpl) func(dst, x []float32) { return s.sigmoid }, 1e-6, 30},
		{"leakyRelu", func(s *simdImpl) func(dst, x []float32) {
			return func(dst, x []float32) { s.leakyRelu(dst, x, 0.2) }
		}, 0, 10},
	}
	for _, s := range simdImpls {
		for _, n := range simdLengths {
			for _, off := range []int{0, 1, 3} {
				for _, special := range []bool{false, true} {
					name := fmt.Sprintf("%s n=%d off=%d special=%v", s.name, n, off, special)
					for _, op := range unary {
						x := simdInput(rng, n, op.scale, special)
						want := make([]float32, n)
						op.impl(simdGo)(want, x)
						dst, check := simdGuarded(n, off)
						op.impl(s)(dst, simdAt(x, off+1))
						if err := check(); err != nil {
							t.Fatalf("%s %s: %v", op.name, name, err)
						}
						for i := range want {
							if !simdSame(dst[i], want[i], op.tol) {
								t.Fatalf("%s %s: [%d] f(%g) = %g, twin %g", op.name, name, i, x[i], dst[i], want[i])
							}
						}
						// In place.
						xx := simdAt(x, off)
						op.impl(s)(xx, xx)
						for i := range want {
							if !simdSame(xx[i], want[i], op.tol) {
								t.Fatalf("%s %s in place: [%d] = %g, twin %g", op.name, name, i, xx[i], want[i])
							}
						}
					}

					a, b := simdInput(rng, n, 4, special), simdInput(rng, n, 4, special)
					for _, op := range []struct {
						name       string
						impl, twin func(dst, a, b []float32)
					}{{"add", s.add, addGo}, {"mul", s.mul, mulGo}, {"reluGrad", s.reluGrad, reluGradGo},
						{"leakyReluGrad", func(dst, x, g []float32) { s.leakyReluGrad(dst, x, g, 0.3) },
							func(dst, x, g []float32) { leakyReluGradGo(dst, x, g, 0.3) }}} {
						want := make([]float32, n)
						op.twin(want, a, b)
						dst, check := simdGuarded(n, off)
						op.impl(dst, simdAt(a, off+1), simdAt(b, 2))
						if err := check(); err != nil {
							t.Fatalf("%s %s: %v", op.name, name, err)
						}
						for i := range want {
							if !simdSame(dst[i], want[i], 0) {
								t.Fatalf("%s %s: [%d] f(%g, %g) = %g, twin %g", op.name, name, i, a[i], b[i], dst[i], want[i])
							}
						}
					}

					alpha := rng.Float32()*4 - 2
					y, check := simdGuarded(n, off)
					copy(y, b)
					want := append([]float32(nil), b...)
					axpyGo(alpha, a, want)
					s.axpy(alpha, simdAt(a, off+1), y)
					if err := check(); err != nil {
						t.Fatalf("axpy %s: %v", name, err)
					}
					for i := range want {
						if !simdSame(y[i], want[i], 1e-6) && math.Abs(float64(y[i]-want[i])) > 1e-6*math.Abs(float64(alpha*a[i])) {
							t.Fatalf("axpy %s: [%d] = %g, twin %g", name, i, y[i], want[i])
						}
					}
					// Affine2, written and accumulated: the assembly fuses the
					// multiply-adds, so compare to within rounding of the terms.
					c, d := simdInput(rng, n, 4, false), simdInput(rng, n, 4, false)
					for _, acc := range []bool{false, true} {
						got, check := simdGuarded(n, off)
						copy(got, d)
						want := append([]float32(nil), d...)
						affine2Go(want, a, b, c, a, d, acc)
						s.affine2(got, simdAt(a, off+1), simdAt(b, 2), simdAt(c, 1), a, d, acc)
						if err := check(); err != nil {
							t.Fatalf("affine2 %s: %v", name, err)
						}
						for i := range want {
							scale := math.Abs(float64(a[i]*b[i])) + math.Abs(float64(c[i]*a[i])) + 2*math.Abs(float64(d[i]))
							if !simdSame(got[i], want[i], 0) && !(math.Abs(float64(got[i]-want[i])) <= 3e-7*scale) {
								t.Fatalf("affine2 %s acc=%v: [%d] = %g, twin %g", name, acc, i, got[i], want[i])
							}
						}
					}
					xs, check := simdGuarded(n, off)
					copy(xs, a)
					want = append([]float32(nil), a...)
					scaleGo(alpha, want)
					s.scale(alpha, xs)
					if err := check(); err != nil {
						t.Fatalf("scale %s: %v", name, err)
					}
					for i := range want {
						if !simdSame(xs[i], want[i], 0) {
							t.Fatalf("scale %s: [%d] = %g, twin %g", name, i, xs[i], want[i])
						}
					}

					// Reductions: compare with float64 sums, to within n·eps of Σ|terms|.
					var sum, sumAbs, dot, dotAbs float64
					mx := math.Inf(-1)
					hasNaN := false
					for i := range a {
						sum += float64(a[i])
						sumAbs += math.Abs(float64(a[i]))
						dot += float64(a[i]) * float64(b[i])
						dotAbs += math.Abs(float64(a[i]) * float64(b[i]))
						mx = math.Max(mx, float64(a[i]))
						hasNaN = hasNaN || a[i] != a[i]
					}
					// plus one subnormal step per term: products of tiny values round
					// to float32's subnormals, whose spacing is absolute
					tol := func(abs float64) float64 { return float64(n+1) * (6e-8*abs + 0x1p-149) }
					if got := s.sum(simdAt(a, off)); !simdClose(float64(got), sum, tol(sumAbs)) {
						t.Fatalf("sum %s = %g, want %g", name, got, sum)
					}
					if got := s.dot(simdAt(a, off), simdAt(b, off+1)); !simdClose(float64(got), dot, tol(dotAbs)) {
						t.Fatalf("dot %s = %g, want %g", name, got, dot)
					}
					if got := s.max(simdAt(a, off)); hasNaN != (got != got) || (!hasNaN && float64(got) != mx) {
						t.Fatalf("max %s = %g, want %g (NaN: %v)", name, got, mx, hasNaN)
					}
				}
			}
		}
	}
}

// simdClose compares with an absolute tolerance; NaN or Inf on both
// sides count as equal.
func simdClose(got, want, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) || math.IsNaN(tol) || math.IsInf(tol, 0) {
		return math.IsNaN(got) || math.IsInf(got, 0) || math.IsNaN(want)
	}
	return math.Abs(got-want) <= tol
}

// TestSIMDAccuracy checks Exp, Tanh and Sigmoid of every implementation
// against float64 math on a dense grid, and their documented edges.
func TestSIMDAccuracy(t *testing.T) {
	var x []float32
	for v := -90.0; v <= 90; v += 0.0137 {
		x = append(x, float32(v))
	}
	for v := -1.0; v <= 1; v += 1.0 / 1024 {
		x = append(x, float32(v), float32(v*1e-3), float32(v*1e-6))
	}
	for _, s := range simdImpls {
		dst := make([]float32, len(x))
		for _, f := range []struct {
			name string
			impl func(dst, x []float32)
			ref  func(float64) float64
			tol  float64
		}{
			{"exp", s.exp, math.Exp, 3e-7},
			{"tanh", s.tanh, math.Tanh, 4e-7},
			{"sigmoid", s.sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }, 4e-7},
		} {
			f.impl(dst, x)
			worst := 0.0
			for i, v := range x {
				want := f.ref(float64(v))
				if f.name == "exp" && (v < simdExpLo || v > simdExpHi) || math.Abs(want) < 1.2e-38 {
					continue // clamped, or subnormal
				}
				if rel := math.Abs(float64(dst[i])-want) / math.Abs(want); rel > worst {
					worst = rel
					if rel > f.tol {
						t.Errorf("%s %s(%g) = %g, want %g (rel %g)", s.name, f.name, v, dst[i], want, rel)
					}
				}
			}
			t.Logf("%s %s: worst relative error %.3g", s.name, f.name, worst)
		}
		edges := []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 1000, -1000, 88.376, -87.3365, -87.34}
		e := make([]float32, len(edges))
		s.exp(e, edges)
		wantExp := []float32{simdExp1(88.376), 0, float32(math.NaN()), simdExp1(88.376), 0, simdExp1(88.376), simdExp1(-87.3365), 0}
		for i := range edges {
			if !simdSame(e[i], wantExp[i], 1e-6) || math.IsInf(float64(e[i]), 0) {
				t.Errorf("%s exp(%g) = %g, want %g", s.name, edges[i], e[i], wantExp[i])
			}
		}
		s.tanh(e, edges)
		for i, want := range []float32{1, -1, float32(math.NaN()), 1, -1, 1, -1, -1} {
			if !simdSame(e[i], want, 0) {
				t.Errorf("%s tanh(%g) = %g, want %g", s.name, edges[i], e[i], want)
			}
		}
		s.sigmoid(e, edges)
		for i, want := range []float32{1, 0, float32(math.NaN()), 1, 0, 1, 0, 0} {
			if !simdSame(e[i], want, 0) && !(want == 0 && e[i] < 1e-37) {
				t.Errorf("%s sigmoid(%g) = %g, want %g", s.name, edges[i], e[i], want)
			}
		}
	}
}

func TestSIMDTablePanicsOnShortSlices(t *testing.T) {
	for name, f := range map[string]func(){
		"Axpy":     func() { SIMD.Axpy(1, make([]float32, 3), make([]float32, 2)) },
		"Add":      func() { SIMD.Add(make([]float32, 3), make([]float32, 3), make([]float32, 2)) },
		"Exp":      func() { SIMD.Exp(make([]float32, 3), make([]float32, 2)) },
		"ReluGrad": func() { SIMD.ReluGrad(make([]float32, 3), make([]float32, 2), make([]float32, 3)) },
		"Dot":      func() { SIMD.Dot(make([]float32, 3), make([]float32, 2)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// BenchmarkSIMD runs every kernel in every implementation at an L1-sized
// and a larger length; compare go with avx2 for the speed-up.
func BenchmarkSIMD(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, n := range []int{1000, 100000} {
		x, y, dst := simdInput(rng, n, 4, false), simdInput(rng, n, 4, false), make([]float32, n)
		for _, s := range simdImpls {
			ops := []struct {
				name string
				run  func()
			}{
				{"axpy", func() { s.axpy(0.5, x, dst) }},
				{"scale", func() { s.scale(1, dst) }},
				{"add", func() { s.add(dst, x, y) }},
				{"mul", func() { s.mul(dst, x, y) }},
				{"relu", func() { s.relu(dst, x) }},
				{"reluGrad", func() { s.reluGrad(dst, x, y) }},
				{"exp", func() { s.exp(dst, x) }},
				{"tanh", func() { s.tanh(dst, x) }},
				{"sigmoid", func() { s.sigmoid(dst, x) }},
				{"sum", func() { simdSink = s.sum(x) }},
				{"max", func() { simdSink = s.max(x) }},
				{"dot", func() { simdSink = s.dot(x, y) }},
			}
			for _, op := range ops {
				b.Run(fmt.Sprintf("%s/n=%d/%s", op.name, n, s.name), func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						op.run()
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
				})
			}
		}
	}
}

var simdSink float32
