package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/checkpoint"
)

// TestCharLMTrainAndGenerate trains the char LM for one epoch on a tiny
// text, checks the run directory, resumes it for a second epoch and
// samples from it.
func TestCharLMTrainAndGenerate(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text")
	os.MkdirAll(text, 0o755)
	os.WriteFile(filepath.Join(text, "a.txt"), []byte(strings.Repeat("abcabd abcabd\n", 60)), 0o644)
	os.WriteFile(filepath.Join(text, "b.bin"), []byte{0, 1, 2}, 0o644) // skipped: not text
	runDir := filepath.Join(dir, "run")
	stdout, stderr, code := strata(t, "train", "--model", "charlm", "--data", "text:"+text, "--epochs", "1", "--seq-len", "16",
		"--units", "16", "--embedding-dim", "4", "--batch-size", "8", "--lr", "0.01", "--out", runDir, "--quiet", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s%s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line is not JSON: %q", lines[len(lines)-1])
	}
	ppl, bpc := res["held_out_perplexity"].(float64), res["held_out_bpc"].(float64)
	if !(ppl > 1 && ppl < 7) || math.Abs(bpc-math.Log2(ppl)) > 1e-9 || res["vocabulary"].(float64) != 6 {
		t.Errorf("results: %v", res)
	}
	for _, f := range []string{"config.json", "vocab.json", "summary.txt", "metrics.jsonl", "state.safetensors", "model.safetensors", "history.png", "results.json"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}
	var vocab []string
	if err := readJSON(filepath.Join(runDir, "vocab.json"), &vocab); err != nil || strings.Join(vocab, "") != "\n abcd" {
		t.Errorf("vocab.json: %q, %v", vocab, err)
	}
	f, err := checkpoint.LoadSafetensors(filepath.Join(runDir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	var arch charLMArchitecture
	if err := json.Unmarshal([]byte(f.Metadata["strata.architecture"]), &arch); err != nil || arch.Model != "charlm" || arch.Vocab.Len() != 6 || arch.Net.Units != 16 {
		t.Errorf("architecture metadata %s: %v", f.Metadata["strata.architecture"], err)
	}

	// Resume for a second epoch: only --epochs may change.
	if _, stderr, code := strata(t, "train", "--resume", runDir, "--epochs", "2", "--quiet"); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	b, _ := os.ReadFile(filepath.Join(runDir, "metrics.jsonl"))
	if n := strings.Count(string(b), "\n"); n != 2 || !strings.Contains(string(b), `"val_bpc"`) {
		t.Errorf("metrics.jsonl after resuming: %s", b)
	}
	if _, stderr, code := strata(t, "train", "--resume", runDir, "--units", "8"); code != 2 || !strings.Contains(stderr, "--units cannot be changed") {
		t.Errorf("resume with --units: exit %d: %s", code, stderr)
	}

	stdout, stderr, code = strata(t, "generate", "--run", runDir, "--prompt", "abc", "--length", "30", "--temperature", "0.5", "--seed", "3")
	if code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	out := strings.TrimSuffix(stdout, "\n")
	if !strings.HasPrefix(out, "abc") || len([]rune(out)) != 33 || strings.Trim(out, "\n abcd") != "" {
		t.Errorf("generated %q: want the prompt and 30 characters of the vocabulary", out)
	}
	again, _, _ := strata(t, "generate", "--run", runDir, "--prompt", "abc", "--length", "30", "--temperature", "0.5", "--seed", "3")
	if again != stdout {
		t.Errorf("the same seed gave %q and %q", stdout, again)
	}
	stdout, _, code = strata(t, "generate", "--run", runDir, "--prompt", "ab", "--length", "5", "--json")
	var g struct {
		Text   string
		Length int
	}
	if code != 0 || json.Unmarshal([]byte(stdout), &g) != nil || g.Length != 5 || len([]rune(g.Text)) != 5 {
		t.Errorf("generate --json: exit %d: %q", code, stdout)
	}
}

func TestGenerateErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t.txt"), []byte(strings.Repeat("xyz ", 40)), 0o644)
	runDir := filepath.Join(dir, "run")
	if _, stderr, code := strata(t, "train", "--model", "charlm", "--data", "text:"+filepath.Join(dir, "t.txt"), "--epochs", "1",
		"--seq-len", "8", "--units", "4", "--embedding-dim", "2", "--out", runDir, "--quiet"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, stderr)
	}
	notLM := filepath.Join(dir, "notlm")
	os.MkdirAll(notLM, 0o755)
	checkpoint.SaveSafetensors(filepath.Join(notLM, "model.safetensors"), nil, map[string]string{"strata.architecture": `{"model":"cnn","classes":10}`})
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--run", runDir, "--prompt", "xyzé"}, 1, `character 'é' (U+00E9) at byte 3 is not in the vocabulary`},
		{[]string{"--run", runDir, "--prompt", ""}, 2, "--prompt is empty"},
		{[]string{"--run", runDir}, 2, "--prompt is empty"},
		{[]string{"--run", runDir, "--prompt", "x", "--temperature", "0"}, 2, "--temperature must be a positive number, got 0"},
		{[]string{"--run", runDir, "--prompt", "x", "--temperature", "-0.5"}, 2, "--temperature must be a positive number"},
		{[]string{"--run", runDir, "--prompt", "x", "--length", "-1"}, 2, "--length must not be negative"},
		{[]string{"--run", runDir, "--prompt", "x", "--length", "1000000000000"}, 2, "--length 1000000000000 is over the limit of 1000000 characters"},
		{[]string{"--run", runDir, "--prompt", "x", "--length", "1000000", "--max-memory", "1M"}, 1, "generate --length 1000000 needs about"},
		{[]string{"--run", filepath.Join(dir, "missing"), "--prompt", "x"}, 1, "missing: no such directory"},
		{[]string{"--run", dir, "--prompt", "x"}, 1, "has no model.safetensors"},
		{[]string{"--run", notLM, "--prompt", "x"}, 1, `holds a "cnn" model, not a character language model`},
		{[]string{"--prompt", "x"}, 2, "give --run DIR"},
	} {
		_, stderr, code := strata(t, append([]string{"generate"}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("generate %q: exit %d, %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--data", "mnist"}, `reads --data text:FILE_OR_DIR, got "mnist"`},
		{[]string{}, "needs --data text:FILE_OR_DIR"},
		{[]string{"--data", "text:" + filepath.Join(dir, "nope")}, "no such file or directory"},
		{[]string{"--data", "text:" + filepath.Join(dir, "t.txt"), "--seq-len", "500"}, "fewer than one window of --seq-len 500"},
		{[]string{"--data", "text:" + filepath.Join(dir, "t.txt"), "--cell", "rnn"}, "--cell must be lstm or gru"},
		{[]string{"--data", "text:" + filepath.Join(dir, "t.txt"), "--held-out", "0"}, "--held-out must be in (0, 1)"},
	} {
		_, stderr, code := strata(t, append([]string{"train", "--model", "charlm", "--quiet", "--out", filepath.Join(dir, "bad")}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("train charlm %q: exit %d, %q; want %q", tc.args, code, stderr, tc.want)
		}
	}
}
