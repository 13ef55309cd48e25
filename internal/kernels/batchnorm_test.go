package kernels

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestBNImpls runs every implementation of the batch-normalization loops
// against the reference loops on awkward sizes, with a row stride wider
// than the block and guards past each output: bit for bit, but for the
// fused products of inputGrad.
func TestBNImpls(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	vec := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	same := func(got, want []float32, tol float64) bool {
		for i := range want {
			if tol == 0 && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				return false
			}
			if d := math.Abs(float64(got[i] - want[i])); d > tol*(1+math.Abs(float64(want[i]))) {
				return false
			}
		}
		return true
	}
	for _, impl := range bnImpls {
		for _, cols := range []int{0, 1, 7, 8, 9, 31, 64, 130} {
			for _, rows := range []int{0, 1, 3, 50} {
				ld := cols + 3
				n := max(0, (rows-1)*ld+cols)
				x, g, mean := vec(n), vec(n), vec(cols+1)
				a, b, c1, c2, c3 := vec(cols+1), vec(cols+1), vec(cols+1), vec(cols+1), vec(cols+1)
				// acc-style outputs: start from the same values, guard at cols
				acc, accRef := vec(cols+1), make([]float32, cols+1)
				copy(accRef, acc)
				impl.sqDev(acc, x, mean, rows, cols, ld)
				bnSqDevGo(accRef, x, mean, rows, cols, ld)
				if !same(acc, accRef, 0) {
					t.Fatalf("%s sqDev %d×%d differs from the reference", impl.name, rows, cols)
				}
				sg, sgx := vec(cols+1), vec(cols+1)
				sgRef, sgxRef := append([]float32(nil), sg...), append([]float32(nil), sgx...)
				impl.gradSums(sg, sgx, g, x, mean, rows, cols, ld)
				bnGradSumsGo(sgRef, sgxRef, g, x, mean, rows, cols, ld)
				if !same(sg, sgRef, 0) || !same(sgx, sgxRef, 0) {
					t.Fatalf("%s gradSums %d×%d differs from the reference", impl.name, rows, cols)
				}
				y, yRef := vec(n+1), make([]float32, n+1)
				copy(yRef, y)
				impl.apply(y, x, a, b, rows, cols, ld)
				bnApplyGo(yRef, x, a, b, rows, cols, ld)
				if !same(y, yRef, 0) {
					t.Fatalf("%s apply %d×%d differs from the reference", impl.name, rows, cols)
				}
				for _, accumulate := range []bool{false, true} {
					gx, gxRef := vec(n+1), make([]float32, n+1)
					copy(gxRef, gx)
					impl.inputGrad(gx, g, x, c1, c2, c3, rows, cols, ld, accumulate)
					bnInputGradGo(gxRef, g, x, c1, c2, c3, rows, cols, ld, accumulate)
					if !same(gx, gxRef, 1e-6) || gx[n] != gxRef[n] {
						t.Fatalf("%s inputGrad %d×%d (acc %v) differs from the reference", impl.name, rows, cols, accumulate)
					}
				}
			}
		}
	}
}

// TestBatchNormThreads checks the exported kernels against float64
// statistics and that one and two threads give the same bits.
func TestBatchNormThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	const rows, f = 1100, 68 // 74,800 elements: split over threads
	x, g := make([]float32, rows*f), make([]float32, rows*f)
	for i := range x {
		x[i], g[i] = float32(rng.NormFloat64()*2+1), float32(rng.NormFloat64())
	}
	c := make([]float32, 3*f)
	for i := range c {
		c[i] = float32(rng.NormFloat64())
	}
	run := func(threads int) [][]float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
		mean, variance, inv := make([]float32, f), make([]float32, f), make([]float32, f)
		BatchNormStats(mean, variance, inv, nil, x, 1e-5)
		y := make([]float32, rows*f)
		BatchNormApply(y, x, inv, mean)
		sumG, sumGX := make([]float32, f), make([]float32, f)
		BatchNormGradSums(sumG, sumGX, nil, g, x, mean)
		gx := make([]float32, rows*f)
		BatchNormInputGrad(gx, g, x, c[:f], c[f:2*f], c[2*f:], false)
		return [][]float32{mean, variance, inv, y, sumG, sumGX, gx}
	}
	one, two := run(1), run(2)
	for i := range one {
		for j := range one[i] {
			if math.Float32bits(one[i][j]) != math.Float32bits(two[i][j]) {
				t.Fatalf("output %d element %d: %v at one thread, %v at two", i, j, one[i][j], two[i][j])
			}
		}
	}
	mean, variance := one[0], one[1]
	for j := 0; j < f; j++ {
		var s, ss float64
		for r := 0; r < rows; r++ {
			s += float64(x[r*f+j])
		}
		m := s / rows
		for r := 0; r < rows; r++ {
			d := float64(x[r*f+j]) - m
			ss += d * d
		}
		if math.Abs(float64(mean[j])-m) > 1e-5 || math.Abs(float64(variance[j])-ss/rows) > 1e-4*ss/rows {
			t.Fatalf("feature %d: mean %v variance %v, want %v %v", j, mean[j], variance[j], m, ss/rows)
		}
	}
}
