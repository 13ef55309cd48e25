package nn

import (
	"fmt"

	"github.com/strata-dl/strata/autograd"
)

// TransformerBlock is a pre-layer-norm Transformer block (Xiong et al.
// 2020; GPT-2's layout) over x [B, T, d]:
//
//	h = x + Dropout(MultiHeadAttention(LN₁(x)))
//	y = h + Dropout(W₂·act(W₁·LN₂(h) + b₁) + b₂)
//
// output [B, T, d]. With Causal false it is an encoder block (every
// position attends every other); with Causal true a decoder-only block
// (position t attends positions ≤ t), as in GPT. Heads have size
// d/NumHeads. Activation is a name of the activation vocabulary
// (autograd.Activations), applied by ff1: "gelu" (exact, the default),
// "gelu_tanh" (the tanh approximation), "silu" (also "swish"), "relu"
// and the rest. Layer norms use Epsilon (zero: 1e-5). Dropout (in
// training) follows the attention and the feed-forward network, and is
// applied to the attention probabilities too.
//
// The sub-layers are made on the first Forward: norm1, attention, norm2,
// ff1 (FFDim units, zero: 4·d), ff2.
type TransformerBlock struct {
	NumHeads   int     `json:"num_heads"`
	FFDim      int     `json:"ff_dim,omitempty"`
	Dropout    float32 `json:"dropout,omitempty"`
	Activation string  `json:"activation,omitempty"`
	Causal     bool    `json:"causal,omitempty"`
	Epsilon    float32 `json:"epsilon,omitempty"`
	Name       string  `json:"name,omitempty"`

	Norm1     *LayerNormalization
	Attention *MultiHeadAttention
	Norm2     *LayerNormalization
	FF1, FF2  *Dense
}

func (l *TransformerBlock) layerName() string     { return l.Name }
func (l *TransformerBlock) setLayerName(n string) { l.Name = n }

// Children returns norm1, attention, norm2, ff1 and ff2 once built.
func (l *TransformerBlock) Children() []Child {
	if l.Norm1 == nil {
		return nil
	}
	return []Child{{"norm1", l.Norm1}, {"attention", l.Attention}, {"norm2", l.Norm2}, {"ff1", l.FF1}, {"ff2", l.FF2}}
}

func (l *TransformerBlock) build(d int) {
	if l.NumHeads <= 0 || d%l.NumHeads != 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("num_heads %d must be positive and divide the model width %d", l.NumHeads, d)})
	}
	if !(l.Dropout >= 0 && l.Dropout < 1) || l.FFDim < 0 {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("dropout %v must be in [0, 1) and ff_dim %d not negative", l.Dropout, l.FFDim)})
	}
	ffAct := l.Activation
	if ffAct == "" {
		ffAct = "gelu"
	}
	if _, err := autograd.ResolveActivation(ffAct); err != nil {
		panic(&ConfigError{Layer: l.Name, Msg: err.Error()})
	}
	eps := l.Epsilon
	if eps == 0 {
		eps = 1e-5
	}
	ff := l.FFDim
	if ff == 0 {
		ff = 4 * d
	}
	l.Norm1 = &LayerNormalization{Epsilon: eps, Name: l.Name + ".norm1"}
	l.Attention = &MultiHeadAttention{NumHeads: l.NumHeads, KeyDim: d / l.NumHeads, Dropout: l.Dropout, Causal: l.Causal, Name: l.Name + ".attention"}
	l.Norm2 = &LayerNormalization{Epsilon: eps, Name: l.Name + ".norm2"}
	l.FF1 = &Dense{Units: ff, Activation: ffAct, Name: l.Name + ".ff1"}
	l.FF2 = &Dense{Units: d, Name: l.Name + ".ff2"}
}

// Forward applies the block to x [B, T, d].
func (l *TransformerBlock) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	return l.ForwardCached(c, x, nil)
}

// ForwardCached applies the block to the positions x [B, T, d] that follow
// the ones held in cache (nil: none), appending their keys and values to
// it: a decoder generating one position at a time feeds T = 1 and pays
// one attention row per layer.
func (l *TransformerBlock) ForwardCached(c *Ctx, x *autograd.Var, cache *KVCache) *autograd.Var {
	y, _ := l.forward(c, x, cache, false)
	return y
}

// ForwardScores is Forward that also returns the attention probabilities
// [B, NumHeads, T, T] of the block (for explanation, e.g. attention
// rollout); the attention then runs composed, forming the T×T scores.
func (l *TransformerBlock) ForwardScores(c *Ctx, x *autograd.Var) (y, scores *autograd.Var) {
	return l.forward(c, x, nil, true)
}

func (l *TransformerBlock) forward(c *Ctx, x *autograd.Var, cache *KVCache, withScores bool) (*autograd.Var, *autograd.Var) {
	s := x.Shape()
	if len(s) != 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: s, Msg: "TransformerBlock needs [batch, time, features]"})
	}
	if l.Norm1 == nil {
		l.build(s[2])
	}
	n := l.Norm1.Forward(c, x)
	a, scores := l.Attention.attend(c, n, n, n, AttendOptions{Cache: cache}, withScores)
	h := autograd.Add(x, l.dropout(c, a))
	f := l.FF1.Forward(c, l.Norm2.Forward(c, h)) // ff1 applies the activation
	y := autograd.Add(h, l.dropout(c, l.FF2.Forward(c, f)))
	c.trace(l.Name, "TransformerBlock", y, 0)
	return y, scores
}

func (l *TransformerBlock) dropout(c *Ctx, x *autograd.Var) *autograd.Var {
	if c == nil || !c.Training || l.Dropout == 0 {
		return x
	}
	return (&Dropout{Rate: l.Dropout, Name: l.Name + ".dropout"}).Forward(c, x)
}
