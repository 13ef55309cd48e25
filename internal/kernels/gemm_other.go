//go:build !amd64 || purego

package kernels

// archGemmKernels lists the assembly kernels this build has: none, so the
// pure-Go kernels of gemm_generic.go do all the work.
func archGemmKernels() []*gemmKernel { return nil }

func archTranspose8() func(dst *float32, ldd int, src *float32, lds int, n8 int) { return nil }
