//go:build !purego

package kernels

import "unsafe"

// Vector 2×2 max pooling (maxpool_amd64.s).

//go:noescape
func maxOf4AVX2(d *float32, a *int32, x *float32, c, rs, base, n int)

//go:noescape
func maxOf4ValuesAVX2(d *float32, x *float32, c, rs, n int)

// maxOf4Vec handles the first multiple of 8 of the c channels of the 2×2
// window whose top-left element is x[s] (rows rs elements apart) and has
// the flat index base, writing d[0:k] and, when a is not nil, a[0:k]; it
// returns k, the channels done.
func maxOf4Vec(d []float32, a []int32, x []float32, s, c, rs, base int) int {
	k := c &^ 7
	if k == 0 || !hasAVX2FMA {
		return 0
	}
	_, _ = x[s+rs+c+k-1], d[k-1] // the last elements read and written
	xp := (*float32)(unsafe.Pointer(&x[s]))
	if a == nil {
		maxOf4ValuesAVX2(&d[0], xp, c, rs, k)
	} else {
		_ = a[k-1]
		maxOf4AVX2(&d[0], &a[0], xp, c, rs, base, k)
	}
	return k
}

//go:noescape
func maxPoolGrad2x2AVX2(gx *float32, gy *float32, a *int32, c, rs, base, n int)

// maxPoolGradVec writes the gradient of the first multiple of 8 of the c
// channels of the 2×2 window whose top-left element is gx[s] (flat index
// s, rows rs elements apart) from g[0:k] and the winners a[0:k]: each of
// the four positions gets g or 0. It returns k, the channels done.
func maxPoolGradVec(gx, g []float32, a []int32, s, c, rs int) int {
	k := c &^ 7
	if k == 0 || !hasAVX2FMA {
		return 0
	}
	_, _, _ = gx[s+rs+c+k-1], g[k-1], a[k-1]
	maxPoolGrad2x2AVX2(&gx[s], &g[0], &a[0], c, rs, s, k)
	return k
}
