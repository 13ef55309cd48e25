package kernels

import "math"

// Pure-Go twins of the vector kernels (simd_amd64.s): the implementation
// of purego and non-amd64 builds, and the reference the assembly is tested
// against. Exp, Tanh and Sigmoid use the same constants and steps as the
// assembly; the assembly fuses multiply-adds, so the last bit can differ.

var simdGo = &simdImpl{
	name: "go", axpy: axpyGo, scale: scaleGo, add: addGo, mul: mulGo,
	relu: reluGo, reluGrad: reluGradGo, leakyRelu: leakyReluGo, leakyReluGrad: leakyReluGradGo, affine2: affine2Go, exp: expGo, tanh: tanhGo, sigmoid: sigmoidGo,
	sum: sumGo, max: maxGo, dot: dotGo,
}

func axpyGo(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += a * v
	}
}

func scaleGo(a float32, x []float32) {
	for i := range x {
		x[i] *= a
	}
}

func addGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func mulGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = a[i] * b[i]
	}
}

// reluGo is max(x, 0); NaN passes through (as with VMAXPS, zero first).
// Go's max compiles without a branch, which matters for random signs.
func reluGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = max(v, 0)
	}
}

// reluGradGo masks g with x > 0, without a branch.
func reluGradGo(dst, x, g []float32) {
	x, g = x[:len(dst)], g[:len(dst)]
	for i, v := range x {
		var keep uint32
		if v > 0 {
			keep = 1
		}
		dst[i] = math.Float32frombits(math.Float32bits(g[i]) & -keep)
	}
}

// leakyReluGo is x·1 where x > 0, else x·p (a NaN stays NaN; −0 stays −0,
// as in the vector kernel), without a branch (see leakySlope).
func leakyReluGo(dst, x []float32, p float32) {
	x = x[:len(dst)]
	pb := math.Float32bits(p)
	for i, v := range x {
		dst[i] = v * leakySlope(v, pb)
	}
}

// leakyReluGradGo is g·1 where x > 0, else g·p.
func leakyReluGradGo(dst, x, g []float32, p float32) {
	x, g = x[:len(dst)], g[:len(dst)]
	pb := math.Float32bits(p)
	for i, v := range x {
		dst[i] = g[i] * leakySlope(v, pb)
	}
}

// leakySlope returns 1 where v > 0, else the float with bits pb, selected
// by a mask rather than a branch (a sign test mispredicts on half of all
// elements).
func leakySlope(v float32, pb uint32) float32 {
	var keep uint32
	if v > 0 {
		keep = 1
	}
	return math.Float32frombits(pb ^ (pb^0x3f800000)&-keep)
}

// affine2Go is a·x + b·y + c (+ dst when acc), rounded after each step; the
// assembly fuses the products into the sum.
func affine2Go(dst, a, x, b, y, c []float32, acc bool) {
	a, x, b, y, c = a[:len(dst)], x[:len(dst)], b[:len(dst)], y[:len(dst)], c[:len(dst)]
	for i := range dst {
		v := a[i]*x[i] + b[i]*y[i] + c[i]
		if acc {
			v += dst[i]
		}
		dst[i] = v
	}
}

// Constants of Exp (Cephes expf) and of Tanh's small-argument polynomial
// (Cephes tanhf).
const (
	simdExpHi = 88.376    // largest input; 2^127·e^{0.3466} ≈ 2.2e38, still finite
	simdExpLo = -87.33654 // ln of the smallest normal float32; below it, 0
	simdLog2e = 1.44269504088896341
	simdExpC1 = 0.693359375    // ln2 = simdExpC1 + simdExpC2, simdExpC1 exact in a few bits
	simdExpC2 = -2.12194440e-4 //
	simdExpP0 = 1.9875691500e-4
	simdExpP1 = 1.3981999507e-3
	simdExpP2 = 8.3334519073e-3
	simdExpP3 = 4.1665795894e-2
	simdExpP4 = 1.6666665459e-1
	simdExpP5 = 5.0000001201e-1

	simdTanhSmall = 0.625
	simdTanhQ0    = -5.70498872745e-3
	simdTanhQ1    = 2.06390887954e-2
	simdTanhQ2    = -5.37397155531e-2
	simdTanhQ3    = 1.33314422036e-1
	simdTanhQ4    = -3.33332819422e-1
)

// simdExp1 is e^x by the steps of expAVX2: clamp, n = ⌊x·log2e + ½⌋,
// r = x - n·ln2 in two parts, e^r ≈ 1 + r + r²·P(r), times 2ⁿ.
func simdExp1(x float32) float32 {
	if x != x {
		return x
	}
	if x < simdExpLo {
		return 0
	}
	x = min(x, simdExpHi)
	fx := float32(math.Floor(float64(x*simdLog2e + 0.5)))
	r := x - fx*simdExpC1
	r = r - fx*simdExpC2
	z := r * r
	y := ((((simdExpP0*r+simdExpP1)*r+simdExpP2)*r+simdExpP3)*r+simdExpP4)*r + simdExpP5
	y = y*z + r + 1
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}

// simdTanh1 is tanh by the steps of tanhAVX2. (Sign bits are moved by
// hand: math.Abs and math.Copysign on float64 conversions made it 3×
// slower.)
func simdTanh1(x float32) float32 {
	const sign = 1 << 31
	bits := math.Float32bits(x)
	ax := math.Float32frombits(bits &^ sign)
	if ax < simdTanhSmall {
		z := x * x
		return ((((simdTanhQ0*z+simdTanhQ1)*z+simdTanhQ2)*z+simdTanhQ3)*z+simdTanhQ4)*z*x + x
	}
	t := 1 - 2/(simdExp1(2*ax)+1)
	return math.Float32frombits(math.Float32bits(t) | bits&sign)
}

func simdSigmoid1(x float32) float32 { return 1 / (1 + simdExp1(-x)) }

func expGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = simdExp1(v)
	}
}

func tanhGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = simdTanh1(v)
	}
}

func sigmoidGo(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] = simdSigmoid1(v)
	}
}

func sumGo(x []float32) float32 {
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i]
		s1 += x[i+1]
		s2 += x[i+2]
		s3 += x[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func maxGo(x []float32) float32 {
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v != v {
			return v
		}
		if v > m {
			m = v
		}
	}
	return m
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}
