package kernels

import (
	"fmt"
	"sync"
	"unsafe"
)

// The blocked SGEMM (Goto's algorithm, as in BLIS):
//
//	for jc over N in steps of NC:           B block kc×nc, packed into nr-wide panels
//	  for pc over K in steps of KC:
//	    for ic over M in steps of MC:       A block mc×kc, packed into mr-high panels
//	      for jr over the block in steps of nr:
//	        for ir in steps of mr:          micro-kernel: one mr×nr tile of C
//
// Transposes are absorbed by the packing routines, so the micro-kernel sees
// one layout. Tiles that stick out of C are computed into a scratch tile
// from zero-padded panels and then merged. Threads split C into disjoint
// blocks of whole tiles along M or N and run this loop independently; K is
// never split, and the tile grid and the order of the sums over K do not
// depend on the split, so every element of C gets the same bits whatever
// the thread count.

// microKernel computes one MR×NR tile; see sgemmMicroGeneric for the contract.
type microKernel func(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

// gemmKernel is a micro-kernel with its tile shape and cache blocking.
type gemmKernel struct {
	name       string
	mr, nr     int // tile of C computed by one micro call
	mc, kc, nc int // A block mc×kc (L2), B block kc×nc; multiples of mr, nr
	micro      microKernel
}

// gemmKernels lists every kernel this build and CPU can run, best first;
// the tests run them all. gemmBest is the one Sgemm uses.
var (
	gemmKernels = append(archGemmKernels(), genericGemmKernels...)
	gemmBest    = gemmKernels[0]
)

// gemmParallelFlops is the smallest 2·m·n·k worth splitting over threads.
const gemmParallelFlops = 1 << 20

// sgemm is Sgemm with an explicit kernel and thread count.
func sgemm(kern *gemmKernel, threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	cp := unsafe.Pointer(unsafe.SliceData(c))
	if k == 0 || alpha == 0 {
		scaleTile(cp, ldc, m, n, beta)
		return
	}
	t := gemmTaskPool.Get().(*gemmTask)
	*t = gemmTask{
		kern: kern, transA: transA, transB: transB, m: m, n: n, k: k,
		alpha: alpha, beta: beta,
		a: unsafe.Pointer(unsafe.SliceData(a)), lda: lda,
		b: unsafe.Pointer(unsafe.SliceData(b)), ldb: ldb,
		c: cp, ldc: ldc,
	}
	units, w := 1, 1
	if threads > 1 && 2*m*n*k >= gemmParallelFlops {
		mu, nu := ceilDiv(m, kern.mr), ceilDiv(n, kern.nr)
		t.splitN = splitEfficiency(nu, threads) > splitEfficiency(mu, threads)
		units = mu
		if t.splitN {
			units = nu
		}
		w = min(threads, units)
	}
	if w <= 1 {
		t.run(0, units)
	} else {
		parallelRun(t, units, w)
	}
	*t = gemmTask{}
	gemmTaskPool.Put(t)
}

// splitEfficiency is the fraction of w threads kept busy by units equal
// pieces of work dealt out in contiguous runs.
func splitEfficiency(units, w int) float64 {
	return float64(units) / float64(w*ceilDiv(units, w))
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// checkSgemm panics unless the slices hold the matrices Sgemm will read.
func checkSgemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Sgemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	check := func(name string, rows, cols, ld, have int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("kernels: Sgemm: ld%s=%d less than %d columns", name, ld, cols))
		}
		if need := (rows-1)*ld + cols; have < need {
			panic(fmt.Sprintf("kernels: Sgemm: len(%s)=%d, need %d", name, have, need))
		}
	}
	if m == 0 || n == 0 {
		return
	}
	if transA {
		check("a", k, m, lda, la)
	} else {
		check("a", m, k, lda, la)
	}
	if transB {
		check("b", n, k, ldb, lb)
	} else {
		check("b", k, n, ldb, lb)
	}
	check("c", m, n, ldc, lc)
}

// gemmTask is one Sgemm call, run over a range of whole tiles along M
// (or N when splitN) so that threads can share it.
type gemmTask struct {
	kern           *gemmKernel
	transA, transB bool
	splitN         bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        unsafe.Pointer
	lda, ldb, ldc  int
}

var gemmTaskPool = sync.Pool{New: func() any { return new(gemmTask) }}

// run computes the tiles in [lo, hi) along the split dimension.
func (t *gemmTask) run(lo, hi int) {
	a, b, c := t.a, t.b, t.c
	m, n := t.m, t.n
	if t.splitN {
		j0 := lo * t.kern.nr
		n = min(hi*t.kern.nr, t.n) - j0
		if t.transB {
			b = fadd(b, j0*t.ldb)
		} else {
			b = fadd(b, j0)
		}
		c = fadd(c, j0)
	} else {
		i0 := lo * t.kern.mr
		m = min(hi*t.kern.mr, t.m) - i0
		if t.transA {
			a = fadd(a, i0)
		} else {
			a = fadd(a, i0*t.lda)
		}
		c = fadd(c, i0*t.ldc)
	}
	if m <= 0 || n <= 0 {
		return
	}
	w := gemmWorkPool.Get().(*gemmWork)
	sgemmSerial(t.kern, w, t.transA, t.transB, m, n, t.k, t.alpha, a, t.lda, b, t.ldb, t.beta, c, t.ldc)
	gemmWorkPool.Put(w)
}

// gemmWork is one thread's scratch: packed blocks and an edge tile.
type gemmWork struct {
	abuf, bbuf []float32
	tile       [maxMicroTile]float32
}

var gemmWorkPool = sync.Pool{New: func() any { return new(gemmWork) }}

// grow returns an n-element, 64-byte aligned buffer, reusing buf.
func grow(buf *[]float32, n int) unsafe.Pointer {
	if cap(*buf) < n+16 {
		*buf = make([]float32, n+16)
	}
	p := unsafe.Pointer(unsafe.SliceData(*buf))
	return unsafe.Add(p, (64-uintptr(p)%64)%64)
}

// fadd advances a float32 pointer by i elements.
func fadd(p unsafe.Pointer, i int) unsafe.Pointer { return unsafe.Add(p, i*4) }

func roundUp(x, m int) int { return ceilDiv(x, m) * m }

// sgemmSerial runs the blocked algorithm on one thread. a, b and c point at
// element (0, 0) of op(A)'s storage, op(B)'s storage and C.
func sgemmSerial(kern *gemmKernel, w *gemmWork, transA, transB bool, m, n, k int, alpha float32, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, beta float32, c unsafe.Pointer, ldc int) {
	mr, nr := kern.mr, kern.nr
	MC, KC, NC := kern.mc, kern.kc, kern.nc
	kcMax := min(KC, k)
	pa := grow(&w.abuf, roundUp(min(MC, m), mr)*kcMax)
	pb := grow(&w.bbuf, roundUp(min(NC, n), nr)*kcMax)
	tile := unsafe.Pointer(&w.tile[0])
	for jc := 0; jc < n; jc += NC {
		nc := min(NC, n-jc)
		for pc := 0; pc < k; pc += KC {
			kc := min(KC, k-pc)
			be := beta
			if pc > 0 {
				be = 1
			}
			packB(pb, transB, b, ldb, pc, jc, kc, nc, nr)
			for ic := 0; ic < m; ic += MC {
				mc := min(MC, m-ic)
				packA(pa, transA, a, lda, ic, pc, mc, kc, mr)
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					bp := (*float32)(fadd(pb, jr*kc))
					for ir := 0; ir < mc; ir += mr {
						mrr := min(mr, mc-ir)
						ap := (*float32)(fadd(pa, ir*kc))
						cp := fadd(c, (ic+ir)*ldc+jc+jr)
						if mrr == mr && nrr == nr {
							kern.micro(kc, ap, 1, mr, bp, nr, (*float32)(cp), ldc, alpha, be)
						} else {
							kern.micro(kc, ap, 1, mr, bp, nr, (*float32)(tile), nr, 1, 0)
							mergeTile(cp, ldc, tile, nr, mrr, nrr, alpha, be)
						}
					}
				}
			}
		}
	}
}

// mergeTile sets C = alpha·T + beta·C on the mrr×nrr corner of the tile T
// (row stride nr); with beta == 0 C is not read.
func mergeTile(c unsafe.Pointer, ldc int, t unsafe.Pointer, nr, mrr, nrr int, alpha, beta float32) {
	for r := 0; r < mrr; r++ {
		cr := unsafe.Slice((*float32)(fadd(c, r*ldc)), nrr)
		tr := unsafe.Slice((*float32)(fadd(t, r*nr)), nrr)
		if beta == 0 {
			for j, v := range tr {
				cr[j] = alpha * v
			}
		} else {
			for j, v := range tr {
				cr[j] = alpha*v + beta*cr[j]
			}
		}
	}
}

// scaleTile sets C = beta·C on an m×n block (zero when beta == 0).
func scaleTile(c unsafe.Pointer, ldc, m, n int, beta float32) {
	for r := 0; r < m; r++ {
		cr := unsafe.Slice((*float32)(fadd(c, r*ldc)), n)
		if beta == 0 {
			clear(cr)
		} else {
			for j := range cr {
				cr[j] *= beta
			}
		}
	}
}

// packA copies the mc×kc block of op(A) at (ic, pc) into mr-high panels:
// panel q holds rows ic+q·mr … as dst[q·mr·kc + p·mr + r], zero-padded
// below the last row.
func packA(dst unsafe.Pointer, trans bool, a unsafe.Pointer, lda, ic, pc, mc, kc, mr int) {
	for i := 0; i < mc; i += mr {
		mrr := min(mr, mc-i)
		d := fadd(dst, i*kc)
		if trans {
			// op(A)(i, p) = a[p*lda + i]: each p is a contiguous run of rows.
			for p := 0; p < kc; p++ {
				src := unsafe.Slice((*float32)(fadd(a, (pc+p)*lda+ic+i)), mrr)
				row := unsafe.Slice((*float32)(fadd(d, p*mr)), mr)
				copy(row, src)
				clear(row[mrr:])
			}
			continue
		}
		// op(A)(i, p) = a[i*lda + p]: gather mr rows.
		for r := 0; r < mrr; r++ {
			src := unsafe.Slice((*float32)(fadd(a, (ic+i+r)*lda+pc)), kc)
			for p, v := range src {
				*(*float32)(fadd(d, p*mr+r)) = v
			}
		}
		for r := mrr; r < mr; r++ {
			for p := 0; p < kc; p++ {
				*(*float32)(fadd(d, p*mr+r)) = 0
			}
		}
	}
}

// packB copies the kc×nc block of op(B) at (pc, jc) into nr-wide panels:
// panel q holds columns jc+q·nr … as dst[q·nr·kc + p·nr + j], zero-padded
// right of the last column.
func packB(dst unsafe.Pointer, trans bool, b unsafe.Pointer, ldb, pc, jc, kc, nc, nr int) {
	for j := 0; j < nc; j += nr {
		nrr := min(nr, nc-j)
		d := fadd(dst, j*kc)
		if !trans {
			// op(B)(p, j) = b[p*ldb + j]: each p is a contiguous run of columns.
			for p := 0; p < kc; p++ {
				src := unsafe.Slice((*float32)(fadd(b, (pc+p)*ldb+jc+j)), nrr)
				row := unsafe.Slice((*float32)(fadd(d, p*nr)), nr)
				copy(row, src)
				clear(row[nrr:])
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb + p]: gather nr columns.
		for col := 0; col < nrr; col++ {
			src := unsafe.Slice((*float32)(fadd(b, (jc+j+col)*ldb+pc)), kc)
			for p, v := range src {
				*(*float32)(fadd(d, p*nr+col)) = v
			}
		}
		for col := nrr; col < nr; col++ {
			for p := 0; p < kc; p++ {
				*(*float32)(fadd(d, p*nr+col)) = 0
			}
		}
	}
}
