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

// CharLMOptions configure NewCharLM. Zero values mean the defaults in
// brackets.
type CharLMOptions struct {
	Vocab        int     `json:"vocab"`             // characters in the vocabulary (required)
	EmbeddingDim int     `json:"embedding_dim"`     // [64]
	Units        int     `json:"units"`             // units of each recurrent layer [256]
	Layers       int     `json:"layers"`            // stacked recurrent layers [1]
	Cell         string  `json:"cell"`              // "lstm" or "gru" ["lstm"]
	Dropout      float32 `json:"dropout,omitempty"` // input dropout of each recurrent layer, in training [0]
}

// WithDefaults returns o with its zero values replaced by the defaults.
func (o CharLMOptions) WithDefaults() CharLMOptions {
	o.EmbeddingDim = orDefault(o.EmbeddingDim, 64)
	o.Units = orDefault(o.Units, 256)
	o.Layers = orDefault(o.Layers, 1)
	o.Cell = orDefault(o.Cell, "lstm")
	return o
}

// Validate reports options that cannot make a model.
func (o CharLMOptions) Validate() error {
	switch {
	case o.Vocab < 1:
		return fmt.Errorf("char LM: vocabulary of %d characters (want at least 1)", o.Vocab)
	case o.EmbeddingDim < 0 || o.Units < 0 || o.Layers < 0:
		return fmt.Errorf("char LM: embedding dim %d, units %d and layers %d must not be negative", o.EmbeddingDim, o.Units, o.Layers)
	case o.Cell != "" && o.Cell != "lstm" && o.Cell != "gru":
		return fmt.Errorf("char LM: unknown cell %q (want lstm or gru)", o.Cell)
	case !(o.Dropout >= 0 && o.Dropout < 1):
		return fmt.Errorf("char LM: dropout %v must be in [0, 1)", o.Dropout)
	}
	return nil
}

// stateful is a recurrent layer that takes and returns its states.
type stateful interface {
	nn.Layer
	ForwardState(c *nn.Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var)
}

// CharLM is a character-level language model: token ids x [batch, time]
// are embedded, run through a stack of recurrent layers that return
// their whole sequence, and a dense softmax gives the distribution of
// the next character at every step:
//
//	e_t = E[x_t];  h_t = RNN_L(… RNN_1(e)…)_t;  p(x_{t+1} | x_≤t) = softmax(h_t·W + b)
//
// output [batch, time, vocab]. Train it with
// losses.SparseCategoricalCrossentropy against the next characters
// [batch, time]; the loss is then the mean negative log-likelihood per
// character, perplexity exp(loss) and bits per character loss/ln 2.
//
// Weights: embedding.embeddings, lstm.kernel (gru.kernel), lstm_1.kernel
// for the second layer, …, dense.kernel, dense.bias.
type CharLM struct {
	Embedding *nn.Embedding
	Cells     []nn.Layer // *nn.LSTM or *nn.GRU, ReturnSequences
	Dense     *nn.Dense
	Options   CharLMOptions
}

// NewCharLM returns an unbuilt character-level language model; see
// CharLMOptions. Build it for inputs of shape [seqLen] (any length runs
// once built).
func NewCharLM(o CharLMOptions) (*CharLM, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	m := &CharLM{
		Embedding: &nn.Embedding{Name: "embedding", InputDim: o.Vocab, OutputDim: o.EmbeddingDim},
		Dense:     &nn.Dense{Name: "dense", Units: o.Vocab, Activation: "softmax"},
		Options:   o,
	}
	for i := range o.Layers {
		name := o.Cell
		if i > 0 {
			name = fmt.Sprintf("%s_%d", o.Cell, i)
		}
		if o.Cell == "gru" {
			m.Cells = append(m.Cells, &nn.GRU{Name: name, Units: o.Units, ReturnSequences: true, Dropout: o.Dropout})
		} else {
			m.Cells = append(m.Cells, &nn.LSTM{Name: name, Units: o.Units, ReturnSequences: true, Dropout: o.Dropout})
		}
	}
	return m, nil
}

// Children returns the layers with their Keras-style names.
func (m *CharLM) Children() []nn.Child {
	out := []nn.Child{{Name: "embedding", Layer: m.Embedding}}
	for i, c := range m.Cells {
		name := ""
		switch c := c.(type) {
		case *nn.LSTM:
			name = c.Name
		case *nn.GRU:
			name = c.Name
		}
		if name == "" {
			name = fmt.Sprintf("rnn_%d", i)
		}
		out = append(out, nn.Child{Name: name, Layer: c})
	}
	return append(out, nn.Child{Name: "dense", Layer: m.Dense})
}

// Forward returns the next-character probabilities [batch, time, vocab]
// for token ids x [batch, time], from zero states.
func (m *CharLM) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	y, _ := m.ForwardState(c, x, nil)
	return y
}

// ForwardState runs x [batch, time] from the given states (one slice per
// recurrent layer, as ForwardState returned them; nil: zeros) and returns
// the probabilities [batch, time, vocab] and the final states.
func (m *CharLM) ForwardState(c *nn.Ctx, x *autograd.Var, states [][]*autograd.Var) (*autograd.Var, [][]*autograd.Var) {
	h, out := m.run(c, x, states)
	return m.Dense.Forward(c, h), out
}

// run returns the last recurrent layer's sequence and the final states.
func (m *CharLM) run(c *nn.Ctx, x *autograd.Var, states [][]*autograd.Var) (*autograd.Var, [][]*autograd.Var) {
	if states != nil && len(states) != len(m.Cells) {
		panic(&nn.ShapeError{Layer: "charlm", Msg: fmt.Sprintf("%d layer states for %d recurrent layers", len(states), len(m.Cells))})
	}
	h := m.Embedding.Forward(c, x)
	out := make([][]*autograd.Var, len(m.Cells))
	for i, cell := range m.Cells {
		var init []*autograd.Var
		if states != nil {
			init = states[i]
		}
		h, out[i] = cell.(stateful).ForwardState(c, h, init)
	}
	return h, out
}

// TextSampler generates text from a CharLM one character at a time, carrying
// the recurrent states from step to step: each new character costs one
// step of the network, whatever the length of the text so far.
type TextSampler struct {
	m      *CharLM
	states [][]*autograd.Var
	logits []float64 // of the next character, after the last one fed
	probs  []float64
}

// NewSampler returns a sampler at the start of a text (zero states).
func (m *CharLM) NewSampler() *TextSampler {
	return &TextSampler{m: m, probs: make([]float64, m.Options.Vocab)}
}

// Feed runs ids through the network (one pass over all of them) and keeps
// the states and the distribution of the character that follows. An id
// out of [0, vocab) is an error.
func (s *TextSampler) Feed(ids []int32) (err error) {
	if len(ids) == 0 {
		return errors.New("char LM: nothing to feed")
	}
	defer func() {
		if r := recover(); r != nil {
			err = nn.AsError(r)
		}
	}()
	x := tensor.Zeros(1, len(ids))
	for i, id := range ids {
		if id < 0 || int(id) >= s.m.Options.Vocab {
			return fmt.Errorf("char LM: token id %d at %d is outside [0, %d)", id, i, s.m.Options.Vocab)
		}
		x.Data()[i] = float32(id)
	}
	h, states := s.m.run(&nn.Ctx{}, autograd.Const(x), s.states)
	last := autograd.SliceAxis(h, 1, len(ids)-1, len(ids)) // [1, 1, units]
	y := s.m.Dense.Forward(&nn.Ctx{}, last)
	z := y
	if lg, kind := y.Logits(); kind == autograd.FromSoftmax {
		z = lg
	}
	s.states = states
	s.logits = s.logits[:0]
	for _, v := range z.Value.Data() {
		if z == y { // no logits kept: use log-probabilities
			v = float32(math.Log(max(float64(v), 1e-30)))
		}
		s.logits = append(s.logits, float64(v))
	}
	return nil
}

// Probs returns the distribution of the next character at the given
// temperature T > 0: p_i ∝ exp(z_i / T) for the logits z. T = 1 is the
// model's own distribution; lower is more conservative, higher more
// random. It returns nil before anything was fed.
func (s *TextSampler) Probs(temperature float64) []float64 {
	if len(s.logits) == 0 {
		return nil
	}
	top := math.Inf(-1)
	for _, z := range s.logits {
		top = max(top, z)
	}
	var sum float64
	for i, z := range s.logits {
		s.probs[i] = math.Exp((z - top) / temperature)
		sum += s.probs[i]
	}
	for i := range s.probs {
		s.probs[i] /= sum
	}
	return s.probs
}

// Next draws the next character from Probs(temperature) with rng, feeds
// it, and returns it. It returns an error before anything was fed or when
// the temperature is not a positive number.
func (s *TextSampler) Next(rng *rand.Rand, temperature float64) (int32, error) {
	if !(temperature > 0) || math.IsInf(temperature, 1) {
		return 0, fmt.Errorf("char LM: temperature %v must be a positive number", temperature)
	}
	p := s.Probs(temperature)
	if p == nil {
		return 0, errors.New("char LM: feed a prompt before sampling")
	}
	u, id := rng.Float64(), len(p)-1
	for i, pi := range p {
		if u < pi {
			id = i
			break
		}
		u -= pi
	}
	if err := s.Feed([]int32{int32(id)}); err != nil {
		return 0, err
	}
	return int32(id), nil
}

// Generate feeds prompt and then samples n characters at the given
// temperature (see TextSampler), returning the n new ids.
func (m *CharLM) Generate(ctx context.Context, prompt []int32, n int, temperature float64, rng *rand.Rand) ([]int32, error) {
	if len(prompt) == 0 {
		return nil, errors.New("char LM: empty prompt")
	}
	if n < 0 {
		return nil, fmt.Errorf("char LM: cannot generate %d characters", n)
	}
	s := m.NewSampler()
	if err := s.Feed(prompt); err != nil {
		return nil, err
	}
	out := make([]int32, 0, n)
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

// NLLMetric streams the mean negative log-likelihood per position of
// integer targets yTrue [batch, ...] under probabilities yPred [batch,
// ..., K] and reports it as perplexity exp(mean) ("perplexity") or bits
// per character mean/ln 2 ("bpc"). For a softmax output trained with
// losses.SparseCategoricalCrossentropy this is exp(loss) and loss/ln 2 up
// to float32 rounding (probabilities are floored at 1e-30 to stay
// finite). A sample weight multiplies all of its sample's positions.
type NLLMetric struct {
	name     string
	sum, cnt float64
}

// NewPerplexity returns a metric "perplexity": exp of the mean negative
// log-likelihood per position.
func NewPerplexity() *NLLMetric { return &NLLMetric{name: "perplexity"} }

// NewBitsPerChar returns a metric "bpc": the mean negative
// log-likelihood per position in bits.
func NewBitsPerChar() *NLLMetric { return &NLLMetric{name: "bpc"} }

// Name returns "perplexity" or "bpc".
func (m *NLLMetric) Name() string { return m.name }

// Update accumulates one batch. It panics with a *tensor.ShapeError when
// the shapes disagree or a target is not a class index.
func (m *NLLMetric) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	k := yPred.Dim(-1)
	rows := yPred.Len() / k
	if yTrue.Len() != rows || yPred.Rank() < 2 {
		panic(&tensor.ShapeError{Op: "metrics." + m.name, Got: yTrue.Shape(), Want: yPred.Shape()[:yPred.Rank()-1], Msg: "one target per prediction row"})
	}
	per := rows / yPred.Dim(0)
	p, y := yPred.Data(), yTrue.Data()
	for i, v := range y {
		c := int(v)
		if c < 0 || c >= k || float32(c) != v {
			panic(&tensor.ShapeError{Op: "metrics." + m.name, Got: []int{c}, Want: []int{k}, Msg: "target is not a class index"})
		}
		w := 1.0
		if sampleWeight != nil {
			w = float64(sampleWeight[i/per])
		}
		m.sum -= w * math.Log(max(float64(p[i*k+c]), 1e-30))
		m.cnt += w
	}
}

// Result returns the perplexity or bits per character so far (NaN before
// any update).
func (m *NLLMetric) Result() float64 {
	if m.cnt == 0 {
		return math.NaN()
	}
	nll := m.sum / m.cnt
	if m.name == "bpc" {
		return nll / math.Ln2
	}
	return math.Exp(nll)
}

// Reset clears the accumulated state.
func (m *NLLMetric) Reset() { m.sum, m.cnt = 0, 0 }

// State returns [Σ w·nll, Σ w]; see metrics.Resumable.
func (m *NLLMetric) State() []float64 { return []float64{m.sum, m.cnt} }

// SetState restores what State returned; see metrics.Resumable.
func (m *NLLMetric) SetState(s []float64) error {
	if len(s) != 2 || !(s[1] >= 0) {
		return fmt.Errorf("zoo: %s: state %v is not [sum, count]", m.name, s)
	}
	m.sum, m.cnt = s[0], s[1]
	return nil
}
