package kernels

import "unsafe"

// Pure-Go micro-kernels. They are the twins of the assembly kernels in
// gemm_amd64.s (same arguments, same tile contract) and the kernels a
// purego or non-amd64 build runs.

// genericGemmKernels are the pure-Go kernels, best first.
var genericGemmKernels = []*gemmKernel{
	newGemmKernel("go_4x4", []microKernel{sgemmMicroGeneric(1, 4), sgemmMicroGeneric(2, 4), sgemmMicroGeneric(3, 4), sgemmMicroGo4x4}, 4, 128, 256, 2048),
}

// gemmMaxTile bounds MR·NR over all kernels (the edge-tile scratch size).
const gemmMaxTile = 16 * 64

// sgemmMicroGeneric returns the reference micro-kernel for an mr×nr tile:
//
//	C(r, j) = alpha·Σ_p A(r, p)·B(p, j) + beta·C(r, j)
//
// with A(r, p) = a[r*rsa+p*csa], B(p, j) = b[p*csb+j], C(r, j) = c[r*ldc+j]
// (strides in elements); with beta == 0 C is written without being read.
// Every assembly kernel of the same shape is tested against it.
func sgemmMicroGeneric(mr, nr int) microKernel {
	if mr*nr > gemmMaxTile {
		panic("kernels: micro tile too large")
	}
	return func(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32) {
		sgemmMicroRef(mr, nr, k, a, rsa, csa, b, csb, c, ldc, alpha, beta)
	}
}

// sgemmMicroRef is sgemmMicroGeneric's loop; it is also the twin of the
// masked edge kernels, with nr = n.
func sgemmMicroRef(mr, nr, k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32) {
	var acc [gemmMaxTile]float32
	for p := 0; p < k; p++ {
		brow := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(b), p*csb*4)), nr)
		for r := 0; r < mr; r++ {
			av := *(*float32)(unsafe.Add(unsafe.Pointer(a), (r*rsa+p*csa)*4))
			row := acc[r*nr : r*nr+nr]
			for j, bv := range brow {
				row[j] += av * bv
			}
		}
	}
	for r := 0; r < mr; r++ {
		crow := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(c), r*ldc*4)), nr)
		for j := range crow {
			if beta == 0 {
				crow[j] = alpha * acc[r*nr+j]
			} else {
				crow[j] = alpha*acc[r*nr+j] + beta*crow[j]
			}
		}
	}
}

// sgemmMicroGo4x4 is the pure-Go production kernel: a 4×4 tile held in
// sixteen scalar accumulators (the contract of sgemmMicroGeneric).
func sgemmMicroGo4x4(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	ra := uintptr(rsa) * 4
	for p := 0; p < k; p++ {
		pa := unsafe.Add(unsafe.Pointer(a), p*csa*4)
		pb := unsafe.Add(unsafe.Pointer(b), p*csb*4)
		b0 := *(*float32)(pb)
		b1 := *(*float32)(unsafe.Add(pb, 4))
		b2 := *(*float32)(unsafe.Add(pb, 8))
		b3 := *(*float32)(unsafe.Add(pb, 12))
		a0 := *(*float32)(pa)
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := *(*float32)(unsafe.Add(pa, ra))
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		a2 := *(*float32)(unsafe.Add(pa, 2*ra))
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		a3 := *(*float32)(unsafe.Add(pa, 3*ra))
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	store := func(row int, v0, v1, v2, v3 float32) {
		cr := (*[4]float32)(unsafe.Add(unsafe.Pointer(c), row*ldc*4))
		if beta == 0 {
			cr[0], cr[1], cr[2], cr[3] = alpha*v0, alpha*v1, alpha*v2, alpha*v3
			return
		}
		cr[0] = alpha*v0 + beta*cr[0]
		cr[1] = alpha*v1 + beta*cr[1]
		cr[2] = alpha*v2 + beta*cr[2]
		cr[3] = alpha*v3 + beta*cr[3]
	}
	store(0, c00, c01, c02, c03)
	store(1, c10, c11, c12, c13)
	store(2, c20, c21, c22, c23)
	store(3, c30, c31, c32, c33)
}

// transpose8Go transposes n8 consecutive 8×8 blocks: for q < 8·n8 and
// r < 8, dst[q*ldd + r] = src[r*lds + q]. It is the twin of transpose8AVX2.
func transpose8Go(dst *float32, ldd int, src *float32, lds int, n8 int) {
	for r := 0; r < 8; r++ {
		s := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(src), r*lds*4)), 8*n8)
		for q, v := range s {
			*(*float32)(unsafe.Add(unsafe.Pointer(dst), (q*ldd+r)*4)) = v
		}
	}
}
