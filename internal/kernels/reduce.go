package kernels

import "math"

// ReduceOp names a reduction.
type ReduceOp uint8

// Reductions.
const (
	ReduceSum ReduceOp = iota
	ReduceMax
	ReduceMin
)

// Reduce reduces the middle axis of src viewed as [outer, n, inner] into dst
// viewed as [outer, inner].
func Reduce(op ReduceOp, dst, src []float32, outer, n, inner int) {
	if inner == 1 {
		for o := 0; o < outer; o++ {
			row := src[o*n : (o+1)*n]
			switch op {
			case ReduceSum:
				dst[o] = SIMD.Sum(row)
			case ReduceMax:
				dst[o] = SIMD.Max(row)
			case ReduceMin:
				m := float32(math.Inf(1))
				for _, v := range row {
					if v < m || v != v {
						m = v
					}
				}
				dst[o] = m
			}
		}
		return
	}
	for o := 0; o < outer; o++ {
		d := dst[o*inner : (o+1)*inner]
		base := o * n * inner
		copy(d, src[base:base+inner])
		for j := 1; j < n; j++ {
			s := src[base+j*inner : base+(j+1)*inner]
			switch op {
			case ReduceSum:
				SIMD.Axpy(1, s, d)
			case ReduceMax:
				for i, v := range s {
					if v > d[i] || v != v {
						d[i] = v
					}
				}
			case ReduceMin:
				for i, v := range s {
					if v < d[i] || v != v {
						d[i] = v
					}
				}
			}
		}
	}
}

// ArgMax writes, for src viewed as [outer, n, inner], the index along the
// middle axis of the largest element (the first one on ties) into dst
// viewed as [outer, inner].
func ArgMax(dst []int, src []float32, outer, n, inner int) {
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			base := o*n*inner + i
			best, bi := src[base], 0
			for j := 1; j < n; j++ {
				if v := src[base+j*inner]; v > best {
					best, bi = v, j
				}
			}
			dst[o*inner+i] = bi
		}
	}
}

// Softmax computes dst = exp(x − max) / Σ exp(x − max) along the middle
// axis of src viewed as [outer, n, inner]. With log set it computes the
// log-softmax x − max − log Σ exp(x − max) instead.
func Softmax(dst, src []float32, outer, n, inner int, log bool) {
	if inner != 1 {
		tmp := make([]float32, n)
		out := make([]float32, n)
		for o := 0; o < outer; o++ {
			for i := 0; i < inner; i++ {
				base := o*n*inner + i
				for j := 0; j < n; j++ {
					tmp[j] = src[base+j*inner]
				}
				softmaxRow(out, tmp, log)
				for j := 0; j < n; j++ {
					dst[base+j*inner] = out[j]
				}
			}
		}
		return
	}
	if grain := max(1, 16384/max(n, 1)); outer >= 2*grain && Threads() > 1 {
		Parallel(outer, grain, func(lo, hi int) { softmaxRows(dst, src, lo, hi, n, log) })
	} else { // no closure to allocate
		softmaxRows(dst, src, 0, outer, n, log)
	}
}

// softmaxRows runs softmaxRow over the rows lo ≤ o < hi of n elements.
func softmaxRows(dst, src []float32, lo, hi, n int, log bool) {
	for o := lo; o < hi; o++ {
		softmaxRow(dst[o*n:(o+1)*n], src[o*n:(o+1)*n], log)
	}
}

func softmaxRow(dst, x []float32, log bool) {
	if len(x) == 0 {
		return
	}
	m := SIMD.Max(x)
	for i, v := range x {
		dst[i] = v - m
	}
	if log {
		var s float64
		for _, v := range dst {
			s += math.Exp(float64(v))
		}
		ls := float32(math.Log(s))
		for i := range dst {
			dst[i] -= ls
		}
		return
	}
	SIMD.Exp(dst, dst)
	s := SIMD.Sum(dst)
	SIMD.Scale(1/s, dst)
}

// SoftmaxGrad writes the input gradient of Softmax from its output y and
// output gradient gy: gx = y ⊙ (gy − Σ gy⊙y) along the last axis of the
// outer×n rows, or with acc adds it to gx. With log set, y is the
// log-softmax output and the rule is gx = gy − exp(y) Σ gy.
func SoftmaxGrad(gx, y, gy []float32, outer, n int, log, acc bool) {
	for o := 0; o < outer; o++ {
		yr, gr, xr := y[o*n:(o+1)*n], gy[o*n:(o+1)*n], gx[o*n:(o+1)*n]
		yr, gr = yr[:len(xr)], gr[:len(xr)]
		var s float32
		if log {
			s = SIMD.Sum(gr)
		} else {
			s = SIMD.Dot(gr, yr)
		}
		for i := range xr {
			var d float32
			if log {
				d = gr[i] - float32(math.Exp(float64(yr[i])))*s
			} else {
				d = yr[i] * (gr[i] - s)
			}
			if acc {
				d += xr[i]
			}
			xr[i] = d
		}
	}
}

// Sum returns Σ x[i] (accumulated in float32 lanes).
func Sum(x []float32) float32 { return SIMD.Sum(x) }

// Max returns the largest element of x (−Inf for an empty slice).
func Max(x []float32) float32 { return SIMD.Max(x) }
