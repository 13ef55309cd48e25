package kernels

// Winograd's minimal filtering F(2×2, 3×3) (Lavin and Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016) for 3×3 convolutions
// with stride 1 and no dilation: each 2×2 block of outputs ("tile") comes
// from a 4×4 block of inputs with 16 multiplications per (input channel,
// output channel) instead of 36, 2.25× fewer. Per tile,
//
//	Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//
//	Bᵀ = ⎡1  0 −1  0⎤   G = ⎡ 1    0    0 ⎤   Aᵀ = ⎡1 1  1  0⎤
//	     ⎢0  1  1  0⎥       ⎢1/2  1/2  1/2⎥        ⎣0 1 −1 −1⎦
//	     ⎢0 −1  1  0⎥       ⎢1/2 −1/2  1/2⎥
//	     ⎣0  1  0 −1⎦       ⎣ 0    0    1 ⎦
//
// and the sum over input channels of the 16 elementwise products is, for
// each of the 16 positions α, a matrix product: M[α] = V[α]·U[α] with
// V[α] [tiles, C] the transformed inputs and U[α] [C, F] the transformed
// kernel. Those 16 GEMMs run on the package's GEMM kernels, a block of
// tiles at a time so that V and M stay in L2. The results differ from the
// direct form by rounding only (the transforms add and subtract, and
// halve, in float32); the tests bound the difference.

// WinogradFits reports whether the convolution g can run as
// WinogradConv3x3: a 3×3 window, stride 1, no dilation.
func WinogradFits(g ConvGeom) bool {
	return g.KH == 3 && g.KW == 3 && g.SH == 1 && g.SW == 1 && max(g.DH, 1) == 1 && max(g.DW, 1) == 1
}

// WinogradFast reports whether the Winograd transforms run in assembly
// here (AVX-512). Without it, the pure-Go transforms take most of the time
// and im2col + GEMM is faster.
func WinogradFast() bool { return archWinograd() }

// WinogradKernel writes into u [16, c, f] the transformed kernel
// U[α] = G g Gᵀ of the 3×3 kernel w [3, 3, c, f] (Conv2D's layout), for
// each input channel and output channel.
func WinogradKernel(u, w []float32, c, f int) {
	cf := c * f
	u, w = u[:16*cf], w[:9*cf]
	// 16 (input, output) channel pairs at a time, so that each of the 25
	// rows of u and w (cf apart: often a multiple of 4 KiB, the same cache
	// sets) is read and written a whole cache line at a time.
	Parallel((cf+15)/16, max(1, 256/max(1, f)), func(lo, hi int) {
		for i0 := 16 * lo; i0 < min(16*hi, cf); i0 += 16 {
			n := min(16, cf-i0)
			var g [9][16]float32
			for k := range g {
				copy(g[k][:n], w[k*cf+i0:])
			}
			var out [16][16]float32
			for i := 0; i < n; i++ {
				// r = G g: 4×3
				var r [12]float32
				for j := 0; j < 3; j++ {
					g0, g1, g2 := g[j][i], g[3+j][i], g[6+j][i]
					r[j], r[3+j], r[6+j], r[9+j] = g0, 0.5*(g0+g1+g2), 0.5*(g0-g1+g2), g2
				}
				// U = r Gᵀ: 4×4
				for a := 0; a < 4; a++ {
					r0, r1, r2 := r[3*a], r[3*a+1], r[3*a+2]
					out[4*a][i], out[4*a+1][i], out[4*a+2][i], out[4*a+3][i] = r0, 0.5*(r0+r1+r2), 0.5*(r0-r1+r2), r2
				}
			}
			for a := range out {
				copy(u[a*cf+i0:], out[a][:n])
			}
		}
	})
}

// winogradTiles returns how many tiles to transform and multiply at a time
// for c input and f output channels: V and M (16 values per tile and
// channel each) within about 512 KiB, at least 12.
func winogradTiles(c, f int) int {
	return max(12, (512<<10)/(16*4*(c+f)))
}

// winogradStride returns the distance between the 16 rows (one per
// position α) of a block of n transformed values: n rounded up to a whole
// number of cache lines, and to an odd number of them, so that the 16 rows
// fall in 16 different cache sets (n itself is often a multiple of 4 KiB,
// which would put them all in one set and evict each line before it is
// filled).
func winogradStride(n int) int {
	s := (n + 15) &^ 15
	if s&16 == 0 {
		s += 16
	}
	return s
}

// WinogradConv3x3 writes into y [N, OH, OW, f] the convolution of x
// [N, H, W, C] (geometry g, which WinogradFits) with the kernel whose
// transform WinogradKernel wrote into u [16, C, f]. Inputs outside the
// image (padding) read as zero. y is overwritten (no bias, no activation).
func WinogradConv3x3(y, x, u []float32, g ConvGeom, f int) {
	winogradConv(y, x, u, nil, g, f, false, false)
}

// WinogradConv3x3Pool writes into y [N, OH/2, OW/2, f] the 2×2 max pooling
// (stride 2) of the convolution of WinogradConv3x3 plus bias [f], passed
// through ReLU when relu: every 2×2 tile of outputs is one pooling window,
// so the convolution's output is never stored. OH and OW must be even.
// There is no argmax: inference only.
func WinogradConv3x3Pool(y, x, u, bias []float32, g ConvGeom, f int, relu bool) {
	if g.OH%2 != 0 || g.OW%2 != 0 {
		panic("kernels: WinogradConv3x3Pool needs an even output height and width")
	}
	bias = bias[:f]
	winogradConv(y, x, u, bias, g, f, true, relu)
}

func winogradConv(y, x, u, bias []float32, g ConvGeom, f int, pool, relu bool) {
	if !WinogradFits(g) {
		panic("kernels: WinogradConv3x3 needs a 3×3 window with stride 1 and no dilation")
	}
	th, tw := (g.OH+1)/2, (g.OW+1)/2
	tiles := g.N * th * tw
	bt := winogradTiles(g.C, f)
	blocks := (tiles + bt - 1) / bt
	c := g.C
	simd := archWinograd()
	Parallel(blocks, 1, func(lo, hi int) {
		vs, ms := winogradStride(bt*c), winogradStride(bt*f)
		vp := convScratch.get(16*vs + 16*ms + c + f)
		defer convScratch.put(vp)
		v := *vp
		m := v[16*vs : 16*(vs+ms)]
		zero := v[16*(vs+ms) : 16*(vs+ms)+c]
		spill := v[16*(vs+ms)+c:] // outputs past the edge, written and dropped
		clear(zero)
		for b := lo; b < hi; b++ {
			t0, t1 := b*bt, min((b+1)*bt, tiles)
			nt := t1 - t0
			for t := t0; t < t1; t++ {
				winogradInputTile(v[(t-t0)*c:], vs, x, zero, g, th, tw, t, simd)
			}
			for a := 0; a < 16; a++ {
				sgemm(gemmBest, 1, nil, false, false, nt, f, c, 1, v[a*vs:], c, u[a*c*f:], f, 0, m[a*ms:], f)
			}
			for t := t0; t < t1; t++ {
				n, r := t/(th*tw), t%(th*tw)
				if pool {
					winogradOutputPool(y[t*f:(t+1)*f], m[(t-t0)*f:], ms, bias, relu, simd)
					continue
				}
				oh, ow := 2*(r/tw), 2*(r%tw)
				winogradOutput(y, m[(t-t0)*f:], ms, g, f, n, oh, ow, spill, simd)
			}
		}
	})
}

// winogradInput writes V = Bᵀ d B for the 4×4 input block d (16 channel
// vectors of c values, row-major in the block) into v[α·vs+k] for the 16
// positions α and the channels k0 ≤ k < c.
func winogradInput(v []float32, vs int, d *[16][]float32, k0, c int) {
	for k := k0; k < c; k++ {
		var t [16]float32
		for j := 0; j < 4; j++ { // Bᵀ d: rows
			d0, d1, d2, d3 := d[j][k], d[4+j][k], d[8+j][k], d[12+j][k]
			t[j], t[4+j], t[8+j], t[12+j] = d0-d2, d1+d2, d2-d1, d1-d3
		}
		for i := 0; i < 4; i++ { // (Bᵀ d) B: columns
			t0, t1, t2, t3 := t[4*i], t[4*i+1], t[4*i+2], t[4*i+3]
			o := 4 * i * vs
			v[o+k], v[o+vs+k], v[o+2*vs+k], v[o+3*vs+k] = t0-t2, t1+t2, t2-t1, t1-t3
		}
	}
}

// winogradOutput writes Y = Aᵀ m A (the 2×2 outputs at rows oh, oh+1 and
// columns ow, ow+1 of image n, those inside the output) for the 16 product
// vectors m[α·ms : α·ms+f]. With simd, the AVX-512 twin does the first
// multiple of 16 channels, sending outputs past the edge to spill [f].
func winogradOutput(y, m []float32, ms int, g ConvGeom, f, n, oh, ow int, spill []float32, simd bool) {
	row0 := ((n*g.OH+oh)*g.OW + ow) * f
	down, right := oh+1 < g.OH, ow+1 < g.OW
	k0 := 0
	if n16 := f / 16; simd && n16 > 0 {
		yp := [4]*float32{&y[row0], &spill[0], &spill[0], &spill[0]}
		if right {
			yp[1] = &y[row0+f]
		}
		if down {
			yp[2] = &y[row0+g.OW*f]
			if right {
				yp[3] = &y[row0+g.OW*f+f]
			}
		}
		winogradOutputAVX512(&m[0], ms, &yp, n16)
		k0 = 16 * n16
	}
	for k := k0; k < f; k++ {
		var s [8]float32
		for j := 0; j < 4; j++ { // Aᵀ m: rows
			m0, m1, m2, m3 := m[j*ms+k], m[(4+j)*ms+k], m[(8+j)*ms+k], m[(12+j)*ms+k]
			s[j], s[4+j] = m0+m1+m2, m1-m2-m3
		}
		y[row0+k] = s[0] + s[1] + s[2]
		if right {
			y[row0+f+k] = s[1] - s[2] - s[3]
		}
		if down {
			r1 := row0 + g.OW*f
			y[r1+k] = s[4] + s[5] + s[6]
			if right {
				y[r1+f+k] = s[5] - s[6] - s[7]
			}
		}
	}
}

// WinogradGradGeom returns the geometry under which the input gradient of
// the 3×3 convolution g is itself a 3×3 stride-1 convolution: of the
// output gradient [N, OH, OW, F] (F = f channels) with the kernel rotated
// by 180° and transposed (RotateKernel3x3), padded by 2 − PadT above and
// 2 − PadL on the left, giving [N, H, W, F→C]. ok is false when g's
// padding exceeds 2 (no such form).
func WinogradGradGeom(g ConvGeom, f int) (gi ConvGeom, ok bool) {
	if !WinogradFits(g) || g.PadT > 2 || g.PadL > 2 {
		return gi, false
	}
	return ConvGeom{N: g.N, H: g.OH, W: g.OW, C: f, KH: 3, KW: 3, SH: 1, SW: 1, DH: 1, DW: 1,
		PadT: 2 - g.PadT, PadL: 2 - g.PadL, OH: g.H, OW: g.W}, true
}

// RotateKernel3x3 writes into dst [3, 3, f, c] the kernel w [3, 3, c, f]
// rotated by 180° and transposed: dst[kh, kw, o, i] = w[2−kh, 2−kw, i, o],
// the kernel of a convolution's input gradient.
func RotateKernel3x3(dst, w []float32, c, f int) {
	cf := c * f
	dst, w = dst[:9*cf], w[:9*cf]
	for k := 0; k < 9; k++ {
		src, d := w[(8-k)*cf:(9-k)*cf], dst[k*cf:(k+1)*cf]
		for i := 0; i < c; i++ {
			for o := 0; o < f; o++ {
				d[o*c+i] = src[i*f+o]
			}
		}
	}
}

// winogradOutputPool writes into y [f] the maximum of the 2×2 outputs
// Aᵀ m A of one tile plus bias, then max(·, 0) when relu (the pooled
// output of the tile: with even output sizes, tile t is pooled output t).
func winogradOutputPool(y, m []float32, ms int, bias []float32, relu, simd bool) {
	f := len(y)
	k0 := 0
	if n16 := f / 16; simd && n16 > 0 {
		winogradOutputPoolAVX512(&m[0], ms, &y[0], &bias[0], n16, relu)
		k0 = 16 * n16
	}
	for k := k0; k < f; k++ {
		var s [8]float32
		for j := 0; j < 4; j++ {
			m0, m1, m2, m3 := m[j*ms+k], m[(4+j)*ms+k], m[(8+j)*ms+k], m[(12+j)*ms+k]
			s[j], s[4+j] = m0+m1+m2, m1-m2-m3
		}
		v := max(s[0]+s[1]+s[2], s[1]-s[2]-s[3], s[4]+s[5]+s[6], s[5]-s[6]-s[7]) + bias[k]
		if relu {
			v = max(v, 0)
		}
		y[k] = v
	}
}
