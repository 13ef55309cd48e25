package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGPTTrainAndGenerate trains a tiny GPT for one epoch, checks the
// JSON result and the run directory, and samples from it through the
// key/value cache; a bad flag is a usage error.
func TestGPTTrainAndGenerate(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "a.txt")
	os.WriteFile(text, []byte(strings.Repeat("abcabd abcabd\n", 60)), 0o644)
	runDir := filepath.Join(dir, "run")
	stdout, stderr, code := strata(t, "train", "--model", "gpt", "--data", "text:"+text, "--seq-len", "16", "--d-model", "8",
		"--layers", "1", "--heads", "2", "--batch-size", "8", "--warmup", "2", "--lr", "0.01", "--out", runDir, "--quiet", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	if bpc := res["held_out_bpc"].(float64); !(bpc > 0 && bpc < 3) || res["model"] != "gpt" {
		t.Errorf("results: %v", res)
	}
	for _, f := range []string{"config.json", "vocab.json", "summary.txt", "metrics.jsonl", "model.safetensors", "results.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
	stdout, stderr, code = strata(t, "generate", "--run", runDir, "--prompt", "abc", "--length", "40", "--temperature", "0.5")
	if code != 0 || !strings.HasPrefix(stdout, "abc") || len(strings.TrimSpace(stdout)) < 30 {
		t.Errorf("generate: exit %d: %q %s", code, stdout, stderr)
	}
	if _, _, code := strata(t, "train", "--model", "gpt", "--data", "text:"+text, "--heads", "3"); code != 2 {
		t.Errorf("--heads 3 with d-model 128: exit %d, want 2 (usage)", code)
	}
}

// TestMaxMinutes: a tiny budget stops a 50-epoch char LM after its first
// step; the run still evaluates and saves.
func TestMaxMinutes(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "a.txt")
	os.WriteFile(text, []byte(strings.Repeat("abcabd abcabd\n", 60)), 0o644)
	stdout, stderr, code := strata(t, "train", "--model", "charlm", "--data", "text:"+text, "--epochs", "50", "--seq-len", "16",
		"--units", "8", "--embedding-dim", "4", "--batch-size", "8", "--max-minutes", "1e-9", "--out", filepath.Join(dir, "run"), "--quiet", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	if res["epochs"].(float64) > 1 || !(res["held_out_bpc"].(float64) > 0) {
		t.Errorf("results: %v", res)
	}
	if _, _, code := strata(t, "train", "--model", "mlp", "--max-minutes", "-1"); code != 2 {
		t.Errorf("--max-minutes -1: exit %d, want 2", code)
	}
}
