package kernels

// UpSampleNearest writes x [n, h, w, c] repeated sh times along the height
// and sw times along the width into dst [n, h·sh, w·sw, c] (nearest
// neighbour): dst[b, i, j, :] = x[b, i/sh, j/sw, :].
func UpSampleNearest(dst, x []float32, n, h, w, c, sh, sw int) {
	ow := w * sw
	orow := ow * c
	Parallel(n*h, max(1, 4096/max(1, sh*orow)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			src := x[r*w*c : (r+1)*w*c]
			out := dst[r*sh*orow : (r+1)*sh*orow]
			first := out[:orow]
			if c == 1 {
				for j, v := range src {
					for b := 0; b < sw; b++ {
						first[j*sw+b] = v
					}
				}
			} else {
				for j := 0; j < w; j++ {
					px := src[j*c : (j+1)*c]
					for b := 0; b < sw; b++ {
						copy(first[(j*sw+b)*c:], px)
					}
				}
			}
			for a := 1; a < sh; a++ {
				copy(out[a*orow:(a+1)*orow], first)
			}
		}
	})
}

// UpSampleNearestGradAcc is the adjoint of UpSampleNearest: it adds each
// sh×sw block of gy [n, h·sh, w·sw, c] into one pixel of gx [n, h, w, c]:
// gx[b, i, j, :] += Σ_{a<sh, e<sw} gy[b, i·sh+a, j·sw+e, :].
func UpSampleNearestGradAcc(gx, gy []float32, n, h, w, c, sh, sw int) {
	ow := w * sw
	orow := ow * c
	Parallel(n*h, max(1, 4096/max(1, sh*orow)), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			dst := gx[r*w*c : (r+1)*w*c]
			g := gy[r*sh*orow : (r+1)*sh*orow]
			for a := 0; a < sh; a++ {
				row := g[a*orow : (a+1)*orow]
				if c == 1 {
					for j := range dst {
						s := float32(0)
						for _, v := range row[j*sw : (j+1)*sw] {
							s += v
						}
						dst[j] += s
					}
					continue
				}
				for j := 0; j < w; j++ {
					d := dst[j*c : (j+1)*c]
					for e := 0; e < sw; e++ {
						SIMD.Axpy(1, row[(j*sw+e)*c:(j*sw+e+1)*c], d)
					}
				}
			}
		}
	})
}
