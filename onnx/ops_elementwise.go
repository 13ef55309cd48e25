package onnx

import (
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Elementwise operators. Those with a Strata autograd op (or a composition
// of them) are differentiable; the others compute constants.

func init() {
	diff := map[string]func(c *opCtx, x *autograd.Var) *autograd.Var{
		"Abs":     func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Abs(x) },
		"Neg":     func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Neg(x) },
		"Exp":     func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Exp(x) },
		"Log":     func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Log(x) },
		"Sqrt":    func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Sqrt(x) },
		"Relu":    func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Relu(x) },
		"Sigmoid": func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Sigmoid(x) },
		"Tanh":    func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.Tanh(x) },
		"Softplus": func(_ *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Softplus(x)
		},
		"Reciprocal": func(_ *opCtx, x *autograd.Var) *autograd.Var { return autograd.PowScalar(x, -1) },
		"Elu": func(c *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Elu(x, c.float("alpha", 1))
		},
		"LeakyRelu": func(c *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.LeakyRelu(x, c.float("alpha", 0.01))
		},
		"Selu": func(c *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Scale(autograd.Elu(x, c.float("alpha", 1.67326319217681884765625)), c.float("gamma", 1.05070102214813232421875))
		},
		"Celu": func(c *opCtx, x *autograd.Var) *autograd.Var {
			a := c.float("alpha", 1)
			return autograd.Scale(autograd.Elu(autograd.Scale(x, 1/a), 1), a)
		},
		"HardSigmoid": func(c *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Clip(autograd.AddScalar(autograd.Scale(x, c.float("alpha", 0.2)), c.float("beta", 0.5)), 0, 1)
		},
		"HardSwish": func(_ *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Mul(x, autograd.Clip(autograd.AddScalar(autograd.Scale(x, 1.0/6), 0.5), 0, 1))
		},
		"Softsign": func(_ *opCtx, x *autograd.Var) *autograd.Var {
			return autograd.Div(x, autograd.AddScalar(autograd.Abs(x), 1))
		},
		"ThresholdedRelu": func(c *opCtx, x *autograd.Var) *autograd.Var {
			a := c.float("alpha", 1)
			return autograd.Mul(x, autograd.Const(mapT(x.Value, func(v float32) float32 { return b2f(v > a) })))
		},
		"Identity": func(_ *opCtx, x *autograd.Var) *autograd.Var { return x },
	}
	for name, f := range diff {
		reg(name, unaryDiff(f), nil)
	}
	plain := map[string]func(float32) float32{
		"Floor": f64(math.Floor), "Ceil": f64(math.Ceil), "Round": f64(math.RoundToEven),
		"Sin": f64(math.Sin), "Cos": f64(math.Cos), "Tan": f64(math.Tan),
		"Asin": f64(math.Asin), "Acos": f64(math.Acos), "Atan": f64(math.Atan),
		"Sinh": f64(math.Sinh), "Cosh": f64(math.Cosh), "Asinh": f64(math.Asinh),
		"Acosh": f64(math.Acosh), "Atanh": f64(math.Atanh), "Erf": f64(math.Erf),
		"Sign": func(x float32) float32 {
			switch {
			case x > 0:
				return 1
			case x < 0:
				return -1
			}
			return 0
		},
		"Not": func(x float32) float32 { return b2f(x == 0) },
	}
	for name, f := range plain {
		reg(name, unaryPlain(f, -1), nil)
	}
	reg("IsNaN", unaryPlain(func(x float32) float32 { return b2f(x != x) }, tBool), nil)
	reg("IsInf", func(c *opCtx, in []*value) []*value {
		pos, neg := c.int("detect_positive", 1) == 1, c.int("detect_negative", 1) == 1
		return unaryPlain(func(x float32) float32 {
			return b2f((pos && math.IsInf(float64(x), 1)) || (neg && math.IsInf(float64(x), -1)))
		}, tBool)(c, in)
	}, nil)
	reg("Shrink", func(c *opCtx, in []*value) []*value {
		l, b := c.float("lambd", 0.5), c.float("bias", 0)
		return unaryPlain(func(x float32) float32 {
			switch {
			case x < -l:
				return x + b
			case x > l:
				return x - b
			}
			return 0
		}, -1)(c, in)
	}, nil)
	reg("Clip", opClip, nil)
	reg("Dropout", func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "data")
		if len(in) > 2 && in[2] != nil && in[2].v.Value.Len() > 0 && in[2].data()[0] != 0 {
			// training mode: only a zero ratio is deterministic
			if len(in) < 2 || in[1] == nil || in[1].v.Value.Len() == 0 || in[1].data()[0] != 0 {
				reject("training_mode with a non-zero ratio (random masks)")
			}
		}
		mask := tensor.Ones(x.shape()...)
		return []*value{x, {v: autograd.Const(mask), dt: tBool, nhwc: x.nhwc}}
	}, nil)

	for name, op := range map[string]func(a, b *autograd.Var) *autograd.Var{
		"Add": autograd.Add, "Sub": autograd.Sub, "Mul": autograd.Mul, "Div": autograd.Div,
	} {
		reg(name, binaryDiff(name, op), nil)
	}
	reg("Pow", opPow, nil)
	reg("PRelu", func(c *opCtx, in []*value) []*value {
		x, s := need(in, 0, "X"), need(in, 1, "slope")
		vs, nhwc := align(x, s)
		a, b := vs[0], vs[1]
		y := autograd.Sub(autograd.Relu(a), autograd.Mul(b, autograd.Relu(autograd.Neg(a))))
		return one(&value{v: y, dt: x.dt, nhwc: nhwc})
	}, nil)
	reg("Max", variadic(autograd.Maximum, false), nil)
	reg("Min", variadic(autograd.Minimum, false), nil)
	reg("Sum", variadic(autograd.Add, false), nil)
	reg("Mean", variadic(autograd.Add, true), nil)
	cmp := map[string]func(x, y float32) bool{
		"Equal":          func(x, y float32) bool { return x == y },
		"Greater":        func(x, y float32) bool { return x > y },
		"Less":           func(x, y float32) bool { return x < y },
		"GreaterOrEqual": func(x, y float32) bool { return x >= y },
		"LessOrEqual":    func(x, y float32) bool { return x <= y },
		"And":            func(x, y float32) bool { return x != 0 && y != 0 },
		"Or":             func(x, y float32) bool { return x != 0 || y != 0 },
		"Xor":            func(x, y float32) bool { return (x != 0) != (y != 0) },
	}
	for name, f := range cmp {
		reg(name, func(c *opCtx, in []*value) []*value {
			a, b := T(need(in, 0, "A")), T(need(in, 1, "B"))
			return one(constant(bcast(name, a, b, func(x, y float32) float32 { return b2f(f(x, y)) }), tBool))
		}, nil)
	}
	reg("Mod", opMod, nil)
	reg("BitShift", func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		left := c.str("direction", "") == "LEFT"
		t := bcast("BitShift", T(x), T(need(in, 1, "Y")), func(a, b float32) float32 {
			u, s := uint64(a), uint64(b)
			if left {
				return float32(u << s)
			}
			return float32(u >> s)
		})
		return one(constant(wrapInt(t, x.dt), x.dt))
	}, nil)
	reg("Where", opWhere, nil)
}

// unaryDiff wraps a differentiable unary op; it keeps the input's layout.
func unaryDiff(f func(c *opCtx, x *autograd.Var) *autograd.Var) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		return one(&value{v: f(c, x.v), dt: x.dt, nhwc: x.nhwc, ints: identityInts(c, x)})
	}
}

func identityInts(c *opCtx, x *value) []int64 {
	if c.n.op == "Identity" {
		return x.ints
	}
	return nil
}

// unaryPlain wraps a non-differentiable elementwise function; dt < 0
// keeps the input's type.
func unaryPlain(f func(float32) float32, dt int32) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "X")
		odt := dt
		if odt < 0 {
			odt = x.dt
		}
		return one(&value{v: autograd.Const(mapT(x.v.Value, f)), dt: odt, nhwc: x.nhwc})
	}
}

// align returns the inputs in one layout: NHWC when one of them is held
// as NHWC and all have rank ≤ 4 (lower ranks broadcast from the right as
// NCHW would), else the graph's layout.
func align(in ...*value) ([]*autograd.Var, bool) {
	out := make([]*autograd.Var, len(in))
	bs := []int{}
	for _, v := range in {
		bs = tensor.BroadcastShape("broadcast", bs, v.shape())
	}
	checkSize(bs)
	any4 := false
	for _, v := range in {
		if v.nhwc {
			any4 = true
		} else if len(v.shape()) > 4 {
			any4 = false
			break
		}
	}
	for i, v := range in {
		if !any4 {
			out[i] = L(v)
			continue
		}
		if !v.nhwc && len(v.shape()) < 4 {
			s := v.shape()
			s4 := append([]int{1, 1, 1, 1}[:4-len(s)], s...)
			out[i] = physicalNHWC(&value{v: autograd.Reshape(v.v, s4...), dt: v.dt})
			continue
		}
		out[i] = physicalNHWC(v)
	}
	return out, any4
}

func binaryDiff(name string, op func(a, b *autograd.Var) *autograd.Var) opFunc {
	return func(c *opCtx, in []*value) []*value {
		a, b := need(in, 0, "A"), need(in, 1, "B")
		vs, nhwc := align(a, b)
		var y *autograd.Var
		if name == "Div" && isInt(a.dt) {
			y = autograd.Const(bcast(name, vs[0].Value, vs[1].Value, func(x, y float32) float32 {
				if y == 0 {
					return 0
				}
				return float32(math.Trunc(float64(x) / float64(y)))
			}))
		} else {
			y = op(vs[0], vs[1])
		}
		out := &value{v: y, dt: a.dt, nhwc: nhwc}
		if isInt(a.dt) && a.ints != nil && b.ints != nil && !nhwc {
			out.ints = intBinary(name, a, b, y.Value)
		}
		return one(out)
	}
}

// intBinary keeps integer arithmetic exact for shape computations.
func intBinary(name string, a, b *value, y *tensor.Tensor) []int64 {
	ai, bi := a.intsOf(), b.intsOf()
	if len(ai) != y.Len() && len(ai) != 1 || len(bi) != y.Len() && len(bi) != 1 {
		return nil
	}
	out := make([]int64, y.Len())
	for i := range out {
		x, z := ai[min(i, len(ai)-1)], bi[min(i, len(bi)-1)]
		switch name {
		case "Add":
			out[i] = x + z
		case "Sub":
			out[i] = x - z
		case "Mul":
			out[i] = x * z
		case "Div":
			if z != 0 {
				out[i] = x / z
			}
		}
	}
	return out
}

func wrapInt(t *tensor.Tensor, dt int32) *tensor.Tensor {
	if !isInt(dt) {
		return t
	}
	bits := elemSize(dt) * 8
	unsigned := dt == tUint8 || dt == tUint16 || dt == tUint32 || dt == tUint64
	d := t.Data()
	for i, x := range d {
		k := int64(x)
		if bits < 64 {
			k &= (1 << bits) - 1
			if !unsigned && k >= 1<<(bits-1) {
				k -= 1 << bits
			}
		}
		d[i] = float32(k)
	}
	return t
}

func opPow(c *opCtx, in []*value) []*value {
	a, b := need(in, 0, "X"), need(in, 1, "Y")
	vs, nhwc := align(a, b)
	var y *autograd.Var
	switch {
	case isInt(a.dt):
		y = autograd.Const(bcast("Pow", vs[0].Value, vs[1].Value, func(x, e float32) float32 {
			return float32(math.Trunc(math.Pow(float64(x), float64(e))))
		}))
	case b.v.Value.Len() == 1 && !b.v.Tracked():
		y = autograd.PowScalar(vs[0], b.v.Value.Data()[0])
	case !vs[0].Tracked() && !vs[1].Tracked():
		y = autograd.Const(bcast("Pow", vs[0].Value, vs[1].Value, func(x, e float32) float32 {
			return float32(math.Pow(float64(x), float64(e)))
		}))
	default:
		y = autograd.Pow(vs[0], vs[1])
	}
	return one(&value{v: y, dt: a.dt, nhwc: nhwc})
}

func variadic(op func(a, b *autograd.Var) *autograd.Var, mean bool) opFunc {
	return func(c *opCtx, in []*value) []*value {
		if len(in) == 0 {
			fail("needs at least one input")
		}
		vs, nhwc := align(in...)
		y := vs[0]
		for _, v := range vs[1:] {
			y = op(y, v)
		}
		if mean && len(vs) > 1 {
			y = autograd.Scale(y, 1/float32(len(vs)))
		}
		return one(&value{v: y, dt: in[0].dt, nhwc: nhwc})
	}
}

func opClip(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	if c.has("min") {
		lo = c.float("min", lo)
	}
	if c.has("max") {
		hi = c.float("max", hi)
	}
	if len(in) > 1 && in[1] != nil {
		lo = in[1].data()[0]
	}
	if len(in) > 2 && in[2] != nil {
		hi = in[2].data()[0]
	}
	var y *autograd.Var
	if x.v.Tracked() {
		y = autograd.Clip(x.v, lo, hi)
	} else {
		y = autograd.Const(mapT(x.v.Value, func(v float32) float32 { return min(max(v, lo), hi) }))
	}
	return one(&value{v: y, dt: x.dt, nhwc: x.nhwc})
}

func opMod(c *opCtx, in []*value) []*value {
	a, b := need(in, 0, "A"), need(in, 1, "B")
	fmod := c.int("fmod", 0) == 1
	t := bcast("Mod", T(a), T(b), func(x, y float32) float32 {
		if fmod || !isInt(a.dt) {
			return float32(math.Mod(float64(x), float64(y)))
		}
		if y == 0 {
			return 0
		}
		r := math.Mod(float64(x), float64(y))
		if r != 0 && (r < 0) != (y < 0) {
			r += float64(y)
		}
		return float32(r)
	})
	return one(constant(t, a.dt))
}

func opWhere(c *opCtx, in []*value) []*value {
	cond, a, b := T(need(in, 0, "condition")), need(in, 1, "X"), need(in, 2, "Y")
	av, bv := L(a), L(b)
	shape := tensor.BroadcastShape("Where", tensor.BroadcastShape("Where", cond.Shape(), av.Shape()), bv.Shape())
	if tensor.EqualShapes(cond.Shape(), shape) && tensor.EqualShapes(av.Shape(), shape) && tensor.EqualShapes(bv.Shape(), shape) {
		return one(&value{v: autograd.Where(cond, av, bv), dt: a.dt})
	}
	ce, ae, be := expandTo(cond, shape), expandTo(av.Value, shape), expandTo(bv.Value, shape)
	out := tensor.Zeros(shape...)
	for i := range out.Data() {
		if ce.Data()[i] != 0 {
			out.Data()[i] = ae.Data()[i]
		} else {
			out.Data()[i] = be.Data()[i]
		}
	}
	return one(constant(out, a.dt))
}

// expandTo broadcasts t to shape (a copy).
func expandTo(t *tensor.Tensor, shape []int) *tensor.Tensor {
	return bcast("Expand", t, tensor.Zeros(shape...), func(x, _ float32) float32 { return x })
}
