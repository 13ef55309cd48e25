package metrics

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// Mean is the weighted running mean of a value, typically a loss:
//
//	result = Σ wᵢ·vᵢ / Σ wᵢ
//
// Feed it with UpdateValue (one value per batch, weighted by the batch size
// for a per-sample mean) or with Update, which averages every element of
// yPred.
type Mean struct {
	name         string
	total, count float64
}

// NewMean returns a Mean logged under name (for example "loss").
func NewMean(name string) *Mean { return &Mean{name: name} }

// Name returns the name given to NewMean.
func (m *Mean) Name() string { return m.name }

// UpdateValue adds v with the given weight.
func (m *Mean) UpdateValue(v, weight float64) {
	m.total += v * weight
	m.count += weight
}

// Update adds every element of yPred; yTrue is ignored. With sampleWeight,
// the elements of sample i (the i-th slice along the first axis) carry
// weight sampleWeight[i].
func (m *Mean) Update(_, yPred *tensor.Tensor, sampleWeight []float32) {
	batch := batchSize(yPred)
	checkWeights("metrics.Mean", sampleWeight, batch)
	d := yPred.Data()
	if batch == 0 {
		return
	}
	per := len(d) / batch
	for i := 0; i < batch; i++ {
		w := weight(sampleWeight, i)
		for _, v := range d[i*per : (i+1)*per] {
			m.total += float64(v) * w
			m.count += w
		}
	}
}

// Result returns the weighted mean, or 0 before any update.
func (m *Mean) Result() float64 { return ratio(m.total, m.count) }

// Reset clears the mean.
func (m *Mean) Reset() { m.total, m.count = 0, 0 }

// State returns [Σ wᵢ·vᵢ, Σ wᵢ]; see Resumable.
func (m *Mean) State() []float64 { return []float64{m.total, m.count} }

// SetState restores what State returned; see Resumable.
func (m *Mean) SetState(s []float64) error {
	if len(s) != 2 {
		return fmt.Errorf("metrics: %s: state %v is not [sum, weight]", m.name, s)
	}
	m.total, m.count = s[0], s[1]
	return nil
}
