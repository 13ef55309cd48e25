//go:build !race

// The race detector drops sync.Pool items at random (the kernels' pooled
// tasks), so allocation counts only hold without it.

package autograd

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// TestInferenceTapeResetReuses checks that an inference tape reset after
// each step gives the same values step after step and, once its pool holds
// the buffers, allocates nothing: the Vars, the reshape views and the
// buffers' headers all come back.
func TestInferenceTapeResetReuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	w := NewParam("w", randT(rng, 12, 5))
	b := NewParam("b", randT(rng, 5))
	x := randT(rng, 2, 3, 4)
	tape := NewInferenceTape(nil)
	step := func() []float32 {
		h := Flatten(tape.Input(x))
		y := Softmax(Dense(h, w, b, Act(tensor.OpRelu, 0)), -1)
		return y.Value.Data()
	}
	want := slices.Clone(step())
	tape.Reset()
	if got := step(); !slices.Equal(got, want) {
		t.Fatalf("after Reset: %v, want %v", got, want)
	}
	tape.Reset()
	if a := testing.AllocsPerRun(20, func() { step(); tape.Reset() }); a != 0 {
		t.Errorf("a reset inference tape: %v allocations per step, want 0", a)
	}
}
