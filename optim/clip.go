package optim

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// ClipByValue limits every element of every gradient to [−v, v], in place
// (Keras's clipvalue). Nil gradients are skipped. It panics if v is
// negative or NaN.
func ClipByValue(grads []*tensor.Tensor, v float64) {
	if !(v >= 0) {
		panic(fmt.Errorf("optim: ClipByValue: limit %v is negative", v))
	}
	lim := float32(v)
	for _, g := range grads {
		if g != nil {
			kernels.Clip(g.Data(), g.Data(), -lim, lim)
		}
	}
}

// ClipByNorm rescales each gradient g whose L2 norm ‖g‖ exceeds maxNorm to
// g·maxNorm/‖g‖, in place (Keras's clipnorm; each tensor on its own). Nil
// gradients are skipped. It panics if maxNorm is negative or NaN.
func ClipByNorm(grads []*tensor.Tensor, maxNorm float64) {
	if !(maxNorm >= 0) {
		panic(fmt.Errorf("optim: ClipByNorm: limit %v is negative", maxNorm))
	}
	for _, g := range grads {
		if g == nil {
			continue
		}
		if n := math.Sqrt(kernels.SumSquares(g.Data())); n > maxNorm {
			kernels.Scale(float32(maxNorm/n), g.Data())
		}
	}
}

// GlobalNorm returns √(Σ_i ‖g_i‖²), the L2 norm of all gradients taken as
// one vector (nil gradients count as zero), accumulated in float64.
func GlobalNorm(grads []*tensor.Tensor) float64 {
	var s float64
	for _, g := range grads {
		if g != nil {
			s += kernels.SumSquares(g.Data())
		}
	}
	return math.Sqrt(s)
}

// ClipByGlobalNorm rescales all gradients together, in place, when their
// global norm G = GlobalNorm(grads) exceeds maxNorm: g_i ← g_i·maxNorm/G,
// which keeps their direction (Keras's global_clipnorm,
// tf.clip_by_global_norm). It returns G as it was before clipping. A NaN or
// infinite G leaves the gradients unchanged. It panics if maxNorm is
// negative or NaN.
func ClipByGlobalNorm(grads []*tensor.Tensor, maxNorm float64) (globalNorm float64) {
	if !(maxNorm >= 0) {
		panic(fmt.Errorf("optim: ClipByGlobalNorm: limit %v is negative", maxNorm))
	}
	n := GlobalNorm(grads)
	if n > maxNorm && !math.IsInf(n, 1) {
		f := float32(maxNorm / n)
		for _, g := range grads {
			if g != nil {
				kernels.Scale(f, g.Data())
			}
		}
	}
	return n
}
