package data

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/tensor"
)

// Rescale sets every element of x to x·scale + offset, in place. With
// scale 1/255 and offset 0 it maps 8-bit pixels to [0, 1] (Keras's
// Rescaling layer).
func Rescale(x *tensor.Tensor, scale, offset float32) {
	d := x.Data()
	for i, v := range d {
		d[i] = v*scale + offset
	}
}

// Standardizer shifts and scales features to zero mean and unit variance:
// x' = (x − Mean[f]) / Std[f] for feature f. Features are the last axis
// (columns of [n, features], channels of NHWC images), as in Keras's
// Normalization layer; statistics are taken over every other axis.
//
// Fit it on the training set only and Apply it to training, validation and
// test data alike. It marshals to JSON so that a run records it.
type Standardizer struct {
	// Mean and Std hold one value per feature. Std is the population
	// standard deviation; a feature with zero variance gets Std 1, so it is
	// only centred (as scikit-learn's StandardScaler does).
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// FitStandardizer computes the mean and standard deviation of each feature
// of x ([n, ..., features], n ≥ 1), in float64. It returns an error if x has
// rank below 2, no samples, or a value that is NaN or infinite.
func FitStandardizer(x *tensor.Tensor) (*Standardizer, error) {
	if x == nil || x.Rank() < 2 {
		var shape []int
		if x != nil {
			shape = x.Shape()
		}
		return nil, fmt.Errorf("data: standardize: x has shape %v, want [n, ..., features]", shape)
	}
	f := x.Dim(-1)
	d := x.Data()
	if len(d) == 0 || f == 0 {
		return nil, fmt.Errorf("data: standardize: x of shape %v has no values", x.Shape())
	}
	rows := len(d) / f
	sum := make([]float64, f)
	for i, v := range d {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("data: standardize: value %v at flat index %d (sample %d, feature %d)", v, i, i/(len(d)/x.Dim(0)), i%f)
		}
		sum[i%f] += float64(v)
	}
	mean := make([]float64, f)
	for j := range mean {
		mean[j] = sum[j] / float64(rows)
	}
	sq := make([]float64, f)
	for i, v := range d {
		e := float64(v) - mean[i%f]
		sq[i%f] += e * e
	}
	s := &Standardizer{Mean: make([]float32, f), Std: make([]float32, f)}
	for j := range f {
		s.Mean[j] = float32(mean[j])
		std := math.Sqrt(sq[j] / float64(rows))
		if std < 1e-12 || float32(std) == 0 {
			std = 1
		}
		s.Std[j] = float32(std)
	}
	return s, nil
}

// Apply standardizes x ([..., features]) in place. It returns an error if
// the last dimension of x is not the number of features fitted.
func (s *Standardizer) Apply(x *tensor.Tensor) error {
	if err := s.check(x); err != nil {
		return err
	}
	f := len(s.Mean)
	inv := make([]float32, f)
	for j, v := range s.Std {
		inv[j] = 1 / v
	}
	d := x.Data()
	for i := 0; i < len(d); i += f {
		row := d[i : i+f]
		for j := range row {
			row[j] = (row[j] - s.Mean[j]) * inv[j]
		}
	}
	return nil
}

// Invert undoes Apply in place: x = x'·Std[f] + Mean[f].
func (s *Standardizer) Invert(x *tensor.Tensor) error {
	if err := s.check(x); err != nil {
		return err
	}
	f := len(s.Mean)
	d := x.Data()
	for i := 0; i < len(d); i += f {
		row := d[i : i+f]
		for j := range row {
			row[j] = row[j]*s.Std[j] + s.Mean[j]
		}
	}
	return nil
}

func (s *Standardizer) check(x *tensor.Tensor) error {
	if len(s.Mean) == 0 || len(s.Mean) != len(s.Std) {
		return fmt.Errorf("data: standardizer has %d means and %d deviations", len(s.Mean), len(s.Std))
	}
	if x == nil || x.Rank() < 1 || x.Dim(-1) != len(s.Mean) {
		var shape []int
		if x != nil {
			shape = x.Shape()
		}
		return fmt.Errorf("data: standardize: x has shape %v, want [..., %d]", shape, len(s.Mean))
	}
	for j, v := range s.Std {
		if !(v > 0) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("data: standardizer feature %d has standard deviation %v", j, v)
		}
	}
	return nil
}
