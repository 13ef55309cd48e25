package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// TestExportCommand exports a LeNet weights file and loads the result.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	net := zoo.NewLeNet5(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	arch, _ := json.Marshal(architecture{Model: "lenet", Classes: 10, InputShape: []int{28, 28, 1}})
	weights := filepath.Join(dir, "model.safetensors")
	if err := train.SaveWeights(weights, net, map[string]string{"format": "strata.weights.v1", "strata.architecture": string(arch)}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lenet.onnx")
	out, stderr, code := strata(t, "export", "--weights", weights, "--out", path)
	if code != 0 {
		t.Fatalf("export failed: %s", stderr)
	}
	if !strings.Contains(out, "opset 17") {
		t.Errorf("output %q", out)
	}
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta["strata.model"] != "lenet" || !strings.HasPrefix(m.Meta["classes"], "0,1,2") {
		t.Errorf("metadata %v", m.Meta)
	}
	// the exported file evaluates as the weights file does (its softmax
	// output is taken as probabilities, not given a second softmax)
	data := mnistDir(t, 20, mod10, nil)
	var evals [2]map[string]any
	for i, file := range []string{weights, path} {
		out, stderr, code := strata(t, "eval", "--model-file", file, "--data", "idx:"+data, "--json")
		if code != 0 {
			t.Fatalf("eval %s: %s", file, stderr)
		}
		if err := json.Unmarshal([]byte(out), &evals[i]); err != nil {
			t.Fatal(err)
		}
	}
	if a, b := evals[0]["loss"].(float64), evals[1]["loss"].(float64); math.Abs(a-b) > 1e-4*math.Max(1, a) || evals[0]["accuracy"] != evals[1]["accuracy"] {
		t.Errorf("eval of the weights %v and of the ONNX file %v differ", evals[0], evals[1])
	}
	_, stderr, code = strata(t, "export", "--weights", weights, "--format", "tflite", "--out", path)
	checkOneLineError(t, stderr, code, "tflite")

	// a model file of modelfile.Save, with class names
	mlp := nn.NewSequential(&nn.Dense{Units: 5, Activation: "tanh"}, &nn.Dense{Units: 3, Activation: "softmax"})
	if _, err := nn.Build(mlp, []int{4}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dir, "mlp.safetensors")
	if err := modelfile.Save(mf, mlp, modelfile.Meta{InputShape: []int{4}, Classes: []string{"a", "b", "c"}}); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := strata(t, "export", "--model-file", mf, "--out", path); code != 0 {
		t.Fatalf("export of a model file failed: %s", stderr)
	}
	if m, err := onnx.Load(path); err != nil {
		t.Error(err)
	} else if m.Meta["classes"] != "a,b,c" {
		t.Errorf("exported model file: metadata %v", m.Meta)
	}
}

// TestONNXModelFile evaluates and predicts with PyTorch's CNN from its ONNX
// file: NCHW model, NHWC data, logits turned into probabilities.
func TestONNXModelFile(t *testing.T) {
	model := filepath.Join("..", "..", "onnx", "testdata", "torch", "cnn", "model.onnx")
	dir := mnistDir(t, 20, mod10, nil)
	out, stderr, code := strata(t, "eval", "--model-file", model, "--data", "idx:"+dir, "--json")
	if code != 0 {
		t.Fatalf("eval failed: %s", stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, ok := ev["accuracy"]; !ok {
		t.Errorf("eval JSON %v lacks accuracy", ev)
	}
	npy := filepath.Join(t.TempDir(), "x.npy")
	if err := checkpoint.SaveNPY(npy, tensor.Zeros(2, 28, 28, 1)); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = strata(t, "predict", "--model-file", model, "--json", npy)
	if code != 0 {
		t.Fatalf("predict failed: %s", stderr)
	}
	if n := strings.Count(out, `"class"`); n != 2 {
		t.Errorf("predict printed %d results:\n%s", n, out)
	}
	_, stderr, code = strata(t, "eval", "--model-file", filepath.Join(t.TempDir(), "missing.onnx"))
	checkOneLineError(t, stderr, code, "missing.onnx")
}

// TestServeONNX loads ONNX files as served models: PyTorch's CNN outputs
// logits (the server applies the softmax), NHWC inputs.
func TestServeONNX(t *testing.T) {
	m, err := loadServeModel("cnn", filepath.Join("..", "..", "onnx", "testdata", "torch", "cnn", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(m.InputShape) != "[28 28 1]" || len(m.Classes) != 10 || !m.Logits {
		t.Errorf("served model: input %v, %d classes, logits %v", m.InputShape, len(m.Classes), m.Logits)
	}
	if _, err := loadServeModel("x", filepath.Join(t.TempDir(), "missing.onnx")); err == nil {
		t.Error("a missing file loaded")
	}
}
