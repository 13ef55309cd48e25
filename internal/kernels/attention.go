package kernels

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// AttentionGeom describes one scaled-dot-product attention: queries
// q [B, Tq, H, D], keys k [B, Tk, H, D], values v [B, Tk, H, Dv] and output
// out [B, Tq, H, Dv] (the layout of Keras's MultiHeadAttention after its
// projections, so no transpose is needed), an optional mask [B, Tq, Tk]
// (nonzero: query i may attend key j) shared by the heads, and the
// per-row log-sum-exp lse [B, H, Tq] kept for the backward pass.
//
// With Causal, query i attends keys j ≤ i + Tk − Tq (the causal mask
// aligned at the end, so that Tq = 1 with a key/value cache of Tk
// positions sees all of them).
//
// With Overwrite, AttentionBackward sets dq, dk and dv instead of adding
// to them (their old contents, garbage included, are ignored).
type AttentionGeom struct {
	B, H, Tq, Tk, D, Dv int
	Scale               float32 // multiplies q·k
	Causal              bool
	Overwrite           bool
}

// Tile sizes of the fused attention: in the forward pass a block of
// attnBr query rows meets a block of attnBc keys at a time, in the
// backward pass attnBrB rows meet attnBcB keys, so the scratch per worker
// is a few such tiles, never Tq·Tk. Key blocks of 256 in the forward pass
// amortize the per-row softmax bookkeeping (and a single block, T ≤ 256,
// needs no rescaling and can keep its probabilities). Measured at batch 4,
// 4 heads, head size 64, one thread, T = 1024 (CPU ms, min of 5): forward
// 28.2 (64×256), 29.2 (64×128), 29.8 (32×256), 29.4 (96×128); backward
// within noise of one another from 64×64 to 256×64 and 128×128. Inside
// them the micro-kernels run at the rate they reach alone (~200 GFLOP/s
// per CPU second); what is left is the softmax rows and the transposes.
const (
	attnBr  = 64
	attnBc  = 256
	attnBrB = 64
	attnBcB = 64
)

// attnLazy is how far (in log space) a row's running maximum may lag
// behind its true maximum before the forward pass rescales the row's
// partial sums: e^{s − m} then stays below e^8 ≈ 3000, harmless in
// float32, and most key blocks of a row skip the rescale entirely.
const attnLazy = 8

// attnMasked stands in for −∞ in a score row; exp of it minus any finite
// maximum is 0 with SIMD.Exp.
const attnMasked = -1e30

// attnWork is one worker's scratch.
type attnWork struct {
	s, p, o []float32
	m, l    []float32
	di      []float32
	// kt holds the keys (and vt the values) of one head transposed, key
	// block by key block (see transposeBlocks), so that the score
	// products read them in place instead of packing a transposed
	// operand per tile; ktHead is the b·H+h they belong to (−1: none).
	kt, vt []float32
	ktHead int
}

var attnWorkPool = sync.Pool{New: func() any { return new(attnWork) }}

func growF(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// attnGemm is Sgemm on the calling thread only (the fused attention
// parallelizes over heads and query blocks itself). B is never
// transposed: every operand is read where it lies, nothing is packed.
// The tiles are small (a few µs each), so when K fits one cache block it
// walks the micro-kernels itself, sparing the blocked driver's setup
// (task and scratch from their pools, the plan) on every tile; the tile
// grid and the order of the sums are the driver's, so are the bits.
func attnGemm(transA bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if sgemmThin(transA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) {
		return
	}
	kern := gemmBest
	if m == 0 || n == 0 || k == 0 || alpha == 0 || k > kern.kc || n > kern.nc || (n%kern.nr != 0 && kern.edge == nil) {
		sgemm(kern, 1, &attnPlan, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	checkSgemm(transA, false, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	rsa, csa := lda, 1 // op(A)(i, p) = a[i*rsa + p*csa]
	if transA {
		rsa, csa = 1, lda
	}
	ap, bp, cp := unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), unsafe.Pointer(&c[0])
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < n; jr += nr {
		nrr := min(nr, n-jr)
		bj := (*float32)(gemmPtr(bp, jr))
		for ir := 0; ir < m; ir += mr {
			mrr := min(mr, m-ir)
			ai, ci := (*float32)(gemmPtr(ap, ir*rsa)), (*float32)(gemmPtr(cp, ir*ldc+jr))
			if nrr == nr {
				kern.rows[mrr-1](k, ai, rsa, csa, bj, ldb, ci, ldc, alpha, beta)
			} else {
				kern.edge[mrr-1][(nrr-1)/kern.edgeW](k, ai, rsa, csa, bj, ldb, ci, ldc, alpha, beta, nrr)
			}
		}
	}
}

// attnPlan packs nothing: the tiles are small and B is always row-major.
var attnPlan = gemmPlan{}

// transposeBlocks writes the rows × cols matrix src (row stride ld)
// transposed, in blocks of bc rows: block j0 (width bw = min(bc, rows−j0))
// is the cols × bw matrix dst[j0·cols + p·bw + c] = src[(j0+c)·ld + p].
func transposeBlocks(dst, src []float32, ld, rows, cols, bc int) {
	if rows == 0 || cols == 0 {
		return
	}
	_ = src[(rows-1)*ld+cols-1]
	_ = dst[rows*cols-1]
	n8 := cols / 8
	for j0 := 0; j0 < rows; j0 += bc {
		bw := min(bc, rows-j0)
		panel := dst[j0*cols : (j0+bw)*cols]
		c8 := 0 // rows [0, c8) go 8 at a time through the 8×8 transpose
		if gemmTranspose8 != nil && n8 > 0 {
			c8 = bw - bw%8
			for c := 0; c < c8; c += 8 {
				gemmTranspose8(&panel[c], bw, &src[(j0+c)*ld], ld, n8)
			}
		}
		for c := range bw { // what the 8×8 blocks left
			row := src[(j0+c)*ld:][:cols]
			p0 := 0
			if c < c8 {
				p0 = 8 * n8
			}
			for p := p0; p < cols; p++ {
				panel[p*bw+c] = row[p]
			}
		}
	}
}

// validCols returns how many of the bc keys starting at j0 query row qi
// may see under the causal mask (all of them without it).
func (g *AttentionGeom) validCols(qi, j0, bc int) int {
	if !g.Causal {
		return bc
	}
	return max(0, min(bc, qi+g.Tk-g.Tq+1-j0))
}

// keyEnd returns the number of keys any of the query rows [i0, i0+br) may
// see.
func (g *AttentionGeom) keyEnd(i0, br int) int {
	if !g.Causal {
		return g.Tk
	}
	return max(0, min(g.Tk, i0+br+g.Tk-g.Tq))
}

// AttentionForward computes out = softmax(Scale·q·kᵀ + mask)·v per batch
// and head, and lse = log Σ_j exp(Scale·q_i·k_j) over the keys each query
// may see (+Inf for a query that may see none; its output row is 0).
//
// It never forms the Tq×Tk score matrix: for each block of query rows it
// walks the key blocks keeping a running maximum m, normalizer l and
// unnormalized output o (the online softmax of FlashAttention, Dao et al.
// 2022):
//
//	s = Scale·q_I·k_Jᵀ;  m' = max(m, rowmax s);  p = exp(s − m')
//	l = l·exp(m − m') + rowsum p;  o = o·exp(m − m') + p·v_J;  m = m'
//
// (except that m' stays m while rowmax s ≤ m + attnLazy) and ends with
// out_I = o/l, lse_I = m + log l. The products are SGEMM
// tiles. Work is shared out by batch × head, or batch × head × query
// block when the heads are few (attnParallel).
//
// probs is nil, or at least AttentionProbsLen(g) > 0 long: then the
// forward pass also leaves there the probabilities p [B, H, Tq, Tk]
// (0 where masked), which AttentionBackward then reads instead of
// recomputing them.
//
// Reference loop (for one batch b and head h; masked scores are −∞):
//
//	for i := range Tq {
//		s_j = Scale·Σ_d q[b,i,h,d]·k[b,j,h,d]  for every key j
//		p_j = exp(s_j − max s) / Σ exp(s − max s)
//		out[b,i,h,:] = Σ_j p_j·v[b,j,h,:]
//	}
func AttentionForward(g AttentionGeom, q, k, v, mask, out, lse, probs []float32) {
	g.check(q, k, v, mask, out, lse)
	g.checkProbs(probs)
	nb := (g.Tq + attnBr - 1) / attnBr
	tasks := g.B * g.H * nb
	if tasks == 0 {
		return
	}
	work := g.Tq * g.Tk * (g.D + g.Dv) // flops/2 over all tasks
	grain := max(1, tasks*(1<<16)/max(work, 1))
	// With heads enough to share out, a task is a whole head (its keys
	// are transposed once); otherwise a query block of one.
	per := 1
	if g.B*g.H >= 4*Threads() {
		per = nb
	}
	attnParallel(tasks/per, min(Threads(), tasks/grain), func(w *attnWork, t int) {
		for u := t * per; u < (t+1)*per; u++ {
			bh, blk := u/nb, u%nb
			if bh != w.ktHead {
				g.transposeKeys(w, bh/g.H, bh%g.H, k)
				w.ktHead = bh
			}
			i0 := blk * attnBr
			g.forwardBlock(w, bh/g.H, bh%g.H, i0, min(attnBr, g.Tq-i0), q, v, mask, out, lse, probs)
		}
	})
}

// attnParallel runs fn(w, t) for every task t < n on up to workers
// threads, each with its own scratch w. The threads take the next task
// from a shared counter rather than a fixed share of them: on a busy
// machine a thread that is descheduled holds up at most the task it is
// in, not half the work. Tasks write disjoint outputs, and each is
// computed the same way whichever thread runs it, so the bits do not
// depend on the schedule.
func attnParallel(n, workers int, fn func(w *attnWork, t int)) {
	var next atomic.Int64
	run := func(_, _ int) {
		w := attnWorkPool.Get().(*attnWork)
		w.ktHead = -1
		for {
			t := int(next.Add(1)) - 1
			if t >= n {
				break
			}
			fn(w, t)
		}
		attnWorkPool.Put(w)
	}
	if workers <= 1 {
		run(0, 1)
		return
	}
	Parallel(workers, 1, run)
}

// transposeKeys puts the keys of batch b, head h into w.kt in blocks of
// attnBc (see transposeBlocks).
func (g *AttentionGeom) transposeKeys(w *attnWork, b, h int, k []float32) {
	w.kt = growF(w.kt, g.Tk*g.D)
	transposeBlocks(w.kt, k[(b*g.Tk*g.H+h)*g.D:], g.H*g.D, g.Tk, g.D, attnBc)
}

// attnKeepMax is the most probabilities (floats) an attention op keeps
// for its backward pass: 16 MiB, e.g. batch 4 × 4 heads at T = 512.
const attnKeepMax = 1 << 22

// AttentionProbsLen returns how long a probs buffer AttentionForward can
// fill for g, B·H·Tq·Tk, or 0 where keeping the probabilities does not
// pay: more than attnKeepMax of them, or more keys than one forward key
// block holds (the kept block would need rescaling). Keeping them saves
// the backward pass a product q·kᵀ and its exponentials, a seventh of the
// arithmetic of forward and backward.
func AttentionProbsLen(g AttentionGeom) int {
	n := g.B * g.H * g.Tq * g.Tk
	if g.Tk > attnBc || n > attnKeepMax {
		return 0
	}
	return n
}

func (g *AttentionGeom) checkProbs(probs []float32) {
	if probs == nil {
		return
	}
	if n := AttentionProbsLen(*g); n == 0 || len(probs) < n {
		panic(fmt.Sprintf("kernels: attention: probs has %d floats, AttentionProbsLen gives %d", len(probs), n))
	}
}

func (g *AttentionGeom) check(q, k, v, mask, out, lse []float32) {
	need := func(name string, s []float32, n int) {
		if len(s) < n {
			panic("kernels: attention: " + name + " is shorter than its shape")
		}
	}
	need("q", q, g.B*g.Tq*g.H*g.D)
	need("k", k, g.B*g.Tk*g.H*g.D)
	need("v", v, g.B*g.Tk*g.H*g.Dv)
	need("out", out, g.B*g.Tq*g.H*g.Dv)
	need("lse", lse, g.B*g.H*g.Tq)
	if mask != nil {
		need("mask", mask, g.B*g.Tq*g.Tk)
	}
}

// maskRow sets to the −∞ stand-in the scores in row (query qi, keys j0 to
// j0+nv) where the mask is 0; validCols has already cut the row to its
// causal width nv.
func (g *AttentionGeom) maskRow(row, mask []float32, b, qi, j0, nv int) {
	if mask != nil {
		mrow := mask[(b*g.Tq+qi)*g.Tk+j0:]
		for c := 0; c < nv; c++ {
			if mrow[c] == 0 {
				row[c] = attnMasked
			}
		}
	}
}

func (g *AttentionGeom) forwardBlock(w *attnWork, b, h, i0, br int, q, v, mask, out, lse, probs []float32) {
	ldq, ldv := g.H*g.D, g.H*g.Dv
	w.s = growF(w.s, br*min(attnBc, g.Tk))
	w.o = growF(w.o, br*g.Dv)
	w.m = growF(w.m, br)
	w.l = growF(w.l, br)
	clear(w.o)
	for r := range br {
		w.m[r], w.l[r] = float32(math.Inf(-1)), 0
	}
	qoff := ((b*g.Tq+i0)*g.H + h) * g.D
	jEnd := g.keyEnd(i0, br)
	for j0 := 0; j0 < jEnd; j0 += attnBc {
		bc := min(attnBc, jEnd-j0)
		bw := min(attnBc, g.Tk-j0) // the width of kt's block (causal rows may see fewer)
		voff := ((b*g.Tk+j0)*g.H + h) * g.Dv
		s, lds := w.s[:br*bc], bc
		if probs != nil { // the only key block: the scores go where the probabilities stay
			s, lds = probs[((b*g.H+h)*g.Tq+i0)*g.Tk:][:br*g.Tk], g.Tk
		}
		attnGemm(false, br, bc, g.D, g.Scale, q[qoff:], ldq, w.kt[j0*g.D:], bw, 0, s, lds)
		for r := range br {
			row := s[r*lds : r*lds+lds]
			nv := g.validCols(i0+r, j0, bc)
			g.maskRow(row, mask, b, i0+r, j0, nv)
			top := float32(attnMasked)
			if nv > 0 {
				top = SIMD.Max(row[:nv])
			}
			if top <= attnMasked {
				clear(row)
				continue
			}
			// Rescale only when the row's maximum outgrows the running
			// one by more than attnLazy (always on the row's first
			// block, where m is −∞ and there is nothing to rescale).
			if m := w.m[r]; top > m+attnLazy {
				if w.l[r] != 0 {
					alpha := float32(math.Exp(float64(m - top)))
					w.l[r] *= alpha
					SIMD.Scale(alpha, w.o[r*g.Dv:(r+1)*g.Dv])
				}
				w.m[r] = top
			}
			w.l[r] += attnRows.expSub(row[:nv], w.m[r])
			clear(row[nv:]) // with probs, up to Tk: the keys past jEnd too
		}
		attnGemm(false, br, g.Dv, bc, 1, s, lds, v[voff:], ldv, 1, w.o, g.Dv)
	}
	for r := range br {
		dst := out[((b*g.Tq+i0+r)*g.H+h)*g.Dv:][:g.Dv]
		li := &lse[(b*g.H+h)*g.Tq+i0+r]
		if w.l[r] == 0 {
			clear(dst)
			*li = float32(math.Inf(1))
			if probs != nil && jEnd == 0 { // the loop never ran: a causal row that sees nothing
				clear(probs[((b*g.H+h)*g.Tq+i0+r)*g.Tk:][:g.Tk])
			}
			continue
		}
		inv := 1 / w.l[r]
		for d, x := range w.o[r*g.Dv : (r+1)*g.Dv] {
			dst[d] = x * inv
		}
		*li = w.m[r] + float32(math.Log(float64(w.l[r])))
		if probs != nil {
			SIMD.Scale(inv, probs[((b*g.H+h)*g.Tq+i0+r)*g.Tk:][:jEnd])
		}
	}
}

// AttentionBackward accumulates into dq, dk and dv the gradients of the
// attention that AttentionForward computed (out and lse as it returned
// them) for the output gradient dout [B, Tq, H, Dv]. Unless the forward
// pass kept them in probs, it recomputes each probability tile from q, k
// and lse (FlashAttention-2's backward):
//
//	p = exp(Scale·q_I·k_Jᵀ − lse_I);  dv_J += pᵀ·dout_I;  dp = dout_I·v_Jᵀ
//	ds = p ⊙ (dp − D_I), D_i = Σ_d dout[i,d]·out[i,d]
//	dq_I += Scale·ds·k_J;  dk_J += Scale·dsᵀ·q_I
//
// It walks key blocks J (kᵀ and vᵀ transposed once per block) and, inside,
// query blocks I. Work is shared out by batch × head, which own disjoint
// gradient slices (attnParallel). With g.Overwrite the first product into each gradient
// tile has β = 0. probs is nil or what AttentionForward left there; then
// p is read from it, not recomputed.
func AttentionBackward(g AttentionGeom, q, k, v, mask, out, lse, probs, dout, dq, dk, dv []float32) {
	g.check(q, k, v, mask, out, lse)
	g.check(dq, dk, dv, nil, dout, lse)
	g.checkProbs(probs)
	tasks := g.B * g.H
	if tasks == 0 {
		return
	}
	if g.Overwrite && (g.Tq == 0 || g.Tk == 0) { // no tile: nothing to write but zeros
		clear(dq[:g.B*g.Tq*g.H*g.D])
		clear(dk[:g.B*g.Tk*g.H*g.D])
		clear(dv[:g.B*g.Tk*g.H*g.Dv])
		return
	}
	work := g.Tq * g.Tk * (g.D + g.Dv)
	grain := max(1, (1<<17)/max(work, 1))
	attnParallel(tasks, min(Threads(), tasks/grain), func(w *attnWork, t int) {
		g.backwardHead(w, t/g.H, t%g.H, q, k, v, mask, out, lse, probs, dout, dq, dk, dv)
	})
}

func (g *AttentionGeom) backwardHead(w *attnWork, b, h int, q, k, v, mask, out, lse, probs, dout, dq, dk, dv []float32) {
	ldq, ldv := g.H*g.D, g.H*g.Dv
	w.di = growF(w.di, g.Tq)
	w.p = growF(w.p, attnBrB*attnBcB)
	w.s = growF(w.s, attnBrB*attnBcB)
	w.kt = growF(w.kt, attnBcB*g.D)
	w.vt = growF(w.vt, attnBcB*g.Dv)
	ls := lse[(b*g.H+h)*g.Tq:][:g.Tq]
	for j0 := 0; j0 < g.Tk; j0 += attnBcB {
		bc := min(attnBcB, g.Tk-j0)
		koff := ((b*g.Tk+j0)*g.H + h) * g.D
		voff := ((b*g.Tk+j0)*g.H + h) * g.Dv
		// kᵀ (unless p is kept) and vᵀ of this key block, once for all
		// its query blocks
		if probs == nil {
			transposeBlocks(w.kt, k[koff:], ldq, bc, g.D, bc)
		}
		transposeBlocks(w.vt, v[voff:], ldv, bc, g.Dv, bc)
		iStart := 0
		if g.Causal { // first query row that sees key j0
			iStart = max(0, j0-(g.Tk-g.Tq)) / attnBrB * attnBrB
		}
		for i0 := iStart; i0 < g.Tq; i0 += attnBrB {
			br := min(attnBrB, g.Tq-i0)
			qoff := ((b*g.Tq+i0)*g.H + h) * g.D
			ooff := ((b*g.Tq+i0)*g.H + h) * g.Dv
			if j0 == 0 { // every query block used starts at key block 0
				// D_i where the block's rows of out and dout are about to
				// be read anyway (a separate pass over them ran at
				// cache-miss speed: 7% of the backward at T = 256)
				for i := i0; i < i0+br; i++ {
					off := ((b*g.Tq+i)*g.H + h) * g.Dv
					w.di[i] = SIMD.Dot(dout[off:off+g.Dv], out[off:off+g.Dv])
				}
			}
			p, ldp, ds := w.p[:br*bc], bc, w.s[:br*bc]
			if probs != nil {
				p, ldp = probs[((b*g.H+h)*g.Tq+i0)*g.Tk+j0:], g.Tk
			} else {
				g.recomputeProbs(w, b, i0, br, j0, bc, q[qoff:], ls, mask, p)
			}
			// Every query block meets key block 0 and every key block
			// meets its first query block iStart: there, with Overwrite,
			// the products set the tiles.
			betaKV, betaQ := float32(1), float32(1)
			if g.Overwrite && i0 == iStart {
				betaKV = 0
			}
			if g.Overwrite && j0 == 0 {
				betaQ = 0
			}
			attnGemm(true, bc, g.Dv, br, 1, p, ldp, dout[ooff:], ldv, betaKV, dv[voff:], ldv)
			attnGemm(false, br, bc, g.Dv, 1, dout[ooff:], ldv, w.vt, bc, 0, ds, bc)
			for r := range br {
				attnRows.ds(ds[r*bc:(r+1)*bc], p[r*ldp:r*ldp+bc], w.di[i0+r])
			}
			attnGemm(false, br, g.D, bc, g.Scale, ds, bc, k[koff:], ldq, betaQ, dq[qoff:], ldq)
			attnGemm(true, bc, g.D, br, g.Scale, ds, bc, q[qoff:], ldq, betaKV, dk[koff:], ldq)
		}
	}
}

// recomputeProbs sets p (br × bc) to the probabilities of query rows
// i0… against the key block j0… whose transpose is in w.kt:
// p = exp(Scale·q·kᵀ − lse), 0 where masked.
func (g *AttentionGeom) recomputeProbs(w *attnWork, b, i0, br, j0, bc int, q, ls, mask, p []float32) {
	attnGemm(false, br, bc, g.D, g.Scale, q, g.H*g.D, w.kt, bc, 0, p, bc)
	for r := range br {
		row := p[r*bc : (r+1)*bc]
		nv := g.validCols(i0+r, j0, bc)
		li := ls[i0+r]
		if nv == 0 || math.IsInf(float64(li), 1) {
			clear(row)
			continue
		}
		g.maskRow(row, mask, b, i0+r, j0, nv)
		attnRows.expSub(row[:nv], li)
		clear(row[nv:])
	}
}
