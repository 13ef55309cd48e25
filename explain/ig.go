package explain

import (
	"context"
	"fmt"
	"math"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// IntegratedGradients integrates the gradient along the straight path from
// a baseline x′ to the input x (Sundararajan, Taly & Yan 2017):
//
//	IG(x) = (x − x′) ⊙ ∫₀¹ ∂F_c(x′ + α(x − x′))/∂x dα
//	      ≈ (x − x′) ⊙ Σ_k w_k ∂F_c(x′ + α_k(x − x′))/∂x
//
// By completeness Σ IG(x) = F_c(x) − F_c(x′); the quadrature's error is
// reported per sample in Attribution.Delta and CompletenessError. The
// Steps points of a sample and its two endpoints run as one batch through
// one forward and one backward pass (BatchSize caps the rows per pass).
// The path is made chunk by chunk, so memory holds one chunk of it
// (10,000 steps of a 224×224×3 image would be 6 GB at once), and the result
// is the same for every chunk size.
//
// Zero values: Baseline zeros; Steps 50; Rule "gausslegendre" (Captum's
// default); BatchSize 0, as many steps per pass as fit in MaxPathValues
// (all of them for small inputs); Target Logit. Rules:
// "gausslegendre", "riemann_middle", "riemann_trapezoid", "riemann_left",
// "riemann_right".
type IntegratedGradients struct {
	// Baseline is x′: one sample [1, ...] used for every input, or one per
	// sample (x's shape). Nil means zeros (black for images in [0, 1]).
	Baseline  *tensor.Tensor `json:"-"`
	Steps     int            `json:"steps"`
	Rule      string         `json:"rule,omitempty"`
	BatchSize int            `json:"batch_size,omitempty"`
	Target    Target         `json:"target"`
}

// Name returns "ig".
func (IntegratedGradients) Name() string { return "ig" }

// Attribute returns IG(x), x's shape, and fills Delta and
// CompletenessError.
func (m IntegratedGradients) Attribute(ctx context.Context, net nn.Layer, x *tensor.Tensor, class int) (a *Attribution, err error) {
	defer guard(m.Name(), &err)
	s, err := start(ctx, m.Name(), net, x, class, m.Target)
	if err != nil {
		return nil, err
	}
	steps := m.Steps
	if steps <= 0 {
		steps = 50
	}
	if steps > MaxSteps {
		return nil, fmt.Errorf("explain: %s: %d steps is over the limit of %d (50 to 300 are usual; check CompletenessError to choose)", m.Name(), steps, MaxSteps)
	}
	alphas, weights, err := Quadrature(m.Rule, steps)
	if err != nil {
		return nil, fmt.Errorf("explain: %s: %w", m.Name(), err)
	}
	n := x.Dim(0)
	per := x.Shape()[1:]
	base := m.Baseline
	switch {
	case base == nil:
		base = tensor.Zeros(append([]int{1}, per...)...)
	case base.Len() == x.Len()/n && base.Rank() >= 1:
		base = base.Reshape(append([]int{1}, per...)...)
	case tensor.SameShape(base, x):
	default:
		return nil, fmt.Errorf("explain: %s: baseline shape %v fits neither one sample %v nor the batch %v", m.Name(), base.Shape(), append([]int{1}, per...), x.Shape())
	}
	// The path points α_k, then α = 0 (the baseline) and α = 1 (the input),
	// whose quadrature weights are zero: they give F_c(x′) and F_c(x).
	rows := len(alphas) + 2
	alphaT := tensor.Zeros(rows)
	weightT := tensor.Zeros(rows)
	for k := range alphas {
		alphaT.Data()[k] = float32(alphas[k])
		weightT.Data()[k] = float32(weights[k])
	}
	alphaT.Data()[rows-1] = 1
	bshape := append([]int{rows}, ones(len(per))...)
	alphaT, weightT = alphaT.Reshape(bshape...), weightT.Reshape(bshape...)
	chunk := igChunk(m.BatchSize, rows, tensor.Numel(per))
	pv := tensor.Numel(per)
	parts := make([]*tensor.Tensor, n)
	for i := 0; i < n; i++ {
		xi := sample(x, i)
		bi := base
		if base.Dim(0) == n && n > 1 {
			bi = sample(base, i)
		}
		diff := tensor.Sub(xi, bi)
		avg := tensor.Zeros(append([]int{1}, per...)...)
		fs := make([]float32, 0, rows)
		// The path x′ + α_k(x − x′) is made one chunk at a time, so memory
		// holds chunk rows of it, not all of it; each row's weighted
		// gradient is added in row order, so the result does not depend on
		// the chunk size.
		for lo := 0; lo < rows; lo += chunk {
			if err := cancelled(ctx, m.Name()); err != nil {
				return nil, err
			}
			hi := min(lo+chunk, rows)
			path := tensor.Add(bi, tensor.Mul(alphaT.Slice(lo, hi), diff)) // [hi−lo, ...]
			g, f, err := s.gradient(path, repeat(s.a.Classes[i], hi-lo))
			if err != nil {
				return nil, err
			}
			acc, gd, wd := avg.Data(), g.Data(), weightT.Data()
			for r := 0; r < hi-lo; r++ {
				w := wd[lo+r]
				row := gd[r*pv : (r+1)*pv]
				for j := range acc {
					acc[j] += w * row[j]
				}
			}
			fs = append(fs, f.Data()...)
		}
		parts[i] = tensor.Mul(diff, avg)
		want := float64(fs[rows-1]) - float64(fs[rows-2])
		delta := float64(tensor.Sum(parts[i], false).Item()) - want
		rel := 0.0
		if delta != 0 {
			rel = math.Abs(delta) / math.Max(math.Abs(want), 1e-12)
		}
		s.a.Delta = append(s.a.Delta, delta)
		s.a.CompletenessError = append(s.a.CompletenessError, rel)
	}
	s.a.Map = tensor.Concat(0, parts...)
	return s.a, nil
}

// MaxPathValues bounds the values of the interpolated path that
// IntegratedGradients holds at once when BatchSize is 0 (2²¹ float32, 8 MB:
// 13 rows of a 224×224×3 image, all 52 of a 50-step MNIST path).
const MaxPathValues = 1 << 21

// igChunk returns the path rows per forward and backward pass: batch when
// given (at most rows), else as many as fit in MaxPathValues (at least 1).
func igChunk(batch, rows, perRow int) int {
	if batch > 0 {
		return min(batch, rows)
	}
	return max(1, min(rows, MaxPathValues/max(perRow, 1)))
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

// Quadrature returns the points α_k in [0, 1] and weights w_k (summing to
// 1) of an n-point rule for ∫₀¹ f(α) dα ≈ Σ w_k f(α_k): "gausslegendre"
// (also ""; exact for polynomials of degree 2n − 1), "riemann_middle",
// "riemann_trapezoid" (n ≥ 2), "riemann_left" or "riemann_right". It
// returns an error for another rule or n < 1.
func Quadrature(rule string, n int) (alphas, weights []float64, err error) {
	if n < 1 {
		return nil, nil, fmt.Errorf("quadrature needs at least 1 point, got %d", n)
	}
	if n > MaxSteps {
		return nil, nil, fmt.Errorf("quadrature: %d points is over the limit of %d", n, MaxSteps)
	}
	alphas, weights = make([]float64, n), make([]float64, n)
	h := 1 / float64(n)
	switch rule {
	case "", "gausslegendre":
		gaussLegendre(alphas, weights)
	case "riemann_middle":
		for k := range alphas {
			alphas[k], weights[k] = (float64(k)+0.5)*h, h
		}
	case "riemann_left":
		for k := range alphas {
			alphas[k], weights[k] = float64(k)*h, h
		}
	case "riemann_right":
		for k := range alphas {
			alphas[k], weights[k] = float64(k+1)*h, h
		}
	case "riemann_trapezoid":
		if n < 2 {
			return nil, nil, fmt.Errorf("riemann_trapezoid needs at least 2 points, got %d", n)
		}
		h = 1 / float64(n-1)
		for k := range alphas {
			alphas[k], weights[k] = float64(k)*h, h
		}
		weights[0], weights[n-1] = h/2, h/2
	default:
		return nil, nil, fmt.Errorf("unknown quadrature rule %q (want gausslegendre, riemann_middle, riemann_trapezoid, riemann_left or riemann_right)", rule)
	}
	return alphas, weights, nil
}

// gaussLegendre fills the Gauss–Legendre nodes and weights mapped from
// [−1, 1] to [0, 1]: the roots of the Legendre polynomial P_n found by
// Newton's method from Tricomi's initial guesses, w = 2/((1 − t²)·P_n′(t)²).
func gaussLegendre(alphas, weights []float64) {
	n := len(alphas)
	for i := 0; i < (n+1)/2; i++ {
		t := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for iter := 0; iter < 100; iter++ {
			p0, p1 := 1.0, t
			for j := 2; j <= n; j++ {
				p0, p1 = p1, ((2*float64(j)-1)*t*p1-(float64(j)-1)*p0)/float64(j)
			}
			dp = float64(n) * (t*p1 - p0) / (t*t - 1)
			dt := p1 / dp
			t -= dt
			if math.Abs(dt) < 1e-15 {
				break
			}
		}
		w := 2 / ((1 - t*t) * dp * dp)
		// t is the i-th largest root; its mirror −t is the i-th smallest.
		alphas[n-1-i], weights[n-1-i] = (1+t)/2, w/2
		alphas[i], weights[i] = (1-t)/2, w/2
	}
}
