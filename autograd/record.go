package autograd

import (
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// The record of an op is a node whose slots (op, f, ints, saved) are
// shared storage: what a slot holds depends on the op. Ops write and
// their backward functions read their records only through the named
// accessors below, one group per op family, so that the meaning of each
// slot is written once, here.

// Fused activation (Dense, Conv2D, Conv2DMaxPool, ConvTranspose2D): the
// activation's op, parameter and whether it is on.
func (n *node) setActivation(a Activation) {
	n.op, n.f[0], n.ints[0] = uint8(a.Op), a.Param, b2i(a.On)
}

func (n *node) activation() Activation {
	return Activation{Op: tensor.UnaryOp(n.op), Param: n.f[0], On: n.ints[0] == 1}
}

// Pre-activation of a fused op (nil without an activation): saved[1] for
// the convolutions, whose saved[0] holds the patches, else saved[0].
func (n *node) setPreActivation(pre *tensor.Tensor, withPatches bool) {
	if withPatches {
		n.saved[1] = pre
	} else {
		n.saved[0] = pre
	}
}

func (n *node) preActivation(withPatches bool) *tensor.Tensor {
	if withPatches {
		return n.saved[1]
	}
	return n.saved[0]
}

// Im2col patches of a convolution.
func (n *node) setPatches(cols *tensor.Tensor) { n.saved[0] = cols }
func (n *node) patches() *tensor.Tensor        { return n.saved[0] }

// A convolution whose backward pass stays on im2col + GEMM (the fused
// convolution and pooling, whose geometry is trimmed to even output sizes
// that would otherwise qualify for Winograd; its input gradient through
// Winograd was 1–5% slower in CNNNet's training step, 1-thread CPU time,
// alternating ×5): ints[1]. Its kernel gradient runs as
// kernels.ConvKernelGrad when no patches were kept.
func (n *node) setIm2ColOnly()   { n.ints[1] = 1 }
func (n *node) im2colOnly() bool { return n.ints[1] == 1 }

// Unary op: the op and its scalar parameter.
func (n *node) setUnary(op tensor.UnaryOp, p float32) { n.op, n.f[0] = uint8(op), p }
func (n *node) unary() (tensor.UnaryOp, float32)      { return tensor.UnaryOp(n.op), n.f[0] }

// Clip: the bounds.
func (n *node) setBounds(lo, hi float32)           { n.f[0], n.f[1] = lo, hi }
func (n *node) bounds() (lo, hi float32)           { return n.f[0], n.f[1] }
func (n *node) setTransposed(ta, tb bool)          { n.ints[0], n.ints[1] = b2i(ta), b2i(tb) }
func (n *node) transposed() (ta, tb bool)          { return n.ints[0] == 1, n.ints[1] == 1 }
func (n *node) setCondition(c *tensor.Tensor)      { n.saved[0] = c }
func (n *node) condition() *tensor.Tensor          { return n.saved[0] }
func (n *node) setUpsample(sh, sw int)             { n.ints[0], n.ints[1] = sh, sw }
func (n *node) upsample() (sh, sw int)             { return n.ints[0], n.ints[1] }
func (n *node) setLogSoftmax(log bool)             { n.ints[0] = b2i(log) }
func (n *node) logSoftmax() bool                   { return n.ints[0] == 1 }
func (n *node) setViewOffset(off int)              { n.ints[0] = off }
func (n *node) viewOffset() int                    { return n.ints[0] }
func (n *node) setBatchNormStats(v *tensor.Tensor) { n.saved[0] = v }
func (n *node) batchNormStats() *tensor.Tensor     { return n.saved[0] }

// Reduce: the reduction, the scale applied to its result, and the reduced
// axes as a bit mask (rank ≤ 64 is plenty).
func (n *node) setReduce(op kernels.ReduceOp, scale float32, axes []int) {
	n.op, n.f[0] = uint8(op), scale
	for _, a := range axes {
		n.ints[0] |= 1 << a
	}
}

func (n *node) reduce() (op kernels.ReduceOp, scale float32, axesMask int) {
	return kernels.ReduceOp(n.op), n.f[0], n.ints[0]
}

// Slices and concatenation: the axis and, for a slice, its bounds.
func (n *node) setSlice(axis, lo, hi int) { n.ints[0], n.ints[1], n.ints[2] = axis, lo, hi }
func (n *node) slice() (axis, lo, hi int) { return n.ints[0], n.ints[1], n.ints[2] }

// Losses: the log-probabilities or sigmoids a loss saved, and its
// targets.
func (n *node) setLossSaved(values, targets *tensor.Tensor) { n.saved[0], n.saved[1] = values, targets }
func (n *node) lossSaved() (values, targets *tensor.Tensor) { return n.saved[0], n.saved[1] }

// Fused recurrent op: gates per unit (3 GRU, 4 LSTM), flags, the
// activations, and the forward workspace.
func (n *node) setRNN(gates, flags int, act, rec kernels.RecAct, ws *tensor.Tensor) {
	n.ints = [4]int{gates, flags, int(act), int(rec)}
	n.saved[0] = ws
}

func (n *node) rnn() (gates, flags int, act, rec kernels.RecAct, ws *tensor.Tensor) {
	return n.ints[0], n.ints[1], kernels.RecAct(n.ints[2]), kernels.RecAct(n.ints[3]), n.saved[0]
}
