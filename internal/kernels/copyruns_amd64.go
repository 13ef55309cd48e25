//go:build !purego

package kernels

// Strided copies of vector-length runs (copyruns_amd64.s).

//go:noescape
func copyRunsAVX2(dst *float32, ds int, src *float32, ss, runs, n int)

// copyRunsFast reports whether copyRuns has a vector kernel for runs of
// n values.
func copyRunsFast(n int) bool { return hasAVX2FMA && n > 0 && n%8 == 0 }

// copyRuns is copyRunsGo through the AVX2 kernel where copyRunsFast(n),
// else through copyRunsGo.
func copyRuns(dst []float32, ds int, src []float32, ss, runs, n int) {
	if runs <= 0 || !copyRunsFast(n) {
		copyRunsGo(dst, ds, src, ss, runs, n)
		return
	}
	_, _ = dst[(runs-1)*ds+n-1], src[(runs-1)*ss+n-1] // the last elements written and read
	copyRunsAVX2(&dst[0], ds, &src[0], ss, runs, n)
}
