package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// strata runs the command in-process and returns stdout, stderr and the
// exit status.
func strata(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// idxFile builds an IDX file: magic (dtype 0x08 and rank), dims, payload.
func idxFile(rank byte, dims []uint32, payload []byte) []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0x08, rank})
	for _, d := range dims {
		binary.Write(&b, binary.BigEndian, d)
	}
	b.Write(payload)
	return b.Bytes()
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// mnistDir writes a tiny MNIST-layout dataset of n train and n test images
// with the given labels function, and lets mutate change any file.
func mnistDir(t *testing.T, n int, label func(i int) byte, mutate func(name string, b []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	imgs := make([]byte, n*28*28)
	for i := range imgs {
		imgs[i] = byte(i * 7)
	}
	labels := make([]byte, n)
	for i := range labels {
		labels[i] = label(i)
	}
	files := map[string][]byte{
		"train-images-idx3-ubyte": idxFile(3, []uint32{uint32(n), 28, 28}, imgs),
		"train-labels-idx1-ubyte": idxFile(1, []uint32{uint32(n)}, labels),
		"t10k-images-idx3-ubyte":  idxFile(3, []uint32{uint32(n), 28, 28}, imgs),
		"t10k-labels-idx1-ubyte":  idxFile(1, []uint32{uint32(n)}, labels),
	}
	for name, b := range files {
		if mutate != nil {
			b = mutate(name, b)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".gz"), gz(b), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mod10(i int) byte { return byte(i % 10) }

// TestBadInput runs the command over bad inputs: each must exit non-zero
// with one clear line on stderr that names the problem, and no panic.
func TestBadInput(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := mnistDir(t, 20, mod10, nil)
	badMagic := mnistDir(t, 20, mod10, func(name string, b []byte) []byte {
		if name == "train-images-idx3-ubyte" {
			b[2] = 0x42
		}
		return b
	})
	wrongRank := mnistDir(t, 20, mod10, func(name string, b []byte) []byte {
		if name == "train-images-idx3-ubyte" {
			b[3] = 2
		}
		return b
	})
	truncated := mnistDir(t, 20, mod10, func(name string, b []byte) []byte {
		if name == "train-images-idx3-ubyte" {
			return b[:len(b)-100]
		}
		return b
	})
	mismatch := mnistDir(t, 20, mod10, func(name string, b []byte) []byte {
		if name == "train-labels-idx1-ubyte" {
			return idxFile(1, []uint32{19}, b[8:8+19])
		}
		return b
	})
	outOfRange := mnistDir(t, 20, func(i int) byte { return byte(i % 13) }, nil)
	ragged := write("ragged.csv", "a,b,label\n1,2,0\n3,4\n5,6,1\n")
	nonNumeric := write("nonnum.csv", "1,2,0\n3,x,1\n5,6,1\n")
	empty := write("empty.csv", "")
	notImage := write("digit.png", "this is not a PNG")

	cases := []struct {
		name string
		args []string
		want string // a fragment the error line must contain
	}{
		{"negative epochs", []string{"train", "--epochs", "-1"}, "--epochs must be positive"},
		{"batch size 0", []string{"train", "--batch-size", "0"}, "--batch-size must be positive"},
		{"lr NaN", []string{"train", "--lr", "NaN"}, "--lr"},
		{"lr not a number", []string{"train", "--lr", "fast"}, "invalid value"},
		{"unknown model", []string{"train", "--model", "resnet"}, `unknown model "resnet"`},
		{"unknown optimizer", []string{"train", "--optimizer", "lion"}, "lion"},
		{"unknown flag", []string{"train", "--bogus"}, "-bogus"},
		{"validation split 1.5", []string{"train", "--validation-split", "1.5"}, "--validation-split"},
		{"unknown data kind", []string{"train", "--data", "s3:bucket"}, "unknown --data"},
		{"unknown command", []string{"fly"}, `unknown command "fly"`},
		{"missing data directory", []string{"train", "--data", "idx:" + filepath.Join(tmp, "nope")}, "nope"},
		{"idx bad magic", []string{"train", "--data", "idx:" + badMagic}, "train-images-idx3-ubyte"},
		{"idx wrong dimension count", []string{"train", "--data", "idx:" + wrongRank}, "train-images-idx3-ubyte"},
		{"idx truncated", []string{"train", "--data", "idx:" + truncated}, "train-images-idx3-ubyte"},
		{"images/labels count mismatch", []string{"train", "--data", "idx:" + mismatch}, "20"},
		{"labels out of range", []string{"train", "--data", "idx:" + outOfRange}, "label"},
		{"csv ragged row", []string{"train", "--model", "mlp", "--data", "csv:" + ragged}, "line 3"},
		{"csv non-numeric cell", []string{"train", "--model", "mlp", "--data", "csv:" + nonNumeric}, "line 2"},
		{"csv empty", []string{"train", "--model", "mlp", "--data", "csv:" + empty}, "empty"},
		{"cnn on csv features", []string{"train", "--model", "cnn", "--data", "csv:" + write("flat.csv", "1,2,0\n3,4,1\n5,6,1\n")}, "conv"},
		{"predict: not an image", []string{"predict", "--weights", filepath.Join(tmp, "missing.safetensors"), notImage}, "missing.safetensors"},
		{"eval: missing run", []string{"eval", "--run", filepath.Join(tmp, "norun")}, "norun"},
		{"inspect: missing file", []string{"inspect", filepath.Join(tmp, "x.safetensors")}, "x.safetensors"},
		{"inspect: not safetensors", []string{"inspect", ragged}, "ragged.csv"},
	}
	_ = good
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := strata(t, c.args...)
			checkOneLineError(t, stderr, code, c.want)
		})
	}
}

func checkOneLineError(t *testing.T, stderr string, code int, want string) {
	t.Helper()
	if code == 0 {
		t.Fatalf("exit 0, want failure; stderr %q", stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 {
		t.Errorf("stderr has %d lines, want one:\n%s", len(lines), stderr)
	}
	if strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine") {
		t.Errorf("stderr shows a panic:\n%s", stderr)
	}
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr %q does not mention %q", stderr, want)
	}
}

// TestTrainEvalPredictRoundTrip trains briefly on real MNIST (a subset),
// reloads the weights through eval and predict, and checks the numbers
// agree.
func TestTrainEvalPredictRoundTrip(t *testing.T) {
	if _, err := os.Stat(mnistOrSkip(t)); err != nil {
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	out, stderr, code := strata(t, "train", "--model", "mlp", "--epochs", "1", "--train-limit", "2000", "--test-limit", "500", "--out", dir, "--json", "--quiet")
	if code != 0 {
		t.Fatalf("train failed: %s", stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"test_accuracy", "test_loss", "epochs", "train_samples_per_sec", "run_dir"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON summary lacks %q", k)
		}
	}
	for _, f := range []string{"config.json", "model.safetensors", "state.safetensors", "metrics.jsonl", "history.png", "summary.txt", "results.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s", f)
		}
	}
	out, stderr, code = strata(t, "eval", "--run", dir, "--limit", "500", "--json")
	if code != 0 {
		t.Fatalf("eval failed: %s", stderr)
	}
	var ev map[string]any
	if err := json.Unmarshal([]byte(out), &ev); err != nil {
		t.Fatal(err)
	}
	if ev["accuracy"] != res["test_accuracy"] {
		t.Errorf("eval accuracy %v differs from training's test accuracy %v", ev["accuracy"], res["test_accuracy"])
	}
	for _, k := range []string{"loss", "macro_f1", "auc_roc", "confusion_matrix"} {
		if _, ok := ev[k]; !ok {
			t.Errorf("eval JSON lacks %q", k)
		}
	}
	// a checkpoint from another architecture is refused with the names
	_, stderr, code = strata(t, "eval", "--model", "cnn", "--weights", filepath.Join(dir, "model.safetensors"))
	checkOneLineError(t, stderr, code, "conv1.kernel")
}

func mnistOrSkip(t *testing.T) string {
	t.Helper()
	d, err := mnistDirForTest()
	if err != nil {
		t.Skipf("MNIST not in the module cache: %v", err)
	}
	return d
}
