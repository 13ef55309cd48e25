package kernels

import "math"

// GeluErf sets dst[i] = x·Φ(x) = ½·x·(1 + erf(x/√2)), the exact GELU
// (Hendrycks & Gimpel 2016; the tanh form is the Gelu UnaryOp).
//
// Reference loop (geluErfRef, in float64):
//
//	dst[i] = 0.5·x·(1 + math.Erf(x/√2))
//
// It evaluates erf by Abramowitz & Stegun 7.1.26 (absolute error below
// 1.5e-7, under float32's resolution of values near 1) with
// e^{−x²/2} from SIMD.Exp, in parallel chunks.
func GeluErf(dst, x []float32) {
	x = x[:len(dst)]
	Parallel(len(dst), geluGrain, func(lo, hi int) {
		var e [geluChunk]float32
		for s := lo; s < hi; s += geluChunk {
			n := min(geluChunk, hi-s)
			geluExp(e[:n], x[s:s+n])
			for i := range n {
				v := x[s+i]
				dst[s+i] = 0.5 * v * (1 + erfFromExp(v, e[i]))
			}
		}
	})
}

// GeluErfGradAcc adds to gx[i] the gradient of GeluErf at x[i] times
// gy[i]: d/dx x·Φ(x) = Φ(x) + x·φ(x), φ the standard normal density.
func GeluErfGradAcc(gx, x, gy []float32) {
	x, gy = x[:len(gx)], gy[:len(gx)]
	const invSqrt2Pi = 0.3989422804014327
	Parallel(len(gx), geluGrain, func(lo, hi int) {
		var e [geluChunk]float32
		for s := lo; s < hi; s += geluChunk {
			n := min(geluChunk, hi-s)
			geluExp(e[:n], x[s:s+n])
			for i := range n {
				v := x[s+i]
				d := 0.5*(1+erfFromExp(v, e[i])) + v*e[i]*invSqrt2Pi
				gx[s+i] += gy[s+i] * d
			}
		}
	})
}

const (
	geluChunk = 256
	geluGrain = 1 << 14
)

// geluExp sets e[i] = exp(−x[i]²/2).
func geluExp(e, x []float32) {
	for i, v := range x {
		e[i] = -0.5 * v * v
	}
	SIMD.Exp(e, e)
}

// erfFromExp returns erf(x/√2) given e = exp(−x²/2), by Abramowitz &
// Stegun 7.1.26: erf(z) = 1 − (a₁t + a₂t² + a₃t³ + a₄t⁴ + a₅t⁵)·e^{−z²},
// t = 1/(1 + p·z), for z = |x|/√2 ≥ 0, odd in x.
func erfFromExp(x, e float32) float32 {
	z := float32(math.Abs(float64(x))) * (1 / math.Sqrt2)
	t := 1 / (1 + 0.3275911*z)
	poly := t * (0.254829592 + t*(-0.284496736+t*(1.421413741+t*(-1.453152027+t*1.061405429))))
	r := 1 - poly*e
	if x < 0 {
		return -r
	}
	return r
}

// geluErfRef is the float64 reference of GeluErf.
func geluErfRef(x float32) float64 {
	u := float64(x)
	return 0.5 * u * (1 + math.Erf(u/math.Sqrt2))
}
