package autograd

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/tensor"
)

// CheckOptions tunes CheckGradients. Zero values mean the defaults in
// brackets.
type CheckOptions struct {
	Eps       float64 // finite-difference step [1e-2]
	Tol       float64 // relative and absolute tolerance [2e-2]
	MaxProbes int     // elements checked per input, chosen at random [all, up to 64]
	Seed      uint64  // source of the projection weights and probes [1]
}

// CheckGradients compares the gradients the tape computes for f at inputs
// with central finite differences. The scalar objective is
// L = Σ_i r_i·f(x)_i for fixed random weights r, accumulated in float64 so
// that the numeric side is as exact as float32 values allow. It returns an
// error describing the first mismatch: input, element, analytic and numeric
// values. Keep inputs away from kinks (ReLU at 0, max ties).
func CheckGradients(f func(xs []*Var) *Var, inputs []*tensor.Tensor, o CheckOptions) error {
	vars := make([]*Var, len(inputs))
	for i, x := range inputs {
		vars[i] = NewParam(fmt.Sprintf("input%d", i), x)
	}
	return CheckVarGradients(func() *Var { return f(vars) }, vars, o)
}

// CheckVarGradients is CheckGradients for a function of long-lived
// variables (a layer's input and weights): f is evaluated once on a tape
// watching vars and then repeatedly untracked with each probed element of
// vars perturbed in place.
func CheckVarGradients(f func() *Var, vars []*Var, o CheckOptions) error {
	if o.Eps == 0 {
		o.Eps = 1e-2
	}
	if o.Tol == 0 {
		o.Tol = 2e-2
	}
	if o.MaxProbes == 0 {
		o.MaxProbes = 64
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	rng := rand.New(rand.NewPCG(o.Seed, 7))
	tape := NewTape(nil)
	defer tape.Release()
	tape.Watch(vars...)
	y := f()
	r := tensor.Zeros(y.Value.Shape()...)
	for i := range r.Data() {
		r.Data()[i] = float32(rng.Float64()*2 - 1)
	}
	loss := Sum(Mul(y, Const(r)), false)
	grads, err := tape.Gradients(loss, vars...)
	if err != nil {
		return err
	}
	ana := make([][]float32, len(vars))
	for i, g := range grads {
		ana[i] = append([]float32(nil), g.Data()...)
	}
	tape.Release() // the numeric side runs untracked
	objective := func() float64 {
		out := f().Value.Data()
		var s float64
		for i, v := range out {
			s += float64(r.Data()[i]) * float64(v)
		}
		return s
	}
	for i, v := range vars {
		d := v.Value.Data()
		probes := rng.Perm(len(d))
		if len(probes) > o.MaxProbes {
			probes = probes[:o.MaxProbes]
		}
		for _, j := range probes {
			old := d[j]
			d[j] = old + float32(o.Eps)
			up := objective()
			d[j] = old - float32(o.Eps)
			down := objective()
			d[j] = old
			// the actual step in float32 may differ from Eps
			step := float64(old+float32(o.Eps)) - float64(old-float32(o.Eps))
			num := (up - down) / step
			a := float64(ana[i][j])
			if diff := math.Abs(num - a); diff > o.Tol*(1+math.Max(math.Abs(num), math.Abs(a))) {
				return fmt.Errorf("%s %v element %d: analytic gradient %.6g, numeric %.6g", v.describe(), v.Value.Shape(), j, a, num)
			}
		}
	}
	return nil
}
