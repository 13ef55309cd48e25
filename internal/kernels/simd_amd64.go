//go:build !purego

package kernels

// AVX2/FMA vector kernels (simd_amd64.s). Each has the contract of its
// pure-Go twin in simd_generic.go (axpyAVX2 ↔ axpyGo, …), without length
// checks: the callers (the SIMD table) check that every slice is at least
// as long as the first. Elementwise results equal the twins' except where
// the assembly fuses a multiply-add (axpy, exp, tanh, sigmoid, dot) and
// where the order of a sum differs (sum, dot).

//go:noescape
func axpyAVX2(a float32, x, y []float32)

//go:noescape
func scaleAVX2(a float32, x []float32)

//go:noescape
func addAVX2(dst, a, b []float32)

//go:noescape
func mulAVX2(dst, a, b []float32)

//go:noescape
func reluAVX2(dst, x []float32)

//go:noescape
func reluGradAVX2(dst, x, g []float32)

//go:noescape
func leakyReluAVX2(dst, x []float32, p float32)

//go:noescape
func leakyReluGradAVX2(dst, x, g []float32, p float32)

//go:noescape
func affine2AVX2(dst, a, x, b, y, c []float32, acc bool)

//go:noescape
func expAVX2(dst, x []float32)

//go:noescape
func tanhAVX2(dst, x []float32)

//go:noescape
func sigmoidAVX2(dst, x []float32)

//go:noescape
func sumAVX2(x []float32) float32

//go:noescape
func maxAVX2(x []float32) float32

//go:noescape
func dotAVX2(x, y []float32) float32

// archSIMDImpls lists the assembly vector kernels this CPU runs.
func archSIMDImpls() []*simdImpl {
	if !hasAVX2FMA {
		return nil
	}
	return []*simdImpl{{
		name: "avx2", axpy: axpyAVX2, scale: scaleAVX2, add: addAVX2, mul: mulAVX2,
		relu: reluAVX2, reluGrad: reluGradAVX2, leakyRelu: leakyReluAVX2, leakyReluGrad: leakyReluGradAVX2, affine2: affine2AVX2, exp: expAVX2, tanh: tanhAVX2, sigmoid: sigmoidAVX2,
		sum: sumAVX2, max: maxAVX2, dot: dotAVX2,
	}}
}
