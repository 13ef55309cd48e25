package kernels

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices,
// where op(A) is A or Aᵀ (transA) and op(B) is B or Bᵀ (transB);
// op(A) is m×k, op(B) is k×n and C is m×n with leading dimensions lda, ldb,
// ldc. With beta == 0, C is overwritten (NaNs in C do not propagate).
//
// Reference loop:
//
//	for i := 0; i < m; i++ {
//		for j := 0; j < n; j++ {
//			var s float32
//			for p := 0; p < k; p++ {
//				s += opA(i, p) * opB(p, j)
//			}
//			c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
//		}
//	}
//
// Sgemm panics if a size is negative, a leading dimension is smaller than
// its matrix's row, or a slice is too short for its matrix. It runs the
// fastest kernel of the CPU (see gemm_blocked.go) on up to Threads()
// threads, splitting C only (never K), so results are bit-identical run to
// run and whatever the thread count; in steady state it does not allocate.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	threads := 1
	if 2*m*n*k >= gemmParallelFlops {
		threads = Threads()
	}
	sgemm(gemmBest, threads, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmRef is the plain triple loop that every fast GEMM is tested against.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * s
			} else {
				c[i*ldc+j] = alpha*s + beta*c[i*ldc+j]
			}
		}
	}
}

// SgemmBias computes C = op(A)·op(B) + 1·biasᵀ: the bias (length n) is
// added to every row of C, as in a Dense layer's y = x·W + b. It writes
// the bias into C and runs Sgemm with beta = 1, so the bias costs one
// pass over C that the GEMM then reads from cache. It panics like Sgemm,
// and if len(bias) < n.
func SgemmBias(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, bias []float32, c []float32, ldc int) {
	if m > 0 && n > 0 {
		checkSgemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
		bias = bias[:n]
		for i := 0; i < m; i++ {
			copy(c[i*ldc:i*ldc+n], bias)
		}
	}
	Sgemm(transA, transB, m, n, k, 1, a, lda, b, ldb, 1, c, ldc)
}
