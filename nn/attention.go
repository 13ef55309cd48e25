package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// MultiHeadAttention is Keras's MultiHeadAttention (Vaswani et al. 2017):
// the query [B, Tq, dq], value [B, Tv, dv] and key [B, Tv, dk] (the value
// when not given) are projected to NumHeads heads,
//
//	Q = query·Wq + bq  [B, Tq, H, KeyDim],  K = key·Wk + bk  [B, Tv, H, KeyDim]
//	V = value·Wv + bv  [B, Tv, H, ValueDim]
//	O_h = softmax(Q_h·K_hᵀ/√KeyDim + mask)·V_h
//	out = Σ_h O_h·Wo_h + bo  [B, Tq, OutputDim]
//
// with Keras's weight layouts: query, key and value kernels
// [d, NumHeads, KeyDim] (value: ValueDim), biases [NumHeads, KeyDim],
// output kernel [NumHeads, ValueDim, OutputDim] and bias [OutputDim].
// Kernels are Glorot-uniform with Keras's fans for these shapes, biases 0.
//
// Forward(c, x) is self-attention (query = value = key = x), causal when
// Causal is set. Attend takes the query, value and key apart
// (cross-attention), a mask and a key/value cache; AttendScores also
// returns the attention probabilities [B, H, Tq, Tv].
//
// The attention runs as the fused autograd.Attention, which never holds
// the Tq×Tv scores, except when the probabilities are asked for or
// dropout on them is active (training with Dropout > 0): then it is
// composed from MatMul and Softmax. Zero values: ValueDim = KeyDim,
// OutputDim = the query's features, with biases.
type MultiHeadAttention struct {
	NumHeads  int     `json:"num_heads"`
	KeyDim    int     `json:"key_dim"`
	ValueDim  int     `json:"value_dim,omitempty"`
	OutputDim int     `json:"output_dim,omitempty"`
	Dropout   float32 `json:"dropout,omitempty"` // on the attention probabilities, in training
	NoBias    bool    `json:"no_bias,omitempty"` // Keras use_bias=False
	Causal    bool    `json:"causal,omitempty"`  // Forward applies the causal mask
	Name      string  `json:"name,omitempty"`

	QueryKernel, QueryBias   *autograd.Var
	KeyKernel, KeyBias       *autograd.Var
	ValueKernel, ValueBias   *autograd.Var
	OutputKernel, OutputBias *autograd.Var
}

func (l *MultiHeadAttention) layerName() string     { return l.Name }
func (l *MultiHeadAttention) setLayerName(n string) { l.Name = n }

// Weights returns the kernels and biases with Keras's names
// (query.kernel, query.bias, key.…, value.…, attention_output.…).
func (l *MultiHeadAttention) Weights() []Weight {
	return []Weight{
		{"query.kernel", l.QueryKernel, true, nil}, {"query.bias", l.QueryBias, true, nil},
		{"key.kernel", l.KeyKernel, true, nil}, {"key.bias", l.KeyBias, true, nil},
		{"value.kernel", l.ValueKernel, true, nil}, {"value.bias", l.ValueBias, true, nil},
		{"attention_output.kernel", l.OutputKernel, true, nil}, {"attention_output.bias", l.OutputBias, true, nil},
	}
}

func (l *MultiHeadAttention) valueDim() int {
	if l.ValueDim == 0 {
		return l.KeyDim
	}
	return l.ValueDim
}

// einsumKernel returns a Glorot-uniform kernel of the given shape with
// Keras's fans for a kernel of rank > 2 (receptive field = product of all
// but the last two axes).
func einsumKernel(rng *rand.Rand, name string, shape ...int) *autograd.Var {
	k := tensor.Zeros(shape...)
	rf := 1
	for _, d := range shape[:len(shape)-2] {
		rf *= d
	}
	fin, fout := shape[len(shape)-2]*rf, shape[len(shape)-1]*rf
	uniform(rng, k, math.Sqrt(6/float64(fin+fout)))
	return autograd.NewParam(name, k)
}

func (l *MultiHeadAttention) build(c *Ctx, dq, dv, dk int) {
	if l.NumHeads <= 0 || l.KeyDim <= 0 || l.ValueDim < 0 || l.OutputDim < 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("num_heads %d and key_dim %d must be positive, value_dim %d and output_dim %d not negative", l.NumHeads, l.KeyDim, l.ValueDim, l.OutputDim)})
	}
	if !(l.Dropout >= 0 && l.Dropout < 1) {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("dropout %v must be in [0, 1)", l.Dropout)})
	}
	h, kd, vd := l.NumHeads, l.KeyDim, l.valueDim()
	od := l.OutputDim
	if od == 0 {
		od = dq
	}
	rng := c.buildRNG(l.Name)
	l.QueryKernel = einsumKernel(rng, l.Name+".query.kernel", dq, h, kd)
	l.KeyKernel = einsumKernel(rng, l.Name+".key.kernel", dk, h, kd)
	l.ValueKernel = einsumKernel(rng, l.Name+".value.kernel", dv, h, vd)
	l.OutputKernel = einsumKernel(rng, l.Name+".attention_output.kernel", h, vd, od)
	if !l.NoBias {
		l.QueryBias = autograd.NewParam(l.Name+".query.bias", tensor.Zeros(h, kd))
		l.KeyBias = autograd.NewParam(l.Name+".key.bias", tensor.Zeros(h, kd))
		l.ValueBias = autograd.NewParam(l.Name+".value.bias", tensor.Zeros(h, vd))
		l.OutputBias = autograd.NewParam(l.Name+".attention_output.bias", tensor.Zeros(od))
	}
}

// Forward is self-attention of x [B, T, d]: Attend(c, x, x, x, {}), with
// the causal mask when Causal is set. Output [B, T, OutputDim].
func (l *MultiHeadAttention) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	y, _ := l.attend(c, x, x, x, AttendOptions{}, false)
	return y
}

// AttendOptions are the optional inputs of MultiHeadAttention.Attend.
type AttendOptions struct {
	// Mask [B, Tq, Tv] lets query i attend key j only where it is nonzero
	// (Keras's attention_mask).
	Mask *tensor.Tensor
	// Causal applies the causal mask (Keras's use_causal_mask), also when
	// the layer's Causal is not set.
	Causal bool
	// Cache, when set, holds the keys and values of earlier positions:
	// the new ones are projected, appended, and the query attends all of
	// them (incremental decoding; inference only).
	Cache *KVCache
}

// KVCache keeps the projected keys and values of the positions a decoder
// has seen, so that each new position costs one projection and one
// attention row instead of rerunning the whole prefix. The zero value is
// an empty cache. Batch 1 is stored in place; larger batches are copied
// per step.
type KVCache struct {
	K, V *tensor.Tensor // [B, capacity, H, KeyDim] and [B, capacity, H, ValueDim]
	Len  int            // positions stored
}

// Reset empties the cache, keeping its buffers.
func (c *KVCache) Reset() { c.Len = 0 }

// Attend computes attention of query [B, Tq, dq] over value [B, Tv, dv]
// and key [B, Tv, dk] (nil: the value). Output [B, Tq, OutputDim]. It
// panics with a *ShapeError on disagreeing shapes.
func (l *MultiHeadAttention) Attend(c *Ctx, query, value, key *autograd.Var, o AttendOptions) *autograd.Var {
	y, _ := l.attend(c, query, value, key, o, false)
	return y
}

// AttendScores is Attend that also returns the attention probabilities
// [B, H, Tq, Tv] (Keras's return_attention_scores), through the composed
// path.
func (l *MultiHeadAttention) AttendScores(c *Ctx, query, value, key *autograd.Var, o AttendOptions) (out, scores *autograd.Var) {
	return l.attend(c, query, value, key, o, true)
}

func (l *MultiHeadAttention) attend(c *Ctx, query, value, key *autograd.Var, o AttendOptions, scores bool) (*autograd.Var, *autograd.Var) {
	if key == nil {
		key = value
	}
	qs, vs, ks := query.Shape(), value.Shape(), key.Shape()
	if len(qs) != 3 || len(vs) != 3 || len(ks) != 3 || vs[0] != qs[0] || ks[0] != qs[0] || ks[1] != vs[1] {
		panic(&ShapeError{Layer: l.Name, Got: qs, Want: []int{-1, -1, -1}, Msg: fmt.Sprintf("query, value and key must be [batch, time, features] with one batch and key length = value length; got query %v, value %v, key %v", qs, vs, ks)})
	}
	if l.QueryKernel == nil {
		l.build(c, qs[2], vs[2], ks[2])
	}
	h, kd, vd := l.NumHeads, l.KeyDim, l.valueDim()
	for _, w := range []struct {
		name string
		got  int
		k    *autograd.Var
	}{{"query", qs[2], l.QueryKernel}, {"value", vs[2], l.ValueKernel}, {"key", ks[2], l.KeyKernel}} {
		if w.got != w.k.Value.Dim(0) {
			panic(&ShapeError{Layer: l.Name, Got: qs, Want: []int{-1, -1, w.k.Value.Dim(0)}, Msg: fmt.Sprintf("%s has %d features, the layer was built for %d", w.name, w.got, w.k.Value.Dim(0))})
		}
	}
	B, Tq := qs[0], qs[1]
	// Projections stay [B, T, H·size] (the fused attention splits the
	// heads itself); the cache and the composed path take [B, T, H, size].
	q := project(query, l.QueryKernel, l.QueryBias, h, kd)
	k := project(key, l.KeyKernel, l.KeyBias, h, kd)
	v := project(value, l.ValueKernel, l.ValueBias, h, vd)
	split := func(x *autograd.Var, s int) *autograd.Var {
		xs := x.Shape()
		return autograd.Reshape(x, xs[0], xs[1], h, s)
	}
	ao := autograd.AttentionOptions{Causal: l.Causal || o.Causal, Mask: o.Mask, Scale: float32(1 / math.Sqrt(float64(kd))), Heads: h}
	if o.Cache != nil {
		k, v = o.Cache.append(split(k, kd), split(v, vd))
		q, ao.Heads = split(q, kd), 0
	}
	if o.Mask != nil && (o.Mask.Rank() != 3 || o.Mask.Dim(0) != B || o.Mask.Dim(1) != Tq || o.Mask.Dim(2) != k.Shape()[1]) {
		panic(&ShapeError{Layer: l.Name, Got: o.Mask.Shape(), Want: []int{B, Tq, k.Shape()[1]}, Msg: "attention mask must be [batch, query time, key time]"})
	}
	drop := c != nil && c.Training && l.Dropout > 0
	var att, probs *autograd.Var
	if scores || drop {
		var dropFn func(*autograd.Var) *autograd.Var
		if drop {
			d := &Dropout{Rate: l.Dropout, Name: l.Name + ".dropout"}
			dropFn = func(p *autograd.Var) *autograd.Var { return d.Forward(c, p) }
		}
		if ao.Heads > 0 {
			q, k, v, ao.Heads = split(q, kd), split(k, kd), split(v, vd), 0
		}
		att, probs = autograd.AttentionComposed(q, k, v, ao, dropFn)
	} else {
		att = autograd.Attention(q, k, v, ao)
	}
	od := l.OutputKernel.Value.Dim(2)
	wo := autograd.Reshape(l.OutputKernel, h*vd, od)
	if att.Value.Rank() == 4 {
		att = autograd.Reshape(att, B, Tq, h*vd)
	}
	y := autograd.Dense(att, wo, l.OutputBias, autograd.Activation{})
	c.trace(l.Name, "MultiHeadAttention", y, numel(l.QueryKernel, l.QueryBias, l.KeyKernel, l.KeyBias, l.ValueKernel, l.ValueBias, l.OutputKernel, l.OutputBias))
	return y, probs
}

// project computes x·W + b for x [B, T, d], W [d, H, S], b [H, S] and
// returns [B, T, H·S] (one GEMM; the weights' reshapes are views).
func project(x, w, b *autograd.Var, h, s int) *autograd.Var {
	xs := x.Shape()
	wk := autograd.Reshape(w, xs[2], h*s)
	var bias *autograd.Var
	if b != nil {
		bias = autograd.Reshape(b, h*s)
	}
	return autograd.Dense(x, wk, bias, autograd.Activation{})
}

// append stores the new keys k and values v [B, T, H, S] after the
// cached ones and returns all of them as constants.
func (c *KVCache) append(k, v *autograd.Var) (*autograd.Var, *autograd.Var) {
	ks, vs := k.Shape(), v.Shape()
	b, t, h := ks[0], ks[1], ks[2]
	if c.K != nil && (c.K.Dim(0) != b || c.K.Dim(2) != h || c.K.Dim(3) != ks[3] || c.V.Dim(3) != vs[3]) {
		panic(&ShapeError{Layer: "kv_cache", Got: ks, Want: c.K.Shape(), Msg: "keys do not match the cache (call Reset between sequences)"})
	}
	need := c.Len + t
	if c.K == nil || c.K.Dim(1) < need {
		capacity := max(need, 2*c.lenCap(), 64)
		nk, nv := tensor.Zeros(b, capacity, h, ks[3]), tensor.Zeros(b, capacity, h, vs[3])
		if c.K != nil {
			copyRows(nk, c.K, 0, c.Len)
			copyRows(nv, c.V, 0, c.Len)
		}
		c.K, c.V = nk, nv
	}
	copyRowsFrom(c.K, k.Value, c.Len)
	copyRowsFrom(c.V, v.Value, c.Len)
	c.Len = need
	return autograd.Const(c.prefix(c.K)), autograd.Const(c.prefix(c.V))
}

func (c *KVCache) lenCap() int {
	if c.K == nil {
		return 0
	}
	return c.K.Dim(1)
}

// prefix returns the first Len positions of buf [B, capacity, H, S]: a
// view for batch 1, a copy otherwise.
func (c *KVCache) prefix(buf *tensor.Tensor) *tensor.Tensor {
	s := buf.Shape()
	row := s[2] * s[3]
	if s[0] == 1 {
		return tensor.New([]int{1, c.Len, s[2], s[3]}, buf.Data()[:c.Len*row])
	}
	out := tensor.Zeros(s[0], c.Len, s[2], s[3])
	copyRows(out, buf, 0, c.Len)
	return out
}

// copyRows copies positions [lo, hi) of src into dst, both [B, T, H, S].
func copyRows(dst, src *tensor.Tensor, lo, hi int) {
	row := src.Dim(2) * src.Dim(3)
	for b := range src.Dim(0) {
		copy(dst.Data()[(b*dst.Dim(1)+lo)*row:(b*dst.Dim(1)+hi)*row], src.Data()[(b*src.Dim(1)+lo)*row:(b*src.Dim(1)+hi)*row])
	}
}

// copyRowsFrom copies all positions of src [B, t, H, S] into dst at
// position at.
func copyRowsFrom(dst, src *tensor.Tensor, at int) {
	row := src.Dim(2) * src.Dim(3)
	t := src.Dim(1)
	for b := range src.Dim(0) {
		copy(dst.Data()[(b*dst.Dim(1)+at)*row:(b*dst.Dim(1)+at+t)*row], src.Data()[b*t*row:(b+1)*t*row])
	}
}
