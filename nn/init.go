package nn

import (
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/tensor"
)

// Initializer fills a new weight tensor. fanIn and fanOut are computed by
// the layer as Keras does (Dense: in, out; Conv2D: kh·kw·in, kh·kw·out).
type Initializer interface {
	Init(rng *rand.Rand, t *tensor.Tensor, fanIn, fanOut int)
}

// GlorotUniform draws from U(−l, l) with l = √(6/(fanIn+fanOut)) (Glorot &
// Bengio 2010); the Keras default for kernels.
type GlorotUniform struct{}

// GlorotNormal draws from a normal truncated at 2σ with σ = √(2/(fanIn+fanOut)).
type GlorotNormal struct{}

// HeNormal draws from a normal truncated at 2σ with σ = √(2/fanIn) (He et al. 2015).
type HeNormal struct{}

// HeUniform draws from U(−l, l) with l = √(6/fanIn).
type HeUniform struct{}

// LecunNormal draws from a normal truncated at 2σ with σ = √(1/fanIn).
type LecunNormal struct{}

// LecunUniform draws from U(−l, l) with l = √(3/fanIn).
type LecunUniform struct{}

// Zeros fills with 0 (the Keras default for biases).
type Zeros struct{}

// Ones fills with 1.
type Ones struct{}

// Constant fills with Value.
type Constant struct{ Value float32 }

// RandomNormal draws from N(Mean, Stddev²); zero Stddev means 0.05.
type RandomNormal struct{ Mean, Stddev float32 }

// Orthogonal fills a matrix (the last axis is columns, all others rows)
// with a (semi-)orthogonal one scaled by Gain (zero means 1), via QR of a
// Gaussian matrix (Saxe et al. 2014); Keras's default for recurrent kernels.
type Orthogonal struct{ Gain float32 }

func uniform(rng *rand.Rand, t *tensor.Tensor, limit float64) {
	for i := range t.Data() {
		t.Data()[i] = float32((rng.Float64()*2 - 1) * limit)
	}
}

// truncNormal draws from N(0, σ²) truncated to ±2σ; like Keras, σ is
// divided by 0.8796 so that the truncated variance is the target.
func truncNormal(rng *rand.Rand, t *tensor.Tensor, std float64) {
	s := std / 0.87962566103423978
	for i := range t.Data() {
		for {
			v := rng.NormFloat64()
			if v >= -2 && v <= 2 {
				t.Data()[i] = float32(v * s)
				break
			}
		}
	}
}

func (GlorotUniform) Init(rng *rand.Rand, t *tensor.Tensor, in, out int) {
	uniform(rng, t, math.Sqrt(6/float64(max(in+out, 1))))
}

func (GlorotNormal) Init(rng *rand.Rand, t *tensor.Tensor, in, out int) {
	truncNormal(rng, t, math.Sqrt(2/float64(max(in+out, 1))))
}

func (HeNormal) Init(rng *rand.Rand, t *tensor.Tensor, in, _ int) {
	truncNormal(rng, t, math.Sqrt(2/float64(max(in, 1))))
}

func (HeUniform) Init(rng *rand.Rand, t *tensor.Tensor, in, _ int) {
	uniform(rng, t, math.Sqrt(6/float64(max(in, 1))))
}

func (LecunNormal) Init(rng *rand.Rand, t *tensor.Tensor, in, _ int) {
	truncNormal(rng, t, math.Sqrt(1/float64(max(in, 1))))
}

func (LecunUniform) Init(rng *rand.Rand, t *tensor.Tensor, in, _ int) {
	uniform(rng, t, math.Sqrt(3/float64(max(in, 1))))
}

func (Zeros) Init(_ *rand.Rand, t *tensor.Tensor, _, _ int) { t.Fill(0) }

func (Ones) Init(_ *rand.Rand, t *tensor.Tensor, _, _ int) { t.Fill(1) }

func (c Constant) Init(_ *rand.Rand, t *tensor.Tensor, _, _ int) { t.Fill(c.Value) }

func (r RandomNormal) Init(rng *rand.Rand, t *tensor.Tensor, _, _ int) {
	std := r.Stddev
	if std == 0 {
		std = 0.05
	}
	for i := range t.Data() {
		t.Data()[i] = r.Mean + std*float32(rng.NormFloat64())
	}
}

func (o Orthogonal) Init(rng *rand.Rand, t *tensor.Tensor, _, _ int) {
	s := t.Shape()
	cols := s[len(s)-1]
	rows := t.Len() / max(cols, 1)
	gain := float64(o.Gain)
	if gain == 0 {
		gain = 1
	}
	// Orthonormalize the columns (or rows, whichever are fewer) of a
	// Gaussian matrix with modified Gram–Schmidt in float64.
	n, m := rows, cols
	transpose := rows < cols
	if transpose {
		n, m = cols, rows
	}
	a := make([][]float64, m) // m vectors of length n
	for j := range a {
		a[j] = make([]float64, n)
		for i := range a[j] {
			a[j][i] = rng.NormFloat64()
		}
		for k := 0; k < j; k++ {
			var d float64
			for i := range a[j] {
				d += a[j][i] * a[k][i]
			}
			for i := range a[j] {
				a[j][i] -= d * a[k][i]
			}
		}
		var norm float64
		for _, v := range a[j] {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		for i := range a[j] {
			a[j][i] /= norm
		}
	}
	d := t.Data()
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			var v float64
			if transpose {
				v = a[r][c]
			} else {
				v = a[c][r]
			}
			d[r*cols+c] = float32(gain * v)
		}
	}
}

// InitializerByName returns the initializer for a Keras name:
// "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
// "lecun_normal", "lecun_uniform", "zeros", "ones", "orthogonal",
// "random_normal", "random_uniform", "variance_scaling".
func InitializerByName(name string) (Initializer, bool) {
	switch name {
	case "glorot_uniform":
		return GlorotUniform{}, true
	case "glorot_normal":
		return GlorotNormal{}, true
	case "he_normal":
		return HeNormal{}, true
	case "he_uniform":
		return HeUniform{}, true
	case "lecun_normal":
		return LecunNormal{}, true
	case "lecun_uniform":
		return LecunUniform{}, true
	case "zeros":
		return Zeros{}, true
	case "ones":
		return Ones{}, true
	case "orthogonal":
		return Orthogonal{}, true
	case "random_normal":
		return RandomNormal{}, true
	case "random_uniform", "uniform":
		return RandomUniform{}, true
	case "variance_scaling":
		return VarianceScaling{}, true
	}
	return nil, false
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// VarianceScaling draws with variance Scale/n, where n is the fan-in, the
// fan-out or their mean (Mode "fan_in" (default), "fan_out", "fan_avg"),
// from a normal truncated at 2σ or a uniform distribution (Distribution
// "truncated_normal" (default) or "uniform"), as Keras's VarianceScaling.
// PyTorch's default for Linear and Conv layers is
// VarianceScaling{Scale: 1.0 / 3, Mode: "fan_in", Distribution: "uniform"},
// that is U(−1/√fanIn, 1/√fanIn).
type VarianceScaling struct {
	Scale        float64
	Mode         string
	Distribution string
}

func (v VarianceScaling) Init(rng *rand.Rand, t *tensor.Tensor, in, out int) {
	n := float64(in)
	switch v.Mode {
	case "fan_out":
		n = float64(out)
	case "fan_avg":
		n = float64(in+out) / 2
	}
	scale := v.Scale
	if scale == 0 {
		scale = 1
	}
	variance := scale / math.Max(n, 1)
	if v.Distribution == "uniform" {
		uniform(rng, t, math.Sqrt(3*variance))
		return
	}
	truncNormal(rng, t, math.Sqrt(variance))
}

// RandomUniform draws from U(Min, Max); zero Min and Max mean U(−0.05, 0.05)
// (Keras's default).
type RandomUniform struct{ Min, Max float32 }

func (r RandomUniform) Init(rng *rand.Rand, t *tensor.Tensor, _, _ int) {
	lo, hi := r.Min, r.Max
	if lo == 0 && hi == 0 {
		lo, hi = -0.05, 0.05
	}
	for i := range t.Data() {
		t.Data()[i] = lo + (hi-lo)*float32(rng.Float64())
	}
}
