//go:build !purego

package kernels

// bceAVX2 is bceRow over the first n elements (n a multiple of 8; sig nil
// or as long as z), with the float64 row sum kept in eight lanes and
// added in a fixed order at the end, and with fused multiply-adds: within
// about 1e-7 of the reference per element (bce_amd64.s).
//
//go:noescape
func bceAVX2(sig, z, y *float32, n int) float64

// bceGradAVX2 is bceGradRow over the first n elements (n a multiple of 8)
// for gr = g ≠ 0 (g names a register in Go assembly), with the reference loop's float32 operations (the same bits).
//
//go:noescape
func bceGradAVX2(dst, sig, y *float32, n int, gr float32, acc bool)

// archBCEImpls lists the assembly row loops this CPU runs.
func archBCEImpls() []*bceImpl {
	if !hasAVX2FMA {
		return nil
	}
	return []*bceImpl{{name: "avx2", row: bceRowAVX2, grad: bceGradRowAVX2}}
}

// bceRowAVX2 runs bceAVX2 over the multiple-of-8 head of the row and the
// reference loop over the rest.
func bceRowAVX2(sig, z, y []float32) float64 {
	n := len(z) &^ 7
	y = y[:len(z)]
	if sig != nil {
		sig = sig[:len(z)]
	}
	if n == 0 {
		return bceRow(sig, z, y)
	}
	var sp *float32
	var tail []float32
	if sig != nil {
		sp, tail = &sig[0], sig[n:]
	}
	return bceAVX2(sp, &z[0], &y[0], n) + bceRow(tail, z[n:], y[n:])
}

// bceGradRowAVX2 runs bceGradAVX2 over the multiple-of-8 head of the row
// and the reference loop over the rest.
func bceGradRowAVX2(dst, sig, y []float32, g float32, acc bool) {
	n := len(dst) &^ 7
	if n == 0 || g == 0 {
		bceGradRow(dst, sig, y, g, acc)
		return
	}
	sig, y = sig[:len(dst)], y[:len(dst)]
	bceGradAVX2(&dst[0], &sig[0], &y[0], n, g, acc)
	bceGradRow(dst[n:], sig[n:], y[n:], g, acc)
}
