package autograd

import (
	"errors"
	"fmt"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

// Var is a value in a computation. A Var is either a constant (no tape) or
// tracked on a Tape, in which case gradients flow back to it. Parameters
// are long-lived Vars that a Tape watches for the length of one step.
type Var struct {
	Value *tensor.Tensor
	tape  *Tape
	id    int
	name  string
	// from, when set, is the pre-activation this Var was computed from by
	// a softmax or sigmoid, so that a loss can use the stable fused form
	// (as Keras does with a model that ends in softmax).
	from     *Var
	fromKind uint8
}

// Logits kinds recorded by Softmax and Sigmoid outputs.
const (
	FromSoftmax = 1
	FromSigmoid = 2
)

// Logits returns the pre-activation logits v was computed from and
// FromSoftmax or FromSigmoid, or (nil, 0) when v is not such an output.
func (v *Var) Logits() (*Var, int) { return v.from, int(v.fromKind) }

// Const wraps a tensor as an untracked value.
func Const(t *tensor.Tensor) *Var { return &Var{Value: t, id: -1} }

// NewParam wraps a tensor as a long-lived variable (a model parameter) that
// a Tape can watch. The name is used in error messages.
func NewParam(name string, t *tensor.Tensor) *Var { return &Var{Value: t, id: -1, name: name} }

// SetName renames a parameter (models name their weights by dotted path
// once built).
func (v *Var) SetName(name string) { v.name = name }

// Name returns the name a parameter was created with.
func (v *Var) Name() string { return v.name }

// Shape is shorthand for v.Value.Shape().
func (v *Var) Shape() []int { return v.Value.Shape() }

// Tape returns the tape v is recorded on, or nil for a constant.
func (v *Var) Tape() *Tape { return v.tape }

// Tracked reports whether gradients can flow to v on its tape.
func (v *Var) Tracked() bool { return v.tape != nil && v.id >= 0 }

// Item returns the single value of a one-element Var.
func (v *Var) Item() float32 { return v.Value.Item() }

// ErrReleased is returned when a tape is used after Release or after its
// gradients were computed once.
var ErrReleased = errors.New("autograd: tape already used or released")

// Tape records operations on tracked values so that gradients can be
// computed in reverse. Its lifetime is one step:
//
//	tape := autograd.NewTape(pool)
//	tape.Watch(params...)
//	loss := forward(...)          // ops on watched Vars are recorded
//	grads, err := tape.Gradients(loss, params...)
//	opt.Step(params, grads)       // grads are valid until Release
//	tape.Release()                // buffers go back to the pool
//
// Values computed on a tape and the gradients it returns live in buffers
// that Release hands back to the pool: copy anything needed afterwards.
// A Tape is not safe for concurrent use.
type Tape struct {
	pool     *Pool
	nodes    []node
	grads    []*tensor.Tensor // by var id
	watched  []*Var
	owned    []*tensor.Tensor
	ownedI   [][]int32
	outs     []*Var           // the Vars an inference tape handed out (from the pool, reused)
	views    []*tensor.Tensor // the view headers an inference tape handed out (likewise)
	used     bool
	released bool
	infer    bool // records nothing: an inference arena (NewInferenceTape)
}

// node is one recorded op (its slots op, f, ints and saved are read and
// written through the named accessors of record.go): the output, up to
// three inputs, saved tensors
// and scalars, and the static function that propagates the output gradient
// to the inputs. Keeping backward a plain function (not a closure) keeps
// recording free of allocations.
type node struct {
	back  func(t *Tape, n *node)
	out   *Var
	in    [3]*Var
	ins   []*Var // variadic inputs (Concat)
	saved [2]*tensor.Tensor
	ints  [4]int
	f     [2]float32
	i32   []int32
	geom  tensor.ConvGeom
	op    uint8
}

// NewTape returns an empty tape that allocates from pool (nil: a private
// pool).
func NewTape(pool *Pool) *Tape {
	if pool == nil {
		pool = NewPool()
	}
	t := &Tape{pool: pool}
	t.nodes, t.grads, t.owned, t.outs, t.views = pool.takeSlices()
	return t
}

// NewInferenceTape returns a tape that records nothing and computes no
// gradients, but gives every op downstream of its Input a buffer from pool
// (returned on Release) instead of a fresh zeroed allocation: inference in
// steady state allocates no tensor data. Batched prediction uses it:
//
//	tape := autograd.NewInferenceTape(pool)
//	y := net.Forward(&nn.Ctx{}, tape.Input(x))
//	... copy what you need out of y.Value ...
//	tape.Release()
func NewInferenceTape(pool *Pool) *Tape {
	t := NewTape(pool)
	t.infer = true
	return t
}

// Input wraps x as an untracked value whose downstream ops allocate from
// the tape (see NewInferenceTape).
func (t *Tape) Input(x *tensor.Tensor) *Var {
	t.check()
	if t.infer {
		return t.untracked(x)
	}
	return &Var{Value: x, tape: t, id: -1}
}

// untracked returns a Var holding value on an inference tape. The Var
// comes from the tape's set (given back to the pool on Release and handed
// out again by a later tape), so that inference in steady state allocates
// no Vars either.
func (t *Tape) untracked(value *tensor.Tensor) *Var {
	var v *Var
	t.outs, v = nextOf(t.outs)
	*v = Var{Value: value, tape: t, id: -1}
	return v
}

// nextOf extends set by one element and returns it: the one a previous
// use left there, or a new one the first time.
func nextOf[T any](set []*T) ([]*T, *T) {
	k := len(set)
	if k == cap(set) {
		set = append(set, nil)
	} else {
		set = set[:k+1]
	}
	if set[k] == nil {
		set[k] = new(T)
	}
	return set, set[k]
}

// noData is the empty tensor released views point at.
var noData = tensor.Zeros(0)

// view returns x.Reshape(shape...) on an inference tape, in a header from
// the tape's set (see untracked).
func (t *Tape) view(x *tensor.Tensor, shape []int) *tensor.Tensor {
	var h *tensor.Tensor
	t.views, h = nextOf(t.views)
	h.ViewOf(x, shape...)
	return h
}

// Watch starts tracking vs (typically parameters) on this tape until
// Release. Watching a Var already tracked on another tape panics.
func (t *Tape) Watch(vs ...*Var) {
	t.check()
	if t.infer {
		panic("autograd: an inference tape computes no gradients; use NewTape")
	}
	for _, v := range vs {
		if v.tape != nil && v.tape != t {
			panic(fmt.Sprintf("autograd: %s is already watched by another tape", v.describe()))
		}
		if v.tape == t {
			continue
		}
		v.tape, v.id = t, len(t.grads)
		t.grads = append(t.grads, nil)
		t.watched = append(t.watched, v)
	}
}

func (v *Var) describe() string {
	if v.name != "" {
		return fmt.Sprintf("variable %q", v.name)
	}
	return fmt.Sprintf("variable of shape %v", v.Value.Shape())
}

func (t *Tape) check() {
	if t.released {
		panic(ErrReleased)
	}
}

// Alloc returns an uninitialized tensor of the given shape from the tape's
// pool, returned to the pool on Release.
func (t *Tape) Alloc(shape ...int) *tensor.Tensor {
	x := t.pool.get(shape)
	t.owned = append(t.owned, x)
	return x
}

// allocInt32 returns an index buffer of length n from the pool, returned
// on Release.
func (t *Tape) allocInt32(n int) []int32 {
	b := t.pool.getInt32(n)
	t.ownedI = append(t.ownedI, b)
	return b
}

// allocZero returns a zero-filled pooled tensor.
func (t *Tape) allocZero(shape []int) *tensor.Tensor {
	x := t.pool.get(shape)
	clear(x.Data())
	t.owned = append(t.owned, x)
	return x
}

// tapeOf returns the tape shared by the tracked inputs (nil if none).
func tapeOf(vs ...*Var) *Tape {
	var t *Tape
	for _, v := range vs {
		if v == nil || v.tape == nil {
			continue
		}
		if t != nil && v.tape != t {
			panic("autograd: operands are recorded on different tapes")
		}
		t = v.tape
	}
	if t != nil {
		t.check()
	}
	return t
}

// alloc returns an output buffer: pooled on a tape, fresh otherwise.
func alloc(t *Tape, shape []int) *tensor.Tensor {
	if t == nil {
		return tensor.Zeros(shape...)
	}
	return t.Alloc(shape...)
}

// record adds a node producing value out from inputs; n.back is filled by
// the caller. Without a tape it returns a constant.
func (t *Tape) record(value *tensor.Tensor, n node) *Var {
	out := &Var{Value: value, tape: t, id: len(t.grads)}
	t.grads = append(t.grads, nil)
	n.out = out
	t.nodes = append(t.nodes, n)
	return out
}

// result wraps value as the op's output: recorded on t when t is non-nil.
func result(t *Tape, value *tensor.Tensor, n node) *Var {
	if t == nil {
		return &Var{Value: value, id: -1}
	}
	if t.infer {
		return t.untracked(value)
	}
	return t.record(value, n)
}

// grad returns the gradient accumulator of v, allocating it zero-filled on
// first use, or nil when v is not tracked on t.
func (t *Tape) grad(v *Var) *tensor.Tensor {
	if v == nil || v.tape != t || v.id < 0 {
		return nil
	}
	g := t.grads[v.id]
	if g == nil {
		g = t.allocZero(v.Value.Shape())
		t.grads[v.id] = g
	}
	return g
}

// tracks reports whether a backward pass of t can compute v's gradient:
// t records (it is not nil and not an inference tape) and v is on it.
func (t *Tape) tracks(v *Var) bool {
	return t != nil && !t.infer && v != nil && v.tape == t && v.id >= 0
}

// gradOut returns the gradient buffer of v for a backward step that
// writes every element of it, or nil when v is not tracked on t. With acc
// false the buffer is new and uninitialized and must be overwritten; with
// acc true it holds earlier contributions and must be added to. Skipping
// the zero fill matters for the large activations of convolutional
// networks.
func (t *Tape) gradOut(v *Var) (g *tensor.Tensor, acc bool) {
	if v == nil || v.tape != t || v.id < 0 {
		return nil, false
	}
	if g = t.grads[v.id]; g != nil {
		return g, true
	}
	g = t.Alloc(v.Value.Shape()...)
	t.grads[v.id] = g
	return g, false
}

// gemmOut returns v's gradient buffer and the beta with which a GEMM that
// writes all of it keeps earlier contributions (0: none yet), or nil.
func (t *Tape) gemmOut(v *Var) (*tensor.Tensor, float32) {
	g, acc := t.gradOut(v)
	if acc {
		return g, 1
	}
	return g, 0
}

// gradBuf returns a buffer of shape s for a contribution to v's gradient,
// to be filled and then passed to addGrad: v's new gradient buffer itself
// when no contribution has reached v yet and s is v's shape (addGrad then
// has nothing left to do), else a temporary. It returns nil when v is not
// tracked on t.
func (t *Tape) gradBuf(v *Var, s []int) *tensor.Tensor {
	if v == nil || v.tape != t || v.id < 0 {
		return nil
	}
	if t.grads[v.id] == nil && tensor.EqualShapes(v.Value.Shape(), s) {
		g := t.Alloc(s...)
		t.grads[v.id] = g
		return g
	}
	return t.Alloc(s...)
}

// addGrad adds the contribution c to v's gradient (nothing when v is not
// tracked on t or c is already v's gradient buffer, from gradBuf). c has
// v's number of elements, or v's shape broadcast, in which case it is
// summed over the broadcast axes: the one helper that reduces a broadcast
// gradient. The first contribution to reach v is written into a new
// buffer rather than added to a zero-filled one.
func (t *Tape) addGrad(v *Var, c *tensor.Tensor) {
	g, acc := t.gradOut(v)
	if g == nil || g == c {
		return
	}
	if g.Len() == c.Len() {
		if acc {
			kernels.Axpy(1, c.Data(), g.Data())
		} else {
			copy(g.Data(), c.Data())
		}
		return
	}
	gs, cs := g.Shape(), c.Shape()
	// Fast path: a trailing row vector (a bias): g [n], c [..., n].
	if len(gs) >= 1 && tensor.Numel(gs) == cs[len(cs)-1] && (len(gs) == 1 || tensor.Numel(gs[:len(gs)-1]) == 1) {
		kernels.SumRows(g.Data(), c.Data(), acc)
		return
	}
	var axes []int
	off := len(cs) - len(gs)
	for i := range cs {
		if i < off || (gs[i-off] == 1 && cs[i] != 1) {
			axes = append(axes, i)
		}
	}
	tmp := t.Alloc(tensor.ReducedShape(cs, axes, false)...)
	tensor.ReduceInto(tmp, tensor.ReduceSum, c, axes, false)
	if acc {
		kernels.Axpy(1, tmp.Data(), g.Data())
	} else {
		copy(g.Data(), tmp.Data())
	}
}

// Backward computes the gradient of the scalar loss with respect to every
// tracked value. It may be called once per tape.
func (t *Tape) Backward(loss *Var) error {
	if t.released || t.used {
		return ErrReleased
	}
	if t.infer {
		return errors.New("autograd: an inference tape computes no gradients; use NewTape")
	}
	if loss.tape != t {
		return errors.New("autograd: loss is not recorded on this tape (did you Watch the parameters?)")
	}
	if loss.Value.Len() != 1 {
		return fmt.Errorf("autograd: loss must be a scalar, got shape %v", loss.Value.Shape())
	}
	t.used = true
	t.grad(loss).Data()[0] = 1
	for i := len(t.nodes) - 1; i >= 0; i-- {
		n := &t.nodes[i]
		if t.grads[n.out.id] == nil {
			continue
		}
		n.back(t, n)
	}
	return nil
}

// Grad returns the gradient of the last Backward's loss with respect to v:
// a zero tensor when v is tracked but no gradient reached it, nil when v is
// not tracked on this tape. The tensor is valid until Release.
func (t *Tape) Grad(v *Var) *tensor.Tensor { return t.grad(v) }

// Gradients runs Backward(loss) and returns the gradients of wrt in order.
func (t *Tape) Gradients(loss *Var, wrt ...*Var) ([]*tensor.Tensor, error) {
	if err := t.Backward(loss); err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, len(wrt))
	for i, v := range wrt {
		if v.tape != t {
			return nil, fmt.Errorf("autograd: gradient requested for %s, which is not watched by this tape", v.describe())
		}
		out[i] = t.grad(v)
	}
	return out, nil
}

// Release returns every buffer the tape allocated to its pool and stops
// tracking the watched variables. Values and gradients obtained from the
// tape must not be used afterwards. Release is idempotent.
func (t *Tape) Release() {
	if t.released {
		return
	}
	t.released = true
	for _, v := range t.watched {
		v.tape, v.id = nil, -1
	}
	for i := range t.nodes {
		t.nodes[i] = node{}
	}
	// The Vars and views an inference tape handed out go back to the pool
	// holding nothing: the pool must not keep a caller's input alive.
	for _, v := range t.outs {
		*v = Var{}
	}
	for _, h := range t.views {
		h.ViewOf(noData, 0)
	}
	t.pool.giveBack(t.nodes[:0], t.grads, t.owned, t.ownedI, t.outs, t.views)
	t.nodes, t.grads, t.owned, t.watched, t.ownedI, t.outs, t.views = nil, nil, nil, nil, nil, nil, nil
}

// Reset releases the tape (see Release) and makes it an empty tape of the
// same kind on the same pool, ready for the next step. A caller that runs
// one step after another (a Predictor serving request after request)
// keeps its Tape instead of allocating a new one each time. Nothing
// obtained from the tape before Reset may be used afterwards.
func (t *Tape) Reset() {
	t.Release()
	t.nodes, t.grads, t.owned, t.outs, t.views = t.pool.takeSlices()
	t.used, t.released = false, false
}
