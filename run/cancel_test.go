package run_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/run"
)

// Ctrl-C while a CSV loads stops the load and leaves no run directory
// (issue 19, class 5).
func TestTrainClassifierCancelledDuringLoad(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "big.csv")
	os.WriteFile(csv, []byte(strings.Repeat("0.1,0.2,0\n0.3,0.4,1\n", 20000)), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "run")
	c := run.ClassifierConfig{Model: "mlp", Data: "csv:" + csv, Epochs: 1, BatchSize: 8, Optimizer: "adam", LRSchedule: "cosine", Seed: 1}
	_, err := run.TrainClassifier(ctx, c, "test", run.Options{Dir: out})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the cancelled run left its directory")
	}
}

// The same for an image folder: the cancelled load stops (checked per
// file) and leaves no run directory.
func TestTrainClassifierCancelledDuringImageLoad(t *testing.T) {
	dir := t.TempDir()
	png := []byte("\x89PNG\r\n\x1a\n") // never decoded: the load stops first
	for _, c := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(dir, "img", c), 0o755)
		os.WriteFile(filepath.Join(dir, "img", c, "1.png"), png, 0o644)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(dir, "run")
	c := run.ClassifierConfig{Model: "mlp", Data: "images:" + filepath.Join(dir, "img"), Epochs: 1, BatchSize: 8, Optimizer: "adam", LRSchedule: "cosine", Seed: 1}
	if _, err := run.TrainClassifier(ctx, c, "test", run.Options{Dir: out}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the cancelled run left its directory")
	}
}
