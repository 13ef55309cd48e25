package autograd

import (
	"errors"
	"fmt"

	"github.com/strata-dl/strata/tensor"
)

// BackwardHooked is Backward(loss) for data-parallel training (PyTorch
// DDP's gradient hooks): the gradient of params[i] is accumulated into
// bufs[i] (zeroed first; a nil entry takes a pooled buffer as Backward
// does), and ready(i) is called as soon as that gradient is final — right
// after the backward step of the first op (in recording order) that read
// params[i], since no later step can add to it. Parameters that no op read
// are ready, with a zero gradient, after the last step. A caller can so
// start summing a bucket of gradients over processes while the rest of the
// backward pass runs. Afterwards Grad(params[i]) is bufs[i].
//
// bufs[i] must have params[i]'s number of elements; the gradient is
// written with params[i]'s shape into a tensor that shares bufs[i]'s
// storage. It returns an error, and runs nothing, under the same
// conditions as Backward, for lists of different lengths, a parameter not
// watched by t, or a buffer of the wrong size.
func (t *Tape) BackwardHooked(loss *Var, params []*Var, bufs [][]float32, ready func(i int)) error {
	if t.released || t.used {
		return ErrReleased
	}
	if t.infer {
		return errors.New("autograd: an inference tape computes no gradients; use NewTape")
	}
	if loss.tape != t || loss.id < 0 {
		return errors.New("autograd: loss is not recorded on this tape (did you Watch the parameters?)")
	}
	if loss.Value.Len() != 1 {
		return fmt.Errorf("autograd: loss must be a scalar, got shape %v", loss.Value.Shape())
	}
	if len(bufs) != len(params) {
		return fmt.Errorf("autograd: %d gradient buffers for %d parameters", len(bufs), len(params))
	}
	for i, p := range params {
		if p.tape != t || p.id < 0 {
			return fmt.Errorf("autograd: gradient requested for %s, which is not watched by this tape", p.describe())
		}
		if bufs[i] != nil && len(bufs[i]) != p.Value.Len() {
			return fmt.Errorf("autograd: gradient buffer of %d elements for %s of shape %v", len(bufs[i]), p.describe(), p.Value.Shape())
		}
	}
	// first[id] is the index of the first node that reads the var with
	// that id (-1: none).
	first := t.allocInt32(len(t.grads))
	for i := range first {
		first[i] = -1
	}
	for j := range t.nodes {
		n := &t.nodes[j]
		for _, v := range n.in {
			if v != nil && v.tape == t && v.id >= 0 && first[v.id] < 0 {
				first[v.id] = int32(j)
			}
		}
		for _, v := range n.ins {
			if v != nil && v.tape == t && v.id >= 0 && first[v.id] < 0 {
				first[v.id] = int32(j)
			}
		}
	}
	// order lists the parameters by the node after which they are ready,
	// latest node first (insertion sort: a model has few parameters).
	order := t.allocInt32(len(params))
	for i := range params {
		k := i
		for k > 0 && first[params[order[k-1]].id] < first[params[i].id] {
			order[k] = order[k-1]
			k--
		}
		order[k] = int32(i)
	}
	for i, p := range params {
		if bufs[i] != nil {
			clear(bufs[i])
			t.grads[p.id] = tensor.New(p.Value.Shape(), bufs[i])
		}
	}
	t.used = true
	t.grad(loss).Data()[0] = 1
	next := 0
	fire := func(node int32) {
		for next < len(order) && first[params[order[next]].id] >= node {
			i := order[next]
			t.grad(params[i]) // a zero gradient for a parameter no op reached
			ready(int(i))
			next++
		}
	}
	for i := len(t.nodes) - 1; i >= 0; i-- {
		n := &t.nodes[i]
		if t.grads[n.out.id] != nil {
			n.back(t, n)
		}
		fire(int32(i))
	}
	fire(-1)
	return nil
}
