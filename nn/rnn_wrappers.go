package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// quietCtx returns a context for the inner layers of a wrapper, so that
// Summary shows the wrapper as one row: during Build it keeps the random
// source but records nothing.
func quietCtx(c *Ctx) *Ctx {
	if c == nil || c.build == nil {
		return c
	}
	return &Ctx{Training: c.Training, RNG: c.RNG, build: &builder{rng: c.build.rng}, masks: c.masks}
}

func wrapperParams(l Layer) int {
	n := 0
	for _, w := range AllWeights(l) {
		n += w.Var.Value.Len()
	}
	return n
}

// wrappedName is a layer's own name if set, else its Keras type name.
func wrappedName(l Layer) string {
	if n, ok := l.(namer); ok && n.layerName() != "" {
		return n.layerName()
	}
	return kerasTypeName(l)
}

// Bidirectional runs a recurrent layer over the sequence forward in time
// and a second one backward, and merges their outputs: MergeMode "concat"
// (the default; features of the forward then the backward layer), "sum",
// "mul" or "ave". With ReturnSequences the backward layer's output steps
// are put back in input order before merging, as in Keras.
//
// Layer is a *SimpleRNN, *LSTM or *GRU; Backward, when nil, becomes an
// unbuilt copy of Layer with GoBackwards flipped (its own weights). The
// two are children named as Keras names them, "forward_" and "backward_"
// plus the wrapped layer's name or type: forward_lstm.kernel,
// backward_lstm.kernel, ... (under the Bidirectional's own name in a
// model: bidirectional.forward_lstm.kernel).
type Bidirectional struct {
	Layer     Layer
	Backward  Layer
	MergeMode string
	Name      string

	fwd, bwd recurrent
	names    [2]string
}

func (l *Bidirectional) layerName() string     { return l.Name }
func (l *Bidirectional) setLayerName(n string) { l.Name = n }

func (l *Bidirectional) init() {
	if l.fwd != nil {
		return
	}
	f, ok := l.Layer.(recurrent)
	if !ok || isNil(l.Layer) {
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("Bidirectional wraps a SimpleRNN, LSTM or GRU, got %T", l.Layer)})
	}
	var b recurrent
	if l.Backward == nil {
		b = f.reversed()
		b.setLayerName("backward_" + wrappedName(l.Layer))
		l.Backward = b
	} else {
		if b, ok = l.Backward.(recurrent); !ok || isNil(l.Backward) {
			panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("Bidirectional's backward layer must be a SimpleRNN, LSTM or GRU, got %T", l.Backward)})
		}
		b.setRestoreOrder(true)
	}
	// The wrapped layers take their child names as their own names, so
	// that a Bidirectional rebuilt from its config (see MarshalLayer) names
	// its weights as the original did.
	l.names = [2]string{prefixName("forward_", f), prefixName("backward_", b)}
	if f.goesBackwards() == b.goesBackwards() {
		panic(&ConfigError{Layer: l.Name, Msg: "the backward layer must run the other way in time (GoBackwards)"})
	}
	if f.returnsSequences() != b.returnsSequences() {
		panic(&ConfigError{Layer: l.Name, Msg: "forward and backward layers must agree on ReturnSequences"})
	}
	switch l.MergeMode {
	case "", "concat", "sum", "mul", "ave":
	default:
		panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("unknown merge mode %q (want concat, sum, mul or ave)", l.MergeMode)})
	}
	l.fwd, l.bwd = f, b
}

// prefixName names the layer r prefix + its name or type, unless its name
// starts with prefix already, and returns the name.
func prefixName(prefix string, r recurrent) string {
	n := wrappedName(r)
	if !strings.HasPrefix(n, prefix) {
		n = prefix + n
	}
	r.setLayerName(n)
	return n
}

// Children returns the forward and backward layers.
func (l *Bidirectional) Children() []Child {
	l.init()
	return []Child{{l.names[0], l.fwd}, {l.names[1], l.bwd}}
}

// Forward runs both layers from zero states and merges their outputs.
func (l *Bidirectional) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	y, _ := l.ForwardState(c, x, nil)
	return y
}

// ForwardState runs both layers from the initial states init (empty, or
// the forward layer's states followed by the backward layer's) and returns
// the merged output and the final states in the same order.
func (l *Bidirectional) ForwardState(c *Ctx, x *autograd.Var, init []*autograd.Var) (*autograd.Var, []*autograd.Var) {
	l.init()
	var fi, bi []*autograd.Var
	if len(init) > 0 {
		if len(init)%2 != 0 {
			panic(&ShapeError{Layer: l.Name, Msg: fmt.Sprintf("Bidirectional takes the states of both layers, got %d", len(init))})
		}
		fi, bi = init[:len(init)/2], init[len(init)/2:]
	}
	q := quietCtx(c)
	fy, fs := l.fwd.ForwardState(q, x, fi)
	by, bs := l.bwd.ForwardState(q, x, bi)
	if !tensor.EqualShapes(fy.Shape(), by.Shape()) {
		panic(&ShapeError{Layer: l.Name, Got: by.Shape(), Want: fy.Shape(), Msg: "forward and backward outputs differ"})
	}
	var y *autograd.Var
	switch l.MergeMode {
	case "sum":
		y = autograd.Add(fy, by)
	case "mul":
		y = autograd.Mul(fy, by)
	case "ave":
		y = autograd.Scale(autograd.Add(fy, by), 0.5)
	default:
		y = autograd.Concat(fy.Value.Rank()-1, fy, by)
	}
	if l.fwd.returnsSequences() {
		c.SetMask(y, c.Mask(x))
	}
	c.trace(l.Name, "Bidirectional", y, wrapperParams(l))
	return y, append(fs, bs...)
}

// TimeDistributed applies a layer to every time step of x [batch, time,
// ...] by folding time into the batch: the layer sees [batch·time, ...]
// and its output is unfolded to [batch, time, ...]. The wrapped layer is
// a child named by its own name or type (time_distributed.dense.kernel).
type TimeDistributed struct {
	Layer Layer
	Name  string

	child string
}

func (l *TimeDistributed) layerName() string     { return l.Name }
func (l *TimeDistributed) setLayerName(n string) { l.Name = n }

// Children returns the wrapped layer.
func (l *TimeDistributed) Children() []Child {
	if l.Layer == nil || isNil(l.Layer) {
		return nil
	}
	if l.child == "" {
		l.child = wrappedName(l.Layer)
	}
	return []Child{{l.child, l.Layer}}
}

// Forward applies the layer to each time step.
func (l *TimeDistributed) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	s := x.Shape()
	if l.Layer == nil || isNil(l.Layer) {
		panic(&ConfigError{Layer: l.Name, Msg: "TimeDistributed has no layer"})
	}
	if len(s) < 3 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1, -1}, Got: s, Msg: "TimeDistributed needs [batch, time, ...]"})
	}
	l.Children() // fix the child's name before it builds
	y := l.Layer.Forward(quietCtx(c), autograd.Reshape(x, append([]int{s[0] * s[1]}, s[2:]...)...))
	ys := y.Shape()
	y = autograd.Reshape(y, append([]int{s[0], s[1]}, ys[1:]...)...)
	c.trace(l.Name, "TimeDistributed", y, wrapperParams(l.Layer))
	return y
}

// Embedding maps token ids to vectors: x [batch, ...] holding ids in
// [0, InputDim) as float32 (rounded to the nearest integer) gives
// [batch, ..., OutputDim], row id of the table embeddings
// [InputDim, OutputDim]. With MaskZero, id 0 is padding: its output is
// zero and it gets no gradient, and the output carries the mask (1 for
// real ids, 0 for padding; see Ctx.Mask) to the layers after it: SimpleRNN,
// LSTM and GRU then skip the padded steps, as in Keras. An id out of range
// panics with a *ShapeError.
//
// Zero values: embeddings drawn from U(−0.05, 0.05) (Keras "uniform").
type Embedding struct {
	InputDim              int
	OutputDim             int
	MaskZero              bool
	EmbeddingsInitializer Initializer
	EmbeddingsRegularizer Regularizer
	Name                  string

	Embeddings *autograd.Var // created on first Forward / Build
}

func (l *Embedding) layerName() string     { return l.Name }
func (l *Embedding) setLayerName(n string) { l.Name = n }

// Weights returns embeddings.
func (l *Embedding) Weights() []Weight {
	return []Weight{{"embeddings", l.Embeddings, true, l.EmbeddingsRegularizer}}
}

// embeddingUniform draws from U(lo, hi): Keras's "uniform" initializer.
type embeddingUniform struct{ lo, hi float64 }

func (u embeddingUniform) Init(rng *rand.Rand, t *tensor.Tensor, _, _ int) {
	for i := range t.Data() {
		t.Data()[i] = float32(u.lo + (u.hi-u.lo)*rng.Float64())
	}
}

// Forward looks the ids of x up.
func (l *Embedding) Forward(c *Ctx, x *autograd.Var) *autograd.Var {
	if l.Embeddings == nil {
		if l.InputDim <= 0 || l.OutputDim <= 0 {
			panic(&ConfigError{Layer: l.Name, Msg: fmt.Sprintf("input and output dimensions must be positive, got %d and %d", l.InputDim, l.OutputDim)})
		}
		e := c.weight(l.Name, l.InputDim, l.OutputDim)
		orDefault(l.EmbeddingsInitializer, embeddingUniform{-0.05, 0.05}).Init(c.buildRNG(l.Name), e, l.InputDim, l.OutputDim)
		l.Embeddings = autograd.NewParam(l.Name+".embeddings", e)
	}
	s := x.Shape()
	if len(s) < 1 {
		panic(&ShapeError{Layer: l.Name, Want: []int{-1, -1}, Got: s, Msg: "Embedding needs [batch, ...] token ids"})
	}
	n, dim := l.Embeddings.Value.Dim(0), l.Embeddings.Value.Dim(1)
	ids := make([]int, x.Value.Len())
	var mask *tensor.Tensor
	if l.MaskZero {
		mask = tensor.Zeros(len(ids), 1)
	}
	for i, v := range x.Value.Data() {
		f := math.Round(float64(v))
		if !(f >= 0 && f < float64(n)) {
			panic(&ShapeError{Layer: l.Name, Msg: fmt.Sprintf("token id %v at position %d is outside [0, %d)", v, i, n)})
		}
		ids[i] = int(f)
		if mask != nil && ids[i] != 0 {
			mask.Data()[i] = 1
		}
	}
	y := autograd.Gather(l.Embeddings, ids)
	if mask != nil {
		y = autograd.Mul(y, autograd.Const(mask))
	}
	y = autograd.Reshape(y, append(append([]int(nil), s...), dim)...)
	if mask != nil {
		c.SetMask(y, mask.Reshape(s...)) // read by the recurrent layers
	}
	c.trace(l.Name, "Embedding", y, n*dim)
	return y
}
