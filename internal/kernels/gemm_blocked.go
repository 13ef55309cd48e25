package kernels

import (
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// The blocked SGEMM (Goto's algorithm, as in BLIS):
//
//	for jc over N in steps of NC:
//	  for pc over K in steps of KC (the K blocks evened out):
//	    pack the kc×nc block of op(B) into nr-wide panels (or read B in place)
//	    for ic over M in steps of MC:
//	      pack the mc×kc block of op(A) into mr-high panels (or read A in place)
//	      for jr over the block in steps of nr:
//	        for ir over the block in steps of mr:
//	          micro-kernel: C tile = alpha·A panel·B panel + beta'·C tile
//
// with beta' = beta for the first K block and 1 after. The micro-kernel
// reads A(r, p) at a[r*rsa + p*csa] and B(p, j) at b[p*csb + j], so A in
// either layout and a row-major B can be read where they are; packing is
// chosen per call (chooseGemmPlan) and a transposed B is always packed.
// Tiles at the bottom edge of C go to kernels for fewer rows; tiles at the
// right edge go to masked kernels (AVX-512) or through a scratch tile.
//
// Threads split C into disjoint blocks of whole tiles along M or N
// (gemmSplitN) and run this loop independently. K is never split, and
// neither the tile grid nor the order of the sums over K depends on the
// split, so every element of C gets the same bits whatever the thread
// count. Stealing between the threads' blocks was measured and dropped: a
// thread done early taking chunks of another's (tiles dealt out from
// per-thread shares, alternated call by call with the fixed split at 2
// threads) won on no shape reliably (6272×288×64 0.7–4.5% slower, 1024³
// −2% to +15%, the DCGAN's products even), as a thread descheduled in the
// middle of its block holds tiles no other may write whatever the
// schedule.

// microKernel computes one MR×NR tile; see sgemmMicroGeneric for the contract.
type microKernel func(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32)

// gemmKernel is a family of micro-kernels with its tile shape and cache
// blocking.
type gemmKernel struct {
	name       string
	mr, nr     int // tile of C computed by one micro call
	mc, kc, nc int // A block mc×kc (L2), B block kc×nc; multiples of mr, nr
	micro      microKernel
	rows       []microKernel // rows[r-1] computes an r×nr tile; rows[mr-1] == micro
	// edge[r-1][v-1](…, n) computes an r×n tile for n ≤ v·edgeW without
	// touching B or C past column n, or edge is nil and partial tiles go
	// through a scratch tile.
	edge  [][]edgeKernel
	edgeW int
}

// edgeKernel is a microKernel for a tile n columns wide (n < NR).
type edgeKernel func(k int, a *float32, rsa, csa int, b *float32, csb int, c *float32, ldc int, alpha, beta float32, n int)

func newGemmKernel(name string, rows []microKernel, nr, mc, kc, nc int) *gemmKernel {
	mr := len(rows)
	return &gemmKernel{name: name, mr: mr, nr: nr, mc: mc, kc: kc, nc: nc, micro: rows[mr-1], rows: rows}
}

// gemmKernels lists every kernel this build and CPU can run, best first;
// the tests run them all. gemmBest is the one Sgemm uses.
var (
	gemmKernels = append(archGemmKernels(), genericGemmKernels...)
	gemmBest    = gemmKernels[0]
)

// gemmTranspose8 is the fast 8×8 block transpose for packing a transposed
// B, or nil (see transpose8Go).
var gemmTranspose8 = archTranspose8()

// gemmParallelFlops is the smallest 2·m·n·k worth splitting over threads.
// Measured (M×K×N, workers spinning, two threads against one): 32×128×64
// and 64×64×64 (2^19) +21% and +8%, 32×96×64 +10%, 32×64×64 and 16×128×64
// (2^18) −12% and −19%.
const gemmParallelFlops = 1 << 19

// gemmRowParallelFlops is the smallest 2·n·k worth splitting over threads
// when A is one row (a dense layer on one sample): the threads then share
// the panels of B, each streaming its own columns, and keep them in their
// own L2. Measured (1×K×N, workers spinning, two threads against one,
// median of 3000 calls on an idle machine): 1×512×128 2.31 → 1.46 µs,
// 1×800×128 3.66 → 2.11 µs, 1×1600×128 (CNNNet's first dense layer)
// 7.9 → 4.2 µs, 1×128×512 2.6 → 1.6 µs; 1×256×128 (2^16) gains 0.25 µs
// and 1×128×128 nothing. The products of 2^17 gain under a microsecond
// each, and every hand-off is one more chance to wait for a descheduled
// worker on a busy machine: gpt_generate, whose 128-wide model runs eight
// of them per token, was as fast with them split in quiet rounds and
// slower in busy ones (3,066–4,339 against 3,949–5,326 tokens/s), so the
// line is 2^18 (then 5,347 against 5,037, 7 rounds alternating).
const gemmRowParallelFlops = 1 << 18

// sgemm is Sgemm with an explicit kernel and thread count: it splits C
// over up to threads threads however small the problem. A nil plan lets
// chooseGemmPlan decide what to pack.
func sgemm(kern *gemmKernel, threads int, plan *gemmPlan, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkSgemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	cp := unsafe.Pointer(unsafe.SliceData(c))
	if k == 0 || alpha == 0 {
		gemmScaleTile(cp, ldc, m, n, beta)
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
	if plan != nil {
		t.plan = *plan
	} else {
		t.plan = chooseGemmPlan(kern, transA, transB, m, n, k, lda, ldb)
	}
	mu, nu := gemmCeilDiv(m, kern.mr), gemmCeilDiv(n, kern.nr)
	if threads <= 1 || max(mu, nu) <= 1 {
		t.run(0, mu)
	} else {
		t.splitN = gemmSplitN(m, n, mu, nu, threads)
		units := mu
		if t.splitN {
			units = nu
		}
		parallelRun(t, units, min(threads, units))
	}
	*t = gemmTask{}
	gemmTaskPool.Put(t)
}

// gemmSplitN reports whether a parallel Sgemm of m×n tiles (mu along M,
// nu along N) splits C along N rather than M. Each thread of an N split
// reads all of A (m·k values) and each of an M split all of B (k·n, packed
// again by every thread when packed), so where both splits keep the
// threads about equally busy (within 3%) the one that repeats the smaller
// operand wins: along M when m > n. On the DCGAN's weight gradient
// 1024×128×3136 (threads splitting N read its 12.8 MB A twice) that is
// 11–14% faster at 2 threads (BenchmarkSgemmDCGAN's fwd_NN and dw_TN and
// BenchmarkSgemmWeightGrad's dcgan_conv2, old and new binaries alternating,
// medians of 8 at load 2.6–3); the other shapes of those benchmarks keep
// their split.
func gemmSplitN(m, n, mu, nu, threads int) bool {
	em, en := gemmSplitEfficiency(mu, threads), gemmSplitEfficiency(nu, threads)
	if m != n && math.Abs(em-en) <= 0.03 {
		return n > m
	}
	return en > em
}

// gemmSplitEfficiency is the fraction of w threads kept busy by units equal
// pieces of work dealt out in contiguous runs.
func gemmSplitEfficiency(units, w int) float64 {
	return float64(units) / float64(w*gemmCeilDiv(units, w))
}

func gemmCeilDiv(a, b int) int { return (a + b - 1) / b }

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
	plan           gemmPlan
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
			b = gemmPtr(b, j0*t.ldb)
		} else {
			b = gemmPtr(b, j0)
		}
		c = gemmPtr(c, j0)
	} else {
		i0 := lo * t.kern.mr
		m = min(hi*t.kern.mr, t.m) - i0
		if t.transA {
			a = gemmPtr(a, i0)
		} else {
			a = gemmPtr(a, i0*t.lda)
		}
		c = gemmPtr(c, i0*t.ldc)
	}
	if m <= 0 || n <= 0 {
		return
	}
	w := gemmWorkPool.Get().(*gemmWork)
	sgemmSerial(t.kern, w, t.plan, t.transA, t.transB, m, n, t.k, t.alpha, a, t.lda, b, t.ldb, t.beta, c, t.ldc)
	gemmWorkPool.Put(w)
}

// gemmWork is one thread's scratch: packed blocks and an edge tile.
type gemmWork struct {
	abuf, bbuf []float32
	tile       [gemmMaxTile]float32
}

var gemmWorkPool = sync.Pool{New: func() any { return new(gemmWork) }}

// gemmGrow returns an n-element, 64-byte aligned buffer, reusing buf.
func gemmGrow(buf *[]float32, n int) unsafe.Pointer {
	if cap(*buf) < n+16 {
		*buf = make([]float32, n+16)
	}
	p := unsafe.Pointer(unsafe.SliceData(*buf))
	return unsafe.Add(p, (64-uintptr(p)%64)%64)
}

// gemmPtr advances a float32 pointer by i elements.
func gemmPtr(p unsafe.Pointer, i int) unsafe.Pointer { return unsafe.Add(p, i*4) }

func gemmRoundUp(x, m int) int { return gemmCeilDiv(x, m) * m }

// chooseGemmPlan decides which operands to pack for one call.
//
// Measured on AVX-512 (Xeon, 48 KiB L1d, 2 MiB L2): the kernels read A in
// place as fast as packed in every layout and shape tried, so A is never
// packed (packing costs a pass over A per column block, 40–50% of the time
// at 6272×288×64). B in place is faster for small M (it saves the pass over
// B), but for large M and N the panels of a row-major B, one row per k
// apart in memory, miss in L1 and the TLB and packing wins by ~10%.
func chooseGemmPlan(kern *gemmKernel, transA, transB bool, m, n, k, lda, ldb int) gemmPlan {
	return gemmPlan{packA: false, packB: transB || (m >= 256 && n >= 256)}
}

// gemmPlan says which operands are packed. An operand read in place is
// read straight from its storage by the micro-kernel: A in either layout
// (its strides go to the kernel), B only when not transposed. Packing A is
// never chosen on the machine measured; it stays, tested, for tuning on
// CPUs with smaller caches.
type gemmPlan struct {
	packA, packB bool
}

// sgemmSerial runs the blocked algorithm on one thread. a, b and c point at
// element (0, 0) of op(A)'s storage, op(B)'s storage and C.
func sgemmSerial(kern *gemmKernel, w *gemmWork, plan gemmPlan, transA, transB bool, m, n, k int, alpha float32, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, beta float32, c unsafe.Pointer, ldc int) {
	mr, nr := kern.mr, kern.nr
	MC, KC, NC := kern.mc, kern.kc, kern.nc
	kcMax := min(KC, k)
	if kcMax <= 0 {
		return
	}
	var pa, pb unsafe.Pointer
	if plan.packA {
		pa = gemmGrow(&w.abuf, gemmRoundUp(min(MC, m), mr)*kcMax)
	}
	if plan.packB || transB {
		plan.packB = true
		pb = gemmGrow(&w.bbuf, gemmRoundUp(min(NC, n), nr)*kcMax)
	} else if n%nr != 0 && kern.edge == nil {
		pb = gemmGrow(&w.bbuf, nr*kcMax) // the last, partial panel
	}
	rsA, csA := lda, 1 // op(A)(i, p) = a[i*rsA + p*csA]
	if transA {
		rsA, csA = 1, lda
	}
	tile := unsafe.Pointer(&w.tile[0])
	KC = gemmCeilDiv(k, gemmCeilDiv(k, KC)) // equal K blocks, none of them a sliver
	for jc := 0; jc < n; jc += NC {
		nc := min(NC, n-jc)
		nfull := nc - nc%nr
		for pc := 0; pc < k; pc += KC {
			kc := min(KC, k-pc)
			be := beta
			if pc > 0 {
				be = 1
			}
			if plan.packB {
				gemmPackB(pb, transB, b, ldb, pc, jc, kc, nc, nr)
			} else if nfull < nc && kern.edge == nil {
				gemmPackB(pb, false, b, ldb, pc, jc+nfull, kc, nc-nfull, nr)
			}
			for ic := 0; ic < m; ic += MC {
				mc := min(MC, m-ic)
				if plan.packA {
					gemmPackA(pa, transA, a, lda, ic, pc, mc, kc, mr)
				}
				for jr := 0; jr < nc; jr += nr {
					nrr := min(nr, nc-jr)
					bp, csb := pb, nr
					switch {
					case plan.packB:
						bp = gemmPtr(pb, jr*kc)
					case nrr == nr || kern.edge != nil:
						bp, csb = gemmPtr(b, pc*ldb+jc+jr), ldb
					}
					for ir := 0; ir < mc; ir += mr {
						mrr := min(mr, mc-ir)
						micro := kern.rows[mrr-1]
						ap, rsa, csa := gemmPtr(a, (ic+ir)*rsA+pc*csA), rsA, csA
						if plan.packA {
							ap, rsa, csa = gemmPtr(pa, ir*kc), 1, mr
						}
						cp := gemmPtr(c, (ic+ir)*ldc+jc+jr)
						switch {
						case nrr == nr:
							micro(kc, (*float32)(ap), rsa, csa, (*float32)(bp), csb, (*float32)(cp), ldc, alpha, be)
						case kern.edge != nil:
							kern.edge[mrr-1][(nrr-1)/kern.edgeW](kc, (*float32)(ap), rsa, csa, (*float32)(bp), csb, (*float32)(cp), ldc, alpha, be, nrr)
						default:
							micro(kc, (*float32)(ap), rsa, csa, (*float32)(bp), csb, (*float32)(tile), nr, 1, 0)
							gemmMergeTile(cp, ldc, tile, nr, mrr, nrr, alpha, be)
						}
					}
				}
			}
		}
	}
}

// gemmMergeTile sets C = alpha·T + beta·C on the mrr×nrr corner of the tile T
// (row stride nr); with beta == 0 C is not read.
func gemmMergeTile(c unsafe.Pointer, ldc int, t unsafe.Pointer, nr, mrr, nrr int, alpha, beta float32) {
	for r := 0; r < mrr; r++ {
		cr := unsafe.Slice((*float32)(gemmPtr(c, r*ldc)), nrr)
		tr := unsafe.Slice((*float32)(gemmPtr(t, r*nr)), nrr)
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

// gemmScaleTile sets C = beta·C on an m×n block (zero when beta == 0).
func gemmScaleTile(c unsafe.Pointer, ldc, m, n int, beta float32) {
	for r := 0; r < m; r++ {
		cr := unsafe.Slice((*float32)(gemmPtr(c, r*ldc)), n)
		if beta == 0 {
			clear(cr)
		} else {
			for j := range cr {
				cr[j] *= beta
			}
		}
	}
}

// gemmPackA copies the mc×kc block of op(A) at (ic, pc) into mr-high panels:
// panel q holds rows ic+q·mr … as dst[q·mr·kc + p·mr + r]. A last, partial
// panel keeps the stride mr and is not padded: it goes to a kernel for
// fewer rows.
func gemmPackA(dst unsafe.Pointer, trans bool, a unsafe.Pointer, lda, ic, pc, mc, kc, mr int) {
	if trans {
		// op(A)(i, p) = a[p*lda + i]: each p is a contiguous run of mc rows,
		// read in order and dealt out to the panels.
		full := mc - mc%mr
		for p := 0; p < kc; p++ {
			src := unsafe.Slice((*float32)(gemmPtr(a, (pc+p)*lda+ic)), mc)
			d := gemmPtr(dst, p*mr)
			i := 0
			if mr == 6 {
				for ; i < full; i += 6 {
					*(*[6]float32)(gemmPtr(d, i*kc)) = [6]float32(src[i : i+6])
				}
			}
			for ; i < mc; i += mr {
				copy(unsafe.Slice((*float32)(gemmPtr(d, i*kc)), min(mr, mc-i)), src[i:])
			}
		}
		return
	}
	for i := 0; i < mc; i += mr {
		mrr := min(mr, mc-i)
		d := gemmPtr(dst, i*kc)
		// op(A)(i, p) = a[i*lda + p]: gather mr rows.
		for r := 0; r < mrr; r++ {
			src := unsafe.Slice((*float32)(gemmPtr(a, (ic+i+r)*lda+pc)), kc)
			for p, v := range src {
				*(*float32)(gemmPtr(d, p*mr+r)) = v
			}
		}
	}
}

// gemmPackB copies the kc×nc block of op(B) at (pc, jc) into nr-wide panels:
// panel q holds columns jc+q·nr … as dst[q·nr·kc + p·nr + j]. A last,
// partial panel keeps the stride nr and is not padded: the columns past
// its end go into the edge tile's scratch columns, which are discarded
// (column j of C depends on column j of B only).
func gemmPackB(dst unsafe.Pointer, trans bool, b unsafe.Pointer, ldb, pc, jc, kc, nc, nr int) {
	for j := 0; j < nc; j += nr {
		nrr := min(nr, nc-j)
		d := gemmPtr(dst, j*kc)
		if !trans {
			// op(B)(p, j) = b[p*ldb + j]: each p is a contiguous run of columns.
			for p := 0; p < kc; p++ {
				src := unsafe.Slice((*float32)(gemmPtr(b, (pc+p)*ldb+jc+j)), nrr)
				copy(unsafe.Slice((*float32)(gemmPtr(d, p*nr)), nrr), src)
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb + p]: transpose, eight columns at a time.
		col := 0
		if n8 := kc / 8; gemmTranspose8 != nil {
			for ; col+8 <= nrr; col += 8 {
				src := gemmPtr(b, (jc+j+col)*ldb+pc)
				if n8 > 0 {
					gemmTranspose8((*float32)(gemmPtr(d, col)), nr, (*float32)(src), ldb, n8)
				}
				for p := n8 * 8; p < kc; p++ {
					for r := 0; r < 8; r++ {
						*(*float32)(gemmPtr(d, p*nr+col+r)) = *(*float32)(gemmPtr(src, r*ldb+p))
					}
				}
			}
		}
		for ; col < nrr; col++ {
			src := unsafe.Slice((*float32)(gemmPtr(b, (jc+j+col)*ldb+pc)), kc)
			for p, v := range src {
				*(*float32)(gemmPtr(d, p*nr+col)) = v
			}
		}
	}
}
