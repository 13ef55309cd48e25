package serve

import (
	"context"
	"fmt"
	"math"

	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// FromModelFile describes a loaded model file (modelfile.Load) as a
// served model named name, from the file's Meta:
//   - InputShape and Classes are Meta's;
//   - a fitted standardizer becomes Preprocess (applied by the server);
//     a scaling such as "x/255" stays the client's, reported in
//     Parameters["preprocessing"];
//   - a text model (Meta.Vocab set) takes INT64 token ids;
//   - for a classifier, Logits is found by probing the network on two
//     inputs (zeros and ones): outputs that are not non-negative rows
//     summing to 1 are logits (so Meta.Logits is only the fallback of a
//     model that is not a classifier);
//   - Meta.Family, if any, is reported in Parameters["family"].
//
// It fails when the file does not say its input shape (a Builder with
// several inputs) or the probe fails.
func FromModelFile(name string, f *modelfile.Model) (*Model, error) {
	meta := f.Meta
	if len(meta.InputShape) == 0 {
		return nil, fmt.Errorf("serve: model %q: the model file does not say its input shape (a %q model)", name, meta.Family)
	}
	m := &Model{Name: name, Net: f.Net, InputShape: meta.InputShape, Classes: meta.Classes, Logits: meta.Logits, Parameters: map[string]string{}}
	if meta.Standardizer != nil {
		m.Preprocess = f.Preprocess
		m.Parameters["preprocessing"] = "standardized by the server"
	}
	if p := meta.Preprocessing; p != "" && p != "none" {
		m.Parameters["preprocessing"] = p + " (by the client)"
	}
	if meta.Vocab != nil {
		m.Datatype = "INT64"
	}
	if meta.Family != "" {
		m.Parameters["family"] = meta.Family
	}
	if len(m.Classes) > 0 {
		var err error
		if m.Logits, err = outputsLogits(f.Net, meta.InputShape); err != nil {
			return nil, fmt.Errorf("serve: model %q: %w", name, err)
		}
	}
	return m, nil
}

// outputsLogits tells whether a classifier's outputs are logits rather
// than probabilities: on two probe inputs (zeros and ones) its rows must
// be non-negative and sum to 1 to count as probabilities.
func outputsLogits(net nn.Layer, in []int) (bool, error) {
	x := tensor.Zeros(append([]int{2}, in...)...)
	copy(x.Data()[x.Len()/2:], tensor.Ones(x.Len()/2).Data())
	y, err := train.Predict(context.Background(), net, x, 2)
	if err != nil {
		return false, err
	}
	k := y.Len() / 2
	for r := range 2 {
		sum := 0.0
		for _, v := range y.Data()[r*k : (r+1)*k] {
			if v < 0 {
				return true, nil
			}
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-3 {
			return true, nil
		}
	}
	return false, nil
}
