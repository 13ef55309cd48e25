//go:build !purego

package kernels

//go:generate go run gemm_asmgen.go

// The micro-kernels below compute one MR×NR tile of C; their contract and
// reference loop are those of sgemmMicroGeneric:
//
//	for r := 0; r < MR; r++ {
//		for j := 0; j < NR; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += a[r*rsa+p*csa] * b[p*csb+j]
//			}
//			if beta == 0 {
//				c[r*ldc+j] = alpha * s
//			} else {
//				c[r*ldc+j] = alpha*s + beta*c[r*ldc+j]
//			}
//		}
//	}
//
// The sums use fused multiply-adds in order of p. Strides are in elements.

//go:noescape
func sgemmMicroAVX2_6x16(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmMicroAVX2_4x24(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmMicroAVX512_12x32(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmMicroAVX512_14x32(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmMicroAVX512_8x48(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmMicroAVX512_6x64(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

// archGemmKernels lists the assembly kernels this CPU runs, best first.
func archGemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if hasAVX512 {
		ks = append(ks,
			&gemmKernel{name: "avx512_12x32", mr: 12, nr: 32, mc: 144, kc: 256, nc: 4096, micro: sgemmMicroAVX512_12x32},
			&gemmKernel{name: "avx512_14x32", mr: 14, nr: 32, mc: 140, kc: 256, nc: 4096, micro: sgemmMicroAVX512_14x32},
			&gemmKernel{name: "avx512_8x48", mr: 8, nr: 48, mc: 144, kc: 256, nc: 4080, micro: sgemmMicroAVX512_8x48},
			&gemmKernel{name: "avx512_6x64", mr: 6, nr: 64, mc: 144, kc: 256, nc: 4096, micro: sgemmMicroAVX512_6x64},
		)
	}
	if hasAVX2FMA {
		ks = append(ks,
			&gemmKernel{name: "avx2_6x16", mr: 6, nr: 16, mc: 120, kc: 256, nc: 4096, micro: sgemmMicroAVX2_6x16},
			&gemmKernel{name: "avx2_4x24", mr: 4, nr: 24, mc: 120, kc: 256, nc: 4080, micro: sgemmMicroAVX2_4x24},
		)
	}
	return ks
}
