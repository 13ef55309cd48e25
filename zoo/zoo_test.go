package zoo

import (
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/nn"
)

func TestClassifierParamCounts(t *testing.T) {
	for name, want := range map[string]int{"mlp": 52650, "cnn": 225034, "lenet": 61706} {
		c, err := LookupClassifier(name)
		if err != nil {
			t.Fatal(err)
		}
		m := c.New(10)
		in := c.Input
		if name == "mlp" {
			in = []int{784}
		}
		if _, err := nn.Build(m, in, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, _ := nn.CountParams(m); got != want {
			t.Errorf("%s: %d parameters, want %d", name, got, want)
		}
	}
	m := NewCNNNet(10)
	if _, err := nn.Build(m, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range nn.AllWeights(m) {
		names = append(names, w.Path)
	}
	want := []string{"conv1.kernel", "conv1.bias", "conv2.kernel", "conv2.bias", "dense1.kernel", "dense1.bias", "dense2.kernel", "dense2.bias"}
	if len(names) != len(want) {
		t.Fatalf("weights %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Fatalf("weights %v, want %v", names, want)
		}
	}
}
