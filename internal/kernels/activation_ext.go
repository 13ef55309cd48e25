package kernels

import "math"

// GeluErf sets dst[i] = x·Φ(x) = ½·x·(1 + erf(x/√2)), the exact GELU
// (Hendrycks & Gimpel 2016; the tanh form is the Gelu UnaryOp).
//
// Reference loop (geluErfRef, in float64):
//
//	dst[i] = 0.5·x·(1 + math.Erf(x/√2))
//
// Φ is evaluated through erfc, never as 1 + erf(−|x|/√2), so that it keeps
// its relative accuracy where it is tiny (x ≪ 0): with z = |x|/√2 and
// t = 1/(1 + z/2),
//
//	erfc(z) ≈ t·exp(−z² + c₀ + t·(c₁ + t·(c₂ + … + t·c₉)))
//
// (the Chebyshev fit of Numerical Recipes' erfcc, Press et al. §6.2,
// relative error below 1.1e-7 for every z ≥ 0), Φ(x) = 1 − erfc(z)/2 for
// x ≥ 0 and erfc(z)/2 for x < 0. In float32 the result is within about
// 4e-7 + 1.2e-7·x² of the exact GELU relative to it (the x² term is the
// rounding of −z² in the exponent). It runs 16 lanes at a time with
// AVX-512 where the CPU has it (geluErfAVX512), otherwise the Go twin
// geluErfGo; both in parallel chunks.
func GeluErf(dst, x []float32) {
	x = x[:len(dst)]
	Parallel(len(dst), geluGrain, func(lo, hi int) {
		geluImpl.fwd(dst[lo:hi], x[lo:hi])
	})
}

// GeluErfGrad sets gx[i], or adds to it when acc, the gradient of GeluErf
// at x[i] times gy[i]: d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^{−x²/2}/√(2π) the standard
// normal density. Φ is computed as in GeluErf, with its exponential split
// in two, exp(−z²)·exp(c₀ + t·(…)), so that exp(−z²) serves φ too.
//
// Reference loop (in float64):
//
//	gx[i] (+)= gy[i]·(0.5·(1 + math.Erf(x/√2)) + x·math.Exp(−x²/2)/√(2π))
func GeluErfGrad(gx, x, gy []float32, acc bool) {
	x, gy = x[:len(gx)], gy[:len(gx)]
	Parallel(len(gx), geluGrain, func(lo, hi int) {
		geluImpl.grad(gx[lo:hi], x[lo:hi], gy[lo:hi], acc)
	})
}

const (
	geluChunk = 256
	geluGrain = 1 << 14
)

// geluKernels is one implementation of the exact GELU and its gradient
// over equal-length slices, on the calling thread.
type geluKernels struct {
	name string
	fwd  func(dst, x []float32)
	grad func(gx, x, gy []float32, acc bool)
}

// geluImpls lists the implementations this build and CPU run, best first
// (the tests compare them all); geluImpl is the first.
var (
	geluImpls = append(archGeluImpls(), &geluKernels{"go", geluErfGo, geluErfGradGo})
	geluImpl  = geluImpls[0]
)

// Indexes of geluTab, the constants of the exact GELU shared by the Go
// twins and the assembly (which reads them by these offsets × 4).
const (
	gtInvSqrt2   = iota // 1/√2
	gtHalf              // ½
	gtOne               // 1
	gtC9                // c₉ … c₁ of erfc, in Horner order
	gtC8                //
	gtC7                //
	gtC6                //
	gtC5                //
	gtC4                //
	gtC3                //
	gtC2                //
	gtC1                //
	gtC0                // c₀
	gtLo                // lower clamp of an exponent (e^lo still normal)
	gtLog2e             // log₂e, ln2 in two parts, e^r's polynomial: Exp's
	gtLn2Hi             //
	gtLn2Lo             //
	gtP0                //
	gtP1                //
	gtP2                //
	gtP3                //
	gtP4                //
	gtP5                //
	gtInvSqrt2Pi        // 1/√(2π)
	geluTabLen
)

var geluTab = [geluTabLen]float32{
	gtInvSqrt2: 1 / math.Sqrt2, gtHalf: 0.5, gtOne: 1,
	gtC9: 0.17087277, gtC8: -0.82215223, gtC7: 1.48851587, gtC6: -1.13520398, gtC5: 0.27886807,
	gtC4: -0.18628806, gtC3: 0.09678418, gtC2: 0.37409196, gtC1: 1.00002368, gtC0: -1.26551223,
	gtLo: -87, gtLog2e: simdLog2e, gtLn2Hi: simdExpC1, gtLn2Lo: simdExpC2,
	gtP0: simdExpP0, gtP1: simdExpP1, gtP2: simdExpP2, gtP3: simdExpP3, gtP4: simdExpP4, gtP5: simdExpP5,
	gtInvSqrt2Pi: 0.3989422804014327,
}

// geluT returns z = |x|/√2, t = 1/(1 + z/2) and the polynomial
// c₀ + t·(c₁ + … + t·c₉) of erfc's exponent.
func geluT(x float32) (z, t, p float32) {
	c := &geluTab
	z = math.Float32frombits(math.Float32bits(x)&^(1<<31)) * c[gtInvSqrt2]
	t = 1 / (1 + c[gtHalf]*z)
	p = c[gtC9]
	for _, k := range c[gtC8 : gtC0+1] {
		p = p*t + k
	}
	return z, t, p
}

// geluPhi returns Φ(x) from q = erfc(|x|/√2)/2.
func geluPhi(x, q float32) float32 {
	if x < 0 {
		return q
	}
	return 1 - q
}

// geluErfGo is the Go twin of geluErfAVX512: per chunk, the erfc
// exponents, then SIMD.Exp over them, then x·Φ(x).
func geluErfGo(dst, x []float32) {
	var e, tt [geluChunk]float32
	c := &geluTab
	for s := 0; s < len(dst); s += geluChunk {
		n := min(geluChunk, len(dst)-s)
		for i, v := range x[s : s+n] {
			z, t, p := geluT(v)
			e[i], tt[i] = max(p-z*z, c[gtLo]), t
		}
		SIMD.Exp(e[:n], e[:n])
		for i, v := range x[s : s+n] {
			dst[s+i] = v * geluPhi(v, c[gtHalf]*tt[i]*e[i])
		}
	}
}

// geluErfGradGo is the Go twin of geluErfGradAVX512.
func geluErfGradGo(gx, x, gy []float32, acc bool) {
	var e1, e2, tt [geluChunk]float32
	c := &geluTab
	for s := 0; s < len(gx); s += geluChunk {
		n := min(geluChunk, len(gx)-s)
		for i, v := range x[s : s+n] {
			z, t, p := geluT(v)
			e1[i], e2[i], tt[i] = max(-z*z, c[gtLo]), p, t
		}
		SIMD.Exp(e1[:n], e1[:n])
		SIMD.Exp(e2[:n], e2[:n])
		for i, v := range x[s : s+n] {
			phi := geluPhi(v, c[gtHalf]*(tt[i]*e2[i]*e1[i]))
			d := gy[s+i] * (phi + v*e1[i]*c[gtInvSqrt2Pi])
			if acc {
				d += gx[s+i]
			}
			gx[s+i] = d
		}
	}
}

// geluErfRef is the float64 reference of GeluErf, written with erfc so
// that it keeps its relative accuracy for x ≪ 0:
// ½·(1 + erf(x/√2)) = ½·erfc(−x/√2).
func geluErfRef(x float32) float64 {
	u := float64(x)
	return 0.5 * u * math.Erfc(-u/math.Sqrt2)
}
