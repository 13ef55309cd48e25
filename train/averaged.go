package train

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// AveragedOptimizer is an optimizer whose Step first averages the
// gradients over the ranks of Comm: the data parallelism of a custom step
// with optimizers of its own (a GAN's two, a VAE's). The gradients are
// packed into one float32 buffer, summed by one all-reduce and scaled by
// 1/N, g = (1/N) Σ_r g_r, and the wrapped optimizer then updates. Unlike
// DataParallel it does not overlap the sum with the backward pass, and it
// weights every rank alike, which is exact when the ranks' batches have the
// same size (all but an epoch's last batch when the global batch divides
// evenly). Its state, name and configuration are the wrapped optimizer's.
type AveragedOptimizer struct {
	optim.Optimizer
	Comm dist.Communicator
	flat []float32
}

// AverageOver returns opt wrapped so that it averages gradients over c, or
// opt itself (unwrapped) when c is nil or has one rank.
func AverageOver(c dist.Communicator, opt optim.Optimizer) optim.Optimizer {
	if a, ok := opt.(*AveragedOptimizer); ok {
		opt = a.Optimizer
	}
	if c == nil || c.Size() == 1 {
		return opt
	}
	return &AveragedOptimizer{Optimizer: opt, Comm: c}
}

// Step averages grads over the ranks in place, then applies the wrapped
// optimizer's update.
func (o *AveragedOptimizer) Step(params []*autograd.Var, grads []*tensor.Tensor) error {
	n := 0
	for _, g := range grads {
		if g != nil {
			n += g.Len()
		}
	}
	if cap(o.flat) < n {
		o.flat = make([]float32, n)
	}
	flat := o.flat[:n]
	off := 0
	for _, g := range grads {
		if g != nil {
			off += copy(flat[off:], g.Data())
		}
	}
	if err := o.Comm.AllReduce(flat); err != nil {
		return fmt.Errorf("train: averaging gradients over %d ranks: %w", o.Comm.Size(), err)
	}
	inv := 1 / float32(o.Comm.Size())
	off = 0
	for _, g := range grads {
		if g == nil {
			continue
		}
		d := g.Data()
		for i, v := range flat[off : off+len(d)] {
			d[i] = v * inv
		}
		off += len(d)
	}
	return o.Optimizer.Step(params, grads)
}
