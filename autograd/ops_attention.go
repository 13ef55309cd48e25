package autograd

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// AttentionOptions configure Attention and AttentionComposed. The zero
// value is unmasked attention scaled by 1/√D.
type AttentionOptions struct {
	// Scale multiplies the dot products q·k; 0 means 1/√D.
	Scale float32
	// Causal lets query i attend only keys j ≤ i + Tk − Tq (the causal
	// mask aligned at the end, so a single query after Tk−1 cached keys
	// sees all of them).
	Causal bool
	// Mask [B, Tq, Tk], when set, lets query i attend key j only where
	// Mask is nonzero (Keras's attention_mask), for every head.
	Mask *tensor.Tensor
	// Heads, when set, says that q, k and v are [B, T, Heads·size]: the
	// heads side by side in the last axis, as one projection makes them
	// (the same memory as [B, T, Heads, size], without a Reshape whose
	// backward would copy the gradient); the output is then
	// [B, Tq, Heads·Dv]. Attention only.
	Heads int
}

// attnGeom checks the operands of an attention op and returns its
// geometry.
func attnGeom(op string, q, k, v *Var, o AttentionOptions) kernels.AttentionGeom {
	qs, ks, vs := q.Value.Shape(), k.Value.Shape(), v.Value.Shape()
	if h := o.Heads; h > 0 {
		if len(qs) != 3 || len(ks) != 3 || len(vs) != 3 || qs[2]%h != 0 || ks[2]%h != 0 || vs[2]%h != 0 {
			panic(&tensor.ShapeError{Op: op, Got: qs, Msg: fmt.Sprintf("with %d heads, query, key and value must be [batch, time, heads·size], got %v, %v and %v", h, qs, ks, vs)})
		}
		qs, ks, vs = []int{qs[0], qs[1], h, qs[2] / h}, []int{ks[0], ks[1], h, ks[2] / h}, []int{vs[0], vs[1], h, vs[2] / h}
	}
	if len(qs) != 4 || len(ks) != 4 || len(vs) != 4 {
		panic(&tensor.ShapeError{Op: op, Got: qs, Msg: fmt.Sprintf("query, key and value must be [batch, time, heads, size], got %v, %v and %v", qs, ks, vs)})
	}
	if ks[0] != qs[0] || vs[0] != qs[0] || ks[2] != qs[2] || vs[2] != qs[2] || ks[3] != qs[3] || vs[1] != ks[1] {
		panic(&tensor.ShapeError{Op: op, Got: ks, Msg: fmt.Sprintf("query %v, key %v and value %v disagree (batch and heads must match, key size must match the query's, key and value must have the same length)", qs, ks, vs)})
	}
	g := kernels.AttentionGeom{B: qs[0], Tq: qs[1], H: qs[2], D: qs[3], Tk: ks[1], Dv: vs[3], Scale: o.Scale, Causal: o.Causal}
	if g.Scale == 0 {
		g.Scale = float32(1 / math.Sqrt(float64(max(g.D, 1))))
	}
	if o.Mask != nil {
		if want := []int{g.B, g.Tq, g.Tk}; !equalInts(o.Mask.Shape(), want) {
			panic(&tensor.ShapeError{Op: op, Got: o.Mask.Shape(), Want: want, Msg: "attention mask must be [batch, query time, key time]"})
		}
	}
	return g
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Attention returns the scaled-dot-product attention of queries
// q [B, Tq, H, D] over keys k [B, Tk, H, D] and values v [B, Tk, H, Dv],
// head by head:
//
//	out[b,i,h,:] = Σ_j softmax_j(Scale·q[b,i,h,:]·k[b,j,h,:] + mask)·v[b,j,h,:]
//
// output [B, Tq, H, Dv] (with o.Heads, all of them [B, T, H·size]). A
// query that may attend no key gets a zero row.
//
// It is one fused op (FlashAttention's tiling and online softmax, see
// kernels.AttentionForward): neither the forward nor the backward pass
// holds the Tq×Tk scores, only q, k, v, the output and one log-sum-exp per
// query row, except that a recording tape keeps the probabilities when
// they are few (kernels.AttentionProbsLen: at most 16 MiB, Tk ≤ 256).
// Backward (recomputing the probabilities p tile by tile, or reading the
// kept ones):
//
//	∂L/∂v = pᵀ·∂L/∂out;  ∂L/∂s = p ⊙ (∂L/∂out·vᵀ − rowsum(∂L/∂out ⊙ out))
//	∂L/∂q = Scale·∂L/∂s·k;  ∂L/∂k = Scale·∂L/∂sᵀ·q
//
// AttentionComposed is the same function from primitives. Attention
// panics with a *tensor.ShapeError when the shapes disagree.
func Attention(q, k, v *Var, o AttentionOptions) *Var {
	g := attnGeom("Attention", q, k, v, o)
	t := tapeOf(q, k, v)
	shape := []int{g.B, g.Tq, g.H, g.Dv}
	if o.Heads > 0 {
		shape = []int{g.B, g.Tq, g.H * g.Dv}
	}
	out := alloc(t, shape)
	// The record: the log-sum-exp of each query row [B·H·Tq], then, when
	// the tape records and the kernel can keep them, the probabilities
	// [B·H·Tq·Tk] that spare the backward pass recomputing them.
	nl := g.B * g.H * g.Tq
	var lse *tensor.Tensor
	if t != nil && !t.infer {
		lse = t.Alloc(nl + kernels.AttentionProbsLen(g))
	} else if t != nil {
		lse = t.Alloc(nl)
	} else {
		lse = tensor.Zeros(nl)
	}
	var mask []float32
	if o.Mask != nil {
		mask = o.Mask.Data()
	}
	ls, probs := attnRecord(lse, nl)
	kernels.AttentionForward(g, q.Value.Data(), k.Value.Data(), v.Value.Data(), mask, out.Data(), ls, probs)
	n := node{back: backAttention, in: [3]*Var{q, k, v}, saved: [2]*tensor.Tensor{lse, o.Mask}, f: [2]float32{g.Scale}}
	if g.Causal {
		n.ints[0] = 1
	}
	n.ints[1] = o.Heads
	return result(t, out, n)
}

// attnRecord splits an attention record into the log-sum-exp (nl floats)
// and the kept probabilities (nil when none were kept).
func attnRecord(rec *tensor.Tensor, nl int) (lse, probs []float32) {
	d := rec.Data()
	if len(d) > nl {
		return d[:nl], d[nl:]
	}
	return d[:nl], nil
}

// Named views of an attention node's record.
func (n *node) attnLSE() *tensor.Tensor  { return n.saved[0] }
func (n *node) attnMask() *tensor.Tensor { return n.saved[1] }
func (n *node) attnScale() float32       { return n.f[0] }
func (n *node) attnCausal() bool         { return n.ints[0] == 1 }
func (n *node) attnHeads() int           { return n.ints[1] }

// backAttention hands the kernel gradient buffers to set (Overwrite) when
// none of q, k and v has a gradient yet, the usual case; otherwise it
// zeroes the new ones and the kernel adds to all three.
func backAttention(t *Tape, n *node) {
	q, k, v := n.in[0], n.in[1], n.in[2]
	g := attnGeom("Attention", q, k, v, AttentionOptions{Scale: n.attnScale(), Causal: n.attnCausal(), Mask: n.attnMask(), Heads: n.attnHeads()})
	grads := [3][]float32{}
	var fresh [3]bool
	g.Overwrite = true
	for i, x := range []*Var{q, k, v} {
		gx, acc := t.gradOut(x)
		if gx == nil { // not tracked: a scratch the kernel may write
			gx = t.Alloc(x.Value.Shape()...)
		}
		grads[i], fresh[i] = gx.Data(), !acc
		g.Overwrite = g.Overwrite && !acc
	}
	if !g.Overwrite {
		for i, f := range fresh {
			if f {
				clear(grads[i])
			}
		}
	}
	var mask []float32
	if m := n.attnMask(); m != nil {
		mask = m.Data()
	}
	lse, probs := attnRecord(n.attnLSE(), g.B*g.H*g.Tq)
	kernels.AttentionBackward(g, q.Value.Data(), k.Value.Data(), v.Value.Data(), mask, n.out.Value.Data(), lse, probs,
		t.grads[n.out.id].Data(), grads[0], grads[1], grads[2])
}

// AttentionComposed computes what Attention does from primitive ops
// (MatMul, Softmax, MatMul), forming the scores [B, H, Tq, Tk], and also
// returns the attention probabilities [B, H, Tq, Tk] (for explanation,
// or for dropout on them: drop, when not nil, is applied to the
// probabilities before they weight the values). Masked scores get −10⁹
// before the softmax, as in Keras, so a query that may attend no key
// averages all values (Attention gives a zero row there).
func AttentionComposed(q, k, v *Var, o AttentionOptions, drop func(p *Var) *Var) (out, probs *Var) {
	g := attnGeom("AttentionComposed", q, k, v, o)
	qh := Transpose(q, 0, 2, 1, 3) // [B, H, Tq, D]
	kh := Transpose(k, 0, 2, 1, 3)
	vh := Transpose(v, 0, 2, 1, 3)
	s := Scale(MatMul(qh, kh, false, true), g.Scale) // [B, H, Tq, Tk]
	if o.Mask != nil || o.Causal {
		bias := tensor.Zeros(g.B, 1, g.Tq, g.Tk)
		bd := bias.Data()
		for b := range g.B {
			for i := range g.Tq {
				for j := range g.Tk {
					at := (b*g.Tq+i)*g.Tk + j
					if (o.Causal && j > i+g.Tk-g.Tq) || (o.Mask != nil && o.Mask.Data()[at] == 0) {
						bd[at] = -1e9
					}
				}
			}
		}
		s = Add(s, Const(bias))
	}
	probs = Softmax(s, -1)
	p := probs
	if drop != nil {
		p = drop(p)
	}
	out = Transpose(MatMul(p, vh, false, false), 0, 2, 1, 3) // [B, Tq, H, Dv]
	return out, probs
}
