package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx"
)

// isONNX reports whether a --model-file names an ONNX file.
func isONNX(file string) bool { return strings.EqualFold(filepath.Ext(file), ".onnx") }

// loadONNX imports an ONNX classifier (onnx.Load) for eval, predict and
// explain: NCHW image models take the NHWC data Strata's loaders give,
// and a graph that outputs logits gets a softmax so that it outputs
// probabilities like Strata's classifiers.
func (lm *loadedModel) loadONNX(file string) error {
	m, err := onnx.Load(file)
	if err != nil {
		return err
	}
	in := m.InputShape()
	for _, d := range in {
		if d < 0 {
			return fmt.Errorf("%s: the input shape %v has dynamic dimensions besides the batch (strata needs a fixed sample shape)", file, in)
		}
	}
	if in == nil {
		return fmt.Errorf("%s: the graph does not give its input's shape", file)
	}
	classes := 0
	if c := m.Meta["classes"]; c != "" {
		classes = len(strings.Split(c, ","))
	} else if len(m.Outputs) > 0 && len(m.Outputs[0].Shape) > 0 {
		classes = m.Outputs[0].Shape[len(m.Outputs[0].Shape)-1]
	}
	if classes <= 0 {
		return fmt.Errorf("%s: cannot tell the number of classes (no \"classes\" metadata, no fixed output size)", file)
	}
	lm.Net = nn.Layer(m)
	if op := m.OutputOp(); op != "Softmax" && op != "Sigmoid" {
		lm.Net = &softmaxed{Net: m}
	}
	lm.Arch = architecture{Model: strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)), Classes: classes, InputShape: in, Preprocessing: m.Meta["preprocessing"]}
	return nil
}

// softmaxed turns a network's logits into probabilities.
type softmaxed struct{ Net nn.Layer }

// Forward returns softmax(Net(x)) over the last axis.
func (s *softmaxed) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return autograd.Softmax(s.Net.Forward(c, x), -1)
}
