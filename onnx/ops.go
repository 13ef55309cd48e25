package onnx

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/onnx/onnxpb"
	"github.com/strata-dl/strata/tensor"
)

// opFunc runs one node on its inputs (nil for an omitted optional input)
// and returns its outputs. It panics with an *opError, a
// *tensor.ShapeError or an *nn.ShapeError on bad input; Model.run turns
// these into errors naming the node.
type opFunc func(c *opCtx, in []*value) []*value

// opSpec is a supported operator: how to run it and, optionally, a static
// check that returns the reason a node's attributes are rejected.
type opSpec struct {
	run   opFunc
	check func(n *node) string
}

var ops = map[string]opSpec{}

func reg(name string, run opFunc, check func(n *node) string) {
	if check == nil {
		check = func(*node) string { return "" }
	}
	ops[name] = opSpec{run: run, check: check}
}

// SupportedOps returns the operator types import supports, sorted.
func SupportedOps() []string {
	out := make([]string, 0, len(ops))
	for k := range ops {
		out = append(out, k)
	}
	sortStrings(out)
	return out
}

// opError is a run-time error of one op (a bad attribute value or input).
type opError struct{ msg string }

func (e *opError) Error() string { return e.msg }

func fail(format string, args ...any) { panic(&opError{fmt.Sprintf(format, args...)}) }

// opCtx gives an op its node's attributes.
type opCtx struct {
	m *Model
	n *node
}

func (c *opCtx) has(name string) bool { _, ok := c.n.attrs[name]; return ok }

func (c *opCtx) int(name string, def int64) int64 {
	if a, ok := c.n.attrs[name]; ok {
		return a.GetI()
	}
	return def
}

func (c *opCtx) float(name string, def float32) float32 {
	if a, ok := c.n.attrs[name]; ok {
		return a.GetF()
	}
	return def
}

func (c *opCtx) ints(name string) []int64 {
	if a, ok := c.n.attrs[name]; ok {
		return a.GetInts()
	}
	return nil
}

func (c *opCtx) str(name, def string) string {
	if a, ok := c.n.attrs[name]; ok {
		return string(a.GetS())
	}
	return def
}

func (c *opCtx) tensorAttr(name string) *onnxpb.TensorProto {
	if a, ok := c.n.attrs[name]; ok {
		return a.GetT()
	}
	return nil
}

// attrCheck helpers for opSpec.check.
func attrIs(n *node, name string, ok func(a *onnxpb.AttributeProto) bool, reason string) string {
	if a, has := n.attrs[name]; has && !ok(a) {
		return reason
	}
	return ""
}

func firstReason(rs ...string) string {
	for _, r := range rs {
		if r != "" {
			return r
		}
	}
	return ""
}

// logical returns v in the layout the graph sees (NCHW for a value held
// as NHWC): a transpose, or a free reshape when H·W = 1 or C = 1.
func logical(v *value) *value {
	if v == nil || !v.nhwc {
		return v
	}
	s := v.shape() // physical [N, H, W, C]
	var x *autograd.Var
	if s[1]*s[2] == 1 || s[3] == 1 {
		x = autograd.Reshape(v.v, s[0], s[3], s[1], s[2])
	} else {
		x = autograd.Transpose(v.v, 0, 3, 1, 2)
	}
	return &value{v: x, dt: v.dt}
}

// physicalNHWC returns v as NHWC data for a rank-4 NCHW graph value.
func physicalNHWC(v *value) *autograd.Var {
	if v.nhwc {
		return v.v
	}
	s := v.shape()
	if len(s) != 4 {
		fail("expected a rank-4 [N, C, H, W] input, got shape %v", s)
	}
	if s[2]*s[3] == 1 || s[1] == 1 {
		return autograd.Reshape(v.v, s[0], s[2], s[3], s[1])
	}
	return autograd.Transpose(v.v, 0, 2, 3, 1)
}

// L returns the logical Var of input v.
func L(v *value) *autograd.Var { return logical(v).v }

// T returns the logical tensor of input v.
func T(v *value) *tensor.Tensor { return logical(v).v.Value }

func need(in []*value, i int, what string) *value {
	if i >= len(in) || in[i] == nil {
		fail("missing input %d (%s)", i, what)
	}
	return in[i]
}

func one(v *value) []*value { return []*value{v} }

func fl(v *autograd.Var) *value { return &value{v: v, dt: tFloat} }

// mapT applies f to every element of t into a new tensor.
func mapT(t *tensor.Tensor, f func(float32) float32) *tensor.Tensor {
	out := tensor.Zeros(t.Shape()...)
	od := out.Data()
	for i, x := range t.Data() {
		od[i] = f(x)
	}
	return out
}

func f64(f func(float64) float64) func(float32) float32 {
	return func(x float32) float32 { return float32(f(float64(x))) }
}

// bcast applies f elementwise to a and b with NumPy broadcasting.
func bcast(op string, a, b *tensor.Tensor, f func(x, y float32) float32) *tensor.Tensor {
	shape := tensor.BroadcastShape(op, a.Shape(), b.Shape())
	n := tensor.Numel(shape)
	checkSize(shape)
	out := tensor.Zeros(shape...)
	sa, sb := bstrides(a.Shape(), shape), bstrides(b.Shape(), shape)
	ad, bd, od := a.Data(), b.Data(), out.Data()
	idx := make([]int, len(shape))
	ia, ib := 0, 0
	for i := 0; i < n; i++ {
		od[i] = f(ad[ia], bd[ib])
		for ax := len(shape) - 1; ax >= 0; ax-- {
			idx[ax]++
			ia += sa[ax]
			ib += sb[ax]
			if idx[ax] < shape[ax] {
				break
			}
			ia -= sa[ax] * shape[ax]
			ib -= sb[ax] * shape[ax]
			idx[ax] = 0
		}
	}
	return out
}

// bstrides returns the strides of shape s broadcast to out (0 on
// broadcast axes).
func bstrides(s, out []int) []int {
	st := make([]int, len(out))
	k := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j >= 0 {
			if s[j] != 1 {
				st[i] = k
			}
			k *= s[j]
		}
	}
	return st
}

// elementLimit is MaxElements; the fuzz test lowers it so that its runs
// stay fast (it is not changed anywhere else).
var elementLimit = MaxElements

// checkSize fails when a tensor of shape would exceed the element limit.
func checkSize(shape []int) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			fail("negative dimension in shape %v", shape)
		}
		if d != 0 && n > elementLimit/d {
			fail("shape %v has more than %d elements", shape, elementLimit)
		}
		n *= d
	}
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) int {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= max(rank, 1) {
		fail("axis %d out of range for rank %d", axis, rank)
	}
	return a
}

func toInts(v []int64) []int {
	out := make([]int, len(v))
	for i, x := range v {
		if x > MaxElements || x < -MaxElements {
			fail("value %d out of range", x)
		}
		out[i] = int(x)
	}
	return out
}

var nan32 = float32(math.NaN())

type aproto = onnxpb.AttributeProto

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
