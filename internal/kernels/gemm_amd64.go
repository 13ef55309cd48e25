//go:build !purego

package kernels

//go:generate go run gemm_asmgen.go

// The assembly micro-kernels (gemm_amd64.s, declared in the generated
// gemm_kernels_amd64.go) are named sgemmMicro<ISA>_<MR>x<NR>. Each computes
// one MR×NR tile of C with the contract of sgemmMicroGeneric, its pure-Go
// twin:
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
// Strides are in elements; the sums are fused multiply-adds in order of p.
// The masked AVX-512 kernels sgemmMicroAVX512_<MR>x<16·V>m take one more
// argument, n in (16·(V-1), 16·V], and compute an MR×n tile: they neither
// read B nor read or write C past column n.
// The AVX2 kernels use the 16 YMM registers (6×16: twelve accumulators, two
// B vectors, two broadcasts); the AVX-512 kernels use up to 28 of the 32
// ZMM registers for accumulators.

// archGemmKernels lists the assembly kernels this CPU runs, best first.
//
// The shapes and blocking were chosen by measurement (a sweep of kernel
// shape, kc, mc and packing over the benchmark shapes) on a 2-core AVX-512
// Xeon with 48 KiB L1d and 2 MiB L2 per core. AVX-512 6×64 (24 ZMM
// accumulators, four B vectors and six broadcasts per k) beat 12×32, 14×32
// and 8×48 by 5–15% on every shape; on AVX2 alone, 6×16 edged out 4×24.
// K blocks are evened out to at most kc (k = 288 runs as one block, k = 784
// as two of 392); kc = 384 was best or within noise of best everywhere.
func archGemmKernels() []*gemmKernel {
	var ks []*gemmKernel
	if hasAVX512 {
		k := newGemmKernel("avx512_6x64", sgemmMicroAVX512_x64, 64, 144, 384, 4096)
		k.edge, k.edgeW = sgemmMicroAVX512_x64m, 16
		ks = append(ks, k)
	}
	if hasAVX2FMA {
		ks = append(ks, newGemmKernel("avx2_6x16", sgemmMicroAVX2_x16, 16, 144, 256, 4096))
	}
	return ks
}

// transpose8AVX2 transposes n8 consecutive 8×8 blocks (twin: transpose8Go):
//
//	for q := 0; q < 8*n8; q++ {
//		for r := 0; r < 8; r++ {
//			dst[q*ldd+r] = src[r*lds+q]
//		}
//	}
//
//go:noescape
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int, n8 int)

func archTranspose8() func(dst *float32, ldd int, src *float32, lds int, n8 int) {
	if hasAVX2FMA {
		return transpose8AVX2
	}
	return nil
}
