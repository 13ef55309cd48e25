package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// TestUserModelFile saves a model a user's Go program built from nn layers
// only (with a standardizer and class names) and runs it through strata
// predict --model-file and strata eval --model-file.
func TestUserModelFile(t *testing.T) {
	dir := t.TempDir()
	// A fixed linear rule: class 1 when x0 > x1 (after standardizing).
	net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	d := net.Layers[0].(*nn.Dense)
	d.Kernel.Value.CopyFrom(tensor.New([]int{2, 2}, []float32{-5, 5, 5, -5}))
	d.Bias.Value.Fill(0)
	std := &data.Standardizer{Mean: []float32{10, 10}, Std: []float32{2, 2}}
	path := filepath.Join(dir, "user.safetensors")
	if err := modelfile.Save(path, net, modelfile.Meta{InputShape: []int{2}, Classes: []string{"low", "high"}, Standardizer: std}); err != nil {
		t.Fatal(err)
	}
	// predict: raw rows, standardized by the file's standardizer.
	npy := filepath.Join(dir, "rows.npy")
	if err := checkpoint.SaveNPY(npy, tensor.New([]int{2, 2}, []float32{14, 10, 10, 14})); err != nil {
		t.Fatal(err)
	}
	for _, flag := range []string{"--model-file", "--weights"} {
		out, stderr, code := strata(t, "predict", flag, path, "--json", npy)
		if code != 0 {
			t.Fatalf("predict %s: exit %d: %s", flag, code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], `"class":1`) || !strings.Contains(lines[1], `"class":0`) {
			t.Errorf("predict %s: %s", flag, out)
		}
	}
	// eval: a CSV of raw features and labels (its last fifth is the test set).
	var b strings.Builder
	rng := rand.New(rand.NewPCG(2, 2))
	for range 50 {
		x0, x1 := 10+4*rng.Float64()-2, 10+4*rng.Float64()-2
		label := 0
		if x0 > x1 {
			label = 1
		}
		fmt.Fprintf(&b, "%.3f,%.3f,%d\n", x0, x1, label)
	}
	csv := filepath.Join(dir, "test.csv")
	os.WriteFile(csv, []byte(b.String()), 0o644)
	out, stderr, code := strata(t, "eval", "--model-file", path, "--data", "csv:"+csv, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err, out)
	}
	if res["accuracy"].(float64) < 0.99 || res["samples"].(float64) != 10 {
		t.Errorf("eval: %s", out)
	}
}

// TestZooModelFile: a zoo classifier saved by modelfile.Save works with
// --model-file, and --run and --model-file together are refused.
func TestZooModelFile(t *testing.T) {
	dir := t.TempDir()
	net := zoo.NewSimpleNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "mlp.safetensors")
	if err := modelfile.Save(path, net, modelfile.Meta{Family: "mlp", InputShape: []int{28, 28, 1}, Preprocessing: "x/255"}); err != nil {
		t.Fatal(err)
	}
	npy := filepath.Join(dir, "x.npy")
	checkpoint.SaveNPY(npy, tensor.Zeros(28, 28, 1))
	if out, stderr, code := strata(t, "predict", "--model-file", path, npy); code != 0 || !strings.Contains(out, "class") {
		t.Errorf("predict: exit %d: %s %s", code, out, stderr)
	}
	if _, stderr, code := strata(t, "predict", "--run", dir, "--model-file", path, npy); code == 0 || !strings.Contains(stderr, "not both") {
		t.Errorf("--run and --model-file: exit %d: %s", code, stderr)
	}
	if _, stderr, code := strata(t, "sample", "--model-file", path); code == 0 || !strings.Contains(stderr, "not a GAN or VAE") {
		t.Errorf("sample of a classifier: exit %d: %s", code, stderr)
	}
	if _, stderr, code := strata(t, "generate", "--model-file", path, "--prompt", "a"); code == 0 || !strings.Contains(stderr, "not a character language model") {
		t.Errorf("generate with a classifier: exit %d: %s", code, stderr)
	}
}

// TestGenerativeModelFiles: sample and generate take model files.
func TestGenerativeModelFiles(t *testing.T) {
	dir := t.TempDir()
	gan := zoo.NewGAN(zoo.GANConfig{Latent: 4, Width: 8})
	if err := gan.Build(rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	ganPath := filepath.Join(dir, "gan.safetensors")
	if err := modelfile.Save(ganPath, gan, modelfile.Meta{Family: "gan"}); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "grid.png")
	if out, stderr, code := strata(t, "sample", "--model-file", ganPath, "--n", "4", "--out", png); code != 0 || !strings.Contains(out, "wrote 4 images") {
		t.Errorf("sample: exit %d: %s %s", code, out, stderr)
	}
	lm, _ := zoo.NewCharLM(zoo.CharLMOptions{Vocab: 3, EmbeddingDim: 2, Units: 4})
	if _, err := nn.Build(lm, []int{4}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	lmPath := filepath.Join(dir, "lm.safetensors")
	if err := modelfile.Save(lmPath, lm, modelfile.Meta{Family: "charlm", InputShape: []int{4}, Vocab: data.NewVocab("abc")}); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := strata(t, "generate", "--model-file", lmPath, "--prompt", "ab", "--length", "5", "--json")
	if code != 0 || !strings.Contains(out, `"length":5,"prompt":"ab"`) {
		t.Errorf("generate: exit %d: %s %s", code, out, stderr)
	}
	// A run directory whose model.safetensors is a model file.
	run := filepath.Join(dir, "run")
	os.MkdirAll(run, 0o755)
	b, _ := os.ReadFile(lmPath)
	os.WriteFile(filepath.Join(run, "model.safetensors"), b, 0o644)
	out2, stderr, code := strata(t, "generate", "--run", run, "--prompt", "ab", "--length", "5", "--json")
	if code != 0 || strings.Replace(out2, `"run":"`+run+`"`, `"run":""`, 1) != out {
		t.Errorf("generate --run: exit %d: %s %s", code, out2, stderr)
	}
}
