package zoo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// GPTOptions configure NewGPT. Zero values mean the defaults in brackets.
type GPTOptions struct {
	Vocab      int     `json:"vocab"`                // tokens in the vocabulary (required)
	Context    int     `json:"context"`              // longest sequence, positions learned [128]
	DModel     int     `json:"d_model"`              // width of the residual stream [128]
	Layers     int     `json:"layers"`               // Transformer blocks [4]
	Heads      int     `json:"heads"`                // attention heads per block [4]
	FFDim      int     `json:"ff_dim"`               // feed-forward width [4·DModel]
	Dropout    float32 `json:"dropout,omitempty"`    // in training [0]
	Activation string  `json:"activation,omitempty"` // of the feed-forward network ["gelu"]
}

// WithDefaults returns o with its zero values replaced by the defaults.
func (o GPTOptions) WithDefaults() GPTOptions {
	o.Context = orDefault(o.Context, 128)
	o.DModel = orDefault(o.DModel, 128)
	o.Layers = orDefault(o.Layers, 4)
	o.Heads = orDefault(o.Heads, 4)
	o.FFDim = orDefault(o.FFDim, 4*o.DModel)
	o.Activation = orDefault(o.Activation, "gelu")
	return o
}

// Validate reports options that cannot make a model.
func (o GPTOptions) Validate() error {
	d := o.WithDefaults()
	switch {
	case o.Vocab < 1:
		return fmt.Errorf("gpt: vocabulary of %d tokens (want at least 1)", o.Vocab)
	case o.Context < 0 || o.DModel < 0 || o.Layers < 0 || o.Heads < 0 || o.FFDim < 0:
		return fmt.Errorf("gpt: context %d, d_model %d, layers %d, heads %d and ff_dim %d must not be negative", o.Context, o.DModel, o.Layers, o.Heads, o.FFDim)
	case d.DModel%d.Heads != 0:
		return fmt.Errorf("gpt: %d heads do not divide d_model %d", d.Heads, d.DModel)
	case !(o.Dropout >= 0 && o.Dropout < 1):
		return fmt.Errorf("gpt: dropout %v must be in [0, 1)", o.Dropout)
	}
	if _, err := autograd.ResolveActivation(d.Activation); err != nil {
		return fmt.Errorf("gpt: %w", err)
	}
	return nil
}

// GPT is a decoder-only Transformer language model (Radford et al. 2018,
// GPT-2's pre-layer-norm layout) over token ids x [batch, time]:
//
//	h₀ = E[x_t] + P[t];  h_l = Block_l(h_{l−1}) (causal);
//	p(x_{t+1} | x_≤t) = softmax(LN(h_L)·W + b)
//
// output [batch, time, vocab], time ≤ Context. Train it, like CharLM, with
// losses.SparseCategoricalCrossentropy against the next tokens.
//
// Weights: embedding.embeddings, position_embedding.embeddings,
// block_0.norm1.gamma, block_0.attention.query.kernel, …, norm.gamma,
// norm.beta, head.kernel, head.bias.
type GPT struct {
	Embedding *nn.Embedding
	Position  *nn.PositionEmbedding
	Blocks    []*nn.TransformerBlock
	Norm      *nn.LayerNormalization
	Head      *nn.Dense
	Options   GPTOptions
}

// NewGPT returns an unbuilt GPT; see GPTOptions. Build it for inputs of
// shape [Context] (any length up to Context runs once built).
func NewGPT(o GPTOptions) (*GPT, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	m := &GPT{
		Embedding: &nn.Embedding{Name: "embedding", InputDim: o.Vocab, OutputDim: o.DModel, EmbeddingsInitializer: nn.RandomNormal{Stddev: 0.02}},
		Position:  &nn.PositionEmbedding{Name: "position_embedding", MaxLength: o.Context},
		Norm:      &nn.LayerNormalization{Name: "norm", Epsilon: 1e-5},
		Head:      &nn.Dense{Name: "head", Units: o.Vocab, Activation: "softmax"},
		Options:   o,
	}
	for i := range o.Layers {
		m.Blocks = append(m.Blocks, &nn.TransformerBlock{Name: fmt.Sprintf("block_%d", i), NumHeads: o.Heads, FFDim: o.FFDim,
			Dropout: o.Dropout, Activation: o.Activation, Causal: true})
	}
	return m, nil
}

// Children returns the layers in order with their names.
func (m *GPT) Children() []nn.Child {
	out := []nn.Child{{Name: "embedding", Layer: m.Embedding}, {Name: "position_embedding", Layer: m.Position}}
	for _, b := range m.Blocks {
		out = append(out, nn.Child{Name: b.Name, Layer: b})
	}
	return append(out, nn.Child{Name: "norm", Layer: m.Norm}, nn.Child{Name: "head", Layer: m.Head})
}

// Forward returns the next-token probabilities [batch, time, vocab] for
// token ids x [batch, time].
func (m *GPT) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return m.Head.Forward(c, m.hidden(c, x, nil, 0))
}

// hidden runs x [batch, time] at positions start… through the blocks,
// with one cache per block (nil: none), and returns LN(h_L).
func (m *GPT) hidden(c *nn.Ctx, x *autograd.Var, caches []nn.KVCache, start int) *autograd.Var {
	if s := x.Shape(); len(s) != 2 || start+s[1] > m.Options.Context {
		panic(&nn.ShapeError{Layer: "gpt", Got: s, Want: []int{-1, m.Options.Context - start}, Msg: fmt.Sprintf("token ids must be [batch, time] with at most %d positions", m.Options.Context)})
	}
	h := m.Position.ForwardAt(c, m.Embedding.Forward(c, x), start)
	for i, b := range m.Blocks {
		var cache *nn.KVCache
		if caches != nil {
			cache = &caches[i]
		}
		h = b.ForwardCached(c, h, cache)
	}
	return m.Norm.Forward(c, h)
}

// GPTSampler generates text from a GPT one token at a time with a
// key/value cache per block: token t costs one attention row over the t
// cached positions (O(t)), not a pass over the whole prefix (O(t²)). When
// the context fills up it keeps the last half and recomputes their cache
// once. A GPTSampler is not safe for concurrent use.
type GPTSampler struct {
	m       *GPT
	caches  []nn.KVCache
	history []int32 // ids whose keys and values are in the caches
	logits  []float64
	probs   []float64
}

// NewSampler returns a sampler at the start of a text.
func (m *GPT) NewSampler() *GPTSampler {
	return &GPTSampler{m: m, caches: make([]nn.KVCache, len(m.Blocks)), probs: make([]float64, m.Options.Vocab)}
}

// Feed runs ids through the network after what was fed before and keeps
// the distribution of the token that follows. An id out of [0, vocab) is
// an error.
func (s *GPTSampler) Feed(ids []int32) (err error) {
	if len(ids) == 0 {
		return errors.New("gpt: nothing to feed")
	}
	defer func() {
		if r := recover(); r != nil {
			err = nn.AsError(r)
		}
	}()
	for i, id := range ids {
		if id < 0 || int(id) >= s.m.Options.Vocab {
			return fmt.Errorf("gpt: token id %d at %d is outside [0, %d)", id, i, s.m.Options.Vocab)
		}
	}
	ctxLen := s.m.Options.Context
	if len(s.history)+len(ids) > ctxLen { // slide: keep the last half of the context
		all := append(append([]int32(nil), s.history...), ids...)
		keep := max(ctxLen/2, 1)
		if len(ids) > keep {
			keep = min(len(ids), ctxLen)
		}
		ids = all[len(all)-keep:]
		s.history = s.history[:0]
		for i := range s.caches {
			s.caches[i].Reset()
		}
	}
	x := tensor.Zeros(1, len(ids))
	for i, id := range ids {
		x.Data()[i] = float32(id)
	}
	h := s.m.hidden(&nn.Ctx{}, autograd.Const(x), s.caches, len(s.history))
	s.history = append(s.history, ids...)
	last := autograd.SliceAxis(h, 1, len(ids)-1, len(ids))
	y := s.m.Head.Forward(&nn.Ctx{}, last)
	z := y
	if lg, kind := y.Logits(); kind == autograd.FromSoftmax {
		z = lg
	}
	s.logits = s.logits[:0]
	for _, v := range z.Value.Data() {
		if z == y {
			v = float32(math.Log(max(float64(v), 1e-30)))
		}
		s.logits = append(s.logits, float64(v))
	}
	return nil
}

// Probs returns the distribution of the next token at temperature T > 0
// (p_i ∝ exp(z_i/T)), or nil before anything was fed.
func (s *GPTSampler) Probs(temperature float64) []float64 {
	return softmaxT(s.logits, s.probs, temperature)
}

// Next draws the next token from Probs(temperature) with rng, feeds it
// and returns it.
func (s *GPTSampler) Next(rng *rand.Rand, temperature float64) (int32, error) {
	if !(temperature > 0) || math.IsInf(temperature, 1) {
		return 0, fmt.Errorf("gpt: temperature %v must be a positive number", temperature)
	}
	p := s.Probs(temperature)
	if p == nil {
		return 0, errors.New("gpt: feed a prompt before sampling")
	}
	id := draw(rng, p)
	if err := s.Feed([]int32{id}); err != nil {
		return 0, err
	}
	return id, nil
}

// Generate feeds prompt and samples n tokens at the given temperature.
func (m *GPT) Generate(ctx context.Context, prompt []int32, n int, temperature float64, rng *rand.Rand) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, errors.New("gpt: empty prompt")
	}
	s := m.NewSampler()
	if err := s.Feed(prompt); err != nil {
		return nil, err
	}
	out := make([]int32, 0, max(n, 0))
	for range n {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		id, err := s.Next(rng, temperature)
		if err != nil {
			return out, err
		}
		out = append(out, id)
	}
	return out, nil
}

// softmaxT fills probs with softmax(logits/T), or returns nil when there
// are no logits.
func softmaxT(logits, probs []float64, temperature float64) []float64 {
	if len(logits) == 0 {
		return nil
	}
	top := math.Inf(-1)
	for _, z := range logits {
		top = max(top, z)
	}
	var sum float64
	for i, z := range logits {
		probs[i] = math.Exp((z - top) / temperature)
		sum += probs[i]
	}
	for i := range probs {
		probs[i] /= sum
	}
	return probs
}

// draw returns an index drawn from the distribution p.
func draw(rng *rand.Rand, p []float64) int32 {
	u := rng.Float64()
	for i, pi := range p {
		if u < pi {
			return int32(i)
		}
		u -= pi
	}
	return int32(len(p) - 1)
}

// Chain returns the layers of Forward in order (nn.Chained): the token
// embedding, the position embedding, the causal blocks, the final norm
// and the head (the sampler's key/value caches are not part of it). The
// ONNX exporter flattens the model through it.
func (m *GPT) Chain() []nn.Layer {
	out := []nn.Layer{m.Embedding, m.Position}
	for _, b := range m.Blocks {
		out = append(out, b)
	}
	return append(out, m.Norm, m.Head)
}
