package kernels

import "math"

// SigmoidBCERows computes, for logits z and targets y seen as rows×cols
// matrices (rows = len(loss)), the binary cross-entropy between σ(z) and y
// summed over each row, in the stable form
//
//	loss[r] = Σ_j max(z, 0) − z·y + log(1 + e^−|z|)      (z = z[r, j], y = y[r, j])
//
// and, when sig is non-nil, stores σ(z) there for the backward pass. It
// runs in float32 with polynomial exp and log1p (error about 1e-7 per
// element) and accumulates each row in float64 (bceRow is the reference
// loop; the AVX2 kernel sums in eight float64 lanes); rows are
// independent, so the result does not depend on the thread count.
func SigmoidBCERows(loss, sig, z, y []float32, cols int) {
	rows := len(loss)
	z, y = z[:rows*cols], y[:rows*cols]
	if sig != nil {
		sig = sig[:rows*cols]
	}
	row := bceKernels.row
	Parallel(rows, max(1, 16384/max(cols, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			zr, yr := z[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols]
			var sr []float32
			if sig != nil {
				sr = sig[r*cols : (r+1)*cols]
			}
			loss[r] = float32(row(sr, zr, yr))
		}
	})
}

// bceImpl is one implementation of the row loops of SigmoidBCERows and
// SigmoidBCERowsGrad, with the contracts of the reference loops bceRow
// and bceGradRow; the tests run every implementation against them.
type bceImpl struct {
	name string
	row  func(sig, z, y []float32) float64
	grad func(dst, sig, y []float32, g float32, acc bool)
}

// bceImpls lists every implementation this build and CPU can run, best
// first; bceKernels, the first, is the one the exported functions use.
var (
	bceImpls   = append(archBCEImpls(), &bceImpl{name: "go", row: bceRow, grad: bceGradRow})
	bceKernels = bceImpls[0]
)

// bceRow is the reference loop of one row: it returns the row's loss and
// stores σ(z) in sig unless sig is nil.
func bceRow(sig, z, y []float32) float64 {
	y = y[:len(z)]
	var s float64
	for j, v := range z {
		a := v
		if a < 0 {
			a = -a
		}
		e := expNeg32(-a) // e^−|z| ∈ (0, 1]
		l := -v * y[j]
		if v > 0 {
			l += v
		}
		s += float64(l + log1pUnit(e))
		if sig != nil {
			d := 1 / (1 + e) // σ(|z|)
			if v >= 0 {
				sig[j] = d
			} else {
				sig[j] = e * d
			}
		}
	}
	return s
}

// SigmoidBCERowsGrad is the backward of SigmoidBCERows:
// gz[r, j] = g[r]·(sig[r, j] − y[r, j]), added to gz[r, j] when acc (else
// gz's earlier contents are overwritten).
func SigmoidBCERowsGrad(gz, g, sig, y []float32, cols int, acc bool) {
	rows := len(g)
	grad := bceKernels.grad
	Parallel(rows, max(1, 32768/max(cols, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d := gz[r*cols : (r+1)*cols]
			grad(d, sig[r*cols:(r+1)*cols], y[r*cols:(r+1)*cols], g[r], acc)
		}
	})
}

// bceGradRow is the reference loop of one row of SigmoidBCERowsGrad. A
// zero g leaves dst as it is when acc (and zeroes it otherwise).
func bceGradRow(dst, sig, y []float32, g float32, acc bool) {
	sig, y = sig[:len(dst)], y[:len(dst)]
	switch {
	case g == 0 && acc:
	case g == 0:
		clear(dst)
	case acc:
		for j := range dst {
			dst[j] += g * (sig[j] - y[j])
		}
	default:
		for j := range dst {
			dst[j] = g * (sig[j] - y[j])
		}
	}
}

// expNeg32 returns e^x for x ≤ 0 in float32 (Cephes expf: x = k·ln 2 + r
// with |r| ≤ ln2/2, a degree-6 polynomial for e^r, then the exponent
// bits); arguments below −80 give 0.
func expNeg32(x float32) float32 {
	if x < -80 {
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	k := -int32(-x*log2e + 0.5) // round(x·log2 e) for x ≤ 0
	kf := float32(k)
	r := x - kf*ln2hi - kf*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	e := p*r*r + r + 1
	return math.Float32frombits(uint32(int32(math.Float32bits(e)) + k<<23))
}

// log1pUnit returns log(1 + u) for u ∈ [0, 1] by a degree-9 polynomial
// (a Chebyshev fit; absolute error below 1e-8, exact at 0).
func log1pUnit(u float32) float32 {
	p := float32(0.0037526242194259795)
	p = p*u - 0.023038279952075663
	p = p*u + 0.06651247934056378
	p = p*u - 0.1252666143736162
	p = p*u + 0.18468848461783888
	p = p*u - 0.24635660617167365
	p = p*u + 0.3328184254007476
	p = p*u - 0.4999622445174371
	p = p*u + 0.9999989105817989
	return p * u
}
