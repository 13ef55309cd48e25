package kernels

import "math"

// BatchNormStats writes the per-column mean and biased variance of x seen
// as a rows×f matrix (f = len(mean)), in two passes (the mean, then the
// squared deviations from it), and 1/√(variance + eps) into invStd;
// scratch needs f elements. The sums run serially over rows in a fixed
// order, so the result does not depend on the thread count.
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
	// invStd is scratch for −μ and then for each centered row.
	neg := invStd
	for j, m := range mean {
		neg[j] = -m
	}
	tmp := scratch[:f]
	for r := 0; r < rows; r++ {
		SIMD.Add(tmp, x[r*f:(r+1)*f], neg)
		SIMD.Mul(tmp, tmp, tmp)
		SIMD.Axpy(1, tmp, variance)
	}
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
	Parallel(rows, max(1, 16384/max(f, 1)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			yr := y[r*f : (r+1)*f]
			SIMD.Mul(yr, x[r*f:(r+1)*f], a)
			SIMD.Add(yr, yr, b)
		}
	})
}

// BatchNormGradSums writes, over the rows of the rows×f matrices g (the
// output gradient) and x, the per-column sums Σ_r g and Σ_r g·(x − μ),
// serially in a fixed order; scratch needs 2f elements.
func BatchNormGradSums(sumG, sumGX, scratch, g, x, mean []float32) {
	f := len(mean)
	rows := len(x) / max(f, 1)
	clear(sumG)
	clear(sumGX)
	SumRowsAcc(sumG, g[:rows*f])
	neg, tmp := scratch[:f], scratch[f:2*f]
	for j, m := range mean {
		neg[j] = -m
	}
	for r := 0; r < rows; r++ {
		SIMD.Add(tmp, x[r*f:(r+1)*f], neg)
		SIMD.Mul(tmp, tmp, g[r*f:(r+1)*f])
		SIMD.Axpy(1, tmp, sumGX)
	}
}

// BatchNormInputGrad writes the input gradient of batch normalization for
// the rows×f matrices g and x: gx[r, j] = c1[j]·g[r, j] + c2[j]·x[r, j] +
// c3[j], where the caller folds the statistics into the per-column
// coefficients (see autograd.BatchNorm); with acc the gradient is added to
// gx instead.
func BatchNormInputGrad(gx, g, x, c1, c2, c3 []float32, acc bool) {
	f := len(c1)
	rows := len(x) / max(f, 1)
	grain := max(1, 16384/max(f, 1))
	if rows < 2*grain || Threads() == 1 { // serial, without a closure to allocate
		batchNormInputGrad(gx, g, x, c1, c2, c3, acc, 0, rows)
		return
	}
	Parallel(rows, grain, func(lo, hi int) { batchNormInputGrad(gx, g, x, c1, c2, c3, acc, lo, hi) })
}

func batchNormInputGrad(gx, g, x, c1, c2, c3 []float32, acc bool, lo, hi int) {
	f := len(c1)
	for r := lo; r < hi; r++ {
		SIMD.Affine2(gx[r*f:(r+1)*f], c1, g[r*f:(r+1)*f], c2, x[r*f:(r+1)*f], c3, acc)
	}
}
