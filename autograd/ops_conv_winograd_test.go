package autograd

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// TestConvWinograd checks that 3×3 stride-1 convolutions run as Winograd
// F(2×2, 3×3) give the values and the gradients (input, kernel, bias) of
// im2col + GEMM, for Conv2D and the fused convolution and pooling, "same"
// and "valid", odd output sizes included, in inference and recorded.
func TestConvWinograd(t *testing.T) {
	if !kernels.WinogradFast() {
		t.Skip("no assembly Winograd transforms in this build: convolutions stay im2col + GEMM")
	}
	defer func() { winogradOn = true }()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		n, h, w, c, f int
		pad           string
	}{{5, 16, 14, 16, 32, "same"}, {4, 18, 20, 24, 16, "valid"}, {5, 15, 17, 16, 16, "same"}} {
		x := tensor.RandNormal(rng, 0, 1, tc.n, tc.h, tc.w, tc.c)
		k := tensor.RandNormal(rng, 0, 0.2, 3, 3, tc.c, tc.f)
		b := tensor.RandNormal(rng, 0, 0.2, tc.f)
		win := tensor.Window{SH: 1, SW: 1, Padding: tc.pad}
		pool := tensor.Window{KH: 2, KW: 2, SH: 2, SW: 2}
		act := Activation{Op: tensor.OpRelu, On: true}
		g := tensor.MustConvGeometry(x.Shape(), tensor.Window{KH: 3, KW: 3, SH: 1, SW: 1, Padding: tc.pad})
		if !useWinograd(g, tc.f, true) || useWinograd(g, tc.f, false) != (g.OH%2 == 0 && g.OW%2 == 0) {
			t.Fatalf("%+v: not the path the case is for; the test would check nothing", tc)
		}
		for _, fused := range []bool{false, true} {
			// run returns the output and the gradients of Σ y ⊙ r (r fixed).
			r := tensor.RandNormal(rng, 0, 1, 1)
			run := func(tape *Tape) [][]float32 {
				xv, kv, bv := &Var{Value: x}, &Var{Value: k}, &Var{Value: b}
				if tape.infer {
					xv, kv, bv = tape.Input(x), tape.Input(k), tape.Input(b)
				} else {
					tape.Watch(xv, kv, bv)
				}
				var y *Var
				if fused {
					y = Conv2DMaxPool(xv, kv, bv, win, act, pool)
				} else {
					y = Conv2D(xv, kv, bv, win, act)
				}
				out := [][]float32{append([]float32(nil), y.Value.Data()...)}
				if tape.infer {
					return out
				}
				if r.Len() != y.Value.Len() {
					r = tensor.RandNormal(rng, 0, 1, y.Value.Shape()...)
				}
				if err := tape.Backward(Sum(Mul(y, tape.Input(r)), false)); err != nil {
					t.Fatal(err)
				}
				for _, v := range []*Var{xv, kv, bv} {
					out = append(out, append([]float32(nil), tape.Grad(v).Data()...))
				}
				return out
			}
			both := func(on, infer bool) [][]float32 {
				winogradOn = on
				tape := NewTape(NewPool())
				if infer {
					tape = NewInferenceTape(NewPool())
				}
				defer tape.Release()
				return run(tape)
			}
			names := []string{"y", "∂x", "∂k", "∂b"}
			for _, infer := range []bool{false, true} {
				want := both(false, false)
				got := both(true, infer)
				for i := range got {
					var worst float64
					for j := range want[i] {
						worst = max(worst, math.Abs(float64(got[i][j]-want[i][j])))
					}
					if worst > 2e-5*math.Sqrt(float64(9*tc.c))*float64(1+3*i) {
						t.Errorf("%+v fused=%v infer=%v: max |%s Winograd − im2col| = %.3g", tc, fused, infer, names[i], worst)
					}
				}
			}
		}
	}
}

// TestConvWinogradGradCheck compares the gradients of Conv2D through the
// Winograd path (forward, input and kernel gradients all F(2×2, 3×3))
// with central finite differences, "same" and "valid", even and odd output
// sizes.
func TestConvWinogradGradCheck(t *testing.T) {
	if !kernels.WinogradFast() {
		t.Skip("no assembly Winograd transforms in this build: convolutions stay im2col + GEMM")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	winogradOddTrain = true // the 11×11 case too
	defer func() { winogradOddTrain = false }()
	for _, tc := range []struct {
		n, h, c, f int
		pad        string
	}{{4, 16, 16, 16, "same"}, {4, 18, 16, 17, "valid"}, {8, 13, 16, 16, "valid"}} { // the last with 11×11 outputs
		g := tensor.MustConvGeometry([]int{tc.n, tc.h, tc.h, tc.c}, tensor.Window{KH: 3, KW: 3, SH: 1, SW: 1, Padding: tc.pad})
		if !useWinograd(g, tc.f, false) {
			t.Fatalf("%+v: not the Winograd path; the test would check nothing", tc)
		}
		x := tensor.RandNormal(rng, 0, 1, tc.n, tc.h, tc.h, tc.c)
		k := tensor.RandNormal(rng, 0, 0.3, 3, 3, tc.c, tc.f)
		b := tensor.RandNormal(rng, 0, 0.3, tc.f)
		conv := func(v []*Var) *Var {
			return Conv2D(v[0], v[1], v[2], tensor.Window{SH: 1, SW: 1, Padding: tc.pad}, Act(tensor.OpTanh, 0))
		}
		if err := CheckGradients(conv, []*tensor.Tensor{x, k, b}, CheckOptions{MaxProbes: 24}); err != nil {
			t.Errorf("%+v: %v", tc, err)
		}
	}
}
