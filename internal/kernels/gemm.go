package kernels

import "sync"

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
	if sgemmThin(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	threads := 1
	if 2*m*n*k >= gemmParallelFlops || (m == 1 && 2*n*k >= gemmRowParallelFlops) {
		threads = Threads()
	}
	sgemm(gemmBest, threads, nil, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// sgemmThin computes the products of a matrix with a vector whose other
// sizes are long enough to pay for a call per row, and reports whether it
// did: an outer product (k = 1: C = β·C + α·a·bᵀ, an axpy per row of C)
// and a matrix-vector product (n = 1: a dot product per row of op(A), or
// for Aᵀ an axpy per column), when the vector is contiguous. The blocked
// kernel would fill its 6×64 tiles with one column (n = 1) or run its loop
// over K once per tile (k = 1); with one row (m = 1) its single-row kernel
// already streams B once, so that case stays there. Threads split the
// rows of C (or, for Aᵀ·b, its elements in blocks of 64) when the matrix
// holds at least thinParallel values: each element of C is summed in one
// fixed order, so results do not depend on the thread count either.
func sgemmThin(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) bool {
	const long = 64 // the shortest vector worth a kernel call
	if m == 0 || n == 0 || k == 0 || alpha == 0 || (k != 1 && n != 1) {
		return false
	}
	checkSgemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	t := thinTask{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc}
	units := m // rows of C
	switch {
	case k == 1 && t.cb() == 1 && n >= long:
		t.kind = thinOuter
	case n == 1 && t.ca() == 1 && t.rb() == 1 && k >= long:
		t.kind = thinDot
	case n == 1 && t.ra() == 1 && ldc == 1 && m >= long:
		t.kind, units = thinAxpy, gemmCeilDiv(m, 64) // blocks of 64 elements of c
	default:
		return false
	}
	if w := min(Threads(), units); w > 1 && m*max(n, k) >= thinParallel {
		runPooled(&thinTaskPool, t, units, w)
		return true
	}
	t.run(0, units)
	return true
}

// thinParallel is the smallest matrix (values) whose sgemmThin product is
// split over threads: the DCGAN discriminator's one-logit layer, 64×6272,
// ran its three products on one thread between the parallel convolutions
// of a two-thread step.
const thinParallel = 1 << 16

// The kinds of sgemmThin product.
const (
	thinOuter = iota // k = 1: rows of C = β·C[i, :] + (α·a_i)·b
	thinDot          // n = 1: c_i = β·c_i + α·(A[i, :]·b)
	thinAxpy         // n = 1, Aᵀ: c = β·c + Σ_p (α·b_p)·Aᵀ[p, :]
)

// thinTask is one sgemmThin product, run over a range of rows of C (or of
// blocks of 64 elements of c for thinAxpy) so that threads can share it.
type thinTask struct {
	kind           int
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

var thinTaskPool = sync.Pool{New: func() any { return new(thinTask) }}

// op(A)(i, p) = a[i*ra + p*ca], op(B)(p, j) = b[p*rb + j*cb]
func (t *thinTask) ra() int { return b2int(!t.transA)*t.lda + b2int(t.transA) }
func (t *thinTask) ca() int { return b2int(t.transA)*t.lda + b2int(!t.transA) }
func (t *thinTask) rb() int { return b2int(!t.transB)*t.ldb + b2int(t.transB) }
func (t *thinTask) cb() int { return b2int(t.transB)*t.ldb + b2int(!t.transB) }

func b2int(v bool) int {
	if v {
		return 1
	}
	return 0
}

func (t *thinTask) run(lo, hi int) {
	a, b, c, ra, ca, rb := t.a, t.b, t.c, t.ra(), t.ca(), t.rb()
	alpha, beta := t.alpha, t.beta
	switch t.kind {
	case thinOuter:
		bv := b[:t.n]
		for i := lo; i < hi; i++ {
			row := c[i*t.ldc : i*t.ldc+t.n]
			scaleOrClear(row, beta)
			SIMD.Axpy(alpha*a[i*ra], bv, row)
		}
	case thinDot:
		bv := b[:t.k]
		for i := lo; i < hi; i++ {
			s := alpha * SIMD.Dot(a[i*ra:i*ra+t.k], bv)
			if beta != 0 {
				s += beta * c[i*t.ldc]
			}
			c[i*t.ldc] = s
		}
	case thinAxpy:
		i0, i1 := lo*64, min(hi*64, t.m)
		cv := c[i0:i1]
		scaleOrClear(cv, beta)
		for p := 0; p < t.k; p++ {
			SIMD.Axpy(alpha*b[p*rb], a[p*ca+i0:p*ca+i1], cv)
		}
	}
}

// scaleOrClear sets x = beta·x, or zeros when beta is 0 (NaNs do not
// survive).
func scaleOrClear(x []float32, beta float32) {
	switch beta {
	case 0:
		clear(x)
	case 1:
	default:
		SIMD.Scale(beta, x)
	}
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
