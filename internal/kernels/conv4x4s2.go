package kernels

import (
	"fmt"
	"unsafe"
)

// The input gradient of a 4×4 convolution with stride 2 and one pixel of
// padding on each side (PyTorch's Conv2d(·, ·, 4, 2, 1), Keras's "same" on
// even sizes; the DCGAN's 14×14×64 → 7×7×128 layer), which is also the
// forward pass of the transposed convolution ConvTranspose2d(·, ·, 4, 2, 1),
// computed directly, without the patch gradients.
//
// With H = 2·OH and W = 2·OW every input pixel (ih, iw) = (2u + p, 2v + q)
// of phase (p, q) ∈ {0, 1}² receives exactly four window taps: those with
// kh = 2t + 1 − p and kw = 2s + 1 − q, t, s ∈ {0, 1}, from the output pixel
// (oh, ow) = (u + p − t, v + q − s) (taps off the output read zero):
//
//	gx[n, 2u+p, 2v+q, c] = Σ_{t,s} Σ_j gz[n, u+p−t, v+q−s, j]·w[kh, kw, c, j]
//
// Each phase is a stride-1 2×2 convolution of gz with a quarter of the
// kernel. For a fixed tap, the rows v of one output row u read gz pixels f
// values apart and write gx pixels 2·C values apart, so the GEMM
// micro-kernels (whose A and C rows may be any stride apart) compute the
// tap's contribution to a run of pixels straight from gz into gx, one tap
// after the other with beta = 1: the GEMM + col2im form's arithmetic with
// no patch matrix written and read back, and no copy of gz.

// conv4x4s2Fits reports whether ConvInputGrad of geometry g (f output
// channels) runs as convInputGrad4x4s2 with the kernel family kern: a 4×4
// window, stride 2, no dilation, one pixel of padding at the top and left,
// H = 2·OH and W = 2·OW, and at least 16 input and output channels (with
// fewer, the tiles would be mostly empty and GEMM + col2im wins), in whole
// panels of the kernel's width unless it has edge kernels.
func conv4x4s2Fits(kern *gemmKernel, g ConvGeom, f int) bool {
	return g.KH == 4 && g.KW == 4 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 &&
		g.PadT == 1 && g.PadL == 1 && g.H == 2*g.OH && g.W == 2*g.OW && g.N > 0 &&
		g.C >= 16 && f >= 16 && (g.C%kern.nr == 0 || kern.edge != nil)
}

// conv4x4s2On lets benchmarks compare the direct form with GEMM + col2im.
var conv4x4s2On = true

// conv4x4s2Block is the K block of the taps' products: a panel of
// kernel rows of at most this many output channels (32 KiB at 64 columns)
// stays in L1 while every pixel of a group of images reads it.
const conv4x4s2Block = 128

// convInputGrad4x4s2 writes (acc: adds) into gx [N, H, W, C] the input
// gradient of the convolution g (conv4x4s2Fits) with output gradient gz
// [N, OH, OW, f] and kernel w [4·4·C, f] seen as a matrix (row (kh·4 +
// kw)·C + c), using the micro-kernels of kern on up to threads threads
// (images split between them). Each element of gx gets the same sums in
// the same order whatever the thread count.
func convInputGrad4x4s2(kern *gemmKernel, threads int, gx, gz, w []float32, g ConvGeom, f int, acc bool) {
	if len(gx) < g.N*g.H*g.W*g.C || len(gz) < g.N*g.OH*g.OW*f || len(w) < 16*g.C*f {
		panic(fmt.Sprintf("kernels: convInputGrad4x4s2: %d, %d, %d values for %+v, f=%d", len(gx), len(gz), len(w), g, f))
	}
	nr := kern.nr
	np := gemmCeilDiv(g.C, nr)
	wpp := convScratch.get(16 * np * f * nr)
	defer convScratch.put(wpp)
	wp := *wpp
	if threads <= 1 {
		packTaps4x4(wp, w, g.C, f, nr, 0, 16)
	} else {
		Parallel(16, 1, func(lo, hi int) { packTaps4x4(wp, w, g.C, f, nr, lo, hi) })
	}
	// Groups of at most 4 images, each group's taps' kernel panels read
	// from L1 by all its pixels, as many groups as a multiple of the
	// thread count.
	chunks := min(g.N, gemmCeilDiv(gemmCeilDiv(g.N, 4), max(threads, 1))*max(threads, 1))
	run := func(lo, hi int) {
		for q := lo; q < hi; q++ {
			convInputGrad4x4s2Images(kern, gx, gz, wp, g, f, acc, q*g.N/chunks, (q+1)*g.N/chunks)
		}
	}
	if threads <= 1 {
		run(0, chunks)
		return
	}
	Parallel(chunks, 1, run)
}

// packTaps4x4 writes the kernel w [16·C, f] as, for each of the 16 taps
// and each panel of nr input channels, the f×nr matrix B(j, c) = w[(tap·C
// + panel·nr + c)·f + j] (zero past C): wp[((tap·panels + panel)·f + j)·nr
// + c], so that the micro-kernels read each tap's panel from one
// contiguous block instead of f rows a whole kernel row apart (f TLB pages
// per panel at the DCGAN's 1,024-value rows). It packs the taps [lo, hi).
func packTaps4x4(wp, w []float32, c, f, nr, lo, hi int) {
	np := gemmCeilDiv(c, nr)
	for tap := lo; tap < hi; tap++ {
		for jp := 0; jp < np; jp++ {
			dst := wp[(tap*np+jp)*f*nr : (tap*np+jp+1)*f*nr]
			c0, c1 := jp*nr, min(c, (jp+1)*nr)
			if c1-c0 < nr {
				clear(dst)
			}
			for cc := c0; cc < c1; cc++ {
				src := w[(tap*c+cc)*f : (tap*c+cc+1)*f]
				for j, v := range src {
					dst[j*nr+cc-c0] = v
				}
			}
		}
	}
}

// convInputGrad4x4s2Images computes images [n0, n1) of gx from gz and wp,
// the kernel packed by packTaps4x4. Each phase starts with its central
// tap (t, s) = (p, q), which reaches the output pixel (u, v) itself and
// so covers every input pixel of the phase (beta = 0 unless acc); the
// other three add their contributions where their output pixel exists
// (rows u + p − t and columns v + q − s inside the output).
func convInputGrad4x4s2Images(kern *gemmKernel, gx, gz, wp []float32, g ConvGeom, f int, acc bool, n0, n1 int) {
	c := g.C
	blocks := (f + conv4x4s2Block - 1) / conv4x4s2Block
	gxp := unsafe.Pointer(unsafe.SliceData(gx))
	gzp := unsafe.Pointer(unsafe.SliceData(gz))
	wpp := unsafe.Pointer(unsafe.SliceData(wp))
	np := gemmCeilDiv(c, kern.nr)
	for p := 0; p < 2; p++ {
		for qc := 0; qc < 2; qc++ {
			for jc := 0; jc < c; jc += kern.nr {
				nrr := min(kern.nr, c-jc)
				first := !acc
				for b := 0; b < blocks; b++ {
					j0, j1 := b*f/blocks, (b+1)*f/blocks
					for ti := 0; ti < 2; ti++ {
						t := p ^ ti // the central tap t = p first
						u0, u1 := max(0, t-p), min(g.OH, g.OH+t-p)
						for si := 0; si < 2; si++ {
							s := qc ^ si
							v0, v1 := max(0, s-qc), min(g.OW, g.OW+s-qc)
							kh, kw := 2*t+1-p, 2*s+1-qc
							bp := gemmPtr(wpp, (((kh*4+kw)*np+jc/kern.nr)*f+j0)*kern.nr)
							beta := float32(1)
							if first {
								beta = 0
							}
							first = false
							nt := gemmCeilDiv(v1-v0, kern.mr) // tiles per row, balanced
							for n := n0; n < n1; n++ {
								for u := u0; u < u1; u++ {
									// output row u+p−t, column v+q−s; input row 2u+p, column 2v+q
									arow := ((n*g.OH+u+p-t)*g.OW+qc-s)*f + j0
									crow := ((n*g.H+2*u+p)*g.W+qc)*c + jc
									for i := 0; i < nt; i++ {
										va, vb := v0+i*(v1-v0)/nt, v0+(i+1)*(v1-v0)/nt
										ap := gemmPtr(gzp, arow+va*f)
										cp := gemmPtr(gxp, crow+2*va*c)
										microTile(kern, vb-va, nrr, j1-j0, ap, f, 1, bp, kern.nr, cp, 2*c, beta)
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// microTile computes the mrr×nrr tile C = A·B + beta·C (A(r, p) =
// a[r·rsa + p·csa], B(p, j) = b[p·csb + j], C(r, j) = c[r·ldc + j]) with
// kern's micro-kernels, nrr < NR through an edge kernel.
func microTile(kern *gemmKernel, mrr, nrr, k int, a unsafe.Pointer, rsa, csa int, b unsafe.Pointer, csb int, c unsafe.Pointer, ldc int, beta float32) {
	switch {
	case nrr == kern.nr:
		kern.rows[mrr-1](k, (*float32)(a), rsa, csa, (*float32)(b), csb, (*float32)(c), ldc, 1, beta)
	case kern.edge != nil:
		kern.edge[mrr-1][(nrr-1)/kern.edgeW](k, (*float32)(a), rsa, csa, (*float32)(b), csb, (*float32)(c), ldc, 1, beta, nrr)
	default: // not taken: conv4x4s2Fits asks for whole panels without edge kernels
		panic("kernels: microTile: a partial panel without edge kernels")
	}
}
