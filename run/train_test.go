package run_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/run"
)

// TestTrainClassifierLibrary trains from Go as strata train does, and
// loads the run's model file with modelfile.Load.
func TestTrainClassifierLibrary(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 60; i++ {
		x, y := rng.Float64(), rng.Float64()
		label := 0
		if x+y > 1 {
			label = 1
		}
		fmt.Fprintf(&b, "%.3f,%.3f,%d\n", x, y, label)
	}
	csv := filepath.Join(dir, "points.csv")
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	c := run.ClassifierConfig{Model: "mlp", Data: "csv:" + csv, Epochs: 2, BatchSize: 8, Optimizer: "adam", LRSchedule: "cosine", Seed: 1}
	out := filepath.Join(dir, "run")
	res, err := run.TrainClassifier(context.Background(), c, "test", run.Options{Dir: out})
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != out || res.Summary["epochs"] != 2 || !strings.Contains(res.Message, "test accuracy") {
		t.Errorf("result %+v", res)
	}
	m, err := modelfile.Load(filepath.Join(out, run.ModelFile))
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta.Family != "mlp" || len(m.Meta.Classes) != 2 || fmt.Sprint(m.Meta.InputShape) != "[2]" || m.Meta.Preprocessing != "none" {
		t.Errorf("model file meta %+v", m.Meta)
	}
	// The same directory again: refused, then replaced with Overwrite.
	if _, err := run.TrainClassifier(context.Background(), c, "test", run.Options{Dir: out}); err == nil {
		t.Error("a second run replaced the first without Overwrite")
	}
	if _, err := run.TrainClassifier(context.Background(), c, "test", run.Options{Dir: out, Overwrite: true}); err != nil {
		t.Error(err)
	}
	bad := c
	bad.Epochs = 0
	if _, err := run.TrainClassifier(context.Background(), bad, "test", run.Options{Dir: filepath.Join(dir, "bad")}); err == nil || !strings.Contains(err.Error(), "--epochs must be positive") {
		t.Errorf("got %v for 0 epochs", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad")); err == nil {
		t.Error("a run that could not start left a directory")
	}
}
