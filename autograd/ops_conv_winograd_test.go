package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// TestConvInferenceWinograd checks that inference (where 3×3 stride-1
// convolutions run as Winograd F(2×2, 3×3)) gives the values of the
// recording path (im2col + GEMM), for Conv2D and the fused convolution
// and pooling, "same" and "valid", odd output sizes included.
func TestConvInferenceWinograd(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n, h, w, c, f int
		pad           string
	}{{4, 17, 15, 16, 32, "same"}, {4, 18, 20, 24, 16, "valid"}} {
		x := tensor.RandNormal(rng, 0, 1, tc.n, tc.h, tc.w, tc.c)
		k := tensor.RandNormal(rng, 0, 0.2, 3, 3, tc.c, tc.f)
		b := tensor.RandNormal(rng, 0, 0.2, tc.f)
		win := tensor.Window{SH: 1, SW: 1, Padding: tc.pad}
		pool := tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}
		act := Activation{Op: tensor.OpRelu, On: true}
		g := tensor.MustConvGeometry(x.Shape(), tensor.Window{KH: 3, KW: 3, SH: 1, SW: 1, Padding: tc.pad})
		if !useWinograd(nil, g, tc.f) {
			t.Fatalf("%+v: the inference path does not take Winograd; the test checks nothing", tc)
		}
		for _, fused := range []bool{false, true} {
			run := func(tape *Tape) []float32 {
				xv, kv, bv := tape.Input(x), tape.Input(k), tape.Input(b)
				var y *Var
				if fused {
					y = Conv2DMaxPool(xv, kv, bv, win, act, pool)
				} else {
					y = Conv2D(xv, kv, bv, win, act)
				}
				return append([]float32(nil), y.Value.Data()...)
			}
			rec, inf := NewTape(NewPool()), NewInferenceTape(NewPool())
			want, got := run(rec), run(inf)
			rec.Release()
			inf.Release()
			if len(got) != len(want) {
				t.Fatalf("%+v fused=%v: %d values, want %d", tc, fused, len(got), len(want))
			}
			var worst float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			if worst > 2e-5*math.Sqrt(float64(9*tc.c)) {
				t.Errorf("%+v fused=%v: max |inference − recorded| = %.3g", tc, fused, worst)
			}
		}
	}
}
