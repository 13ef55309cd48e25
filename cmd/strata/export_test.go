package main

import (
	"encoding/json"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx"
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
	_, stderr, code = strata(t, "export", "--weights", weights, "--format", "tflite", "--out", path)
	checkOneLineError(t, stderr, code, "tflite")
}
