package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-dl/strata/internal/mpitest"
)

// TestTrainMPI runs strata train as 2 MPI ranks and checks that it matches
// one process at the same --batch-size (the global batch), that only rank
// 0 prints and records "ranks": 2, that resuming in one process is refused
// with a clear error, and that a binary without MPI support says so under
// mpirun.
func TestTrainMPI(t *testing.T) {
	mpitest.Require(t)
	withMPI, plain := mpitest.BuildCommand(t, "mpi"), mpitest.BuildCommand(t, "")
	dir := t.TempDir()
	args := []string{"train", "--model", "mlp", "--train-limit", "1024", "--test-limit", "256", "--epochs", "1", "--batch-size", "64", "--json"}
	out, err := mpitest.Launch(withMPI, 2, 3*time.Minute, append(args, "--out", filepath.Join(dir, "two"))...)
	if err != nil {
		t.Fatalf("mpirun strata train: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "test accuracy"); n != 1 {
		t.Fatalf("%d ranks printed the result, want rank 0 only:\n%s", n, out)
	}
	one, err := exec.Command(plain, append(args, "--out", filepath.Join(dir, "one"))...).CombinedOutput()
	if err != nil {
		t.Fatalf("strata train: %v\n%s", err, one)
	}
	two, single := lastJSON(t, out), lastJSON(t, one)
	if two["ranks"] != 2.0 || single["ranks"] != 1.0 {
		t.Fatalf("--json records ranks %v and %v, want 2 and 1", two["ranks"], single["ranks"])
	}
	if d := two["test_accuracy"].(float64) - single["test_accuracy"].(float64); d > 0.001 || d < -0.001 {
		t.Fatalf("test accuracy %v with 2 ranks, %v with one process", two["test_accuracy"], single["test_accuracy"])
	}
	var cfg struct{ Ranks int }
	b, err := os.ReadFile(filepath.Join(dir, "two", "config.json"))
	if err != nil || json.Unmarshal(b, &cfg) != nil || cfg.Ranks != 2 {
		t.Fatalf("config.json records ranks %d (%v)", cfg.Ranks, err)
	}
	res, err := exec.Command(plain, "train", "--resume", filepath.Join(dir, "two"), "--epochs", "2").CombinedOutput()
	if err == nil || !strings.Contains(string(res), "written by a run of 2 rank(s) and this run has 1") {
		t.Fatalf("resuming a 2-rank run in one process: %v\n%s", err, res)
	}
	stub, err := mpitest.Launch(plain, 2, time.Minute, args...)
	if err == nil || !strings.Contains(string(stub), "built without MPI support") {
		t.Fatalf("a binary without MPI under mpirun: %v\n%s", err, stub)
	}
}

// lastJSON decodes the last line of out that is a JSON object.
func lastJSON(t *testing.T, out []byte) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		var m map[string]any
		if json.Unmarshal([]byte(lines[i]), &m) == nil {
			return m
		}
	}
	t.Fatalf("no JSON line in:\n%s", out)
	return nil
}
