package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// attnCases are the shapes and masks the fused attention is checked on.
func attnCases(rng *rand.Rand) []struct {
	name    string
	q, k, v []int
	o       AttentionOptions
} {
	mask := tensor.Zeros(2, 5, 6)
	for i := range mask.Data() {
		if rng.IntN(3) != 0 || i%6 == 0 { // every query sees key 0
			mask.Data()[i] = 1
		}
	}
	return []struct {
		name    string
		q, k, v []int
		o       AttentionOptions
	}{
		{"self", []int{2, 4, 2, 3}, []int{2, 4, 2, 3}, []int{2, 4, 2, 3}, AttentionOptions{}},
		{"causal", []int{2, 5, 2, 3}, []int{2, 5, 2, 3}, []int{2, 5, 2, 2}, AttentionOptions{Causal: true}},
		{"cross/mask", []int{2, 5, 1, 4}, []int{2, 6, 1, 4}, []int{2, 6, 1, 3}, AttentionOptions{Mask: mask, Scale: 0.3}},
		{"causal/mask", []int{2, 5, 2, 2}, []int{2, 6, 2, 2}, []int{2, 6, 2, 2}, AttentionOptions{Mask: mask, Causal: true}},
		{"heads/causal", []int{2, 5, 6}, []int{2, 5, 6}, []int{2, 5, 4}, AttentionOptions{Heads: 2, Causal: true}},
	}
}

func TestAttentionGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	for _, c := range attnCases(rng) {
		t.Run(c.name, func(t *testing.T) {
			inputs := []*tensor.Tensor{randT(rng, c.q...), randT(rng, c.k...), randT(rng, c.v...)}
			f := func(x []*Var) *Var { return Attention(x[0], x[1], x[2], c.o) }
			if err := CheckGradients(f, inputs, CheckOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestAttentionMatchesComposed compares the fused op with
// matmul-softmax-matmul in values and gradients.
func TestAttentionMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 0))
	cases := attnCases(rng)
	cases = append(cases, struct {
		name    string
		q, k, v []int
		o       AttentionOptions
	}{"long/causal", []int{1, 150, 2, 8}, []int{1, 150, 2, 8}, []int{1, 150, 2, 8}, AttentionOptions{Causal: true}})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			xs := []*tensor.Tensor{randT(rng, c.q...), randT(rng, c.k...), randT(rng, c.v...)}
			gy := randT(rng, append(append([]int{}, c.q[:len(c.q)-1]...), c.v[len(c.v)-1])...)
			run := func(fused bool) (*tensor.Tensor, []*tensor.Tensor) {
				tape := NewTape(nil)
				defer tape.Release()
				vars := make([]*Var, 3)
				for i, x := range xs {
					vars[i] = NewParam(fmt.Sprint(i), x)
				}
				tape.Watch(vars...)
				var y *Var
				switch {
				case fused:
					y = Attention(vars[0], vars[1], vars[2], c.o)
				case c.o.Heads > 0: // the composed form takes [B, T, H, size]
					h, o := c.o.Heads, c.o
					o.Heads = 0
					split := func(x *Var) *Var { s := x.Shape(); return Reshape(x, s[0], s[1], h, s[2]/h) }
					y, _ = AttentionComposed(split(vars[0]), split(vars[1]), split(vars[2]), o, nil)
					y = Reshape(y, gy.Shape()...)
				default:
					y, _ = AttentionComposed(vars[0], vars[1], vars[2], c.o, nil)
				}
				grads, err := tape.Gradients(Sum(Mul(y, Const(gy)), false), vars...)
				if err != nil {
					t.Fatal(err)
				}
				out := []*tensor.Tensor{}
				for _, g := range grads {
					out = append(out, g.Clone())
				}
				return y.Value.Clone(), out
			}
			y1, g1 := run(true)
			y2, g2 := run(false)
			near(t, "output", y1, y2)
			for i := range g1 {
				near(t, []string{"dq", "dk", "dv"}[i], g1[i], g2[i])
			}
		})
	}
}

// TestAttentionSharedInput passes one variable as query, key and value, so
// that the backward pass adds to a gradient it has started (no
// Overwrite), and compares with the composed form.
func TestAttentionSharedInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 0))
	x, gy := randT(rng, 2, 6, 8), randT(rng, 2, 6, 8)
	run := func(fused bool) (*tensor.Tensor, *tensor.Tensor) {
		tape := NewTape(nil)
		defer tape.Release()
		xv := NewParam("x", x)
		tape.Watch(xv)
		var y *Var
		if fused {
			y = Attention(xv, xv, xv, AttentionOptions{Heads: 2, Causal: true})
		} else {
			x4 := Reshape(xv, 2, 6, 2, 4)
			y, _ = AttentionComposed(x4, x4, x4, AttentionOptions{Causal: true}, nil)
			y = Reshape(y, 2, 6, 8)
		}
		g, err := tape.Gradients(Sum(Mul(y, Const(gy)), false), xv)
		if err != nil {
			t.Fatal(err)
		}
		return y.Value.Clone(), g[0].Clone()
	}
	y1, g1 := run(true)
	y2, g2 := run(false)
	near(t, "output", y1, y2)
	near(t, "dx", g1, g2)
}

func near(t *testing.T, what string, a, b *tensor.Tensor) {
	t.Helper()
	for i, x := range a.Data() {
		if d := math.Abs(float64(x - b.Data()[i])); d > 1e-4 || math.IsNaN(d) {
			t.Errorf("%s[%d]: fused %v, composed %v", what, i, x, b.Data()[i])
			return
		}
	}
}

func TestAttentionShapeErrors(t *testing.T) {
	q := Const(tensor.Zeros(1, 2, 1, 3))
	bad := []func(){
		func() { Attention(q, Const(tensor.Zeros(1, 2, 1, 4)), q, AttentionOptions{}) },
		func() { Attention(q, q, Const(tensor.Zeros(1, 3, 1, 3)), AttentionOptions{}) },
		func() { Attention(Const(tensor.Zeros(2, 3)), q, q, AttentionOptions{}) },
		func() { Attention(q, q, q, AttentionOptions{Mask: tensor.Zeros(1, 2, 3)}) },
		func() { Attention(q, q, q, AttentionOptions{Heads: 2}) },
		func() { x := Const(tensor.Zeros(1, 2, 3)); Attention(x, x, x, AttentionOptions{Heads: 2}) },
	}
	for i, f := range bad {
		func() {
			defer func() {
				if _, ok := recover().(*tensor.ShapeError); !ok {
					t.Errorf("case %d: no *tensor.ShapeError", i)
				}
			}()
			f()
		}()
	}
}

func ExampleAttention() {
	// One query attending two keys; the second key matches it.
	q := Const(tensor.New([]int{1, 1, 1, 2}, []float32{0, 10}))
	k := Const(tensor.New([]int{1, 2, 1, 2}, []float32{10, 0, 0, 10}))
	v := Const(tensor.New([]int{1, 2, 1, 1}, []float32{1, 2}))
	y := Attention(q, k, v, AttentionOptions{Scale: 1})
	fmt.Printf("%.3f\n", y.Value.Data())
	// Output: [2.000]
}

func TestActivationExtGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	for name, f := range map[string]func(x []*Var) *Var{
		"gelu_exact": func(x []*Var) *Var { return GeluExact(x[0]) },
		"silu":       func(x []*Var) *Var { return Silu(x[0]) },
	} {
		if err := CheckGradients(f, []*tensor.Tensor{randT(rng, 3, 5)}, CheckOptions{}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	y := GeluExact(Const(tensor.New([]int{3}, []float32{-1, 0, 1}))).Value.Data()
	if math.Abs(float64(y[2])-0.8413447) > 1e-6 || y[1] != 0 || math.Abs(float64(y[0])+0.1586553) > 1e-6 {
		t.Errorf("GeluExact(-1, 0, 1) = %v", y)
	}
}
