package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// eval on a run it cannot write into prints its metrics (text and JSON)
// first, then reports the plots it could not write and exits 1 (issue 19,
// class 6: "eval on a read-only run fails before printing metrics").
func TestEvalPrintsMetricsWhenPlotsFail(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	blocker := filepath.Join(t.TempDir(), "a-file")
	os.WriteFile(blocker, nil, 0o644)
	unwritable := [][]string{{"--out", filepath.Join(blocker, "plots")}} // fails even as root
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o555)
		defer os.Chmod(dir, 0o755)
		unwritable = append(unwritable, nil) // the read-only run directory itself
	}
	for _, extra := range unwritable {
		args := append([]string{"eval", "--run", dir}, extra...)
		out, stderr, code := strata(t, args...)
		if code != 1 || !strings.Contains(out, "accuracy") || !strings.Contains(out, "Confusion matrix") {
			t.Errorf("%q: exit %d, stdout %q; want the metrics printed, then exit 1", args, code, out)
		}
		checkOneLineError(t, stderr, code, "the metrics are printed above, but the plots were not written")
		out, stderr, code = strata(t, append(args, "--json")...)
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil || res["accuracy"] == nil || res["plots_error"] == nil || res["roc_png"] != nil {
			t.Errorf("%q --json: %v, printed %q; want the metrics with plots_error and no plot paths", args, err, out)
		}
		if code != 1 || stderr == "" {
			t.Errorf("%q --json: exit %d, stderr %q", args, code, stderr)
		}
	}
}

// eval reads only the test files of an IDX directory: it works with the
// training files gone (and so never holds MNIST's 188 MB training set).
func TestEvalReadsOnlyTheTestSplit(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	if _, stderr, code := strata(t, "train", "--model", "mlp", "--data", "idx:"+data, "--epochs", "1", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: %s", stderr)
	}
	for _, f := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
		if err := os.Remove(filepath.Join(data, f)); err != nil {
			t.Fatal(err)
		}
	}
	out, stderr, code := strata(t, "eval", "--run", dir, "--json")
	var res map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res["samples"] != float64(40) {
		t.Errorf("eval without the training files: exit %d, %q, stderr %q; want the 40 test samples scored", code, out, stderr)
	}
}
