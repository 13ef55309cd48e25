package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/tensor"
)

// Degenerate and non-finite input from issue 19, class 6, and the sizes of
// class 4: one clear line and a non-zero exit, never a wrong answer.
func TestDegenerateInput(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	rows := func(label func(i int) string) string {
		var b strings.Builder
		for i := range 40 {
			b.WriteString(strings.Repeat("0.5,", 3) + label(i) + "\n")
		}
		return b.String()
	}
	oneCol := write("one.csv", "1\n2\n3\n4\n")
	sameLabel := write("same.csv", rows(func(int) string { return "3" }))
	hugeLabel := write("huge.csv", rows(func(i int) string {
		if i == 7 {
			return "10000000"
		}
		return []string{"0", "1"}[i%2]
	}))
	billion := write("billion.csv", rows(func(i int) string { return []string{"0", "1e9"}[i%2] }))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--model", "mlp", "--data", "csv:" + oneCol}, "one column, the label"},
		{[]string{"train", "--model", "mlp", "--data", "csv:" + sameLabel}, "all 40 labels are 3"},
		{[]string{"train", "--model", "mlp", "--data", "csv:" + hugeLabel}, "label 10000000 in row 7 would make 10000001 classes"},
		{[]string{"train", "--model", "mlp", "--data", "csv:" + billion}, "label 1000000000 in row 1"},
		{[]string{"train", "--model", "mlp", "--data", "text:/dev/zero"}, ""},
		{[]string{"eval", "--run", tmp, "--limit", "-1"}, "--limit must be 0 (all) or a number of samples, got -1"},
		{[]string{"sample", "--run", tmp, "--out", "s.jpg"}, "give a name ending in .png"},
		{[]string{"sample", "--run", tmp, "--n", "100000000"}, "--n 100000000 is over the limit of 4096"},
		{[]string{"summary", "--model", "mlp", "--classes", "100000000", "--max-memory", "1G"}, "this summary needs about 12.3 GiB"},
		{[]string{"summary", "--model", "mlp", "--max-memory", "lots"}, `bad size "lots"`},
		{[]string{"bench", "cnn_train"}, `unexpected argument "cnn_train"`},
		{[]string{"summary", "cnn"}, `unexpected argument "cnn"`},
		{[]string{"export", "--out", "m.onnx", "model.safetensors"}, `unexpected argument "model.safetensors"`},
	} {
		_, stderr, code := strata(t, tc.args...)
		if tc.want == "" { // any clean refusal
			checkOneLineError(t, stderr, code, "strata")
			continue
		}
		checkOneLineError(t, stderr, code, tc.want)
	}
}

// predict and eval refuse non-finite inputs and weights where they enter,
// and --json prints valid JSON or fails.
func TestNonFiniteInputsAndWeights(t *testing.T) {
	data := mnistDir(t, 60, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	tmp := t.TempDir()
	save := func(name string, x *tensor.Tensor) string {
		p := filepath.Join(tmp, name)
		if err := checkpoint.SaveNPY(p, x); err != nil {
			t.Fatal(err)
		}
		return p
	}
	nan := tensor.Zeros(784)
	nan.Data()[300] = float32(math.NaN())
	for _, tc := range []struct {
		file, want string
	}{
		{save("nan.npy", nan), "nan.npy: sample 0 holds NaN at [10 20 0]"},
		{save("empty.npy", tensor.Zeros(0)), "array of shape [0] holds no values"},
		{save("empty784.npy", tensor.Zeros(0, 784)), "array of shape [0 784] holds no values"},
	} {
		for _, js := range []bool{false, true} {
			args := []string{"predict", "--run", dir, tc.file}
			if js {
				args = append(args, "--json")
			}
			out, stderr, code := strata(t, args...)
			checkOneLineError(t, stderr, code, tc.want)
			if out != "" {
				t.Errorf("%v printed %q", args, out)
			}
		}
	}
	// NaN weights: the model's output is refused, not scored.
	f, err := checkpoint.LoadSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var named []checkpoint.Named
	for _, n := range f.Names {
		tt := f.Tensors[n]
		if strings.HasSuffix(n, "kernel") {
			tt.Data()[0] = float32(math.NaN())
		}
		named = append(named, checkpoint.Named{Name: n, Tensor: tt})
	}
	if err := checkpoint.SaveSafetensors(filepath.Join(dir, "model.safetensors"), named, f.Metadata); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"eval", "--run", dir, "--json"}, {"predict", "--run", dir, "--json", save("zero.npy", tensor.Zeros(784))}} {
		out, stderr, code := strata(t, args...)
		checkOneLineError(t, stderr, code, "NaN")
		if out != "" && json.Valid([]byte(out)) == false {
			t.Errorf("%v printed invalid JSON %q", args, out)
		}
	}
}

// A damaged checkpoint is refused on resume with the file and the tensor,
// not resumed into a different model (issue 19, class 2).
func TestResumeRefusesDamagedCheckpoint(t *testing.T) {
	data := mnistDir(t, 60, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	state := filepath.Join(dir, "state.safetensors")
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for i := len(b) / 2; i < len(b)/2+16; i++ {
		b[i] ^= 0xff
	}
	os.WriteFile(state, b, 0o644)
	_, stderr, code := strata(t, "train", "--resume", dir, "--epochs", "2", "--quiet")
	checkOneLineError(t, stderr, code, "is damaged")
	if !strings.Contains(stderr, state) || !strings.Contains(stderr, "tensor \"") {
		t.Errorf("the error should name the file and the tensor: %s", stderr)
	}
}

// An edited loop position (batch 91 of a 8-batch epoch, a negative epoch)
// is refused on resume, naming the epoch's real length.
func TestResumeRefusesImpossiblePosition(t *testing.T) {
	data := mnistDir(t, 64, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--batch-size", "8", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	state := filepath.Join(dir, "state.safetensors")
	orig, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		epoch, batch, want string
	}{
		{"1", "91", "cannot start at batch 91: an epoch has 8 batches"},
		{"-3", "0", "loop position epoch -3"},
	} {
		os.WriteFile(state, orig, 0o644)
		f, err := checkpoint.LoadSafetensors(state)
		if err != nil {
			t.Fatal(err)
		}
		var named []checkpoint.Named
		for _, n := range f.Names {
			named = append(named, checkpoint.Named{Name: n, Tensor: f.Tensors[n]})
		}
		f.Metadata["loop.epoch"], f.Metadata["loop.batch"] = tc.epoch, tc.batch
		f.Metadata["loop.history"] = "[]"
		if err := checkpoint.SaveSafetensors(state, named, f.Metadata); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := strata(t, "train", "--resume", dir, "--epochs", "2", "--quiet")
		checkOneLineError(t, stderr, code, tc.want)
	}
}

// Model metadata that claims 1e8 classes, a 1e5×1e5 input or a zero
// dimension is refused before a model of that size is built.
func TestModelMetadataBounded(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	model := filepath.Join(dir, "model.safetensors")
	orig, _ := os.ReadFile(model)
	for _, tc := range []struct{ arch, want string }{
		{`{"model":"mlp","classes":100000000,"input_shape":[28,28,1]}`, "100000000 classes; a classifier has 2 to 1048576"},
		{`{"model":"mlp","classes":10,"input_shape":[100000,100000,1]}`, "more than 16777216 values per sample"},
		{`{"model":"mlp","classes":10,"input_shape":[0,28,1]}`, "with a dimension of 0"},
		{`{"model":"mlp","classes":1000000,"input_shape":[28,28,1]}`, "describes a model of 33052320 parameters (1000000 classes"},
		{`{"model":"mlp","classes":11,"input_shape":[28,28,1]}`, `wrong shape 2: "dense3.kernel"`},
	} {
		os.WriteFile(model, orig, 0o644)
		f, err := checkpoint.LoadSafetensors(model)
		if err != nil {
			t.Fatal(err)
		}
		var named []checkpoint.Named
		for _, n := range f.Names {
			named = append(named, checkpoint.Named{Name: n, Tensor: f.Tensors[n]})
		}
		f.Metadata["strata.architecture"] = tc.arch
		checkpoint.SaveSafetensors(model, named, f.Metadata)
		// --model takes the legacy path that reads this metadata key.
		_, stderr, code := strata(t, "eval", "--model-file", model, "--model", "mlp", "--data", "idx:"+data)
		checkOneLineError(t, stderr, code, tc.want)
	}
}

// The first interrupt asks the command to stop (a training run saves its
// checkpoint); a second one exits at once with status 130.
func TestSecondInterruptExitsAtOnce(t *testing.T) {
	data := mnistDir(t, 400, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	p := start(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "200", "--batch-size", "4", "--quiet", "--out", dir)
	p.waitForFile(t, filepath.Join(dir, "state.safetensors"), time.Minute)
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Process.Signal(syscall.SIGINT)
	code := p.wait(t, 10*time.Second)
	if code != 130 && code != 0 {
		t.Fatalf("exit %d, want 130 (or 0 if the first stop won); stderr:\n%s", code, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "interrupt again to exit at once") {
		t.Errorf("stderr does not say a second interrupt exits:\n%s", p.stderr.String())
	}
}

// The same through a model file's own metadata (the default path).
func TestModelFileMetadataBounded(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	model := filepath.Join(dir, "model.safetensors")
	orig, _ := os.ReadFile(model)
	for _, tc := range []struct{ shape, want string }{
		{"[0,28,1]", "input shape [0 28 1], with a dimension of 0"},
		{"[100000,100000,1]", "more than 16777216 values per sample"},
	} {
		os.WriteFile(model, orig, 0o644)
		f, err := checkpoint.LoadSafetensors(model)
		if err != nil {
			t.Fatal(err)
		}
		var meta map[string]any
		if err := json.Unmarshal([]byte(f.Metadata["strata.meta"]), &meta); err != nil {
			t.Fatalf("strata.meta: %v", err)
		}
		var shape []int
		json.Unmarshal([]byte(tc.shape), &shape)
		meta["input_shape"] = shape
		b, _ := json.Marshal(meta)
		f.Metadata["strata.meta"] = string(b)
		var named []checkpoint.Named
		for _, n := range f.Names {
			named = append(named, checkpoint.Named{Name: n, Tensor: f.Tensors[n]})
		}
		checkpoint.SaveSafetensors(model, named, f.Metadata)
		_, stderr, code := strata(t, "eval", "--run", dir)
		checkOneLineError(t, stderr, code, tc.want)
	}
}

// Sizes a char LM cannot train in memory are refused before the model is
// built: --units 1000000, --layers 500, a text of 21,000 distinct
// characters under --max-memory 2G.
func TestCharLMMemoryRefused(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.txt")
	os.WriteFile(small, []byte(strings.Repeat("hello world, func main() {}\n", 200)), 0o644)
	var wide strings.Builder
	for i := range 21000 {
		wide.WriteRune(rune(0x4e00 + i))
		if i%80 == 79 {
			wide.WriteByte('\n')
		}
	}
	big := filepath.Join(dir, "wide.txt")
	os.WriteFile(big, []byte(strings.Repeat(wide.String(), 2)), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", "text:" + small, "--units", "1000000", "--max-memory", "8G"}, "optimizer state"},
		{[]string{"--data", "text:" + small, "--layers", "500", "--max-memory", "8G"}, "activations at batch size 64"},
		{[]string{"--data", "text:" + big, "--max-memory", "2G"}, "21001 characters in its vocabulary"},
	} {
		out := filepath.Join(t.TempDir(), "lm")
		args := append([]string{"train", "--model", "charlm", "--epochs", "1", "--out", out}, tc.args...)
		_, stderr, code := strata(t, args...)
		checkOneLineError(t, stderr, code, tc.want)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v left a run directory", tc.args)
		}
	}
}

// A classifier too large for the memory the process may use is refused
// before it is built (3000 classes of 3 features under --max-memory 256K),
// leaving no run directory.
func TestClassifierMemoryRefused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "wide.csv")
	var rows strings.Builder
	for i := range 3000 {
		rows.WriteString("0.5,0.25," + strconv.Itoa(i) + "\n")
	}
	os.WriteFile(p, []byte(rows.String()), 0o644)
	out := filepath.Join(t.TempDir(), "run")
	_, stderr, code := strata(t, "train", "--model", "mlp", "--data", "csv:"+p, "--max-memory", "256K", "--out", out)
	checkOneLineError(t, stderr, code, "this model (3000 classes) needs about")
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run left its directory")
	}
}

// Resuming a finished run has nothing to do: it says so and leaves
// results.json as the run wrote it (not "0 samples/s").
func TestResumeFinishedRun(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "results.json"))
	out, stderr, code := strata(t, "train", "--resume", dir, "--quiet")
	if code != 0 || !strings.Contains(out+stderr, "already finished its 1 epochs: nothing to do") {
		t.Fatalf("exit %d: %s%s", code, out, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "results.json")); string(after) != string(before) {
		t.Errorf("results.json was rewritten:\n%s", after)
	}
}
