package kernels

import (
	"fmt"
	"math"
	"testing"
)

// TestAttnRowKernels compares every implementation of the attention row
// kernels with float64 on awkward lengths, masked scores (−1e30) and a
// guard value after the row.
func TestAttnRowKernels(t *testing.T) {
	for _, impl := range attnRowImpls {
		for _, n := range []int{0, 1, 7, 15, 16, 17, 49, 64, 100} {
			t.Run(fmt.Sprintf("%s/%d", impl.name, n), func(t *testing.T) {
				row := make([]float32, n+1)
				for i := range n {
					row[i] = float32(i%13)*0.7 - 3
					if i%5 == 3 {
						row[i] = attnMasked
					}
				}
				row[n] = 42
				in := append([]float32(nil), row...)
				m := float32(5.4)
				sum := impl.expSub(row[:n], m)
				var want float64
				for i := range n {
					e := math.Exp(float64(in[i] - m)) // of the float32 difference
					want += e
					if math.Abs(float64(row[i])-e) > 3e-7*e {
						t.Fatalf("e^(%v − %v) = %v, want %v", in[i], m, row[i], e)
					}
				}
				if row[n] != 42 || math.Abs(float64(sum)-want) > 1e-6*want {
					t.Fatalf("sum %v, want %v; guard %v", sum, want, row[n])
				}
				p := make([]float32, n)
				for i := range p {
					p[i] = float32(i) * 0.25
				}
				s := append([]float32(nil), in...)
				impl.ds(s[:n], p, 0.5)
				for i := range n {
					if w := p[i] * (in[i] - 0.5); s[i] != w {
						t.Fatalf("ds[%d] = %v, want %v", i, s[i], w)
					}
				}
				if s[n] != 42 {
					t.Fatal("ds wrote past the row")
				}
			})
		}
	}
}
