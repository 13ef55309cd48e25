//go:build !purego

package kernels

// AVX2 batch-normalization loops (batchnorm_amd64.s). Each runs its
// reference loop of batchnorm.go (bnSqDevGo ↔ bnSqDevAVX2, …) over a
// rows×cols block with cols a multiple of 8 and greater than 0, rows ld
// elements apart, with the same float32 operations in the same order
// (bnInputGradAVX2 fuses its products as SIMD.Affine2 does): the same bits
// as the reference loops, but for bnInputGrad's rounding. The wrappers
// below hand the multiple-of-8 columns to the assembly and the rest to the
// reference loop. The output gradient is grad, because g names a register
// in Go assembly.

//go:noescape
func bnSqDevAVX2(acc, x, mean *float32, rows, cols, ld int)

//go:noescape
func bnGradSumsAVX2(sumG, sumGX, grad, x, mean *float32, rows, cols, ld int)

//go:noescape
func bnApplyAVX2(y, x, a, b *float32, rows, cols, ld int)

//go:noescape
func bnInputGradAVX2(gx, grad, x, c1, c2, c3 *float32, rows, cols, ld int, acc bool)

// archBNImpls lists the assembly loops this CPU runs.
func archBNImpls() []*bnImpl {
	if !hasAVX2FMA {
		return nil
	}
	return []*bnImpl{{
		name: "avx2",
		sqDev: func(acc, x, mean []float32, rows, cols, ld int) {
			c8 := cols &^ 7
			if c8 > 0 && rows > 0 {
				bnCheck(len(x), rows, cols, ld)
				bnSqDevAVX2(&acc[:cols][0], &x[0], &mean[:cols][0], rows, c8, ld)
			}
			if c8 < cols { // the Go loop would walk every row for nothing
				bnSqDevGo(acc[c8:cols], x[min(c8, len(x)):], mean[c8:cols], rows, cols-c8, ld)
			}
		},
		gradSums: func(sumG, sumGX, g, x, mean []float32, rows, cols, ld int) {
			c8 := cols &^ 7
			if c8 > 0 && rows > 0 {
				bnCheck(len(x), rows, cols, ld)
				bnCheck(len(g), rows, cols, ld)
				bnGradSumsAVX2(&sumG[:cols][0], &sumGX[:cols][0], &g[0], &x[0], &mean[:cols][0], rows, c8, ld)
			}
			if c8 < cols { // the Go loop would walk every row for nothing
				bnGradSumsGo(sumG[c8:cols], sumGX[c8:cols], g[min(c8, len(g)):], x[min(c8, len(x)):], mean[c8:cols], rows, cols-c8, ld)
			}
		},
		apply: func(y, x, a, b []float32, rows, cols, ld int) {
			c8 := cols &^ 7
			if c8 > 0 && rows > 0 {
				bnCheck(len(x), rows, cols, ld)
				bnCheck(len(y), rows, cols, ld)
				bnApplyAVX2(&y[0], &x[0], &a[:cols][0], &b[:cols][0], rows, c8, ld)
			}
			if c8 < cols { // the Go loop would walk every row for nothing
				bnApplyGo(y[min(c8, len(y)):], x[min(c8, len(x)):], a[c8:cols], b[c8:cols], rows, cols-c8, ld)
			}
		},
		inputGrad: func(gx, g, x, c1, c2, c3 []float32, rows, cols, ld int, acc bool) {
			c8 := cols &^ 7
			if c8 > 0 && rows > 0 {
				bnCheck(len(x), rows, cols, ld)
				bnCheck(len(g), rows, cols, ld)
				bnCheck(len(gx), rows, cols, ld)
				bnInputGradAVX2(&gx[0], &g[0], &x[0], &c1[:cols][0], &c2[:cols][0], &c3[:cols][0], rows, c8, ld, acc)
			}
			if c8 < cols { // the Go loop would walk every row for nothing
				bnInputGradGo(gx[min(c8, len(gx)):], g[min(c8, len(g)):], x[min(c8, len(x)):], c1[c8:cols], c2[c8:cols], c3[c8:cols], rows, cols-c8, ld, acc)
			}
		},
	}}
}
