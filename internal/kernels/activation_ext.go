package kernels

import "math"

// GeluErf sets dst[i] = x·Φ(x) = ½·x·(1 + erf(x/√2)), the exact GELU
// (Hendrycks & Gimpel 2016; the tanh form is the Gelu UnaryOp).
//
// Reference loop: the line above, in float64.
func GeluErf(dst, x []float32) {
	x = x[:len(dst)]
	for i, v := range x {
		u := float64(v)
		dst[i] = float32(0.5 * u * (1 + math.Erf(u/math.Sqrt2)))
	}
}

// GeluErfGradAcc adds to gx[i] the gradient of GeluErf at x[i] times
// gy[i]: d/dx x·Φ(x) = Φ(x) + x·φ(x), φ the standard normal density.
func GeluErfGradAcc(gx, x, gy []float32) {
	x, gy = x[:len(gx)], gy[:len(gx)]
	const invSqrt2Pi = 0.3989422804014327
	for i, v := range x {
		u := float64(v)
		d := 0.5*(1+math.Erf(u/math.Sqrt2)) + u*invSqrt2Pi*math.Exp(-0.5*u*u)
		gx[i] += gy[i] * float32(d)
	}
}
