package nn

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
)

type simpleNet struct{ Dense1, Dense2, Dense3 *Dense }

func (m *simpleNet) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	return m.Dense3.Forward(c, m.Dense2.Forward(c, m.Dense1.Forward(c, x)))
}

func TestParamCountsMatchKeras(t *testing.T) {
	mlp := &simpleNet{&Dense{Units: 64, Activation: "relu"}, &Dense{Units: 32, Activation: "relu"}, &Dense{Units: 10, Activation: "softmax"}}
	cnn := NewSequential(
		&Conv2D{Filters: 32, KernelSize: [2]int{3, 3}, Activation: "relu"},
		&MaxPool2D{},
		&Conv2D{Filters: 64, KernelSize: [2]int{3, 3}, Activation: "relu"},
		&MaxPool2D{},
		&Flatten{},
		&Dense{Units: 128, Activation: "relu"},
		&Dense{Units: 10, Activation: "softmax"},
	)
	for _, c := range []struct {
		name  string
		l     Layer
		in    []int
		count int
		first string
	}{
		{"SimpleNet", mlp, []int{784}, 52650, "dense1.kernel"},
		{"CNNNet", cnn, []int{28, 28, 1}, 225034, "conv2d.kernel"},
	} {
		if _, err := Build(c.l, c.in, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		tr, nt := CountParams(c.l)
		if tr != c.count || nt != 0 {
			t.Errorf("%s: %d trainable + %d non-trainable, want %d + 0", c.name, tr, nt, c.count)
		}
		if got := AllWeights(c.l)[0].Path; got != c.first {
			t.Errorf("%s: first weight %q, want %q", c.name, got, c.first)
		}
		s, err := Summary(c.l, c.in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s, "Total params: "+commas(c.count)) {
			t.Errorf("%s summary lacks the total:\n%s", c.name, s)
		}
	}
}

func TestBuildShapeErrorNamesLayer(t *testing.T) {
	m := NewSequential(&Conv2D{Filters: 4, KernelSize: [2]int{3, 3}}, &Flatten{}, &Dense{Units: 2})
	if _, err := Build(m, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	_, err := Build(m, []int{32, 32, 3}, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), `"conv2d"`) || !strings.Contains(err.Error(), "(None, None, None, 1)") {
		t.Fatalf("got %v, want an error naming conv2d and the expected channels", err)
	}
	_, err = Build(&Dense{Units: 3, Activation: "bogus", Name: "out"}, []int{4}, rand.New(rand.NewPCG(1, 1)))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("got %v, want unknown activation error", err)
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{"Conv1": "conv1", "DenseOut": "dense_out", "VAEEncoder": "vae_encoder", "LSTM": "lstm"} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}
