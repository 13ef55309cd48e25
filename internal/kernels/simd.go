package kernels

import "fmt"

// SIMDKernels is a table of vector kernels over float32 slices. Each
// entry loops over the length of its first slice argument (dst, or x for
// Axpy, Scale, Sum, Max and Dot) and panics if another slice is shorter.
// dst may be the same slice as an input (in-place), but must not overlap
// one partially.
type SIMDKernels struct {
	// Axpy sets y[i] += a·x[i].
	Axpy func(a float32, x, y []float32)
	// Scale sets x[i] *= a.
	Scale func(a float32, x []float32)
	// Add sets dst[i] = a[i] + b[i]; Mul sets dst[i] = a[i]·b[i].
	Add, Mul func(dst, a, b []float32)
	// Relu sets dst[i] = max(x[i], 0); a NaN stays NaN.
	Relu func(dst, x []float32)
	// ReluGrad sets dst[i] = g[i] where x[i] > 0, else 0: the gradient of
	// Relu at x (0 at the kink) times the incoming gradient g.
	ReluGrad func(dst, x, g []float32)
	// LeakyRelu sets dst[i] = max(x[i], 0) + p·min(x[i], 0): x where
	// x > 0, p·x elsewhere; a NaN stays NaN.
	LeakyRelu func(dst, x []float32, p float32)
	// LeakyReluGrad sets dst[i] = g[i] where x[i] > 0, else p·g[i]: the
	// gradient of LeakyRelu at x (slope p at the kink) times g.
	LeakyReluGrad func(dst, x, g []float32, p float32)
	// Affine2 sets dst[i] = a[i]·x[i] + b[i]·y[i] + c[i], added to dst[i]
	// when acc (the input gradient of batch normalization).
	Affine2 func(dst, a, x, b, y, c []float32, acc bool)
	// Exp sets dst[i] = eˣ. Accuracy about 2e-7 relative: range reduction
	// x = n·ln2 + r, |r| ≤ ln2/2, a degree-7 polynomial for eʳ, then 2ⁿ
	// built in the exponent bits. Inputs above 88.376 give exp(88.376) ≈
	// 2.2e38 (the true result overflows at 88.72); inputs below -87.3365,
	// where the true result is subnormal, give 0. NaN gives NaN.
	Exp func(dst, x []float32)
	// Tanh sets dst[i] = tanh(x[i]): an odd polynomial for |x| < 0.625,
	// 1 - 2/(e^{2|x|} + 1) with x's sign beyond. About 3e-7 relative.
	Tanh func(dst, x []float32)
	// Sigmoid sets dst[i] = 1/(1 + e^{-x}), with Exp's accuracy.
	Sigmoid func(dst, x []float32)
	// Sum returns Σ x[i], summed in interleaved partial sums (32 with
	// AVX2, 4 in pure Go), so the result can differ from a left-to-right
	// sum in the last bits, but not from run to run. The sum of nothing
	// is 0.
	Sum func(x []float32) float32
	// Max returns the largest x[i], NaN if any is NaN, -Inf if x is empty.
	Max func(x []float32) float32
	// Dot returns Σ x[i]·y[i], with Sum's order.
	Dot func(x, y []float32) float32
}

// SIMD holds the fastest implementation of each vector kernel that this
// CPU runs (AVX2 and FMA on amd64; pure Go elsewhere or with the purego
// build tag), chosen once at start-up.
var SIMD = checkedSIMD(simdImpls[0])

// simdImpl is one implementation of the vector kernels, without the length
// checks: every slice is at least as long as the first one.
type simdImpl struct {
	name               string
	axpy               func(a float32, x, y []float32)
	scale              func(a float32, x []float32)
	add, mul           func(dst, a, b []float32)
	relu               func(dst, x []float32)
	reluGrad           func(dst, x, g []float32)
	leakyRelu          func(dst, x []float32, p float32)
	leakyReluGrad      func(dst, x, g []float32, p float32)
	affine2            func(dst, a, x, b, y, c []float32, acc bool)
	exp, tanh, sigmoid func(dst, x []float32)
	sum, max           func(x []float32) float32
	dot                func(x, y []float32) float32
}

// simdImpls lists every implementation this build and CPU can run, best
// first; the tests compare them all with the pure-Go twins.
var simdImpls = append(archSIMDImpls(), simdGo)

func simdShort(op string, n, have int) {
	panic(fmt.Sprintf("kernels: SIMD.%s: slice of length %d, need %d", op, have, n))
}

func checkedSIMD(s *simdImpl) SIMDKernels {
	unary := func(op string, f func(dst, x []float32)) func(dst, x []float32) {
		return func(dst, x []float32) {
			if len(x) < len(dst) {
				simdShort(op, len(dst), len(x))
			}
			f(dst, x)
		}
	}
	binary := func(op string, f func(dst, a, b []float32)) func(dst, a, b []float32) {
		return func(dst, a, b []float32) {
			if len(a) < len(dst) || len(b) < len(dst) {
				simdShort(op, len(dst), min(len(a), len(b)))
			}
			f(dst, a, b)
		}
	}
	return SIMDKernels{
		Axpy: func(a float32, x, y []float32) {
			if len(y) < len(x) {
				simdShort("Axpy", len(x), len(y))
			}
			s.axpy(a, x, y)
		},
		Scale:    s.scale,
		Add:      binary("Add", s.add),
		Mul:      binary("Mul", s.mul),
		Relu:     unary("Relu", s.relu),
		ReluGrad: binary("ReluGrad", s.reluGrad),
		LeakyRelu: func(dst, x []float32, p float32) {
			if len(x) < len(dst) {
				simdShort("LeakyRelu", len(dst), len(x))
			}
			s.leakyRelu(dst, x, p)
		},
		LeakyReluGrad: func(dst, x, g []float32, p float32) {
			if len(x) < len(dst) || len(g) < len(dst) {
				simdShort("LeakyReluGrad", len(dst), min(len(x), len(g)))
			}
			s.leakyReluGrad(dst, x, g, p)
		},
		Affine2: func(dst, a, x, b, y, c []float32, acc bool) {
			if n := min(len(a), len(x), len(b), len(y), len(c)); n < len(dst) {
				simdShort("Affine2", len(dst), n)
			}
			s.affine2(dst, a, x, b, y, c, acc)
		},
		Exp:     unary("Exp", s.exp),
		Tanh:    unary("Tanh", s.tanh),
		Sigmoid: unary("Sigmoid", s.sigmoid),
		Sum:     s.sum,
		Max:     s.max,
		Dot: func(x, y []float32) float32 {
			if len(y) < len(x) {
				simdShort("Dot", len(x), len(y))
			}
			return s.dot(x, y)
		},
	}
}
