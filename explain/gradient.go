package explain

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Saliency is the vanilla gradient (Simonyan, Vedaldi & Zisserman 2014):
// M = ∂F_c/∂x, one forward and one backward pass for the whole batch.
//
// The zero value explains the logit and keeps the signed gradient in x's
// shape. For display, Abs takes |∂F_c/∂x| and MaxOverChannels takes
// max_ch |∂F_c/∂x| over the last axis (the paper's map), giving
// [n, h, w, 1] for images.
type Saliency struct {
	Target          Target `json:"target"`
	Abs             bool   `json:"abs,omitempty"`
	MaxOverChannels bool   `json:"max_over_channels,omitempty"`
}

// Name returns "saliency".
func (Saliency) Name() string { return "saliency" }

// Attribute returns ∂F_c/∂x for each sample of x [n, ...] (see Saliency
// for the display options).
func (m Saliency) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	g, _, err := s.gradient(x, s.a.Classes)
	if err != nil {
		return nil, err
	}
	if m.Abs || m.MaxOverChannels {
		g = tensor.Abs(g)
	}
	if m.MaxOverChannels && g.Rank() > 2 {
		g = tensor.Max(g, true, -1)
	}
	s.a.Map = g
	return s.a, nil
}

// GradientXInput is x ⊙ ∂F_c/∂x (Shrikumar et al. 2016): the first-order
// Taylor contribution of each input value to F_c, signed.
type GradientXInput struct {
	Target Target `json:"target"`
}

// Name returns "gradxinput".
func (GradientXInput) Name() string { return "gradxinput" }

// Attribute returns x ⊙ ∂F_c/∂x, x's shape.
func (m GradientXInput) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	g, _, err := s.gradient(x, s.a.Classes)
	if err != nil {
		return nil, err
	}
	s.a.Map = tensor.Mul(g, x)
	return s.a, nil
}

// SmoothGrad averages the gradient over noisy copies of each input
// (Smilkov et al. 2017):
//
//	M = (1/N) Σ_k ∂F_c(x + ε_k)/∂x,  ε_k ~ N(0, σ²),  σ = Noise·(max x − min x)
//
// with the range taken per sample (σ = Noise when the sample is constant).
// The N noisy copies of a sample run as one batch. Zero values: Samples
// 50, Noise 0.15 (the paper's 10–20 %), Seed 0. The same Seed gives the
// same map.
type SmoothGrad struct {
	Samples int     `json:"samples"`
	Noise   float64 `json:"noise"`
	Seed    uint64  `json:"seed"`
	Target  Target  `json:"target"`
}

// Name returns "smoothgrad".
func (SmoothGrad) Name() string { return "smoothgrad" }

// Attribute returns the averaged gradient, x's shape.
func (m SmoothGrad) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	samples, noise := m.Samples, m.Noise
	if samples <= 0 {
		samples = 50
	}
	if noise <= 0 {
		noise = 0.15
	}
	if samples > MaxSteps {
		return nil, fmt.Errorf("explain: %s: %d samples is over the limit of %d (the paper uses 50)", m.Name(), samples, MaxSteps)
	}
	rng := rand.New(rand.NewPCG(m.Seed, 0x5eed))
	shape := append([]int{samples}, x.Shape()[1:]...)
	parts := make([]*tensor.Tensor, x.Dim(0))
	for i := range parts {
		if err := cancelled(ctx, m.Name()); err != nil {
			return nil, err
		}
		xi := sample(x, i)
		sigma := tensor.Max(xi, false).Item() - tensor.Min(xi, false).Item()
		if sigma <= 0 {
			sigma = 1
		}
		sigma *= float32(noise)
		noisy := tensor.Add(xi, tensor.RandNormal(rng, 0, sigma, shape...))
		g, _, err := s.gradient(noisy, repeat(s.a.Classes[i], samples))
		if err != nil {
			return nil, err
		}
		parts[i] = tensor.Mean(g, true, 0)
	}
	s.a.Map = tensor.Concat(0, parts...)
	return s.a, nil
}
