package memplan

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/nn"
)

func mlp(classes int) nn.Layer {
	return nn.NewSequential(&nn.Flatten{Name: "f"}, &nn.Dense{Name: "d1", Units: 16, Activation: "relu"}, &nn.Dense{Name: "out", Units: classes})
}

func TestClassifierParams(t *testing.T) {
	for _, k := range []int{2, 7, 10} {
		got, err := ClassifierParams(mlp, []int{4, 4, 1}, k)
		net := mlp(k)
		nn.Build(net, []int{4, 4, 1}, rand.New(rand.NewPCG(1, 1)))
		tr, _ := nn.CountParams(net)
		if err != nil || got != int64(tr) {
			t.Errorf("%d classes: %d, %v; built %d", k, got, err, tr)
		}
	}
	// summary --classes 100000000: estimated at once, refused in one line.
	p, err := ClassifierParams(mlp, []int{4, 4, 1}, 100_000_000)
	if err != nil || p != 16*16+16+100_000_000*17 {
		t.Fatalf("got %d, %v", p, err)
	}
	err = sysmem.Check(sysmem.Limit{Bytes: 8 << 30, Source: "physical memory"}, "training", Training(p, 2)...)
	if err == nil || !strings.Contains(err.Error(), "training needs about 25.3 GiB") {
		t.Errorf("got %v", err)
	}
	if _, err := ClassifierParams(mlp, []int{4, 4, 1}, 1); err == nil {
		t.Error("1 class accepted")
	}
}

func TestRecurrentLM(t *testing.T) {
	lim := sysmem.Limit{Bytes: 16 << 30, Source: "physical memory"}
	// The default model on Go source (about 100 characters) fits easily.
	if err := sysmem.Check(lim, "this char LM", RecurrentLM(100, 64, 256, 1, 4, 100, 64)...); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		needs []sysmem.Need
		want  string
	}{
		{RecurrentLM(100, 64, 1_000_000, 1, 4, 100, 64), "optimizer state"},
		{RecurrentLM(100, 64, 256, 500, 4, 100, 64), "activations at batch size 64"},
		{RecurrentLM(21000, 64, 256, 1, 4, 100, 64), "activations at batch size 64: 3.1 GiB"},
	} {
		err := sysmem.Check(sysmem.Limit{Bytes: 2 << 30, Source: "ulimit -v"}, "this char LM", tc.needs...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want the largest part to be %q", err, tc.want)
		}
	}
}
