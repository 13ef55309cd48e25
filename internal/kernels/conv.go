package kernels

import (
	"math"
	"sync"
	"unsafe"
)

// ConvGeom describes a 2-D convolution or pooling window over an NHWC input
// [N, H, W, C]: kernel KH×KW, strides SH, SW, dilations DH, DW, and padding
// PadT/PadL (top, left: bottom and right are implied by OH, OW). The output
// is [N, OH, OW, ·].
type ConvGeom struct {
	N, H, W, C int
	KH, KW     int
	SH, SW     int
	DH, DW     int
	PadT, PadL int
	OH, OW     int
}

// PatchStride returns the row stride for im2col patches of kk values: kk,
// or kk plus one cache line when kk is a multiple of 64 values of at least
// 256. With a stride of a multiple of 256 bytes, the same column of
// consecutive rows falls in a quarter or fewer of the L1 cache's sets, and
// a GEMM that reads the patches down their columns (the weight gradient
// colsᵀ·δ) misses L1 on nearly every row: at 1024 values, 4 KiB, every row
// maps to one set. Measured on the DCGAN's 1024×3136×128 weight gradient
// (one thread): 137 GFLOP/s at a stride of 1024, 167 at 1040.
func PatchStride(kk int) int {
	if kk >= 256 && kk%64 == 0 {
		return kk + 16
	}
	return kk
}

// Im2Col writes the patches of x [N, H, W, C] into the rows of cols, one
// row of KH·KW·C values per output pixel (N·OH·OW rows, ld apart; column =
// (kh, kw, c) in that order, matching a Conv2D kernel [KH, KW, C, out]
// flattened to a matrix; the ld − KH·KW·C values after each row are left
// as they are). Positions in the padding read as zero. PatchStride gives
// the ld to use.
func Im2Col(cols, x []float32, g ConvGeom, ld int) {
	Parallel(g.N*g.OH, max(1, 4096/max(1, g.OW*ld)), func(lo, hi int) { im2colRows(cols[lo*g.OW*ld:], x, g, ld, lo, hi) })
}

// im2colRows is Im2Col for the output rows r = n·OH + oh in [lo, hi) on the
// calling thread, written from the start of cols (the patch of pixel
// (r, ow) at cols[((r−lo)·OW + ow)·ld:]).
func im2colRows(cols, x []float32, g ConvGeom, ld, lo, hi int) {
	if narrowWindows(g) {
		im2colPadded(cols, x, g, ld, lo, hi)
		return
	}
	im2colRowsDirect(cols, x, g, ld, lo, hi)
}

// im2colRowsDirect is im2colRows without the padded copy, for a few rows
// at a time (the fused convolution and pooling's two), where padding the
// rows they read would cost more than the tests it saves.
func im2colRowsDirect(cols, x []float32, g ConvGeom, ld, lo, hi int) {
	for r := lo; r < hi; r++ {
		im2colRow(cols[(r-lo)*g.OW*ld:], x, g, ld, r/g.OH, r%g.OH, g.OW)
	}
}

// narrowWindows reports whether the window rows of g are at most 8
// contiguous values (KW·C ≤ 8, DW = 1: the first layer of an image
// network, the last of a generator) and some windows reach into the
// padding: there im2colPadded and col2imPadded move the values one window
// row at a time, without a call and without tests for the padding. (With
// no padding, where im2colNarrow does every window, the padded copy made
// im2col of 28×28×1 images 15–30% slower; through the padded copy, the
// DCGAN's 14×14×64 layer ran no faster in col2im and 1.5× slower in
// im2col.)
func narrowWindows(g ConvGeom) bool {
	hp, wp := paddedSize(g)
	return g.KW*g.C <= 8 && g.DW == 1 && (g.PadT > 0 || g.PadL > 0 || hp-g.PadT > g.H || wp-g.PadL > g.W)
}

// paddedSize returns the size of the zero-padded image that holds every
// window of g (DW = 1): rows −PadT … (OH−1)·SH + (KH−1)·DH − PadT and
// columns −PadL … (OW−1)·SW + KW − 1 − PadL of the input.
func paddedSize(g ConvGeom) (hp, wp int) {
	return (g.OH-1)*g.SH + (g.KH-1)*g.DH + 1, (g.OW-1)*g.SW + g.KW
}

// padImage writes rows [i0, i1) of image n of x [N, H, W, C], zero-padded,
// into those rows of p [hp, wp, C]: the image shifted by (PadT, PadL), zero
// where the position falls outside x (input pixels beyond every window are
// left out).
func padImage(p, x []float32, g ConvGeom, n, i0, i1, wp int) {
	c := g.C
	j0, j1 := g.PadL, min(wp, g.W+g.PadL) // the columns inside x
	for i := i0; i < i1; i++ {
		row := p[i*wp*c : (i+1)*wp*c]
		ih := i - g.PadT
		if ih < 0 || ih >= g.H || j1 <= j0 {
			clear(row)
			continue
		}
		clear(row[:j0*c])
		copy(row[j0*c:j1*c], x[((n*g.H+ih)*g.W)*c:])
		clear(row[j1*c:])
	}
}

// unpadImage is the reverse of padImage: it copies the positions of p
// that lie inside x back into image n of x.
func unpadImage(x, p []float32, g ConvGeom, n, hp, wp int) {
	c := g.C
	j0, j1 := g.PadL, min(wp, g.W+g.PadL)
	if j1 <= j0 {
		return
	}
	for i := max(0, g.PadT); i < min(hp, g.H+g.PadT); i++ {
		copy(x[((n*g.H+i-g.PadT)*g.W)*c:], p[(i*wp+j0)*c:(i*wp+j1)*c])
	}
}

// im2colPadded is im2colRows for narrowWindows geometries: each image is
// first copied into a zero-padded scratch, from which every window row is
// one move of KW·C ≤ 8 values, without the tests for the padding.
func im2colPadded(cols, x []float32, g ConvGeom, ld, lo, hi int) {
	hp, wp := paddedSize(g)
	c, span := g.C, g.KW*g.C
	sp := convScratch.get(hp * wp * c)
	defer convScratch.put(sp)
	p := *sp
	for r := lo; r < hi; {
		n, end := r/g.OH, min(hi, (r/g.OH+1)*g.OH)
		// only the rows that the windows of output rows [r, end) read
		padImage(p, x, g, n, (r%g.OH)*g.SH, ((end-1)%g.OH)*g.SH+(g.KH-1)*g.DH+1, wp)
		for ; r < end; r++ {
			oh := r % g.OH
			d := cols[(r-lo)*g.OW*ld:]
			for kh := 0; kh < g.KH; kh++ {
				src, q := p[(oh*g.SH+kh*g.DH)*wp*c:], kh*span
				for ow := 0; ow < g.OW; ow++ {
					copySmall(d[ow*ld+q:ow*ld+q+span], src[ow*g.SW*c:])
				}
			}
		}
	}
}

// col2imPadded is col2imImages for narrowWindows geometries: each image
// of gx is accumulated in a zero-padded scratch (holding gx's values when
// acc) and copied back, the same sums in the same order as col2imImages
// without the tests for the padding.
func col2imPadded(gx, cols []float32, g ConvGeom, ld int, acc bool, n0, n1 int) {
	hp, wp := paddedSize(g)
	c, span := g.C, g.KW*g.C
	sp := convScratch.get(hp * wp * c)
	defer convScratch.put(sp)
	p := *sp
	img := g.H * g.W * c
	for n := n0; n < n1; n++ {
		if acc {
			padImage(p, gx, g, n, 0, hp, wp)
		} else {
			clear(p)
			clear(gx[n*img : (n+1)*img])
		}
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				src := cols[(((n-n0)*g.OH+oh)*g.OW+ow)*ld:]
				for kh := 0; kh < g.KH; kh++ {
					o := ((oh*g.SH+kh*g.DH)*wp + ow*g.SW) * c
					addSmall(p[o:o+span], src[kh*span:])
				}
			}
		}
		unpadImage(gx, p, g, n, hp, wp)
	}
}

// im2colRow writes the patches of the output pixels (n, oh, ow), ow < owN,
// into the rows of dst (ld apart).
func im2colRow(dst, x []float32, g ConvGeom, ld, n, oh, owN int) {
	span := g.KW * g.C // a window row: contiguous in NHWC when DW == 1
	owLo, owHi := 0, 0 // the pixels done by im2colNarrow or im2colRuns
	switch {
	case span <= 8 && g.DW == 1:
		owLo, owHi = im2colNarrow(dst, x, g, ld, n, oh, owN)
	case g.DW == 1 && span <= 128 && copyRunsFast(span):
		// Longer rows go through memmove, whose call then costs little
		// (the DCGAN's rows of 4×64 values ran 15% slower through
		// copyRuns).
		owLo, owHi = im2colRuns(dst, x, g, ld, n, oh, owN)
	}
	for ow := 0; ow < owN; ow++ {
		if ow == owLo && owHi > owLo {
			ow = owHi - 1
			continue
		}
		d := dst[ow*ld:]
		iw0 := ow*g.SW - g.PadL
		inside := g.DW == 1 && iw0 >= 0 && iw0+g.KW <= g.W
		p := 0
		for kh := 0; kh < g.KH; kh++ {
			ih := oh*g.SH - g.PadT + kh*g.DH
			switch {
			case ih < 0 || ih >= g.H:
				clearSmall(d[p : p+span])
			case inside:
				src := ((n*g.H+ih)*g.W + iw0) * g.C
				copySmall(d[p:p+span], x[src:src+span])
			default:
				for kw := 0; kw < g.KW; kw++ {
					iw := iw0 + kw*g.DW
					q := p + kw*g.C
					if iw < 0 || iw >= g.W {
						clearSmall(d[q : q+g.C])
					} else {
						src := ((n*g.H+ih)*g.W + iw) * g.C
						copySmall(d[q:q+g.C], x[src:src+g.C])
					}
				}
			}
			p += span
		}
	}
}

// copySmall is copy(d, s) for len(d) ≤ len(s), without the call to
// memmove for the runs of at most 8 values (a window row of a first
// layer, or one pixel of few channels) where the call costs more than the
// move: im2col and col2im of the DCGAN's 28×28×1 layers ran at 0.5–1.5
// GB/s through copy and Axpy calls of 4 values.
func copySmall(d, s []float32) {
	switch len(d) {
	case 1:
		d[0] = s[0]
	case 4:
		*(*[4]float32)(d) = *(*[4]float32)(s)
	case 8:
		*(*[8]float32)(d) = *(*[8]float32)(s)
	default:
		if len(d) > 8 {
			copy(d, s)
			return
		}
		s = s[:len(d)]
		for i := range d {
			d[i] = s[i]
		}
	}
}

// clearSmall is clear(d), by a plain loop for at most 8 values.
func clearSmall(d []float32) {
	if len(d) > 8 {
		clear(d)
		return
	}
	for i := range d {
		d[i] = 0
	}
}

// addSmall sets d[i] += s[i] for i < len(d) ≤ min(len(s), 8): the sums of
// SIMD.Axpy(1, s, d), each rounded once, by plain adds where a call would
// cost more than the adds. It inlines.
func addSmall(d, s []float32) {
	if len(d) == 4 {
		a, b := (*[4]float32)(d), (*[4]float32)(s)
		a[0] += b[0]
		a[1] += b[1]
		a[2] += b[2]
		a[3] += b[3]
		return
	}
	s = s[:len(d)]
	for i := range d {
		d[i] += s[i]
	}
}

// ConvForward writes the patches of x into cols (rows ld apart, as Im2Col)
// and y = cols·w for the kernel w [KH·KW·C, f] seen as a matrix, a few
// images at a time so that the GEMM reads each group's patches from L2
// right after they are written. y is [N·OH·OW, f]; the patches stay in
// cols for the weight gradient. With cols nil (no weight gradient to
// come: inference, or a kernel held constant, like the discriminator's in
// a GAN's generator step) each group's patches go to a per-thread scratch
// that stays in cache and is reused, instead of N·OH·OW rows written out
// to memory. Results do not depend on the grouping or on cols.
func ConvForward(y, cols, x, w []float32, g ConvGeom, f, ld int) {
	kk, imgRows := g.KH*g.KW*g.C, g.OH*g.OW
	groups := convGroups(g.N, 4*imgRows*ld)
	Parallel(groups, 1, func(lo, hi int) {
		var scratch []float32
		if cols == nil {
			sp := convScratch.get(((g.N + groups - 1) / groups) * imgRows * ld)
			defer convScratch.put(sp)
			scratch = *sp
		}
		for q := lo; q < hi; q++ {
			n0, n1 := q*g.N/groups, (q+1)*g.N/groups
			r0 := n0 * imgRows
			pt := scratch
			if cols != nil {
				pt = cols[r0*ld:]
			}
			im2colRows(pt, x, g, ld, n0*g.OH, n1*g.OH)
			sgemm(gemmBest, 1, nil, false, false, (n1-n0)*imgRows, f, kk, 1, pt, ld, w, f, 0, y[r0*f:], f)
		}
	})
}

// convGroups returns how many groups to cut n images of bytes each into:
// about 1 MiB a group, and a multiple of the thread count.
func convGroups(n, bytes int) int {
	t := Threads()
	groups := min(n, (n*bytes+(1<<20)-1)>>20)
	return min(n, max(1, (groups+t-1)/t*t))
}

// insideWindows returns the range [owLo, owHi) of output columns ow <
// owN whose windows lie inside the image's width (DW = 1), empty when a
// window row of output row oh falls in the padding.
func insideWindows(g ConvGeom, oh, owN int) (owLo, owHi int) {
	for kh := 0; kh < g.KH; kh++ {
		if ih := oh*g.SH - g.PadT + kh*g.DH; ih < 0 || ih >= g.H {
			return 0, 0
		}
	}
	if g.W-g.KW+g.PadL < 0 { // no window fits inside
		return 0, 0
	}
	owLo = (g.PadL + g.SW - 1) / g.SW                    // first ow with ow·SW − PadL ≥ 0
	owHi = max(owLo, min(owN, (g.W-g.KW+g.PadL)/g.SW+1)) // past the last with ow·SW − PadL + KW ≤ W
	return owLo, owHi
}

// im2colRuns writes the patches of the pixels (n, oh, ow), ow < owN, whose
// windows lie inside the image into the rows of dst (pixel ow at
// dst[ow·ld:]), for window rows of KW·C values that copyRuns moves as
// vectors (DW = 1): one call per window row kh for all those pixels
// instead of a copy per pixel and row (CNNNet's second layer: 3 calls of
// 10 runs of 96 values instead of 30 calls to memmove; its patches are
// built 2–3× faster, its training step 3–4% faster). It returns the range
// of output columns it wrote, as im2colNarrow.
func im2colRuns(dst, x []float32, g ConvGeom, ld, n, oh, owN int) (owLo, owHi int) {
	owLo, owHi = insideWindows(g, oh, owN)
	if owHi <= owLo {
		return owLo, owHi
	}
	span := g.KW * g.C
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		si := ((n*g.H+ih)*g.W + owLo*g.SW - g.PadL) * g.C
		copyRuns(dst[owLo*ld+kh*span:], ld, x[si:], g.SW*g.C, owHi-owLo, span)
	}
	return owLo, owHi
}

// copyRunsGo copies runs runs of n values from src to dst, the k-th from
// src[k·ss:] to dst[k·ds:]: the reference for copyRunsAVX2.
func copyRunsGo(dst []float32, ds int, src []float32, ss, runs, n int) {
	for k := 0; k < runs; k++ {
		copy(dst[k*ds:k*ds+n], src[k*ss:k*ss+n])
	}
}

// im2colNarrow writes the patches of the pixels (n, oh, ow), ow < owN,
// whose windows lie inside the image into the rows of dst (pixel ow at
// dst[ow·ld:]), for windows whose rows are at most 8 values (KW·C ≤ 8,
// DW = 1: the first layer of an image network), where a call to copy per
// window row would cost more than the copy. It returns the range of output
// columns it wrote; the caller writes the others (empty when a window row
// falls in the padding).
func im2colNarrow(dst, x []float32, g ConvGeom, ld, n, oh, owN int) (owLo, owHi int) {
	span := g.KW * g.C
	owLo, owHi = insideWindows(g, oh, owN)
	step := g.SW * g.C
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		si := ((n*g.H+ih)*g.W + owLo*g.SW - g.PadL) * g.C
		di := owLo*ld + kh*span
		for ow := owLo; ow < owHi; ow++ {
			d, s := dst[di:di+span], x[si:si+span]
			for i := range d {
				d[i] = s[i]
			}
			si += step
			di += ld
		}
	}
	return owLo, owHi
}

// Col2ImAcc is the adjoint of Im2Col: it adds every patch row of cols back
// into gx [N, H, W, C] at the positions the patch was read from.
func Col2ImAcc(gx, cols []float32, g ConvGeom) {
	// Parallel over images: patches of different images never overlap.
	ld := g.KH * g.KW * g.C
	Parallel(g.N, 1, func(lo, hi int) { col2imImages(gx, cols[lo*g.OH*g.OW*ld:], g, ld, true, lo, hi) })
}

// col2imImages is Col2ImAcc for the images [n0, n1) on the calling thread,
// or with acc false into images it clears first (while they are
// cache-hot); the patch rows of image n0 start at cols[0] and are ld apart.
func col2imImages(gx, cols []float32, g ConvGeom, ld int, acc bool, n0, n1 int) {
	if narrowWindows(g) {
		col2imPadded(gx, cols, g, ld, acc, n0, n1)
		return
	}
	span := g.KW * g.C
	img := g.H * g.W * g.C
	for n := n0; n < n1; n++ {
		if !acc {
			clear(gx[n*img : (n+1)*img])
		}
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				src := cols[(((n-n0)*g.OH+oh)*g.OW+ow)*ld:]
				iw0 := ow*g.SW - g.PadL
				inside := g.DW == 1 && iw0 >= 0 && iw0+g.KW <= g.W // a window row is one run of KW·C
				p := 0
				for kh := 0; kh < g.KH; kh++ {
					ih := oh*g.SH - g.PadT + kh*g.DH
					switch {
					case ih < 0 || ih >= g.H:
					case inside && span <= 8:
						d := ((n*g.H+ih)*g.W + iw0) * g.C
						addSmall(gx[d:d+span], src[p:])
					case inside:
						d := ((n*g.H+ih)*g.W + iw0) * g.C
						SIMD.Axpy(1, src[p:p+span], gx[d:d+span])
					default:
						for kw := 0; kw < g.KW; kw++ {
							iw := iw0 + kw*g.DW
							if iw >= 0 && iw < g.W {
								d := ((n*g.H+ih)*g.W + iw) * g.C
								if g.C <= 8 {
									addSmall(gx[d:d+g.C], src[p+kw*g.C:])
								} else {
									SIMD.Axpy(1, src[p+kw*g.C:p+(kw+1)*g.C], gx[d:d+g.C])
								}
							}
						}
					}
					p += span
				}
			}
		}
	}
}

// ConvInputGrad writes gx = col2im(gz·wᵀ), or adds it to gx when acc: the
// input gradient of a convolution with geometry g, output gradient gz
// [N·OH·OW, f] and kernel w [KH·KW·C, f] seen as a matrix; also the
// forward pass of a transposed convolution. It runs a few images at a
// time, the patch gradients of each group computed into a scratch of about
// 1 MiB that col2im reads while it is still in L2, instead of writing and
// reading back all N·OH·OW of them; a 4×4 window with stride 2 and one
// pixel of padding on even sizes (conv4x4s2Fits) runs as four 2×2
// convolutions straight into gx, with no patch gradients at all
// (convInputGrad4x4s2). The result does not depend on the grouping or the
// thread count.
func ConvInputGrad(gx, gz, w []float32, g ConvGeom, f int, acc bool) {
	if conv4x4s2On && conv4x4s2Fits(gemmBest, g, f) {
		convInputGrad4x4s2(gemmBest, Threads(), gx, gz, w, g, f, acc)
		return
	}
	kk := g.KH * g.KW * g.C
	ld := PatchStride(kk)
	imgRows := g.OH * g.OW
	// Image q·N/groups starts group q. Each element of gx gets the same
	// sums in the same order however the images are grouped.
	groups := convGroups(g.N, 4*imgRows*ld)
	per := (g.N + groups - 1) / groups // the most images in a group
	wtp := convScratch.get(f * ld)
	defer convScratch.put(wtp)
	wt := *wtp
	for p := 0; p < kk; p++ { // wt [f, ld] = wᵀ, read by the GEMM in place
		for j, v := range w[p*f : (p+1)*f] {
			wt[j*ld+p] = v
		}
	}
	Parallel(groups, 1, func(lo, hi int) {
		sp := convScratch.get(per * imgRows * ld)
		defer convScratch.put(sp)
		dc := *sp
		for q := lo; q < hi; q++ {
			n0, n1 := q*g.N/groups, (q+1)*g.N/groups
			rows := (n1 - n0) * imgRows
			sgemm(gemmBest, 1, nil, false, false, rows, kk, f, 1, gz[n0*imgRows*f:], f, wt, ld, 0, dc, ld)
			col2imImages(gx, dc, g, ld, acc, n0, n1)
		}
	})
}

// MaxPool writes the window maxima of x [N, H, W, C] into dst
// [N, OH, OW, C] and the flat input index of each maximum into argmax (for
// the backward pass; nil when no backward pass will run). Padding
// positions never win; ties go to the first position in the window
// (row-major).
func MaxPool(dst []float32, argmax []int32, x []float32, g ConvGeom) {
	if tiles2x2(g) {
		maxPool2x2(dst, argmax, x, g)
		return
	}
	if argmax == nil {
		maxPoolValues(dst, x, g)
		return
	}
	c := g.C
	Parallel(g.N*g.OH, max(1, 2048/max(1, g.OW*c*g.KH*g.KW)), func(lo, hi int) {
		var win [64]int // in-bounds window offsets, for windows up to 8×8
		offs := win[:0]
		if g.KH*g.KW > len(win) {
			offs = make([]int, 0, g.KH*g.KW)
		}
		for r := lo; r < hi; r++ {
			n, oh := r/g.OH, r%g.OH
			for ow := 0; ow < g.OW; ow++ {
				o := ((n*g.OH+oh)*g.OW + ow) * c
				offs = offs[:0]
				forWindow(g, n, oh, ow, func(s int) { offs = append(offs, s) })
				d, a := dst[o:o+c], argmax[o:o+c]
				if len(offs) == 0 { // window entirely in padding
					clear(d)
					for i := range a {
						a[i] = -1
					}
					continue
				}
				s0 := offs[0]
				copy(d, x[s0:s0+c])
				for i := range a {
					a[i] = int32(s0 + i)
				}
				for _, s := range offs[1:] {
					maxInto(d, a, x[s:s+c], int32(s))
				}
			}
		}
	})
}

// maxPoolValues is MaxPool without the argmax bookkeeping (inference): a
// running elementwise maximum over the window rows.
func maxPoolValues(dst, x []float32, g ConvGeom) {
	c := g.C
	Parallel(g.N*g.OH, max(1, 2048/max(1, g.OW*c*g.KH*g.KW)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, oh := r/g.OH, r%g.OH
			for ow := 0; ow < g.OW; ow++ {
				o := ((n*g.OH+oh)*g.OW + ow) * c
				d := dst[o : o+c]
				first := true
				forWindow(g, n, oh, ow, func(s int) {
					if first {
						copy(d, x[s:s+c])
						first = false
						return
					}
					row := x[s : s+len(d)]
					for i, v := range row {
						d[i] = max(d[i], v)
					}
				})
				if first { // window entirely in padding
					clear(d)
				}
			}
		}
	})
}

// tiles2x2 reports whether g is a 2×2 pooling window with stride 2 and no
// padding over at least one window: the windows tile the input but for an
// odd last row or column.
func tiles2x2(g ConvGeom) bool {
	return g.KH == 2 && g.KW == 2 && g.SH == 2 && g.SW == 2 && g.DH == 1 && g.DW == 1 && g.PadT == 0 && g.PadL == 0 &&
		g.OH > 0 && g.OW > 0 && g.OH*2 <= g.H && g.OW*2 <= g.W
}

// maxPool2x2 is MaxPool for the common 2×2 window with stride 2 and no
// padding: four rows of C values per output pixel, reduced in one pass
// (vectorized where the CPU allows; argmax may be nil).
func maxPool2x2(dst []float32, argmax []int32, x []float32, g ConvGeom) {
	c := g.C
	Parallel(g.N*g.OH, max(1, 4096/max(1, g.OW*c*4)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, oh := r/g.OH, r%g.OH
			o := (n*g.OH + oh) * g.OW * c
			s := (n*g.H + 2*oh) * g.W * c
			var a []int32
			if argmax != nil {
				a = argmax[o : o+g.OW*c]
			}
			poolRow2x2(dst[o:o+g.OW*c], a, x, s, s, g.OW, c, g.W*c)
		}
	})
}

// poolRow2x2 max-pools one output row of ow pixels of c channels into d
// (and their winners' flat indices into a, unless nil) from the two input
// rows starting at x[s] (rs elements apart), whose first element has the
// flat index base.
func poolRow2x2(d []float32, a []int32, x []float32, s, base, ow, c, rs int) {
	for w := 0; w < ow; w++ {
		o, s, b := w*c, s+2*w*c, base+2*w*c
		var aw []int32
		if a != nil {
			aw = a[o : o+c]
		}
		k := maxOf4Vec(d[o:o+c], aw, x, s, c, rs, b)
		if k == c {
			continue
		}
		s, o, b = s+k, o+k, b+k
		p0, p1, p2, p3 := x[s:s+c-k], x[s+c:s+2*c-k], x[s+rs:s+rs+c-k], x[s+rs+c:s+rs+2*c-k]
		if a != nil {
			maxOf4(d[o:o+c-k], a[o:o+c-k], p0, p1, p2, p3, int32(b), int32(b+c), int32(b+rs), int32(b+rs+c))
			continue
		}
		for i := range p0 {
			m := p0[i]
			for _, v := range [3]float32{p1[i], p2[i], p3[i]} {
				if v > m {
					m = v
				}
			}
			d[o+i] = m
		}
	}
}

// convScratch holds the per-thread scratch of ConvMaxPool2x2 and
// ConvInputGrad.
var convScratch scratchPool

// scratchPool is a free list of float32 buffers that, unlike a
// sync.Pool, the garbage collector does not empty: the scratch of the
// convolutions (up to 1 MiB a thread) is reused for the life of the
// process instead of reallocated after every other collection. It keeps
// at most 16 buffers.
type scratchPool struct {
	mu   sync.Mutex
	free []*[]float32
}

// get returns a buffer of n values (contents undefined).
func (p *scratchPool) get(n int) *[]float32 {
	p.mu.Lock()
	var b *[]float32
	if k := len(p.free); k > 0 {
		b, p.free = p.free[k-1], p.free[:k-1]
	}
	p.mu.Unlock()
	if b == nil {
		b = new([]float32)
	}
	if cap(*b) < n {
		*b = make([]float32, n)
	}
	*b = (*b)[:n]
	return b
}

// put returns b to the pool.
func (p *scratchPool) put(b *[]float32) {
	p.mu.Lock()
	if len(p.free) < 16 {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// ConvMaxPool2x2 computes dst = maxpool₂ₓ₂(act(cols·k + bias)) without
// storing the convolution's output whole: for the patches cols
// [N·OH·OW, KK] (rows ld apart) of a convolution with geometry g, kernel k [KK, f] and
// bias [f] (nil: none), it runs the GEMM two output rows at a time into a
// cache-resident scratch, applies the bias and, when act, the in-place op
// with parameter p, and pools it into dst [N, OH/2, OW/2, f] (an odd last
// row or column is dropped, as MaxPool does). argmax (nil: not needed)
// receives each winner's flat index in the convolution's output
// [N, OH, OW, f], as MaxPool would have.
func ConvMaxPool2x2(dst []float32, argmax []int32, cols []float32, ld int, k, bias []float32, g ConvGeom, f int, act bool, op UnaryOp, p float32) {
	convMaxPool2x2(dst, argmax, cols, ld, nil, k, bias, g, f, act, op, p)
}

// Im2ColMaxPool2x2 is Im2Col(cols, x, g, ld) followed by ConvMaxPool2x2,
// fused: each thread writes the patches of two output rows and runs the
// GEMM on them while they are in L1, instead of writing all N·OH·OW rows
// (4.5 MiB for CNNNet's second layer at batch 32) and reading them back
// from L3 or memory. cols holds every patch row afterwards (for the weight
// gradient), those of an odd last row included. With cols nil (inference,
// or a weight gradient that rebuilds its patches: ConvKernelGrad), the
// patches go to per-thread scratch (ld unused) and only the pixels the
// pooling keeps are computed: an odd last row, and without argmax an odd
// last column too (a tenth of CNNNet's second layer), are skipped.
func Im2ColMaxPool2x2(dst []float32, argmax []int32, cols []float32, ld int, x, k, bias []float32, g ConvGeom, f int, act bool, op UnaryOp, p float32) {
	if cols == nil {
		im2colMaxPool2x2Scratch(dst, argmax, x, k, bias, g, f, act, op, p)
		return
	}
	convMaxPool2x2(dst, argmax, cols, ld, x, k, bias, g, f, act, op, p)
}

// im2colMaxPool2x2Scratch is Im2ColMaxPool2x2 without cols: the patches
// of two output rows of wr pixels in scratch, one GEMM of 2·wr rows, the
// bias and activation, the pooling. wr is 2·(OW/2), or OW with argmax,
// whose indices count OW pixels a row.
func im2colMaxPool2x2Scratch(dst []float32, argmax []int32, x, k, bias []float32, g ConvGeom, f int, act bool, op UnaryOp, p float32) {
	kk, ph, pw := g.KH*g.KW*g.C, g.OH/2, g.OW/2
	wr := 2 * pw
	if argmax != nil {
		wr = g.OW
	}
	m := 2 * wr // patch rows: two output rows of wr pixels
	rows, grain := g.N*ph, max(1, 16384/max(1, m*f*kk/8))
	// A pooled task, not a closure: one image's inference allocates nothing.
	t := convPoolScratchTask{dst: dst, argmax: argmax, x: x, k: k, bias: bias, g: g, f: f, wr: wr, act: act, op: op, p: p}
	runPooled(&convPoolScratchTasks, t, rows, min(Threads(), rows/grain))
}

// convPoolScratchTask is im2colMaxPool2x2Scratch's work over its pooled
// rows.
type convPoolScratchTask struct {
	dst, x, k, bias []float32
	argmax          []int32
	g               ConvGeom
	f, wr           int
	act             bool
	op              UnaryOp
	p               float32
}

var convPoolScratchTasks = sync.Pool{New: func() any { return new(convPoolScratchTask) }}

func (t *convPoolScratchTask) run(lo, hi int) {
	g, f, x, wr := t.g, t.f, t.x, t.wr
	kk, ph, pw := g.KH*g.KW*g.C, g.OH/2, g.OW/2
	ld := PatchStride(kk)
	m := 2 * wr
	sp := convScratch.get(m*ld + m*f)
	defer convScratch.put(sp)
	pt, out := (*sp)[:m*ld], (*sp)[m*ld:]
	for r := lo; r < hi; r++ {
		n, h := r/ph, r%ph
		im2colRow(pt, x, g, ld, n, 2*h, wr)
		im2colRow(pt[wr*ld:], x, g, ld, n, 2*h+1, wr)
		sgemm(gemmBest, 1, nil, false, false, m, f, kk, 1, pt, ld, t.k, f, 0, out, f)
		biasActSerial(out, t.bias, t.act, t.op, t.p)
		o := (n*ph + h) * pw * f
		var a []int32
		if t.argmax != nil {
			a = t.argmax[o : o+pw*f]
		}
		poolRow2x2(t.dst[o:o+pw*f], a, out, 0, (n*g.OH+2*h)*g.OW*f, pw, f, wr*f)
	}
}

// ConvKernelGrad writes into gk [KH·KW·C, f] the kernel gradient of the
// convolution g, gk = Pᵀ·gz + beta·gk, and adds into gb [f] (nil: none)
// the bias gradient Σ gz over the rows, for the input x [N, H, W, C] and
// the output gradient gz [N·OH·OW, f], P being the patches of x (Im2Col),
// without a stored patch matrix: the images are cut into
// kernelGradGroups(N) fixed groups, and each group, on one thread, builds
// the patches of a few images at a time in scratch that stays in cache
// and adds their product into its own partial sums (single-threaded
// GEMMs, K = the group's pixels); the partial sums are then added in
// group order. The groups do not depend on the thread count up to 4
// threads, so neither do the bits of gk and gb.
func ConvKernelGrad(gk, gb, x, gz []float32, g ConvGeom, f int, beta float32) {
	kk, imgRows := g.KH*g.KW*g.C, g.OH*g.OW
	if kk*f == 0 {
		return
	}
	if g.N*imgRows == 0 { // no pixels: gk = beta·gk
		scaleOrClear(gk[:kk*f], beta)
		return
	}
	_, _, _ = gk[kk*f-1], x[g.N*g.H*g.W*g.C-1], gz[g.N*imgRows*f-1]
	if gb != nil {
		_ = gb[f-1]
	}
	ld := PatchStride(kk)
	groups := kernelGradGroups(g.N)
	per := max(1, kernelGradRows/imgRows) // images per GEMM
	part := kk*f + f                      // a group's partial sums: the kernel's, the bias's
	pp := convScratch.get(groups * part)
	defer convScratch.put(pp)
	parts := *pp
	ones := onesOf((g.N + groups - 1) / groups * imgRows)
	Parallel(groups, 1, func(lo, hi int) {
		sp := convScratch.get(per * imgRows * ld)
		defer convScratch.put(sp)
		pt := *sp
		for q := lo; q < hi; q++ {
			n0, n1 := q*g.N/groups, (q+1)*g.N/groups
			pk := parts[q*part : q*part+kk*f]
			for n := n0; n < n1; n += per {
				e := min(n1, n+per)
				im2colRows(pt, x, g, ld, n*g.OH, e*g.OH)
				b := float32(1)
				if n == n0 {
					b = 0
				}
				sgemm(gemmBest, 1, nil, true, false, kk, f, (e-n)*imgRows, 1, pt, ld, gz[n*imgRows*f:], f, b, pk, f)
			}
			if gb != nil { // Σ gz over the group's rows, as ones·gz
				rows := (n1 - n0) * imgRows
				sgemm(gemmBest, 1, nil, false, false, 1, f, rows, 1, ones, rows, gz[n0*imgRows*f:], f, 0, parts[q*part+kk*f:(q+1)*part], f)
			}
		}
	})
	if gb != nil {
		for q := range groups {
			SIMD.Axpy(1, parts[q*part+kk*f:(q+1)*part], gb[:f])
		}
	}
	Parallel(kk*f, 4096, func(lo, hi int) {
		d := gk[lo:hi]
		if beta == 0 {
			copy(d, parts[lo:hi])
		} else {
			if beta != 1 {
				SIMD.Scale(beta, d)
			}
			SIMD.Axpy(1, parts[lo:hi], d)
		}
		for q := 1; q < groups; q++ {
			SIMD.Axpy(1, parts[q*part+lo:q*part+hi], d)
		}
	})
}

// kernelGradRows is about how many patch rows ConvKernelGrad builds and
// multiplies at a time (whole images, at least one).
const kernelGradRows = 256

// kernelGradGroups returns how many groups ConvKernelGrad cuts n images
// into: the smallest multiple of the thread count that is at least 4 (4
// at 1, 2 and 4 threads), at most n.
func kernelGradGroups(n int) int {
	t := Threads()
	return max(1, min(n, (4+t-1)/t*t))
}

// convMaxPool2x2 is ConvMaxPool2x2, building the patches from x on the fly
// when x is not nil.
func convMaxPool2x2(dst []float32, argmax []int32, cols []float32, ld int, x, k, bias []float32, g ConvGeom, f int, act bool, op UnaryOp, p float32) {
	kk, ph, pw := g.KH*g.KW*g.C, g.OH/2, g.OW/2
	span := 2 * g.OW * f // two output rows
	Parallel(g.N*ph, max(1, 16384/max(1, span*kk/8)), func(lo, hi int) {
		sp := convScratch.get(span)
		defer convScratch.put(sp)
		scratch := *sp
		for r := lo; r < hi; r++ {
			n, h := r/ph, r%ph
			row := (n*g.OH + 2*h) * g.OW // first patch row
			if x != nil {
				last := n*g.OH + 2*h + 2 // past the rows pooled; an odd last row is built too
				if h == ph-1 {
					last = (n + 1) * g.OH
				}
				im2colRowsDirect(cols[row*ld:], x, g, ld, n*g.OH+2*h, last)
			}
			sgemm(gemmBest, 1, nil, false, false, 2*g.OW, f, kk, 1, cols[row*ld:], ld, k, f, 0, scratch, f)
			biasActSerial(scratch, bias, act, op, p)
			o := (n*ph + h) * pw * f
			var a []int32
			if argmax != nil {
				a = argmax[o : o+pw*f]
			}
			poolRow2x2(dst[o:o+pw*f], a, scratch, 0, row*f, pw, f, g.OW*f)
		}
	})
}

// maxOf4 writes the elementwise maximum of p0..p3 (ties to the earliest)
// and its flat index (bases b0..b3 plus the element) without branches.
func maxOf4(d []float32, a []int32, p0, p1, p2, p3 []float32, b0, b1, b2, b3 int32) {
	p0, p1, p2, p3, a = p0[:len(d)], p1[:len(d)], p2[:len(d)], p3[:len(d)], a[:len(d)]
	for i := range d {
		m, idx := p0[i], b0
		m, idx = sel(m, idx, p1[i], b1)
		m, idx = sel(m, idx, p2[i], b2)
		m, idx = sel(m, idx, p3[i], b3)
		d[i], a[i] = m, idx+int32(i)
	}
}

// sel returns (v, b) when v > m and (m, idx) otherwise, without a branch.
func sel(m float32, idx int32, v float32, b int32) (float32, int32) {
	gt := v > m
	mask := -int32(*(*uint8)(unsafe.Pointer(&gt))) // 0 or all ones
	mb, vb := math.Float32bits(m), math.Float32bits(v)
	return math.Float32frombits(mb ^ (mb^vb)&uint32(mask)), idx ^ (idx^b)&mask
}

// maxInto updates the running maxima d and their indices a with row, the
// window position whose element i has flat index base+i. It selects with
// integer masks instead of branches: a comparison on data mispredicts on
// half of all elements.
func maxInto(d []float32, a []int32, row []float32, base int32) {
	row, a = row[:len(d)], a[:len(d)]
	for i, v := range row {
		old := d[i]
		gt := v > old
		mask := -int32(*(*uint8)(unsafe.Pointer(&gt))) // 0 or all ones
		ob, vb := math.Float32bits(old), math.Float32bits(v)
		d[i] = math.Float32frombits(ob ^ (ob^vb)&uint32(mask))
		a[i] ^= (a[i] ^ (base + int32(i))) & mask
	}
}

// MaxPoolGradAcc routes each output gradient gy [N, OH, OW, C] to the
// input element that won its window: gx[argmax[i]] += gy[i], for gx
// [N, H, W, C] and the argmax MaxPool wrote.
func MaxPoolGradAcc(gx, gy []float32, argmax []int32, g ConvGeom) {
	maxPoolGrad(gx, gy, argmax, g, true)
}

// MaxPoolGrad is MaxPoolGradAcc into a gx that it overwrites: elements
// that won no window get 0.
func MaxPoolGrad(gx, gy []float32, argmax []int32, g ConvGeom) {
	maxPoolGrad(gx, gy, argmax, g, false)
}

func maxPoolGrad(gx, gy []float32, argmax []int32, g ConvGeom, acc bool) {
	img, out := g.H*g.W*g.C, g.OH*g.OW*g.C
	if !acc && tiles2x2(g) {
		maxPoolGrad2x2(gx, gy, argmax, g)
		return
	}
	// Parallel over images: a window's winner lies in the window's image.
	Parallel(g.N, max(1, 16384/max(1, img)), func(lo, hi int) {
		if !acc {
			clear(gx[lo*img : hi*img])
		}
		for i, a := range argmax[lo*out : hi*out] {
			if a >= 0 {
				gx[a] += gy[lo*out+i]
			}
		}
	})
}

// maxPoolGrad2x2 is MaxPoolGrad for 2×2 windows with stride 2 and no
// padding, which tile the input: every element of gx is written once, the
// winners with their gradient and the rest (and any odd last row or
// column, which no window covers) with 0, without clearing gx first.
func maxPoolGrad2x2(gx, gy []float32, argmax []int32, g ConvGeom) {
	c, rs := g.C, g.W*g.C
	Parallel(g.N*g.OH, max(1, 4096/max(1, g.OW*c*4)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, oh := r/g.OH, r%g.OH
			row := (n*g.H + 2*oh) * rs // the window rows' first element
			for ow := 0; ow < g.OW; ow++ {
				o, s := ((n*g.OH+oh)*g.OW+ow)*c, row+2*ow*c
				k := maxPoolGradVec(gx, gy[o:o+c], argmax[o:o+c], s, c, rs)
				for i := k; i < c; i++ {
					a, v := argmax[o+i], gy[o+i]
					for _, p := range [4]int{s + i, s + c + i, s + rs + i, s + rs + c + i} {
						if int(a) == p {
							gx[p] = v
						} else {
							gx[p] = 0
						}
					}
				}
			}
			if g.W > 2*g.OW { // the odd last column of both rows
				clear(gx[row+2*g.OW*c : row+rs])
				clear(gx[row+rs+2*g.OW*c : row+2*rs])
			}
			if oh == g.OH-1 && g.H > 2*g.OH { // the odd last row
				clear(gx[row+2*rs : (n+1)*g.H*rs])
			}
		}
	})
}

// AvgPool writes window means of x [N, H, W, C] into dst [N, OH, OW, C].
// Padding positions are not counted (Keras semantics).
func AvgPool(dst, x []float32, g ConvGeom) {
	Parallel(g.N*g.OH, 8, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			n, oh := r/g.OH, r%g.OH
			for ow := 0; ow < g.OW; ow++ {
				o := ((n*g.OH+oh)*g.OW + ow) * g.C
				d := dst[o : o+g.C]
				clear(d)
				cnt := 0
				forWindow(g, n, oh, ow, func(s int) {
					SIMD.Axpy(1, x[s:s+g.C], d)
					cnt++
				})
				if cnt > 0 {
					SIMD.Scale(1/float32(cnt), d)
				}
			}
		}
	})
}

// AvgPoolGradAcc spreads each output gradient evenly over its window.
func AvgPoolGradAcc(gx, gy []float32, g ConvGeom) {
	for n := 0; n < g.N; n++ {
		for oh := 0; oh < g.OH; oh++ {
			for ow := 0; ow < g.OW; ow++ {
				o := ((n*g.OH+oh)*g.OW + ow) * g.C
				cnt := 0
				forWindow(g, n, oh, ow, func(int) { cnt++ })
				if cnt == 0 {
					continue
				}
				inv := 1 / float32(cnt)
				forWindow(g, n, oh, ow, func(s int) {
					SIMD.Axpy(inv, gy[o:o+g.C], gx[s:s+g.C])
				})
			}
		}
	}
}

// forWindow calls fn with the flat offset of channel 0 of every in-bounds
// input pixel of output pixel (n, oh, ow).
func forWindow(g ConvGeom, n, oh, ow int, fn func(s int)) {
	for kh := 0; kh < g.KH; kh++ {
		ih := oh*g.SH - g.PadT + kh*g.DH
		if ih < 0 || ih >= g.H {
			continue
		}
		for kw := 0; kw < g.KW; kw++ {
			iw := ow*g.SW - g.PadL + kw*g.DW
			if iw < 0 || iw >= g.W {
				continue
			}
			fn(((n*g.H+ih)*g.W + iw) * g.C)
		}
	}
}
