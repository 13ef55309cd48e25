//go:build !purego

package kernels

// lstmBackwardAVX2 is the inner loop of LSTMBackward for tanh and sigmoid
// over one row, n elements (a positive multiple of 8); gates and dg point at
// the row's gates i, f, c̃, o, u floats apart. Its pure-Go twin is the fast
// loop of lstmBackwardRows:
//
//	for j := 0; j < n; j++ {
//		d := dc[j] + dh[j]·o[j]·(1 − tc[j]²)
//		do[j] = dh[j]·o[j]·(1 − o[j])·tc[j]
//		di[j] = d·c̃[j]·i[j]·(1 − i[j])
//		df[j] = d·cp[j]·f[j]·(1 − f[j])
//		dc̃[j] = d·i[j]·(1 − c̃[j]²)
//		dc[j] = d·f[j]
//	}
//
// The first line is a fused multiply-add.
//
//go:noescape
func lstmBackwardAVX2(n, u int, gates, dg, cp, tc, dh, dc *float32)

// gruBackwardAVX2 is the inner loop of GRUBackward for tanh and sigmoid
// over one row, n elements (a positive multiple of 8); gates, dgx and dgr point
// at the row's gates z, r, ĥ, u floats apart. Twin: the fast loop of
// gruBackwardRows:
//
//	for j := 0; j < n; j++ {
//		dz := dh[j]·(hp[j] − ĥ[j])·z[j]·(1 − z[j])
//		dĥ := dh[j]·(1 − z[j])·(1 − ĥ[j]²)
//		dr := dĥ·rs[j]·r[j]·(1 − r[j])
//		dgx[z, r, ĥ][j] = dz, dr, dĥ;  dgr[z, r, ĥ][j] = dz, dr, dĥ·r[j]
//		dhp[j] = dh[j]·z[j]
//	}
//
//go:noescape
func gruBackwardAVX2(n, u int, gates, rs, hp, dh, dgx, dgr, dhp *float32)

func archRNNKernels() rnnVecKernels {
	if hasAVX2FMA {
		return rnnVecKernels{name: "avx2", lstmBackward: lstmBackwardAVX2, gruBackward: gruBackwardAVX2}
	}
	return rnnVecKernels{}
}
