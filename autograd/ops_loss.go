package autograd

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// SoftmaxCrossEntropy returns the per-sample cross-entropy [B] between the
// softmax of logits [B, K] and targets, fused and numerically stable:
// loss_i = −Σ_j y_ij · log softmax(z_i)_j. Targets are either class indices
// [B] (sparse; stored as float32) or a distribution [B, K]. Backward:
// ∂loss_i/∂z_i = softmax(z_i)·Σ_j y_ij − y_i.
//
// A class index out of [0, K) panics with a *tensor.ShapeError.
func SoftmaxCrossEntropy(logits *Var, targets *tensor.Tensor) *Var {
	t := tapeOf(logits)
	ls := logits.Value.Shape()
	if len(ls) != 2 {
		panic(&tensor.ShapeError{Op: "SoftmaxCrossEntropy", Got: ls, Msg: "logits must be [batch, classes]"})
	}
	b, k := ls[0], ls[1]
	sparse := targets.Rank() == 1
	if (sparse && targets.Len() != b) || (!sparse && !tensor.EqualShapes(targets.Shape(), ls)) {
		panic(&tensor.ShapeError{Op: "SoftmaxCrossEntropy", Got: targets.Shape(), Want: []int{b}, Msg: "targets must be [batch] class indices or [batch, classes]"})
	}
	logp := alloc(t, ls)
	kernels.Softmax(logp.Data(), logits.Value.Data(), b, k, 1, true)
	out := alloc(t, []int{b})
	od, lp, td := out.Data(), logp.Data(), targets.Data()
	for i := 0; i < b; i++ {
		if sparse {
			c := int(td[i])
			if c < 0 || c >= k || float32(c) != td[i] {
				panic(&tensor.ShapeError{Op: "SoftmaxCrossEntropy", Got: []int{c}, Want: []int{k}, Msg: fmt.Sprintf("label %v of sample %d is not a class index in [0, %d)", td[i], i, k)})
			}
			od[i] = -lp[i*k+c]
		} else {
			od[i] = -kernels.Dot(td[i*k:(i+1)*k], lp[i*k:(i+1)*k])
		}
	}
	n := node{back: backSoftmaxCE, in: [3]*Var{logits}}
	n.setLossSaved(logp, targets)
	return result(t, out, n)
}

func backSoftmaxCE(t *Tape, n *node) {
	gz, acc := t.gradOut(n.in[0])
	if gz == nil {
		return
	}
	logp, targets := n.lossSaved()
	s := logp.Shape()
	b, k := s[0], s[1]
	g := t.grads[n.out.id].Data()
	lp, td, gd := logp.Data(), targets.Data(), gz.Data()
	sparse := targets.Rank() == 1
	for i := 0; i < b; i++ {
		gi := g[i]
		row, dst := lp[i*k:(i+1)*k], gd[i*k:(i+1)*k]
		if gi == 0 {
			if !acc {
				clear(dst)
			}
			continue
		}
		mass := float32(1)
		if !sparse {
			mass = kernels.Sum(td[i*k : (i+1)*k])
		}
		for j, v := range row {
			d := gi * mass * float32(math.Exp(float64(v)))
			if acc {
				d += dst[j]
			}
			dst[j] = d
		}
		if sparse {
			dst[int(td[i])] -= gi
		} else {
			kernels.Axpy(-gi, td[i*k:(i+1)*k], dst)
		}
	}
}

// SigmoidBinaryCrossEntropy returns the elementwise binary cross-entropy
// between σ(logits) and targets y ∈ [0, 1] of the same shape, computed
// stably as max(z, 0) − z·y + log(1 + e^−|z|). Backward: σ(z) − y.
func SigmoidBinaryCrossEntropy(logits *Var, targets *tensor.Tensor) *Var {
	t := tapeOf(logits)
	if logits.Value.Len() != targets.Len() {
		panic(&tensor.ShapeError{Op: "SigmoidBinaryCrossEntropy", Got: targets.Shape(), Want: logits.Value.Shape(), Msg: "targets must match logits"})
	}
	out := alloc(t, logits.Value.Shape())
	zd, yd, od := logits.Value.Data(), targets.Data(), out.Data()
	for i, z := range zd {
		zz := float64(z)
		od[i] = float32(math.Max(zz, 0) - zz*float64(yd[i]) + math.Log1p(math.Exp(-math.Abs(zz))))
	}
	n := node{back: backSigmoidBCE, in: [3]*Var{logits}}
	n.setLossSaved(nil, targets)
	return result(t, out, n)
}

func backSigmoidBCE(t *Tape, n *node) {
	gz, acc := t.gradOut(n.in[0])
	if gz == nil {
		return
	}
	_, targets := n.lossSaved()
	zd, yd, g, gd := n.in[0].Value.Data(), targets.Data(), t.grads[n.out.id].Data(), gz.Data()
	for i, z := range zd {
		d := g[i] * (float32(1/(1+math.Exp(-float64(z)))) - yd[i])
		if acc {
			d += gd[i]
		}
		gd[i] = d
	}
}
