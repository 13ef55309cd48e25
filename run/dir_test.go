package run

import (
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestNewUniqueDirectories starts runs at once with no directory given:
// each gets its own (#19: runs named by the second shared one).
func TestNewUniqueDirectories(t *testing.T) {
	t.Chdir(t.TempDir())
	const n = 6
	dirs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := New("", "mlp", "test", false)
			if err == nil {
				dirs[i] = d.Path
				defer d.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, d := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[d] || !strings.HasPrefix(d, filepath.Join("runs", "mlp-")) {
			t.Errorf("run directory %q repeated or misnamed (all: %v)", d, dirs)
		}
		seen[d] = true
	}
}

// TestLockNamesHolder checks that a second writer is refused with the
// holder named, and that the lock of a process that has exited is taken
// over.
func TestLockNamesHolder(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(dir, "strata train")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, "strata eval")
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != os.Getpid() || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) || !strings.Contains(err.Error(), "strata train") {
		t.Fatalf("got %v, want a *LockedError naming this process and its command", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Open(dir, "strata eval")
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	b.Close()

	// A lock left by a process that no longer runs.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true command:", err)
	}
	host, _ := os.Hostname()
	stale := `{"pid":` + strconv.Itoa(cmd.ProcessState.Pid()) + `,"host":"` + host + `","command":"strata train","since":"2026-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir, "strata train")
	if err != nil {
		t.Fatalf("stale lock: %v", err)
	}
	c.Close()
	if _, err := os.Stat(filepath.Join(dir, LockFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Close: %v", err)
	}
}

// TestNewRefusesAnotherRun checks that a new run does not silently
// replace a finished one, and that with overwrite the old run's files,
// explain/ included, are gone.
func TestNewRefusesAnotherRun(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{ConfigFile, ModelFile, "samples_epoch_001.png", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, ExplainDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := New(dir, "mlp", "test", false); err == nil || !strings.Contains(err.Error(), "already holds a run (model.safetensors)") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("got %v, want a refusal that names --overwrite", err)
	}
	d, err := New(dir, "mlp", "test", true)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for _, f := range []string{ConfigFile, ModelFile, "samples_epoch_001.png", ExplainDir} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived --overwrite", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
		t.Errorf("a file of the user's was removed: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	for _, c := range []struct {
		spec, kind, path string
		ok               bool
	}{
		{"mnist", "mnist", "", true}, {"idx:d", "idx", "d", true}, {"csv:f.csv", "csv", "f.csv", true},
		{"images:d", "images", "d", true}, {"text:a.txt", "text", "a.txt", true},
		{"mnist:x", "", "", false}, {"idx:", "", "", false}, {"s3:bucket", "", "", false}, {"", "", "", false},
	} {
		s, err := ParseSource(c.spec)
		var ce *ConfigError
		if c.ok != (err == nil) || (err != nil && !errors.As(err, &ce)) || (c.ok && (s.Kind != c.kind || s.Path != c.path)) {
			t.Errorf("ParseSource(%q) = %+v, %v", c.spec, s, err)
		}
	}
}

// TestLoadImagesSource loads images:DIR, one sub-directory per class.
func TestLoadImagesSource(t *testing.T) {
	dir := t.TempDir()
	for c, name := range []string{"cat", "dog"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			img := image.NewGray(image.Rect(0, 0, 4, 4))
			img.Pix[0] = uint8(100 * c)
			f, err := os.Create(filepath.Join(dir, name, strconv.Itoa(i)+".png"))
			if err != nil {
				t.Fatal(err)
			}
			if err := png.Encode(f, img); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	ds, err := LoadDataset("images:" + dir)
	if err != nil {
		t.Fatal(err)
	}
	if ds.Classes != 2 || strings.Join(ds.ClassNames, ",") != "cat,dog" || ds.Train.Len() != 8 || ds.Test.Len() != 2 || ds.Test.Y.Data()[0] != 0 || ds.Test.Y.Data()[1] != 1 || len(ds.SHA256) != 64 {
		t.Errorf("dataset: %d classes %v, %d train, %d test", ds.Classes, ds.ClassNames, ds.Train.Len(), ds.Test.Len())
	}
	if _, err := LoadDataset("images:" + filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("got %v for a missing directory", err)
	}
}
