//go:build !purego

package kernels

// geluErfAVX512 is geluErfGo 16 lanes at a time (activation_ext_amd64.s),
// with the same operations in the same order except that it fuses the
// multiply-adds and computes e^r as Exp's AVX2 kernel does with 2ⁿ applied
// by VSCALEFPS. tab is &geluTab.
//
//go:noescape
func geluErfAVX512(dst, x []float32, tab *[geluTabLen]float32)

// geluErfGradAVX512 is geluErfGradGo 16 lanes at a time, as
// geluErfAVX512 is geluErfGo.
//
//go:noescape
func geluErfGradAVX512(gx, x, gy []float32, tab *[geluTabLen]float32, acc bool)

// archGeluImpls lists the assembly exact-GELU kernels this CPU runs.
func archGeluImpls() []*geluKernels {
	if !hasAVX512 {
		return nil
	}
	return []*geluKernels{{
		name:    "avx512",
		fwd:     func(dst, x []float32) { geluErfAVX512(dst, x, &geluTab) },
		grad:    func(gx, x, gy []float32, acc bool) { geluErfGradAVX512(gx, x, gy, &geluTab, acc) },
	}}
}
