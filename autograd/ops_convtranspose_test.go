package autograd

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func TestConvTransposeGeometry(t *testing.T) {
	for _, c := range []struct {
		name   string
		in, k  []int
		w      tensor.Window
		op     [2]int
		out    []int
		pt, pl int
	}{
		// The DCGAN generator: PyTorch ConvTranspose2d(128, 64, 4, 2, 1) and (64, 1, 4, 2, 1).
		{"dcgan/7to14", []int{64, 7, 7, 128}, []int{4, 4, 64, 128}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, []int{64, 14, 14, 64}, 1, 1},
		{"dcgan/14to28", []int{64, 14, 14, 64}, []int{4, 4, 1, 64}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, []int{64, 28, 28, 1}, 1, 1},
		{"pytorch-padding1", []int{1, 7, 7, 3}, []int{4, 4, 2, 3}, tensor.Window{SH: 2, SW: 2, Padding: "explicit", Pads: [4]int{1, 1, 1, 1}}, [2]int{}, []int{1, 14, 14, 2}, 1, 1},
		{"valid", []int{2, 5, 4, 3}, []int{3, 2, 6, 3}, tensor.Window{}, [2]int{}, []int{2, 7, 5, 6}, 0, 0},
		{"valid/stride2", []int{2, 5, 4, 3}, []int{3, 3, 6, 3}, tensor.Window{SH: 2, SW: 2}, [2]int{}, []int{2, 11, 9, 6}, 0, 0},
		{"valid/stride2-outpad", []int{2, 5, 4, 3}, []int{3, 3, 6, 3}, tensor.Window{SH: 2, SW: 2}, [2]int{1, 0}, []int{2, 12, 9, 6}, 0, 0},
		{"same/k3s2", []int{1, 7, 7, 1}, []int{3, 3, 1, 1}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, []int{1, 14, 14, 1}, 0, 0},
		{"same/k5s2", []int{1, 7, 7, 1}, []int{5, 5, 1, 1}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, []int{1, 14, 14, 1}, 1, 1},
		{"same/k1s3", []int{1, 2, 2, 1}, []int{1, 1, 1, 1}, tensor.Window{SH: 3, SW: 3, Padding: "same"}, [2]int{}, []int{1, 6, 6, 1}, 0, 0},
		{"same/outpad", []int{1, 7, 7, 1}, []int{3, 3, 1, 1}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{1, 1}, []int{1, 15, 15, 1}, 0, 0},
		{"dilated", []int{1, 4, 4, 1}, []int{3, 3, 1, 1}, tensor.Window{DH: 2, DW: 2}, [2]int{1, 0}, []int{1, 9, 8, 1}, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			g, err := ConvTransposeGeometry(c.in, c.k, c.w, c.op)
			if err != nil {
				t.Fatal(err)
			}
			if got := []int{g.N, g.H, g.W, g.C}; !slices.Equal(got, c.out) {
				t.Errorf("output %v, want %v", got, c.out)
			}
			if g.OH != c.in[1] || g.OW != c.in[2] || g.PadT != c.pt || g.PadL != c.pl {
				t.Errorf("geometry %+v: want OH, OW = %d, %d and pads %d, %d", g, c.in[1], c.in[2], c.pt, c.pl)
			}
		})
	}
	for _, c := range []struct {
		name  string
		in, k []int
		w     tensor.Window
		op    [2]int
	}{
		{"channels", []int{1, 3, 3, 2}, []int{3, 3, 1, 3}, tensor.Window{}, [2]int{}},
		{"rank", []int{3, 3, 2}, []int{3, 3, 1, 2}, tensor.Window{}, [2]int{}},
		{"outpad>=stride", []int{1, 3, 3, 2}, []int{3, 3, 1, 2}, tensor.Window{SH: 2, SW: 2}, [2]int{2, 0}},
		{"padding", []int{1, 3, 3, 2}, []int{3, 3, 1, 2}, tensor.Window{Padding: "full"}, [2]int{}},
		{"empty", []int{1, 1, 1, 2}, []int{2, 2, 1, 2}, tensor.Window{Padding: "explicit", Pads: [4]int{1, 1, 1, 1}}, [2]int{}},
	} {
		if _, err := ConvTransposeGeometry(c.in, c.k, c.w, c.op); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// convTransposeRef is the direct scatter loop in float64.
func convTransposeRef(x, k, b *tensor.Tensor, g tensor.ConvGeom) []float64 {
	xs, ks := x.Shape(), k.Shape()
	cin, f := xs[3], ks[2]
	y := make([]float64, g.N*g.H*g.W*f)
	for n := 0; n < g.N; n++ {
		for i := 0; i < g.OH; i++ {
			for j := 0; j < g.OW; j++ {
				for a := 0; a < g.KH; a++ {
					oi := i*g.SH - g.PadT + a*g.DH
					if oi < 0 || oi >= g.H {
						continue
					}
					for e := 0; e < g.KW; e++ {
						oj := j*g.SW - g.PadL + e*g.DW
						if oj < 0 || oj >= g.W {
							continue
						}
						for o := 0; o < f; o++ {
							var s float64
							for c := 0; c < cin; c++ {
								s += float64(x.At(n, i, j, c)) * float64(k.At(a, e, o, c))
							}
							y[((n*g.H+oi)*g.W+oj)*f+o] += s
						}
					}
				}
			}
		}
	}
	if b != nil {
		for i := range y {
			y[i] += float64(b.Data()[i%f])
		}
	}
	return y
}

var convTransposeCases = []struct {
	name  string
	x, k  []int
	w     tensor.Window
	op    [2]int
	bias  bool
	act   Activation
	kinky bool // activation with a kink at 0: keep pre-activations away from it
}{
	{"valid", []int{2, 3, 3, 2}, []int{3, 3, 3, 2}, tensor.Window{}, [2]int{}, true, Activation{}, false},
	{"valid/stride2", []int{2, 3, 4, 2}, []int{3, 2, 2, 2}, tensor.Window{SH: 2, SW: 2}, [2]int{}, true, Activation{}, false},
	{"valid/stride2-outpad", []int{1, 3, 3, 3}, []int{3, 3, 2, 3}, tensor.Window{SH: 2, SW: 2}, [2]int{1, 1}, true, Act(tensor.OpTanh, 0), false},
	{"valid/stride3-kernel2", []int{2, 2, 3, 2}, []int{2, 2, 2, 2}, tensor.Window{SH: 3, SW: 3}, [2]int{2, 1}, false, Activation{}, false},
	{"same/k4s2", []int{2, 3, 3, 3}, []int{4, 4, 2, 3}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, true, Act(tensor.OpTanh, 0), false},
	{"same/k3s2-outpad", []int{2, 3, 2, 2}, []int{3, 3, 2, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{1, 0}, true, Activation{}, false},
	{"same/k3s1", []int{1, 4, 4, 2}, []int{3, 3, 3, 2}, tensor.Window{Padding: "same"}, [2]int{}, true, Act(tensor.OpSigmoid, 0), false},
	{"same/k1s2", []int{1, 3, 3, 2}, []int{1, 1, 2, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, true, Activation{}, false},
	{"explicit/pytorch", []int{2, 3, 3, 2}, []int{4, 4, 1, 2}, tensor.Window{SH: 2, SW: 2, Padding: "explicit", Pads: [4]int{1, 1, 1, 1}}, [2]int{}, false, Activation{}, false},
	{"explicit/asym-outpad", []int{1, 3, 4, 2}, []int{3, 2, 2, 2}, tensor.Window{SH: 2, SW: 3, Padding: "explicit", Pads: [4]int{2, 0, 0, 1}}, [2]int{1, 2}, true, Activation{}, false},
	// 4·4·16 = 256 values per patch: padded rows (kernels.PatchStride)
	{"same/k4s2-padded-stride", []int{1, 2, 2, 2}, []int{4, 4, 16, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, true, Activation{}, false},
	// 16 channels in and out: the forward pass runs as the direct 2×2-phase
	// kernel (kernels.convInputGrad4x4s2)
	{"same/k4s2-direct", []int{1, 2, 3, 16}, []int{4, 4, 16, 16}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, true, Act(tensor.OpTanh, 0), true},
	{"dilated", []int{1, 3, 3, 2}, []int{2, 3, 2, 2}, tensor.Window{DH: 2, DW: 2}, [2]int{1, 1}, true, Activation{}, false},
	{"relu", []int{2, 3, 3, 2}, []int{3, 3, 2, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}, [2]int{}, true, Act(tensor.OpRelu, 0), true},
	{"leaky", []int{2, 3, 3, 2}, []int{3, 3, 2, 2}, tensor.Window{SH: 2, SW: 2}, [2]int{}, true, Act(tensor.OpLeakyRelu, 0.2), true},
}

func TestConvTranspose2DForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	for _, c := range convTransposeCases {
		if c.act.On {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			x, k := randT(rng, c.x...), randT(rng, c.k...)
			var b *tensor.Tensor
			var bv *Var
			if c.bias {
				b = randT(rng, c.k[2])
				bv = Const(b)
			}
			g, err := ConvTransposeGeometry(c.x, c.k, c.w, c.op)
			if err != nil {
				t.Fatal(err)
			}
			y := ConvTranspose2D(Const(x), Const(k), bv, c.w, c.op, Activation{}).Value
			want := convTransposeRef(x, k, b, g)
			if !slices.Equal(y.Shape(), []int{g.N, g.H, g.W, c.k[2]}) || y.Len() != len(want) {
				t.Fatalf("shape %v, want [%d %d %d %d]", y.Shape(), g.N, g.H, g.W, c.k[2])
			}
			for i, v := range y.Data() {
				if math.Abs(float64(v)-want[i]) > 1e-4*(1+math.Abs(want[i])) {
					t.Fatalf("element %d: %v, want %v", i, v, want[i])
				}
			}
		})
	}
}

// TestConvTransposeIsConvInputGradient checks the defining identity: the
// transposed convolution of x is the gradient of ⟨Conv2D(u, k), x⟩ with
// respect to u, for Conv2D's own valid and same paddings.
func TestConvTransposeIsConvInputGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 0))
	for _, c := range []struct {
		name string
		u, k []int // conv input [N, H, W, F], kernel [KH, KW, F, C]
		w    tensor.Window
	}{
		{"same/k4s2", []int{2, 14, 14, 3}, []int{4, 4, 3, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}},
		{"same/k3s2", []int{1, 8, 6, 2}, []int{3, 3, 2, 2}, tensor.Window{SH: 2, SW: 2, Padding: "same"}},
		{"same/k5s1", []int{1, 5, 5, 1}, []int{5, 5, 1, 2}, tensor.Window{Padding: "same"}},
		{"valid/k3s2", []int{2, 7, 9, 2}, []int{3, 3, 2, 3}, tensor.Window{SH: 2, SW: 2}},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := NewParam("u", randT(rng, c.u...))
			k := randT(rng, c.k...)
			tape := NewTape(nil)
			defer tape.Release()
			tape.Watch(u)
			y := Conv2D(u, Const(k), nil, c.w, Activation{})
			x := randT(rng, y.Shape()...)
			grads, err := tape.Gradients(Sum(Mul(y, Const(x)), false), u)
			if err != nil {
				t.Fatal(err)
			}
			got := ConvTranspose2D(Const(x), Const(k), nil, c.w, [2]int{}, Activation{}).Value
			if !slices.Equal(got.Shape(), c.u) {
				t.Fatalf("shape %v, want %v", got.Shape(), c.u)
			}
			for i, v := range got.Data() {
				if w := grads[0].Data()[i]; math.Abs(float64(v-w)) > 1e-4*(1+math.Abs(float64(w))) {
					t.Fatalf("element %d: %v, want %v", i, v, w)
				}
			}
		})
	}
}

func TestConvTranspose2DGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	for _, c := range convTransposeCases {
		t.Run(c.name, func(t *testing.T) {
			x, k := randT(rng, c.x...), randT(rng, c.k...)
			if c.kinky {
				// Small kernel values and large bias: pre-activations of
				// either sign, far from 0.
				k = tensor.Scale(k, 0.02)
			}
			inputs := []*tensor.Tensor{x, k}
			if c.bias {
				b := awayFromZero(rng, c.k[2])
				inputs = append(inputs, b)
			}
			f := func(v []*Var) *Var {
				var b *Var
				if len(v) > 2 {
					b = v[2]
				}
				return ConvTranspose2D(v[0], v[1], b, c.w, c.op, c.act)
			}
			if err := CheckGradients(f, inputs, CheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestUpSampling2D(t *testing.T) {
	x := tensor.New([]int{1, 2, 2, 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8})
	y := UpSampling2D(Const(x), 2, 3).Value
	if !slices.Equal(y.Shape(), []int{1, 4, 6, 2}) {
		t.Fatalf("shape %v", y.Shape())
	}
	for i := 0; i < 4; i++ {
		for j := 0; j < 6; j++ {
			for c := 0; c < 2; c++ {
				if got, want := y.At(0, i, j, c), x.At(0, i/2, j/3, c); got != want {
					t.Fatalf("y[0,%d,%d,%d] = %v, want %v", i, j, c, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(14, 0))
	for _, c := range []struct {
		name   string
		shape  []int
		sh, sw int
	}{
		{"2x2", []int{2, 3, 3, 2}, 2, 2},
		{"3x1/one-channel", []int{2, 2, 3, 1}, 3, 1},
		{"1x2", []int{1, 3, 2, 3}, 1, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := func(v []*Var) *Var { return UpSampling2D(v[0], c.sh, c.sw) }
			if err := CheckGradients(f, []*tensor.Tensor{randT(rng, c.shape...)}, CheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestLatentOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 0))
	eps := randT(rng, 3, 4)
	mu, lv := randT(rng, 3, 4), randT(rng, 3, 4)
	// values
	z := Reparameterize(Const(mu), Const(lv), eps).Value
	kl := GaussianKL(Const(mu), Const(lv)).Value
	for i := 0; i < 3; i++ {
		var want float64
		for j := 0; j < 4; j++ {
			m, l, e := float64(mu.At(i, j)), float64(lv.At(i, j)), float64(eps.At(i, j))
			if w := m + math.Exp(l/2)*e; math.Abs(float64(z.At(i, j))-w) > 1e-5*(1+math.Abs(w)) {
				t.Errorf("z[%d,%d] = %v, want %v", i, j, z.At(i, j), w)
			}
			want += -0.5 * (1 + l - m*m - math.Exp(l))
		}
		if math.Abs(float64(kl.At(i))-want) > 1e-4*(1+want) {
			t.Errorf("kl[%d] = %v, want %v", i, kl.At(i), want)
		}
	}
	if v := GaussianKL(Const(tensor.Zeros(2, 3)), Const(tensor.Zeros(2, 3))).Value; v.At(0) != 0 || v.At(1) != 0 {
		t.Errorf("KL(N(0,1) ‖ N(0,1)) = %v, want 0", v)
	}
	targets := tensor.RandUniform(rng, 0, 1, 2, 3, 2, 1)
	cases := []struct {
		name   string
		f      func(x []*Var) *Var
		inputs []*tensor.Tensor
	}{
		{"reparameterize", func(x []*Var) *Var { return Reparameterize(x[0], x[1], eps) }, []*tensor.Tensor{mu, lv}},
		{"gaussian-kl", func(x []*Var) *Var { return GaussianKL(x[0], x[1]) }, []*tensor.Tensor{mu, lv}},
		{"bce-sum", func(x []*Var) *Var { return SigmoidBCESum(x[0], targets) }, []*tensor.Tensor{randT(rng, 2, 3, 2, 1)}},
		{"elbo", func(x []*Var) *Var {
			return Add(GaussianKL(x[0], x[1]), Sum(Square(Reparameterize(x[0], x[1], eps)), false, 1))
		}, []*tensor.Tensor{mu, lv}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := CheckGradients(c.f, c.inputs, CheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestSigmoidBCESumMatchesComposed checks the fused op against
// Sum(SigmoidBinaryCrossEntropy) in values and gradients, extremes
// included.
func TestSigmoidBCESumMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 0))
	z := tensor.RandNormal(rng, 0, 5, 4, 3, 3, 1)
	z.Data()[0], z.Data()[1], z.Data()[2] = 0, 90, -90
	y := tensor.RandUniform(rng, 0, 1, 4, 9)
	run := func(fused bool) (val, grad []float32) {
		v := NewParam("z", z)
		tape := NewTape(nil)
		defer tape.Release()
		tape.Watch(v)
		var out *Var
		if fused {
			out = SigmoidBCESum(v, y)
		} else {
			out = Sum(SigmoidBinaryCrossEntropy(v, y), false, 1, 2, 3)
		}
		w := Const(tensor.New([]int{4}, []float32{1, -2, 0.5, 3}))
		g, err := tape.Gradients(Sum(Mul(out, w), false), v)
		if err != nil {
			t.Fatal(err)
		}
		return slices.Clone(out.Value.Data()), slices.Clone(g[0].Data())
	}
	fv, fg := run(true)
	cv, cg := run(false)
	for i := range fv {
		if math.Abs(float64(fv[i]-cv[i])) > 1e-5*(1+math.Abs(float64(cv[i]))) {
			t.Errorf("row %d: fused %v, composed %v", i, fv[i], cv[i])
		}
	}
	for i := range fg {
		if math.Abs(float64(fg[i]-cg[i])) > 1e-5 {
			t.Errorf("gradient %d: fused %v, composed %v", i, fg[i], cg[i])
		}
	}
	if v := SigmoidBCESum(Const(z), y).Value.Data(); !slices.Equal(v, fv) {
		t.Error("untracked result differs")
	}
}
