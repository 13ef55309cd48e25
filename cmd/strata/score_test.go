package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/tensor"
)

// TestScore checks the classifier score at its two ends, with a classifier
// trained briefly on real MNIST: MNIST's own test digits score high with a
// near-uniform class histogram, and a set of identical images scores 1 with
// an empty class entropy. It also scores a generator run, and checks the
// errors for bad image files.
func TestScore(t *testing.T) {
	dir := mnistOrSkip(t)
	tmp := t.TempDir()
	clf := filepath.Join(tmp, "clf")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--epochs", "3", "--test-limit", "100", "--out", clf, "--quiet"); code != 0 {
		t.Fatalf("training the classifier: %s", stderr)
	}
	_, test, err := data.LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	save := func(name string, x *tensor.Tensor) string {
		p := filepath.Join(tmp, name)
		if err := checkpoint.SaveNPY(p, x); err != nil {
			t.Fatal(err)
		}
		return p
	}
	score := func(args ...string) map[string]any {
		t.Helper()
		out, stderr, code := strata(t, append([]string{"score", "--classifier", clf, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("score %v: exit %d: %s", args, code, stderr)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("score %v: %v\n%s", args, err, out)
		}
		return res
	}

	real := score("--images", save("real.npy", test.X.Slice(0, 2000).Reshape(2000, 784)), "--n", "100000")
	if s, h := real["classifier_score"].(float64), real["class_entropy"].(float64); s < 6 || h < 2.2 || real["samples"] != 2000.0 {
		t.Errorf("MNIST test digits: score %.3f, class entropy %.3f over %v images; want ≥ 6, ≥ 2.2 over 2000", s, h, real["samples"])
	}
	same := score("--images", save("same.npy", tensor.Full(0.5, 300, 28, 28, 1)))
	if s, h := same["classifier_score"].(float64), same["class_entropy"].(float64); s > 1+1e-6 || h != 0 {
		t.Errorf("identical images: score %.6f, class entropy %.3f; want 1 and 0", s, h)
	}

	gan := filepath.Join(tmp, "gan")
	if _, stderr, code := strata(t, "train", "--model", "gan", "--epochs", "1", "--train-limit", "256", "--test-limit", "64", "--out", gan, "--quiet"); code != 0 {
		t.Fatalf("training the GAN: %s", stderr)
	}
	g := score("--run", gan, "--n", "600")
	if s := g["classifier_score"].(float64); !(s >= 1 && s <= 10) || g["samples"] != 600.0 || g["model"] != "gan" {
		t.Errorf("GAN run: %v", g)
	}

	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"run and images", []string{"--run", gan, "--images", save("a.npy", tensor.Zeros(2, 784))}, "give one of --run DIR and --images"},
		{"neither", nil, "give one of --run DIR and --images"},
		{"wrong shape", []string{"--images", save("b.npy", tensor.Zeros(2, 28, 28, 3))}, "array of shape [2 28 28 3], want images"},
		{"no images", []string{"--images", save("c.npy", tensor.Zeros(0, 784))}, "with n > 0"},
		{"out of range", []string{"--images", save("d.npy", tensor.Full(255, 3, 784))}, "image 0 has pixel value 255, want pixels in [0, 1]"},
		{"missing file", []string{"--images", filepath.Join(tmp, "none.npy")}, "none.npy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := strata(t, append([]string{"score", "--classifier", clf}, c.args...)...)
			checkOneLineError(t, stderr, code, c.want)
		})
	}
}
