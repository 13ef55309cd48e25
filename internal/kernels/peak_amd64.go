//go:build !purego

package kernels

// fmaLoopAVX512 runs n iterations of 12 independent 16-lane FMAs
// (384 FLOPs per iteration).
//
//go:noescape
func fmaLoopAVX512(n int)

// fmaLoopAVX2 runs n iterations of 12 independent 8-lane FMAs
// (192 FLOPs per iteration).
//
//go:noescape
func fmaLoopAVX2(n int)

// archFMALoop returns the widest FMA probe this CPU runs and the FLOPs of
// one of its iterations.
func archFMALoop() (loop func(n int), flopsPerIter int, isa string) {
	switch {
	case hasAVX512:
		return fmaLoopAVX512, 12 * 16 * 2, "avx512"
	case hasAVX2FMA:
		return fmaLoopAVX2, 12 * 8 * 2, "avx2"
	}
	return nil, 0, "generic"
}
