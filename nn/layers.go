package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Flatten reshapes [batch, ...] to [batch, features] in row-major order (so
// an NHWC image flattens as in Keras).
type Flatten struct{ Name string }

func (l *Flatten) layerName() string     { return l.Name }
func (l *Flatten) setLayerName(n string) { l.Name = n }

// Forward flattens x.
func (l *Flatten) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if x.Value.Rank() < 1 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1}, Got: x.Shape()})
	}
	y := autograd.Flatten(x)
	c.trace(l.Name, "Flatten", y, 0)
	return y
}

// Reshape reshapes each sample to Shape (without the batch axis; one entry
// may be -1).
type Reshape struct {
	Shape []int
	Name  string
}

func (l *Reshape) layerName() string     { return l.Name }
func (l *Reshape) setLayerName(n string) { l.Name = n }

// Forward reshapes x to [batch, Shape...].
func (l *Reshape) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	per := x.Value.Len() / max(x.Value.Dim(0), 1)
	known, infer := 1, false
	for _, d := range l.Shape {
		if d == -1 {
			infer = true
		} else {
			known *= d
		}
	}
	if (!infer && known != per) || (infer && (known == 0 || per%known != 0)) {
		panic(&ShapeError{Layer: l.Name, Got: x.Shape(), Msg: fmt.Sprintf("cannot reshape %d values per sample to %v", per, l.Shape)})
	}
	y := autograd.Reshape(x, append([]int{x.Value.Dim(0)}, l.Shape...)...)
	c.trace(l.Name, "Reshape", y, 0)
	return y
}

// Dropout zeroes each input with probability Rate during training and
// scales the rest by 1/(1−Rate) (inverted dropout; Srivastava et al.
// 2014); it is the identity at inference. Training needs Ctx.RNG.
type Dropout struct {
	Rate float32
	Name string
}

func (l *Dropout) layerName() string     { return l.Name }
func (l *Dropout) setLayerName(n string) { l.Name = n }

// Forward applies dropout in training mode.
func (l *Dropout) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if l.Rate < 0 || l.Rate >= 1 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("rate %v must be in [0, 1)", l.Rate)})
	}
	y := x
	if c != nil && c.Training && l.Rate > 0 {
		if c.RNG == nil {
			panic(&ConfigError{Layer: l.Name, Msg: "training mode needs Ctx.RNG"})
		}
		var mask *tensor.Tensor
		if t := x.Tape(); t != nil {
			mask = t.Alloc(x.Shape()...)
		} else {
			mask = tensor.Zeros(x.Shape()...)
		}
		kernels.DropoutMask(mask.Data(), 1-l.Rate, c.RNG.Float64)
		y = autograd.Mul(x, autograd.Const(mask))
		c.SetMask(y, c.Mask(x))
	}
	c.trace(l.Name, "Dropout", y, 0)
	return y
}

// BatchNormalization normalizes over the batch (and spatial axes): for
// features on the last axis, y = γ·(x − μ)/√(σ² + ε) + β (Ioffe & Szegedy
// 2015). Training uses the batch mean and (biased) variance and updates
// the moving statistics: m ← m·momentum + μ·(1 − momentum); inference
// uses the moving statistics (Keras semantics).
//
// Zero values: Momentum 0.99, Epsilon 1e-3, γ = 1, β = 0.
type BatchNormalization struct {
	Momentum float32
	Epsilon  float32
	Name     string

	Gamma, Beta, MovingMean, MovingVariance *autograd.Var
}

func (l *BatchNormalization) layerName() string     { return l.Name }
func (l *BatchNormalization) setLayerName(n string) { l.Name = n }

// Weights returns gamma, beta (trainable) and the moving statistics.
func (l *BatchNormalization) Weights() []Weight {
	return []Weight{{"gamma", l.Gamma, true, nil}, {"beta", l.Beta, true, nil},
		{"moving_mean", l.MovingMean, false, nil}, {"moving_variance", l.MovingVariance, false, nil}}
}

func (l *BatchNormalization) eps() float32 {
	if l.Epsilon == 0 {
		return 1e-3
	}
	return l.Epsilon
}

// Forward normalizes x [batch, ..., features].
func (l *BatchNormalization) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	s := x.Shape()
	if len(s) < 2 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1}, Got: s})
	}
	f := s[len(s)-1]
	if l.Gamma == nil {
		l.Gamma = autograd.NewParam(l.Name+".gamma", tensor.Ones(f))
		l.Beta = autograd.NewParam(l.Name+".beta", tensor.Zeros(f))
		l.MovingMean = autograd.NewParam(l.Name+".moving_mean", tensor.Zeros(f))
		l.MovingVariance = autograd.NewParam(l.Name+".moving_variance", tensor.Ones(f))
	}
	if l.Gamma.Value.Len() != f {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, l.Gamma.Value.Len()}, Got: s})
	}
	var y *autograd.Var
	if c != nil && c.Training {
		var mean, variance *tensor.Tensor
		y, mean, variance = autograd.BatchNorm(x, l.Gamma, l.Beta, l.eps())
		mom := l.Momentum
		if mom == 0 {
			mom = 0.99
		}
		mm, mv := l.MovingMean.Value.Data(), l.MovingVariance.Value.Data()
		kernels.Scale(mom, mm)
		kernels.Axpy(1-mom, mean.Data(), mm)
		kernels.Scale(mom, mv)
		kernels.Axpy(1-mom, variance.Data(), mv)
	} else {
		// Fold the statistics into one scale and shift per feature.
		scale := tensor.Zeros(f)
		shift := tensor.Zeros(f)
		g, b := l.Gamma.Value.Data(), l.Beta.Value.Data()
		mm, mv := l.MovingMean.Value.Data(), l.MovingVariance.Value.Data()
		sd, hd := scale.Data(), shift.Data()
		for i := range sd { // f values, once per call
			sd[i] = g[i] / sqrt32(mv[i]+l.eps())
			hd[i] = b[i] - mm[i]*sd[i]
		}
		if tracked := x.Tracked() || l.Gamma.Tracked() || l.Beta.Tracked(); tracked {
			// keep gradients to γ and β exact in inference mode (fine-tuning)
			inv := tensor.Zeros(f)
			for i := range inv.Data() {
				inv.Data()[i] = 1 / sqrt32(mv[i]+l.eps())
			}
			xn := autograd.Mul(autograd.Sub(x, autograd.Const(l.MovingMean.Value)), autograd.Const(inv))
			y = autograd.Add(autograd.Mul(xn, l.Gamma), l.Beta)
		} else {
			y = autograd.Add(autograd.Mul(x, autograd.Const(scale)), autograd.Const(shift))
		}
	}
	c.trace(l.Name, "BatchNormalization", y, 4*f)
	return y
}

// LayerNormalization normalizes each sample over its last axis:
// y = γ·(x − μ)/√(σ² + ε) + β (Ba et al. 2016). Zero Epsilon means 1e-3.
type LayerNormalization struct {
	Epsilon float32
	Name    string

	Gamma, Beta *autograd.Var
}

func (l *LayerNormalization) layerName() string     { return l.Name }
func (l *LayerNormalization) setLayerName(n string) { l.Name = n }

// Weights returns gamma and beta.
func (l *LayerNormalization) Weights() []Weight {
	return []Weight{{"gamma", l.Gamma, true, nil}, {"beta", l.Beta, true, nil}}
}

// Forward normalizes x over its last axis.
func (l *LayerNormalization) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	s := x.Shape()
	f := s[len(s)-1]
	if l.Gamma == nil {
		l.Gamma = autograd.NewParam(l.Name+".gamma", tensor.Ones(f))
		l.Beta = autograd.NewParam(l.Name+".beta", tensor.Zeros(f))
	}
	if l.Gamma.Value.Len() != f {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, l.Gamma.Value.Len()}, Got: s})
	}
	eps := l.Epsilon
	if eps == 0 {
		eps = 1e-3
	}
	y := autograd.LayerNorm(x, l.Gamma, l.Beta, eps) // the fused form of (x − μ)/√(σ² + ε)·γ + β
	c.trace(l.Name, "LayerNormalization", y, 2*f)
	return y
}
