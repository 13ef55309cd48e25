//go:build purego || !amd64

package kernels

// copyRunsFast: no vector kernel on this build.
func copyRunsFast(n int) bool { return false }

// copyRuns is copyRunsGo on this build.
func copyRuns(dst []float32, ds int, src []float32, ss, runs, n int) {
	copyRunsGo(dst, ds, src, ss, runs, n)
}
