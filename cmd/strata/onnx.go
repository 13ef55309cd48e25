package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx"
	"github.com/strata-dl/strata/serve"
)

// isONNX reports whether a --model-file names an ONNX file.
func isONNX(file string) bool { return strings.EqualFold(filepath.Ext(file), ".onnx") }

// onnxClassifier imports an ONNX classifier and returns it with its
// per-sample input shape (NHWC for NCHW image graphs) and class names
// (the "classes" metadata, else "0", "1", ... for the output's size).
func onnxClassifier(file string) (*onnx.Model, []int, []string, error) {
	m, err := onnx.Load(file)
	if err != nil {
		return nil, nil, nil, err
	}
	in := m.InputShape()
	if in == nil {
		return nil, nil, nil, fmt.Errorf("%s: the graph does not give its input's shape", file)
	}
	for _, d := range in {
		if d < 0 {
			return nil, nil, nil, fmt.Errorf("%s: the input shape %v has dynamic dimensions besides the batch (strata needs a fixed sample shape)", file, in)
		}
	}
	var classes []string
	if c := m.Meta["classes"]; c != "" {
		classes = strings.Split(c, ",")
	} else if len(m.Outputs) > 0 && len(m.Outputs[0].Shape) > 0 {
		for i := 0; i < m.Outputs[0].Shape[len(m.Outputs[0].Shape)-1]; i++ {
			classes = append(classes, strconv.Itoa(i))
		}
	}
	if len(classes) == 0 {
		return nil, nil, nil, fmt.Errorf("%s: cannot tell the number of classes (no \"classes\" metadata, no fixed output size)", file)
	}
	return m, in, classes, nil
}

// outputsProbabilities tells whether an imported graph ends in a softmax
// or sigmoid.
func outputsProbabilities(m *onnx.Model) bool {
	op := m.OutputOp()
	return op == "Softmax" || op == "Sigmoid"
}

// loadServeONNX serves an ONNX classifier: NHWC inputs for NCHW image
// graphs, the server's softmax for a graph that outputs logits.
func loadServeONNX(name, file string) (*serve.Model, error) {
	m, in, classes, err := onnxClassifier(file)
	if err != nil {
		return nil, err
	}
	sm := &serve.Model{Name: name, Net: m, InputShape: in, Classes: classes, Logits: !outputsProbabilities(m),
		Parameters: map[string]string{"format": "onnx"}}
	if p := m.Meta["preprocessing"]; p != "" {
		sm.Parameters["preprocessing"] = p + " (by the client)"
	}
	return sm, nil
}

// loadONNX imports an ONNX classifier (onnx.Load) for eval, predict and
// explain: NCHW image models take the NHWC data Strata's loaders give,
// and a graph that outputs logits gets a softmax so that it outputs
// probabilities like Strata's classifiers.
func (lm *loadedModel) loadONNX(file string) error {
	m, in, classes, err := onnxClassifier(file)
	if err != nil {
		return err
	}
	lm.Net = nn.Layer(m)
	if !outputsProbabilities(m) {
		lm.Net = &softmaxed{Net: m}
	}
	lm.Arch = architecture{Model: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), Classes: len(classes), InputShape: in, Preprocessing: m.Meta["preprocessing"]}
	return nil
}

// softmaxed turns a network's logits into probabilities.
type softmaxed struct{ Net nn.Layer }

// Forward returns softmax(Net(x)) over the last axis.
func (s *softmaxed) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return autograd.Softmax(s.Net.Forward(c, x), -1)
}
