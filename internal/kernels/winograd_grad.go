package kernels

// The kernel gradient of a convolution run as Winograd F(2×2, 3×3)
// (winograd.go), by the chain rule through its linear maps. Per tile the
// forward pass computes M[α] = V[α]·U[α] (V [tiles, C] the transformed
// inputs Bᵀ d B, U [C, F] the transformed kernel G g Gᵀ) and Y = Aᵀ M A,
// so with δ = ∂L/∂Y [2, 2] per tile and output channel,
//
//	∂L/∂M = A δ Aᵀ         (4×4 per tile: W[α] [tiles, F])
//	∂L/∂U[α] = Σ_tiles V[α]ᵀ·W[α]   (16 GEMMs [C, tiles]·[tiles, F])
//	∂L/∂g = Gᵀ (∂L/∂U) G   (3×3 per input and output channel)
//
//	A = ⎡1  0⎤
//	    ⎢1  1⎥
//	    ⎢1 −1⎥
//	    ⎣0 −1⎦
//
// The 16 GEMMs have 16·C·F·tiles multiply-adds, against 9·C·F·4·tiles for
// the im2col form Pᵀ·δ (2.25× fewer), and no patch matrix is built: the
// tiles are transformed a block at a time so that V and W stay in cache,
// and the blocks are shared among threads in a few groups, each with its
// own partial sum of ∂L/∂U.
// The result differs from Pᵀ·δ by rounding only.

// winogradGradTiles returns how many tiles to transform at a time for the
// kernel gradient with c input and f output channels: V and W (16 values
// per tile and channel each) within about 512 KiB, at least 64 (the GEMMs'
// inner dimension).
func winogradGradTiles(c, f int) int {
	return max(64, (512<<10)/(16*4*(c+f)))
}

// winogradGradGroups is how many partial sums of ∂L/∂U WinogradKernelGrad
// splits the tiles into: each group (consecutive blocks of tiles) is one
// task for a thread, with no synchronization inside, and the groups are
// added in a fixed order, so that the result does not depend on the thread
// count.
const winogradGradGroups = 4

// WinogradKernelGrad writes into gk [3, 3, C, f] (Conv2D's kernel layout)
// beta·gk + ∂L/∂k, the gradient of the kernel of the 3×3 convolution g
// (which WinogradFits) of x [N, H, W, C], given gz = ∂L/∂y [N, OH, OW, f],
// computed through the Winograd F(2×2, 3×3) transforms. beta is 0 or 1.
// Summation order does not depend on the thread count.
func WinogradKernelGrad(gk, x, gz []float32, g ConvGeom, f int, beta float32) {
	if !WinogradFits(g) {
		panic("kernels: WinogradKernelGrad needs a 3×3 window with stride 1 and no dilation")
	}
	c := g.C
	cf := c * f
	gk, x, gz = gk[:9*cf], x[:g.N*g.H*g.W*c], gz[:g.N*g.OH*g.OW*f]
	th, tw := (g.OH+1)/2, (g.OW+1)/2
	tiles := g.N * th * tw
	bt := min(winogradGradTiles(c, f), tiles)
	blocks := (tiles + bt - 1) / bt
	groups := min(winogradGradGroups, blocks)
	us := winogradStride(cf)
	up := convScratch.get(groups * 16 * us)
	defer convScratch.put(up)
	ug := *up
	simd := archWinograd()
	Parallel(groups, 1, func(lo, hi int) {
		vs, ws := winogradStride(bt*c), winogradStride(bt*f)
		bp := convScratch.get(16*(vs+ws) + c + f)
		defer convScratch.put(bp)
		buf := *bp
		v, w, zero := buf[:16*vs], buf[16*vs:16*(vs+ws)], buf[16*(vs+ws):]
		clear(zero)
		for p := lo; p < hi; p++ {
			u := ug[p*16*us : (p+1)*16*us]
			b0, b1 := p*blocks/groups, (p+1)*blocks/groups
			for b := b0; b < b1; b++ {
				t0 := b * bt
				nt := min(bt, tiles-t0)
				for t := t0; t < t0+nt; t++ {
					winogradInputTile(v[(t-t0)*c:], vs, x, zero[:c], g, th, tw, t, simd)
					winogradGradTile(w[(t-t0)*f:], ws, gz, zero[:f], g, f, th, tw, t, simd)
				}
				ubeta := float32(min(b-b0, 1))
				for a := 0; a < 16; a++ {
					sgemm(gemmBest, 1, nil, true, false, c, f, nt, 1, v[a*vs:], c, w[a*ws:], f, ubeta, u[a*us:], f)
				}
			}
		}
	})
	Parallel(cf, 4096, func(lo, hi int) { winogradKernelGradOut(gk, ug, us, groups, cf, lo, hi, beta) })
}

// winogradKernelGradOut writes gk[k·cf + i] = beta·gk[k·cf + i] + (Gᵀ du G)
// [k] for the 3×3 positions k and the (input, output) channel pairs
// lo ≤ i < hi, du the 4×4 values Σ_p ug[(16·p + α)·us + i] summed over the
// groups p in order. It runs 16 pairs at a time, so that the rows of ug
// and gk are read and written whole cache lines at a time.
func winogradKernelGradOut(gk, ug []float32, us, groups, cf, lo, hi int, beta float32) {
	for i0 := lo; i0 < hi; i0 += 16 {
		n := min(16, hi-i0)
		var du [16][16]float32
		for a := range du {
			d := du[a][:n]
			copy(d, ug[a*us+i0:])
			for p := 1; p < groups; p++ {
				for i, v := range ug[(16*p+a)*us+i0:][:n] {
					d[i] += v
				}
			}
		}
		var out [9][16]float32
		for i := 0; i < n; i++ {
			var q [12]float32 // Gᵀ du: 3×4
			for j := 0; j < 4; j++ {
				d0, d1, d2, d3 := du[j][i], du[4+j][i], du[8+j][i], du[12+j][i]
				s, h := 0.5*(d1+d2), 0.5*(d1-d2)
				q[j], q[4+j], q[8+j] = d0+s, h, s+d3
			}
			for a := 0; a < 3; a++ { // (Gᵀ du) G: 3×3
				r0, r1, r2, r3 := q[4*a], q[4*a+1], q[4*a+2], q[4*a+3]
				s, h := 0.5*(r1+r2), 0.5*(r1-r2)
				out[3*a][i], out[3*a+1][i], out[3*a+2][i] = r0+s, h, s+r3
			}
		}
		for k := range out {
			row := gk[k*cf+i0 : k*cf+i0+n]
			if beta == 0 {
				copy(row, out[k][:n])
				continue
			}
			for i := range row {
				row[i] += out[k][i]
			}
		}
	}
}

// winogradInputTile writes V = Bᵀ d B of tile t (of th×tw tiles per image)
// of x into v[α·vs + k] for the 16 positions α and the c channels k, the
// inputs outside the image read from zero [c].
func winogradInputTile(v []float32, vs int, x, zero []float32, g ConvGeom, th, tw, t int, simd bool) {
	c := g.C
	var d [16][]float32
	n, r := t/(th*tw), t%(th*tw)
	ih0, iw0 := 2*(r/tw)-g.PadT, 2*(r%tw)-g.PadL
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			ih, iw := ih0+i, iw0+j
			if ih < 0 || ih >= g.H || iw < 0 || iw >= g.W {
				d[4*i+j] = zero
			} else {
				o := ((n*g.H+ih)*g.W + iw) * c
				d[4*i+j] = x[o : o+c]
			}
		}
	}
	k0 := 0
	if n16 := c / 16; simd && n16 > 0 {
		var dp [16]*float32
		for i := range dp {
			dp[i] = &d[i][0]
		}
		winogradInputAVX512(&v[0], vs, &dp, n16)
		k0 = 16 * n16
	}
	winogradInput(v, vs, &d, k0, c)
}

// winogradGradTile writes W = A δ Aᵀ of tile t of the output gradient gz
// [N, OH, OW, f] into w[α·ws + k] for the 16 positions α and the f
// channels k, the outputs past the edge read from zero [f].
func winogradGradTile(w []float32, ws int, gz, zero []float32, g ConvGeom, f, th, tw, t int, simd bool) {
	var d [4][]float32
	n, r := t/(th*tw), t%(th*tw)
	oh, ow := 2*(r/tw), 2*(r%tw)
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			if oh+i >= g.OH || ow+j >= g.OW {
				d[2*i+j] = zero
			} else {
				o := ((n*g.OH+oh+i)*g.OW + ow + j) * f
				d[2*i+j] = gz[o : o+f]
			}
		}
	}
	k0 := 0
	if n16 := f / 16; simd && n16 > 0 {
		dp := [4]*float32{&d[0][0], &d[1][0], &d[2][0], &d[3][0]}
		winogradGradAVX512(&w[0], ws, &dp, n16)
		k0 = 16 * n16
	}
	winogradGrad(w, ws, &d, k0, f)
}

// winogradGrad writes W = A δ Aᵀ for the 2×2 output gradient block δ (4
// channel vectors: top left, top right, bottom left, bottom right) into
// w[α·ws + k] for the 16 positions α and the channels k0 ≤ k < f.
func winogradGrad(w []float32, ws int, d *[4][]float32, k0, f int) {
	for k := k0; k < f; k++ {
		d00, d01, d10, d11 := d[0][k], d[1][k], d[2][k], d[3][k]
		// A δ: rows p0 = δ0, p1 = δ0 + δ1, p2 = δ0 − δ1, p3 = −δ1
		p := [8]float32{d00, d01, d00 + d10, d01 + d11, d00 - d10, d01 - d11, -d10, -d11}
		for i := 0; i < 4; i++ { // (A δ) Aᵀ: [a, a + b, a − b, −b] per row
			a, b := p[2*i], p[2*i+1]
			o := 4 * i * ws
			w[o+k], w[o+ws+k], w[o+2*ws+k], w[o+3*ws+k] = a, a+b, a-b, -b
		}
	}
}
