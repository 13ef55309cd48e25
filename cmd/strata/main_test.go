package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
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

	// Trained runs on the tiny dataset, so that in the rows below it is the
	// input, not the weights, that fails.
	mlpRun := trainTiny(t, "mlp", good, filepath.Join(tmp, "mlp-run"))
	mlpWeights := filepath.Join(mlpRun, "model.safetensors")
	cnnRun := trainTiny(t, "cnn", good, filepath.Join(tmp, "cnn-run"))
	cnnWeights := filepath.Join(cnnRun, "model.safetensors")
	truncWeights := filepath.Join(tmp, "truncated.safetensors")
	if b, err := os.ReadFile(mlpWeights); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(truncWeights, b[:len(b)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	// safetensors files broken in one way each (see checkpoint.ReadSafetensors)
	const f32x2 = `"dtype":"F32","shape":[2]`
	pastEOF := writeBytes(t, tmp, "past-eof.safetensors", stHeaderLen(1000, []byte("{}")))
	overlap := writeBytes(t, tmp, "overlap.safetensors", stFile(`{"a":{`+f32x2+`,"data_offsets":[0,8]},"b":{`+f32x2+`,"data_offsets":[4,12]}}`, 12))
	offsetsPastEnd := writeBytes(t, tmp, "out-of-range.safetensors", stFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8))
	i64 := writeBytes(t, tmp, "i64.safetensors", stFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, 8))
	hugeHeader := writeBytes(t, tmp, "huge-header.safetensors", stHeaderLen(5<<30, bytes.Repeat([]byte{' '}, 92)))
	bigHeader := writeBytes(t, tmp, "big-header.safetensors", stHeaderLen(90<<20, bytes.Repeat([]byte{' '}, 92)))
	// inputs that do not fit the model
	npy32, npy28 := filepath.Join(tmp, "cifar.npy"), filepath.Join(tmp, "digit.npy")
	if err := checkpoint.SaveNPY(npy32, tensor.Zeros(32, 32, 3)); err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.SaveNPY(npy28, tensor.Zeros(28, 28, 1)); err != nil {
		t.Fatal(err)
	}
	emptyData := mnistDir(t, 0, mod10, nil)
	emptyTest := mnistDir(t, 20, mod10, func(name string, b []byte) []byte {
		switch name {
		case "t10k-images-idx3-ubyte":
			return idxFile(3, []uint32{0, 28, 28}, nil)
		case "t10k-labels-idx1-ubyte":
			return idxFile(1, []uint32{0}, nil)
		}
		return b
	})
	// a run that diverges in epoch 2: unscaled features of order 1e9 (CSV
	// data is not rescaled), SGD at lr 1e4, one batch per epoch (8 of the
	// 10 rows train)
	var big strings.Builder
	for i := range 10 {
		fmt.Fprintf(&big, "%d000000000,%d000000000,%d000000000,%d000000000,%d\n", 1+i%9, 1+(i*7)%9, 1+(i*5)%9, 1+(i*3)%9, i%2)
	}
	diverging := write("huge-features.csv", big.String())
	divergeRun := filepath.Join(tmp, "diverge-run")
	// a run whose checkpoint is torn, and a run whose data changed
	tornRun := trainTiny(t, "mlp", good, filepath.Join(tmp, "torn-run"))
	if b, err := os.ReadFile(filepath.Join(tornRun, "state.safetensors")); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(filepath.Join(tornRun, "state.safetensors"), b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	changing := mnistDir(t, 20, mod10, nil)
	changedRun := trainTiny(t, "mlp", changing, filepath.Join(tmp, "changed-run"))
	copyDir(t, mnistDir(t, 20, func(i int) byte { return byte((i + 1) % 10) }, nil), changing)
	noCkptRun := trainTiny(t, "mlp", good, filepath.Join(tmp, "no-ckpt-run"))
	if err := os.Remove(filepath.Join(noCkptRun, "state.safetensors")); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		args     []string
		want     string           // a fragment the error line must contain
		maxAlloc uint64           // when set, the bytes the command may allocate
		after    func(*testing.T) // more checks
	}{
		{"negative epochs", []string{"train", "--epochs", "-1"}, "--epochs must be positive", 0, nil},
		{"batch size 0", []string{"train", "--batch-size", "0"}, "--batch-size must be positive", 0, nil},
		{"lr NaN", []string{"train", "--lr", "NaN"}, "--lr", 0, nil},
		{"lr not a number", []string{"train", "--lr", "fast"}, "invalid value", 0, nil},
		{"unknown model", []string{"train", "--model", "resnet"}, `unknown model "resnet"`, 0, nil},
		{"unknown optimizer", []string{"train", "--optimizer", "lion"}, "lion", 0, nil},
		{"unknown schedule", []string{"train", "--lr-schedule", "linear"}, `unknown --lr-schedule "linear"`, 0, nil},
		{"unknown schedule, vae", []string{"train", "--model", "vae", "--lr-schedule", "step"}, `unknown --lr-schedule "step"`, 0, nil},
		{"ema 1", []string{"train", "--model", "vae", "--ema", "1"}, "--ema", 0, nil},
		{"g-steps 0", []string{"train", "--model", "dcgan", "--g-steps", "0"}, "--g-steps", 0, nil},
		{"unknown flag", []string{"train", "--bogus"}, "-bogus", 0, nil},
		{"validation split 1.5", []string{"train", "--validation-split", "1.5"}, "--validation-split", 0, nil},
		{"unknown data kind", []string{"train", "--data", "s3:bucket"}, "unknown --data", 0, nil},
		{"unknown command", []string{"fly"}, `unknown command "fly"`, 0, nil},
		{"missing data directory", []string{"train", "--data", "idx:" + filepath.Join(tmp, "nope")}, "nope", 0, nil},
		{"idx bad magic", []string{"train", "--data", "idx:" + badMagic}, "train-images-idx3-ubyte", 0, nil},
		{"idx wrong dimension count", []string{"train", "--data", "idx:" + wrongRank}, "train-images-idx3-ubyte", 0, nil},
		{"idx truncated", []string{"train", "--data", "idx:" + truncated}, "train-images-idx3-ubyte", 0, nil},
		{"images/labels count mismatch", []string{"train", "--data", "idx:" + mismatch}, "20", 0, nil},
		{"labels out of range", []string{"train", "--data", "idx:" + outOfRange}, "label", 0, nil},
		{"csv ragged row", []string{"train", "--model", "mlp", "--data", "csv:" + ragged}, "line 3", 0, nil},
		{"csv non-numeric cell", []string{"train", "--model", "mlp", "--data", "csv:" + nonNumeric}, "line 2", 0, nil},
		{"csv empty", []string{"train", "--model", "mlp", "--data", "csv:" + empty}, "empty", 0, nil},
		{"cnn on csv features", []string{"train", "--model", "cnn", "--data", "csv:" + write("flat.csv", "1,2,0\n3,4,1\n5,6,1\n")}, "conv", 0, nil},
		{"predict: not an image", []string{"predict", "--weights", filepath.Join(tmp, "missing.safetensors"), notImage}, "missing.safetensors", 0, nil},
		{"eval: missing run", []string{"eval", "--run", filepath.Join(tmp, "norun")}, "norun", 0, nil},
		{"inspect: missing file", []string{"inspect", filepath.Join(tmp, "x.safetensors")}, "x.safetensors", 0, nil},
		{"inspect: not safetensors", []string{"inspect", ragged}, "ragged.csv", 0, nil},
		{"safetensors header length past the end", []string{"eval", "--weights", pastEOF}, "past-eof.safetensors: checkpoint: safetensors: header length 1000 at byte 0 runs past the end", 0, nil},
		{"safetensors overlapping offsets", []string{"inspect", overlap}, `tensor "b" [4, 12] overlaps tensor "a" [0, 8]`, 0, nil},
		{"safetensors offsets out of range", []string{"eval", "--weights", offsetsPastEnd}, `tensor "a": data_offsets [0, 16] run past the end of the 8-byte buffer`, 0, nil},
		{"safetensors unsupported dtype", []string{"predict", "--weights", i64, notImage}, `tensor "a": dtype I64 is not supported`, 0, nil},
		{"safetensors 5 GB header in 100 bytes", []string{"inspect", hugeHeader}, "header length 5368709120 at byte 0 is over the 104857600-byte limit", 1 << 20, nil},
		{"safetensors 90 MB header in 100 bytes", []string{"eval", "--weights", bigHeader}, "header length 94371840 at byte 0 runs past the end", 1 << 20, nil},
		{"truncated weights", []string{"eval", "--weights", truncWeights, "--data", "idx:" + good}, "truncated.safetensors", 0, nil},
		{"checkpoint of another architecture", []string{"eval", "--model", "cnn", "--weights", mlpWeights, "--data", "idx:" + good}, `does not hold a cnn model: checkpoint: weights do not match the model; missing 4: "conv1.kernel"`, 0, nil},
		{"npy 32x32x3 into the 28x28x1 cnn", []string{"predict", "--weights", cnnWeights, npy32}, "cifar.npy: array of shape [32 32 3] does not fit the model's input [28 28 1]", 0, nil},
		{"predict: not an image, real weights", []string{"predict", "--weights", mlpWeights, notImage}, "digit.png", 0, nil},
		{"explain: not an image", []string{"explain", "--run", cnnRun, "--out", filepath.Join(tmp, "explain"), notImage}, "digit.png", 0, nil},
		{"explain: npy 32x32x3 into the 28x28x1 cnn", []string{"explain", "--run", cnnRun, "--out", filepath.Join(tmp, "explain"), npy32}, "cifar.npy: array of shape [32 32 3] does not fit the model's input [28 28 1]", 0, nil},
		{"explain: unknown Grad-CAM layer", []string{"explain", "--run", cnnRun, "--method", "gradcam", "--layer", "conv9", "--out", filepath.Join(tmp, "explain"), npy28}, `no layer "conv9" in the model`, 0, nil},
		{"explain: negative IG steps", []string{"explain", "--run", cnnRun, "--method", "ig", "--steps", "-3", npy28}, "--steps must not be negative", 0, nil},
		{"empty dataset", []string{"train", "--model", "mlp", "--data", "idx:" + emptyData, "--out", filepath.Join(tmp, "empty-run")}, "the training set (train-images-idx3-ubyte) is empty (0 samples)", 0,
			func(t *testing.T) {
				if _, err := os.Stat(filepath.Join(tmp, "empty-run")); err == nil {
					t.Error("a run directory was created for an empty dataset")
				}
			}},
		{"adam at lr 1e4 diverges", []string{"train", "--model", "mlp", "--data", "idx:" + good, "--lr", "1e4", "--batch-size", "4", "--epochs", "3", "--out", filepath.Join(tmp, "lr-run"), "--quiet"}, "training diverged (lower the learning rate)", 0, nil},
		{"eval: empty test set", []string{"eval", "--weights", mlpWeights, "--data", "idx:" + emptyTest}, "the test set (t10k-images-idx3-ubyte) is empty (0 samples)", 0, nil},
		{"diverging training", []string{"train", "--model", "mlp", "--data", "csv:" + diverging, "--optimizer", "sgd", "--lr", "1e4", "--batch-size", "8", "--epochs", "5", "--out", divergeRun, "--quiet"},
			"loss is NaN at epoch 2, batch 0: training diverged (lower the learning rate); the checkpoint after epoch 1 is kept in " + filepath.Join(divergeRun, "state.safetensors"), 0,
			func(t *testing.T) {
				ck, err := train.LoadCheckpoint(filepath.Join(divergeRun, "state.safetensors"))
				if err != nil {
					t.Fatalf("the last good checkpoint does not load: %v", err)
				}
				if ck.Epoch != 2 || ck.Batch != 0 || len(ck.History.Epochs) != 1 {
					t.Errorf("checkpoint at epoch %d batch %d with %d epochs of history, want the end of epoch 1", ck.Epoch, ck.Batch, len(ck.History.Epochs))
				}
				for _, n := range ck.File.Names {
					for _, v := range ck.File.Tensors[n].Data() {
						if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
							t.Fatalf("checkpoint tensor %s holds %v", n, v)
						}
					}
				}
				if _, err := os.Stat(filepath.Join(divergeRun, "model.safetensors")); err == nil {
					t.Error("a diverged run wrote model.safetensors")
				}
			}},
		{"resume from a torn checkpoint", []string{"train", "--resume", tornRun}, "cannot resume: " + filepath.Join(tornRun, "state.safetensors") + ": checkpoint: safetensors:", 0, nil},
		{"resume with changed data", []string{"train", "--resume", changedRun}, "cannot resume: the data idx:" + changing + " has changed since the run started", 0, nil},
		{"resume without a checkpoint", []string{"train", "--resume", noCkptRun}, "holds no checkpoint", 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, stderr, code := strata(t, c.args...)
			runtime.ReadMemStats(&after)
			t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
			checkOneLineError(t, stderr, code, c.want)
			if got := after.TotalAlloc - before.TotalAlloc; c.maxAlloc > 0 && got > c.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", got, c.maxAlloc)
			}
			noTempFiles(t, tmp)
			if c.after != nil {
				c.after(t)
			}
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
	var results map[string]any // the default cosine schedule ends at 0
	if b, err := os.ReadFile(filepath.Join(dir, "results.json")); err != nil || json.Unmarshal(b, &results) != nil || results["final_lr"] != 0.0 {
		t.Errorf("results.json: final_lr %v (%v), want 0 at the end of the cosine schedule", results["final_lr"], err)
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
