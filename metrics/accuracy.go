package metrics

import (
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// hits accumulates weighted correct/total counts, shared by the accuracies.
type hits struct{ correct, total float64 }

func (h *hits) add(ok bool, w float64) {
	if ok {
		h.correct += w
	}
	h.total += w
}

func (h *hits) result() float64 { return ratio(h.correct, h.total) }

// BinaryAccuracy is the fraction of samples whose thresholded prediction
// equals the label: pred = yPred > Threshold, true = yTrue > 0.5.
// yPred and yTrue hold one value per sample ([batch] or [batch, 1]).
type BinaryAccuracy struct {
	threshold float32
	h         hits
}

// NewBinaryAccuracy returns a binary accuracy with the given threshold:
// 0.5 for probabilities, 0 for logits.
func NewBinaryAccuracy(threshold float64) *BinaryAccuracy {
	return &BinaryAccuracy{threshold: float32(threshold)}
}

// Name returns "binary_accuracy".
func (m *BinaryAccuracy) Name() string { return "binary_accuracy" }

// Update accumulates one batch.
func (m *BinaryAccuracy) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	batch := yPred.Len()
	if !isBinary(yPred) {
		panic(&tensor.ShapeError{Op: "metrics.BinaryAccuracy", Got: yPred.Shape(), Msg: "predictions must be [batch] or [batch, 1]"})
	}
	checkWeights("metrics.BinaryAccuracy", sampleWeight, batch)
	labels := binaryLabels("metrics.BinaryAccuracy", yTrue, batch)
	for i, p := range yPred.Data() {
		m.h.add((p > m.threshold) == labels[i], weight(sampleWeight, i))
	}
}

// Result returns the weighted fraction of correct samples.
func (m *BinaryAccuracy) Result() float64 { return m.h.result() }

// Reset clears the counts.
func (m *BinaryAccuracy) Reset() { m.h = hits{} }

// CategoricalAccuracy is the fraction of samples whose true class is among
// the k highest-scoring classes of yPred [batch, classes]. With k = 1 the
// prediction is the argmax (the first one on ties), as in Keras'
// categorical_accuracy; with k > 1 a class tied with the k-th score counts as
// in the top k, as in tf.math.in_top_k. Labels may be sparse or one-hot (see
// the package doc).
type CategoricalAccuracy struct {
	name string
	k    int
	h    hits
}

// NewCategoricalAccuracy returns the top-1 accuracy named
// "categorical_accuracy".
func NewCategoricalAccuracy() *CategoricalAccuracy {
	return &CategoricalAccuracy{name: "categorical_accuracy", k: 1}
}

// NewSparseCategoricalAccuracy returns the top-1 accuracy named
// "sparse_categorical_accuracy".
func NewSparseCategoricalAccuracy() *CategoricalAccuracy {
	return &CategoricalAccuracy{name: "sparse_categorical_accuracy", k: 1}
}

// NewTopKCategoricalAccuracy returns the top-k accuracy named
// "top_k_categorical_accuracy" (Keras' default k is 5). It panics if k < 1.
func NewTopKCategoricalAccuracy(k int) *CategoricalAccuracy {
	return newTopK("top_k_categorical_accuracy", k)
}

// NewSparseTopKCategoricalAccuracy returns the top-k accuracy named
// "sparse_top_k_categorical_accuracy". It panics if k < 1.
func NewSparseTopKCategoricalAccuracy(k int) *CategoricalAccuracy {
	return newTopK("sparse_top_k_categorical_accuracy", k)
}

func newTopK(name string, k int) *CategoricalAccuracy {
	if k < 1 {
		panic(fmt.Sprintf("metrics: top-k accuracy with k = %d", k))
	}
	return &CategoricalAccuracy{name: name, k: k}
}

// Name returns the metric's name.
func (m *CategoricalAccuracy) Name() string { return m.name }

// K returns the number of top classes that count as a hit.
func (m *CategoricalAccuracy) K() int { return m.k }

// Update accumulates one batch.
func (m *CategoricalAccuracy) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	op := "metrics." + m.name
	classes := numClassesOf(op, yPred)
	batch := yPred.Dim(0)
	checkWeights(op, sampleWeight, batch)
	labels := classLabels(op, yTrue, batch, classes)
	d := yPred.Data()
	for i, c := range labels {
		row := d[i*classes : (i+1)*classes]
		var ok bool
		if m.k == 1 {
			ok = argmax(row) == c
		} else {
			above := 0
			for _, v := range row {
				if v > row[c] {
					above++
				}
			}
			ok = above < m.k && row[c] == row[c]
		}
		m.h.add(ok, weight(sampleWeight, i))
	}
}

// Result returns the weighted fraction of hits.
func (m *CategoricalAccuracy) Result() float64 { return m.h.result() }

// Reset clears the counts.
func (m *CategoricalAccuracy) Reset() { m.h = hits{} }

// Accuracy is Keras' "accuracy": it picks the variant from the shapes of
// each batch. Predictions [batch] or [batch, 1] use binary accuracy with
// threshold 0.5; otherwise the argmax of yPred is compared with the class in
// yTrue (sparse or one-hot).
type Accuracy struct{ h hits }

// NewAccuracy returns an Accuracy.
func NewAccuracy() *Accuracy { return &Accuracy{} }

// Name returns "accuracy".
func (m *Accuracy) Name() string { return "accuracy" }

// Update accumulates one batch.
func (m *Accuracy) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	if isBinary(yPred) {
		b := BinaryAccuracy{threshold: 0.5, h: m.h}
		b.Update(yTrue, yPred, sampleWeight)
		m.h = b.h
		return
	}
	c := CategoricalAccuracy{name: "accuracy", k: 1, h: m.h}
	c.Update(yTrue, yPred, sampleWeight)
	m.h = c.h
}

// Result returns the weighted fraction of correct samples.
func (m *Accuracy) Result() float64 { return m.h.result() }

// Reset clears the counts.
func (m *Accuracy) Reset() { m.h = hits{} }

// State returns the weighted counts of hits and samples; see Resumable.
func (h *hits) state() []float64 { return []float64{h.correct, h.total} }

func (h *hits) setState(name string, s []float64) error {
	if len(s) != 2 || !(s[0] >= 0 && s[1] >= s[0]) {
		return fmt.Errorf("metrics: %s: state %v is not [hits, samples]", name, s)
	}
	h.correct, h.total = s[0], s[1]
	return nil
}

// State returns [weighted hits, weighted samples]; see Resumable.
func (m *BinaryAccuracy) State() []float64 { return m.h.state() }

// SetState restores what State returned; see Resumable.
func (m *BinaryAccuracy) SetState(s []float64) error { return m.h.setState(m.Name(), s) }

// State returns [weighted hits, weighted samples]; see Resumable.
func (m *CategoricalAccuracy) State() []float64 { return m.h.state() }

// SetState restores what State returned; see Resumable.
func (m *CategoricalAccuracy) SetState(s []float64) error { return m.h.setState(m.Name(), s) }

// State returns [weighted hits, weighted samples]; see Resumable.
func (m *Accuracy) State() []float64 { return m.h.state() }

// SetState restores what State returned; see Resumable.
func (m *Accuracy) SetState(s []float64) error { return m.h.setState(m.Name(), s) }
