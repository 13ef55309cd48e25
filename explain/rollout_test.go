package explain

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// TestAttentionRolloutViT runs attention rollout on an untrained ViT and
// checks the map's shape and range, and that a model without attention
// maps gets an error.
func TestAttentionRolloutViT(t *testing.T) {
	net, err := zoo.NewViT(zoo.ViTOptions{Classes: 10, Layers: 2, DModel: 16, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	x := tensor.RandUniform(rand.New(rand.NewPCG(2, 2)), 0, 1, 2, 28, 28, 1)
	a, err := AttentionRollout{}.Attribute(context.Background(), net, x, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.EqualShapes(a.Map.Shape(), []int{2, 28, 28, 1}) {
		t.Fatalf("map shape %v", a.Map.Shape())
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range a.Map.Data() {
		lo, hi = math.Min(lo, float64(v)), math.Max(hi, float64(v))
	}
	if lo < -1e-6 || hi > 1+1e-6 || hi-lo < 0.5 {
		t.Errorf("map range [%v, %v], want [0, 1]", lo, hi)
	}
	if _, err := (AttentionRollout{}).Attribute(context.Background(), zoo.NewSimpleNet(10), x, Predicted); err == nil {
		t.Error("a model without attention maps was accepted")
	}
}

// TestRolloutIdentity: with attention that only looks at itself, every
// patch is equally relevant.
func TestRolloutIdentity(t *testing.T) {
	T := 3
	m := tensor.Zeros(1, 1, T, T)
	for i := range T {
		m.Data()[i*T+i] = 1
	}
	for _, v := range rollout([]*tensor.Tensor{m, m}, 0, T, 0.5) {
		if math.Abs(float64(v)-1.0/3) > 1e-6 {
			t.Fatalf("relevance %v, want 1/3 each", v)
		}
	}
}
