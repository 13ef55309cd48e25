package kernels

import (
	"fmt"
	"math"
)

// The batch-normalization kernels see the input as a rows×f matrix (f
// features, the last axis). Per-feature sums run over the rows in order,
// one feature at a time, and threads split the features, never the rows:
// every result has the same bits whatever the thread count.

// BatchNormStats writes the per-column mean and biased variance of x seen
// as a rows×f matrix (f = len(mean)), in two passes (the mean, then the
// squared deviations from it), and 1/√(variance + eps) into invStd.
// scratch is not used (it was the per-row buffer of an earlier version).
func BatchNormStats(mean, variance, invStd, scratch, x []float32, eps float32) {
	f := len(mean)
	rows := len(x) / max(f, 1)
	clear(mean)
	clear(variance)
	if rows == 0 {
		return
	}
	SumRowsAcc(mean, x[:rows*f])
	SIMD.Scale(1/float32(rows), mean)
	sqDev := bnKernels.sqDev
	bnColumns(rows, f, func(j0, j1 int) {
		sqDev(variance[j0:j1], x[j0:], mean[j0:j1], rows, j1-j0, f)
	})
	SIMD.Scale(1/float32(rows), variance)
	for j, v := range variance {
		invStd[j] = float32(1 / math.Sqrt(float64(v)+float64(eps)))
	}
}

// BatchNormApply writes y[r, j] = x[r, j]·a[j] + b[j] for the rows×f
// matrix x (f = len(a)): the normalization with a = γ/√(σ² + ε) and
// b = β − μ·a folded in.
func BatchNormApply(y, x, a, b []float32) {
	f := len(a)
	rows := len(x) / max(f, 1)
	apply := bnKernels.apply
	bnRows(rows, f, func(lo, hi int) {
		apply(y[lo*f:hi*f], x[lo*f:hi*f], a, b, hi-lo, f, f)
	})
}

// BatchNormGradSums writes, over the rows of the rows×f matrices g (the
// output gradient) and x, the per-column sums Σ_r g and Σ_r g·(x − μ),
// each over the rows in order; scratch is not used.
func BatchNormGradSums(sumG, sumGX, scratch, g, x, mean []float32) {
	f := len(mean)
	rows := len(x) / max(f, 1)
	clear(sumG)
	clear(sumGX)
	if rows == 0 {
		return
	}
	gradSums := bnKernels.gradSums
	bnColumns(rows, f, func(j0, j1 int) {
		gradSums(sumG[j0:j1], sumGX[j0:j1], g[j0:], x[j0:], mean[j0:j1], rows, j1-j0, f)
	})
}

// BatchNormInputGrad writes the input gradient of batch normalization for
// the rows×f matrices g and x: gx[r, j] = c1[j]·g[r, j] + c2[j]·x[r, j] +
// c3[j] (with the products fused as SIMD.Affine2 fuses them), where the
// caller folds the statistics into the per-column coefficients (see
// autograd.BatchNorm); with acc the gradient is added to gx instead.
func BatchNormInputGrad(gx, g, x, c1, c2, c3 []float32, acc bool) {
	f := len(c1)
	rows := len(x) / max(f, 1)
	inputGrad := bnKernels.inputGrad
	bnRows(rows, f, func(lo, hi int) {
		inputGrad(gx[lo*f:hi*f], g[lo*f:hi*f], x[lo*f:hi*f], c1, c2, c3, hi-lo, f, f, acc)
	})
}

// bnRows runs fn over ranges of rows, split over threads when the matrix
// is long.
func bnRows(rows, f int, fn func(lo, hi int)) {
	grain := max(1, elementwiseGrain/max(f, 1))
	if rows < 2*grain || Threads() == 1 {
		fn(0, rows)
		return
	}
	Parallel(rows, grain, fn)
}

// bnColumns runs fn over ranges [j0, j1) of the f columns, in multiples of
// 8 but for the last, split over threads when the matrix is large.
func bnColumns(rows, f int, fn func(j0, j1 int)) {
	vecs := f / 8
	if rows*f < 2*elementwiseGrain || vecs < 2 || Threads() == 1 {
		fn(0, f)
		return
	}
	Parallel(vecs, 1, func(lo, hi int) {
		j1 := hi * 8
		if hi == vecs {
			j1 = f
		}
		fn(lo*8, j1)
	})
}

// bnImpl is one implementation of the loops over a rows×cols block of
// matrices whose rows are ld elements apart (x[r*ld + j]), with per-column
// vectors of cols elements; the reference loops below define them and the
// tests run every implementation against them.
type bnImpl struct {
	name      string
	sqDev     func(acc, x, mean []float32, rows, cols, ld int)
	gradSums  func(sumG, sumGX, g, x, mean []float32, rows, cols, ld int)
	apply     func(y, x, a, b []float32, rows, cols, ld int)
	inputGrad func(gx, g, x, c1, c2, c3 []float32, rows, cols, ld int, acc bool)
}

// bnImpls lists every implementation this build and CPU can run, best
// first; bnKernels, the first, is the one the exported kernels use.
var (
	bnImpls = append(archBNImpls(), &bnImpl{name: "go", sqDev: bnSqDevGo, gradSums: bnGradSumsGo,
		apply: bnApplyGo, inputGrad: bnInputGradGo})
	bnKernels = bnImpls[0]
)

// bnCheck panics unless a matrix of rows×cols with row stride ld fits in n
// elements (the assembly loops do not check).
func bnCheck(n, rows, cols, ld int) {
	if rows > 0 && cols > 0 && (ld < cols || (rows-1)*ld+cols > n) {
		panic(fmt.Sprintf("kernels: batch norm: %d elements for %d rows of %d (stride %d)", n, rows, cols, ld))
	}
}

// bnSqDevGo adds the squared deviations: acc[j] += (x[r, j] − mean[j])²
// over the rows in order.
func bnSqDevGo(acc, x, mean []float32, rows, cols, ld int) {
	acc, mean = acc[:cols], mean[:cols]
	for r := 0; r < rows; r++ {
		xr := x[r*ld : r*ld+cols]
		for j, m := range mean {
			d := xr[j] - m
			acc[j] += d * d
		}
	}
}

// bnGradSumsGo adds sumG[j] += g[r, j] and sumGX[j] += (x[r, j] − mean[j])·g[r, j]
// over the rows in order.
func bnGradSumsGo(sumG, sumGX, g, x, mean []float32, rows, cols, ld int) {
	sumG, sumGX, mean = sumG[:cols], sumGX[:cols], mean[:cols]
	for r := 0; r < rows; r++ {
		gr, xr := g[r*ld:r*ld+cols], x[r*ld:r*ld+cols]
		for j, m := range mean {
			sumG[j] += gr[j]
			sumGX[j] += (xr[j] - m) * gr[j]
		}
	}
}

// bnApplyGo sets y[r, j] = x[r, j]·a[j] + b[j] (rounded product, then sum).
func bnApplyGo(y, x, a, b []float32, rows, cols, ld int) {
	a, b = a[:cols], b[:cols]
	for r := 0; r < rows; r++ {
		yr, xr := y[r*ld:r*ld+cols], x[r*ld:r*ld+cols]
		for j := range yr {
			yr[j] = xr[j]*a[j] + b[j]
		}
	}
}

// bnInputGradGo sets gx[r, j] = c1[j]·g[r, j] + c2[j]·x[r, j] + c3[j],
// added to gx[r, j] when acc, rounding after each step.
func bnInputGradGo(gx, g, x, c1, c2, c3 []float32, rows, cols, ld int, acc bool) {
	c1, c2, c3 = c1[:cols], c2[:cols], c3[:cols]
	for r := 0; r < rows; r++ {
		dr, gr, xr := gx[r*ld:r*ld+cols], g[r*ld:r*ld+cols], x[r*ld:r*ld+cols]
		for j := range dr {
			v := c1[j]*gr[j] + c2[j]*xr[j] + c3[j]
			if acc {
				v += dr[j]
			}
			dr[j] = v
		}
	}
}
