package nn

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// PositionEmbedding adds a learned embedding of each position to its
// input: y[b, t, :] = x[b, t, :] + P[t, :] for x [B, T, d] with
// T ≤ MaxLength; embeddings P [MaxLength, d], initialized
// Glorot-uniform (as keras_hub's PositionEmbedding, which returns P
// alone; this layer adds it so that it can sit in a Sequential).
type PositionEmbedding struct {
	MaxLength int    `json:"max_length"`
	Name      string `json:"name,omitempty"`

	Embeddings *autograd.Var
}

func (l *PositionEmbedding) layerName() string     { return l.Name }
func (l *PositionEmbedding) setLayerName(n string) { l.Name = n }

// Weights returns the embeddings.
func (l *PositionEmbedding) Weights() []Weight {
	return []Weight{{"embeddings", l.Embeddings, true, nil}}
}

// Forward returns x + P[:T].
func (l *PositionEmbedding) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	return l.ForwardAt(c, x, 0)
}

// ForwardAt returns x + P[start : start+T], for a decoder that feeds the
// positions after the first start ones (with a KVCache).
func (l *PositionEmbedding) ForwardAt(c *Ctx, x *autograd.Var, start int) *autograd.Var {
	s := x.Shape()
	if len(s) != 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: s, Msg: "PositionEmbedding needs [batch, time, features]"})
	}
	if l.Embeddings == nil {
		if l.MaxLength <= 0 {
			panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("max_length %d must be positive", l.MaxLength)})
		}
		p := tensor.Zeros(l.MaxLength, s[2])
		GlorotUniform{}.Init(c.buildRNG(l.Name), p, l.MaxLength, s[2])
		l.Embeddings = autograd.NewParam(l.Name+".embeddings", p)
	}
	maxLen, d := l.Embeddings.Value.Dim(0), l.Embeddings.Value.Dim(1)
	if s[2] != d || start < 0 || start+s[1] > maxLen {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, maxLen - start, d}, Got: s, Msg: fmt.Sprintf("positions %d to %d of at most %d with %d features", start, start+s[1], maxLen, d)})
	}
	p := l.Embeddings
	if start != 0 || s[1] != maxLen {
		p = autograd.SliceAxis(p, 0, start, start+s[1])
	}
	y := autograd.Add(x, p)
	c.trace(l.Name, "PositionEmbedding", y, numel(l.Embeddings))
	return y
}

// SinusoidalPositionEncoding adds the fixed encoding of Vaswani et al.
// (2017) to its input x [B, T, d]:
//
//	PE[t, 2i] = sin(t / W^(2i/d)),  PE[t, 2i+1] = cos(t / W^(2i/d))
//
// with W = MaxWavelength (zero: 10000), as keras_hub's
// SinePositionEncoding (which returns PE alone; this layer adds it). It
// has no weights.
type SinusoidalPositionEncoding struct {
	MaxWavelength float64 `json:"max_wavelength,omitempty"`
	Name          string  `json:"name,omitempty"`

	table *tensor.Tensor // [T, d] computed for the longest T seen
}

func (l *SinusoidalPositionEncoding) layerName() string     { return l.Name }
func (l *SinusoidalPositionEncoding) setLayerName(n string) { l.Name = n }

// Forward returns x + PE[:T].
func (l *SinusoidalPositionEncoding) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	return l.ForwardAt(c, x, 0)
}

// ForwardAt returns x + PE[start : start+T].
func (l *SinusoidalPositionEncoding) ForwardAt(c *Ctx, x *autograd.Var, start int) *autograd.Var {
	s := x.Shape()
	if len(s) != 3 || start < 0 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: s, Msg: "SinusoidalPositionEncoding needs [batch, time, features] and a start ≥ 0"})
	}
	T, d := start+s[1], s[2]
	if l.table == nil || l.table.Dim(0) < T || l.table.Dim(1) != d {
		l.table = SinusoidalTable(max(T, 2*l.lenOr0()), d, l.MaxWavelength)
	}
	pe := tensor.New([]int{s[1], d}, l.table.Data()[start*d:T*d])
	y := autograd.Add(x, autograd.Const(pe))
	c.trace(l.Name, "SinusoidalPositionEncoding", y, 0)
	return y
}

func (l *SinusoidalPositionEncoding) lenOr0() int {
	if l.table == nil {
		return 0
	}
	return l.table.Dim(0)
}

// SinusoidalTable returns the encoding PE [T, d] of
// SinusoidalPositionEncoding (maxWavelength 0: 10000).
func SinusoidalTable(T, d int, maxWavelength float64) *tensor.Tensor {
	if maxWavelength == 0 {
		maxWavelength = 10000
	}
	pe := tensor.Zeros(T, d)
	for t := range T {
		for i := 0; i < d; i += 2 {
			f := float64(t) / math.Pow(maxWavelength, float64(i)/float64(d))
			pe.Data()[t*d+i] = float32(math.Sin(f))
			if i+1 < d {
				pe.Data()[t*d+i+1] = float32(math.Cos(f))
			}
		}
	}
	return pe
}
