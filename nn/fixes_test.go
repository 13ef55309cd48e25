package nn

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// scaledNet has a weight of its own and a layer field: both must be found.
type scaledNet struct {
	Scale *autograd.Var
	Body  *Dense
}

func (m *scaledNet) Weights() []Weight {
	return []Weight{{Name: "scale", Var: m.Scale, Trainable: true}}
}

func (m *scaledNet) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if m.Scale == nil {
		m.Scale = autograd.NewParam("scale", tensor.Ones(1))
	}
	return autograd.Mul(m.Body.Forward(c, x), m.Scale)
}

func TestWeightedStructKeepsItsLayers(t *testing.T) {
	m := &scaledNet{Body: &Dense{Units: 2}}
	if _, err := Build(m, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, w := range AllWeights(m) {
		paths = append(paths, w.Path)
	}
	if got := strings.Join(paths, " "); got != "scale body.kernel body.bias" {
		t.Errorf("weights %q, want scale body.kernel body.bias", got)
	}
	if n := len(Trainable(m)); n != 3 {
		t.Errorf("%d trainable weights, want 3", n)
	}
}

type hiddenHead struct {
	Body *Dense
	head *Dense
}

func (m *hiddenHead) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	return m.head.Forward(c, m.Body.Forward(c, x))
}

func TestBuildReportsUnexportedLayerField(t *testing.T) {
	m := &hiddenHead{Body: &Dense{Units: 2}, head: &Dense{Units: 1}}
	_, err := Build(m, []int{3}, rand.New(rand.NewPCG(1, 1)))
	var ce *ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "field head") {
		t.Fatalf("got %v, want a *ConfigError naming field head", err)
	}
}

func TestCheckBuilt(t *testing.T) {
	m := NewSequential(&Dense{Units: 2}, &Flatten{}, &Dense{Units: 1})
	err := CheckBuilt(m)
	if err == nil || !strings.Contains(err.Error(), `"dense"`) || !strings.Contains(err.Error(), "not built") {
		t.Fatalf("got %v, want an error naming dense as not built", err)
	}
	if _, err := Build(m, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if err := CheckBuilt(m); err != nil {
		t.Fatal(err)
	}
}

func TestLazyBuildNeedsRNG(t *testing.T) {
	d := &Dense{Units: 2, Name: "d"}
	func() {
		defer func() {
			if e, ok := recover().(*ConfigError); !ok || !strings.Contains(e.Error(), "RNG") {
				t.Errorf("a lazy build without RNG should panic with a *ConfigError, got %v", e)
			}
		}()
		d.Forward(&Ctx{}, autograd.Const(tensor.Ones(1, 3)))
	}()
	// With an RNG in the context it builds.
	d.Forward(&Ctx{RNG: rand.New(rand.NewPCG(1, 1))}, autograd.Const(tensor.Ones(1, 3)))
	if d.Kernel == nil {
		t.Error("not built with Ctx.RNG")
	}
}

func TestSummaryHasNoSideEffects(t *testing.T) {
	m := NewSequential(&Dense{Units: 4}, &Dense{Units: 2})
	if _, err := Summary(m, []int{3}); err != nil {
		t.Fatal(err)
	}
	if CheckBuilt(m) == nil {
		t.Error("Summary built an unbuilt model")
	}
	if _, err := Build(m, []int{3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	before := AllWeights(m)[0].Var.Value.Clone()
	s, err := Summary(m, []int{3})
	if err != nil || !strings.Contains(s, "Total params: 26") {
		t.Fatalf("summary %q, %v", s, err)
	}
	if !slices.Equal(before.Data(), AllWeights(m)[0].Var.Value.Data()) {
		t.Error("Summary changed the weights")
	}
}

func TestConfigErrorIsNotShapeError(t *testing.T) {
	for _, l := range []Layer{&Dense{Units: 0}, &Dense{Units: 2, Activation: "bogus"}, &LSTM{Units: 0}, &GRU{Units: 2, Activation: "bogus"}, &Conv2D{Filters: 0}} {
		in := []int{2, 3}
		if _, ok := l.(*Conv2D); ok {
			in = []int{2, 3, 1}
		}
		_, err := Build(NewSequential(l), in, rand.New(rand.NewPCG(1, 1)))
		var ce *ConfigError
		var se *ShapeError
		if !errors.As(err, &ce) || errors.As(err, &se) {
			t.Errorf("%T: got %T %v, want a *ConfigError", l, err, err)
		}
	}
}
