package onnx

import (
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Shape and data-movement operators, reductions and constants.

func init() {
	reg("Reshape", opReshape, nil)
	reg("Flatten", opFlatten, nil)
	reg("Transpose", opTranspose, nil)
	reg("Squeeze", opSqueeze, nil)
	reg("Unsqueeze", opUnsqueeze, nil)
	reg("Concat", opConcat, nil)
	reg("Split", opSplit, nil)
	reg("Slice", opSlice, nil)
	reg("Gather", opGather, nil)
	reg("Shape", opShape, nil)
	reg("Size", func(c *opCtx, in []*value) []*value {
		return one(intConst([]int{}, []int64{int64(need(in, 0, "data").v.Value.Len())}))
	}, nil)
	reg("Constant", opConstant, func(n *node) string {
		if _, ok := n.attrs["sparse_value"]; ok {
			return "sparse_value"
		}
		if a, ok := n.attrs["value"]; ok && a.GetT() != nil && a.GetT().GetDataType() == 8 {
			return "string tensors"
		}
		if _, ok := n.attrs["value_strings"]; ok {
			return "string tensors"
		}
		if _, ok := n.attrs["value_string"]; ok {
			return "string tensors"
		}
		return ""
	})
	reg("ConstantOfShape", opConstantOfShape, nil)
	reg("Expand", opExpand, nil)
	reg("Tile", opTile, nil)
	reg("Cast", opCast, func(n *node) string {
		return attrIs(n, "to", func(a *aproto) bool { t := int32(a.GetI()); return elemSize(t) > 0 && t != tBFloat }, "cast to strings or bfloat16")
	})
	reg("CastLike", opCast, nil)
	reg("Range", opRange, nil)
	for _, r := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		reg(r, opReduce(r), nil)
	}
	reg("ArgMax", opArg(true), nil)
	reg("ArgMin", opArg(false), nil)
	reg("Pad", opPad, nil)
	reg("DepthToSpace", opDepthToSpace, nil)
	reg("SpaceToDepth", opSpaceToDepth, nil)
	reg("CumSum", opCumSum, nil)
	reg("Trilu", opTrilu, nil)
	reg("EyeLike", opEyeLike, nil)
	reg("OneHot", opOneHot, nil)
}

func shapeArg(v *value) []int {
	s := toInts(v.intsOf())
	return s
}

func opReshape(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	xs := L(x)
	want := shapeArg(need(in, 1, "shape"))
	allowZero := c.int("allowzero", 0) == 1
	cur := xs.Shape()
	shape := make([]int, len(want))
	infer, known := -1, 1
	for i, d := range want {
		switch {
		case d == 0 && !allowZero:
			if i >= len(cur) {
				fail("shape %v copies axis %d of %v", want, i, cur)
			}
			shape[i] = cur[i]
		case d == -1:
			if infer >= 0 {
				fail("shape %v has two -1", want)
			}
			infer = i
			continue
		case d < 0:
			fail("bad shape %v", want)
		default:
			shape[i] = d
		}
		known *= shape[i]
	}
	n := xs.Value.Len()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			fail("cannot reshape %v to %v", cur, want)
		}
		shape[infer] = n / known
	} else if known != n {
		fail("cannot reshape %v (%d elements) to %v", cur, n, want)
	}
	return one(&value{v: autograd.Reshape(xs, shape...), dt: x.dt, ints: x.ints})
}

func opFlatten(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	xs := L(x)
	s := xs.Shape()
	axis := int(c.int("axis", 1))
	if axis < 0 {
		axis += len(s)
	}
	if axis < 0 || axis > len(s) {
		fail("axis %d out of range for rank %d", axis, len(s))
	}
	outer := 1
	for _, d := range s[:axis] {
		outer *= d
	}
	inner := 1
	for _, d := range s[axis:] {
		inner *= d
	}
	return one(&value{v: autograd.Reshape(xs, outer, inner), dt: x.dt})
}

func opTranspose(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	rank := len(x.shape())
	perm := toInts(c.ints("perm"))
	if len(perm) == 0 {
		perm = make([]int, rank)
		for i := range perm {
			perm[i] = rank - 1 - i
		}
	}
	if len(perm) != rank {
		fail("perm %v for rank %d", perm, rank)
	}
	src := x.v
	if !x.nhwc && rank == 4 && perm[0] == 0 && perm[1] == 3 && perm[2] == 1 && perm[3] == 2 {
		// NHWC → NCHW: keep the data, mark it as held NHWC
		return one(&value{v: src, dt: x.dt, nhwc: true})
	}
	if x.nhwc { // compose with the pending NHWC → NCHW transpose
		base := []int{0, 3, 1, 2}
		q := make([]int, 4)
		for i, p := range perm {
			if p < 0 || p > 3 {
				fail("bad perm %v", perm)
			}
			q[i] = base[p]
		}
		perm = q
	}
	ident := true
	for i, p := range perm {
		if p != i {
			ident = false
		}
	}
	if ident {
		return one(&value{v: src, dt: x.dt})
	}
	return one(&value{v: autograd.Transpose(src, perm...), dt: x.dt})
}

// axesArg reads axes from input i (newer opsets) or the "axes" attribute.
func axesArg(c *opCtx, in []*value, i int) []int64 {
	if len(in) > i && in[i] != nil {
		return in[i].intsOf()
	}
	return c.ints("axes")
}

func opSqueeze(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	xs := L(x)
	s := xs.Shape()
	axes := axesArg(c, in, 1)
	drop := make([]bool, len(s))
	if axes == nil {
		for i, d := range s {
			drop[i] = d == 1
		}
	}
	for _, a := range axes {
		i := normAxis(a, len(s))
		if s[i] != 1 {
			fail("cannot squeeze axis %d of size %d", a, s[i])
		}
		drop[i] = true
	}
	var out []int
	for i, d := range s {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return one(&value{v: autograd.Reshape(xs, out...), dt: x.dt, ints: x.ints})
}

func opUnsqueeze(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	xs := L(x)
	s := xs.Shape()
	axes := axesArg(c, in, 1)
	rank := len(s) + len(axes)
	ins := make([]bool, rank)
	for _, a := range axes {
		i := normAxis(a, rank)
		if ins[i] {
			fail("axis %d repeated", a)
		}
		ins[i] = true
	}
	out := make([]int, 0, rank)
	k := 0
	for i := 0; i < rank; i++ {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, s[k])
			k++
		}
	}
	return one(&value{v: autograd.Reshape(xs, out...), dt: x.dt, ints: x.ints})
}

func opConcat(c *opCtx, in []*value) []*value {
	if len(in) == 0 {
		fail("no inputs")
	}
	rank := len(in[0].shape())
	axis := normAxis(c.int("axis", 0), rank)
	all := true
	for _, v := range in {
		all = all && v.nhwc
	}
	vs := make([]*autograd.Var, 0, len(in))
	if all && axis == 1 {
		for _, v := range in {
			vs = append(vs, v.v)
		}
		return one(&value{v: autograd.Concat(3, vs...), dt: in[0].dt, nhwc: true})
	}
	var ints []int64
	for _, v := range in {
		if v == nil {
			continue
		}
		xv := L(v)
		if xv.Value.Len() == 0 && len(xv.Shape()) == 1 && rank != 1 {
			continue
		}
		vs = append(vs, xv)
		if rank == 1 && ints != nil || len(vs) == 1 {
			ints = append(ints, v.intsOf()...)
		}
	}
	out := &value{v: autograd.Concat(axis, vs...), dt: in[0].dt}
	if isInt(in[0].dt) && rank == 1 {
		out.ints = out.intsOf()
		for i, v := range in {
			_ = i
			_ = v
		}
		// exact concatenation of the inputs' integers
		var all []int64
		for _, v := range in {
			all = append(all, v.intsOf()...)
		}
		if len(all) == out.v.Value.Len() {
			out.ints = all
		}
	}
	return one(out)
}

func opSplit(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	xs := L(x)
	s := xs.Shape()
	axis := normAxis(c.int("axis", 0), len(s))
	n := len(c.n.out)
	var sizes []int
	if len(in) > 1 && in[1] != nil {
		sizes = toInts(in[1].intsOf())
	} else if sp := c.ints("split"); sp != nil {
		sizes = toInts(sp)
	} else {
		if n == 0 || s[axis]%n != 0 && c.int("num_outputs", 0) == 0 {
			fail("cannot split %d into %d equal parts", s[axis], n)
		}
		k := (s[axis] + n - 1) / n
		for lo := 0; lo < s[axis]; lo += k {
			sizes = append(sizes, min(k, s[axis]-lo))
		}
	}
	outs := make([]*value, len(sizes))
	lo := 0
	for i, d := range sizes {
		if d < 0 || lo+d > s[axis] {
			fail("split sizes %v do not fit %d", sizes, s[axis])
		}
		outs[i] = &value{v: autograd.SliceAxis(xs, axis, lo, lo+d), dt: x.dt}
		lo += d
	}
	if lo != s[axis] {
		fail("split sizes %v do not add up to %d", sizes, s[axis])
	}
	return outs
}

func opSlice(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	xs := L(x)
	s := xs.Shape()
	var starts, ends, axes, steps []int64
	if len(in) > 1 {
		starts, ends = need(in, 1, "starts").intsOf(), need(in, 2, "ends").intsOf()
		if len(in) > 3 && in[3] != nil {
			axes = in[3].intsOf()
		}
		if len(in) > 4 && in[4] != nil {
			steps = in[4].intsOf()
		}
	} else {
		starts, ends, axes = c.ints("starts"), c.ints("ends"), c.ints("axes")
	}
	if len(starts) != len(ends) {
		fail("starts %v and ends %v differ in length", starts, ends)
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	lo := make([]int, len(s))
	hi := append([]int{}, s...)
	st := make([]int, len(s))
	for i := range st {
		st[i] = 1
	}
	for i, a := range axes {
		ax := normAxis(a, len(s))
		d := int64(s[ax])
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			fail("step 0")
		}
		b, e := starts[i], ends[i]
		if b < 0 {
			b += d
		}
		if e < 0 {
			e += d
		}
		if step > 0 {
			b, e = min(max(b, 0), d), min(max(e, 0), d)
		} else {
			b, e = min(max(b, 0), d-1), min(max(e, -1), d-1)
		}
		lo[ax], hi[ax], st[ax] = int(b), int(e), int(step)
	}
	y := xs
	simple := true
	for ax := range s {
		if st[ax] != 1 {
			simple = false
		}
	}
	if simple {
		for ax := range s {
			if lo[ax] != 0 || hi[ax] != s[ax] {
				y = autograd.SliceAxis(y, ax, lo[ax], max(hi[ax], lo[ax]))
			}
		}
		out := &value{v: y, dt: x.dt}
		if len(s) == 1 && x.ints != nil {
			out.ints = append([]int64{}, x.ints[lo[0]:max(hi[0], lo[0])]...)
		}
		return one(out)
	}
	// strided: index lists per axis
	idx := make([][]int, len(s))
	shape := make([]int, len(s))
	for ax := range s {
		for i := lo[ax]; (st[ax] > 0 && i < hi[ax]) || (st[ax] < 0 && i > hi[ax]); i += st[ax] {
			idx[ax] = append(idx[ax], i)
		}
		shape[ax] = len(idx[ax])
	}
	return one(constant(gatherGrid(xs.Value, idx, shape), x.dt))
}

// gatherGrid returns t at the cartesian product of per-axis indices.
func gatherGrid(t *tensor.Tensor, idx [][]int, shape []int) *tensor.Tensor {
	out := tensor.Zeros(shape...)
	n := out.Len()
	s := t.Shape()
	strides := make([]int, len(s))
	k := 1
	for i := len(s) - 1; i >= 0; i-- {
		strides[i] = k
		k *= s[i]
	}
	pos := make([]int, len(s))
	d, od := t.Data(), out.Data()
	for o := 0; o < n; o++ {
		off := 0
		for ax := range s {
			off += idx[ax][pos[ax]] * strides[ax]
		}
		od[o] = d[off]
		for ax := len(s) - 1; ax >= 0; ax-- {
			pos[ax]++
			if pos[ax] < shape[ax] {
				break
			}
			pos[ax] = 0
		}
	}
	return out
}

func opGather(c *opCtx, in []*value) []*value {
	x, iv := need(in, 0, "data"), need(in, 1, "indices")
	xs := L(x)
	s := xs.Shape()
	axis := normAxis(c.int("axis", 0), len(s))
	raw := iv.intsOf()
	idx := make([]int, len(raw))
	for i, k := range raw {
		if k < 0 {
			k += int64(s[axis])
		}
		if k < 0 || k >= int64(s[axis]) {
			fail("index %d out of range for axis of size %d", raw[i], s[axis])
		}
		idx[i] = int(k)
	}
	ishape := iv.shape()
	q := len(ishape)
	perm := []int{axis}
	for i := range s {
		if i != axis {
			perm = append(perm, i)
		}
	}
	src := xs
	if axis != 0 {
		src = autograd.Transpose(xs, perm...)
	}
	rest := 1
	for i, d := range s {
		if i != axis {
			rest *= d
		}
	}
	g := autograd.Gather(autograd.Reshape(src, s[axis], rest), idx)
	shape := append([]int{}, ishape...)
	for i, d := range s {
		if i != axis {
			shape = append(shape, d)
		}
	}
	y := autograd.Reshape(g, shape...)
	if axis != 0 && q+len(s)-1 > 0 {
		fp := []int{}
		for i := 0; i < axis; i++ {
			fp = append(fp, q+i)
		}
		for i := 0; i < q; i++ {
			fp = append(fp, i)
		}
		for i := q + axis; i < q+len(s)-1; i++ {
			fp = append(fp, i)
		}
		y = autograd.Transpose(y, fp...)
	}
	out := &value{v: y, dt: x.dt}
	if x.ints != nil && len(s) == 1 {
		out.ints = make([]int64, len(idx))
		for i, k := range idx {
			out.ints[i] = x.ints[k]
		}
	}
	return one(out)
}

func opShape(c *opCtx, in []*value) []*value {
	s := L(need(in, 0, "data")).Shape()
	r := int64(len(s))
	start, end := c.int("start", 0), c.int("end", r)
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start, end = min(max(start, 0), r), min(max(end, 0), r)
	var out []int64
	for i := start; i < end; i++ {
		out = append(out, int64(s[i]))
	}
	return one(intConst([]int{len(out)}, out))
}

func opConstant(c *opCtx, in []*value) []*value {
	switch {
	case c.has("value"):
		v, err := decodeTensor(c.tensorAttr("value"))
		if err != nil {
			fail("%v", err)
		}
		return one(v)
	case c.has("value_float"):
		return one(constant(tensor.Scalar(c.float("value_float", 0)), tFloat))
	case c.has("value_floats"):
		f := c.n.attrs["value_floats"].GetFloats()
		return one(constant(tensor.New([]int{len(f)}, append([]float32{}, f...)), tFloat))
	case c.has("value_int"):
		return one(intConst([]int{}, []int64{c.int("value_int", 0)}))
	case c.has("value_ints"):
		v := c.ints("value_ints")
		return one(intConst([]int{len(v)}, v))
	}
	fail("Constant without a value")
	return nil
}

func opConstantOfShape(c *opCtx, in []*value) []*value {
	shape := shapeArg(need(in, 0, "input"))
	checkSize(shape)
	fill, dt := float32(0), tFloat
	if tp := c.tensorAttr("value"); tp != nil {
		v, err := decodeTensor(tp)
		if err != nil || v.v.Value.Len() != 1 {
			fail("value must be a one-element tensor")
		}
		fill, dt = v.data()[0], v.dt
	}
	return one(constant(tensor.Full(fill, shape...), dt))
}

func opExpand(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	xs := L(x)
	shape := tensor.BroadcastShape("Expand", xs.Shape(), shapeArg(need(in, 1, "shape")))
	checkSize(shape)
	return one(constant(expandTo(xs.Value, shape), x.dt))
}

func opTile(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	t := T(x)
	rep := shapeArg(need(in, 1, "repeats"))
	s := t.Shape()
	if len(rep) != len(s) {
		fail("repeats %v for rank %d", rep, len(s))
	}
	shape := make([]int, len(s))
	idx := make([][]int, len(s))
	for i, d := range s {
		if rep[i] < 0 {
			fail("negative repeat %v", rep)
		}
		shape[i] = d * rep[i]
	}
	checkSize(shape)
	for i, d := range s {
		for k := 0; k < shape[i]; k++ {
			idx[i] = append(idx[i], k%max(d, 1))
		}
	}
	return one(constant(gatherGrid(t, idx, shape), x.dt))
}

func opCast(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	to := int32(c.int("to", int64(tFloat)))
	if c.n.op == "CastLike" {
		to = need(in, 1, "target_type").dt
	}
	if to == tBFloat || x.dt == tBFloat {
		reject("bfloat16")
	}
	if x.dt == to {
		return one(x)
	}
	t := x.v.Value
	var out *tensor.Tensor
	switch {
	case to == tBool:
		out = mapT(t, func(v float32) float32 { return b2f(v != 0) })
	case isInt(to):
		out = wrapInt(mapT(t, func(v float32) float32 { return float32(math.Trunc(float64(v))) }), to)
	case to == tFloat16:
		out = mapT(t, func(v float32) float32 { return halfToFloat(floatToHalf(v)) })
	case to == tBFloat:
		out = mapT(t, func(v float32) float32 {
			b := math.Float32bits(v)
			if v != v {
				return v
			}
			b += 0x7fff + (b>>16)&1 // round to nearest even
			return math.Float32frombits(b &^ 0xffff)
		})
	default:
		if x.v.Tracked() && isFloat(x.dt) {
			return one(&value{v: x.v, dt: to, nhwc: x.nhwc})
		}
		out = t.Clone()
	}
	v := &value{v: autograd.Const(out), dt: to, nhwc: x.nhwc}
	if isInt(to) && isInt(x.dt) && x.ints != nil && elemSize(to) == 8 {
		v.ints = x.ints
	}
	return one(v)
}

// floatToHalf rounds a float32 to the nearest binary16 (ties to even).
func floatToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000:
		return sign | 0x7e00
	case exp >= 31:
		return sign | 0x7c00
	case exp <= 0:
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		h := mant >> shift
		rem := mant & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || rem == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	h := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
		h++
	}
	return sign | uint16(h)
}

func opRange(c *opCtx, in []*value) []*value {
	s, l, d := need(in, 0, "start"), need(in, 1, "limit"), need(in, 2, "delta")
	start, limit, delta := float64(s.data()[0]), float64(l.data()[0]), float64(d.data()[0])
	if delta == 0 {
		fail("delta 0")
	}
	n := int(max(math.Ceil((limit-start)/delta), 0))
	checkSize([]int{n})
	out := tensor.Zeros(n)
	for i := range out.Data() {
		out.Data()[i] = float32(start + float64(i)*delta)
	}
	v := constant(out, s.dt)
	if isInt(s.dt) {
		v.ints = v.intsOf()
	}
	return one(v)
}

func opReduce(name string) opFunc {
	return func(c *opCtx, in []*value) []*value {
		x := need(in, 0, "data")
		xv := L(x)
		rank := len(xv.Shape())
		keep := c.int("keepdims", 1) == 1
		raw := axesArg(c, in, 1)
		var axes []int
		for _, a := range raw {
			axes = append(axes, normAxis(a, rank))
		}
		if len(axes) == 0 {
			if c.int("noop_with_empty_axes", 0) == 1 {
				return one(x)
			}
			for i := 0; i < rank; i++ {
				axes = append(axes, i)
			}
		}
		if xv.Value.Len() == 0 {
			return one(constant(emptyReduce(name, xv.Value, axes, keep), x.dt))
		}
		var y *autograd.Var
		switch name {
		case "ReduceSum":
			y = autograd.Sum(xv, keep, axes...)
		case "ReduceMean":
			y = autograd.Mean(xv, keep, axes...)
		case "ReduceMax":
			y = autograd.Max(xv, keep, axes...)
		case "ReduceMin":
			y = autograd.Min(xv, keep, axes...)
		case "ReduceL1":
			y = autograd.Sum(autograd.Abs(xv), keep, axes...)
		case "ReduceL2":
			y = autograd.Sqrt(autograd.Sum(autograd.Square(xv), keep, axes...))
		case "ReduceSumSquare":
			y = autograd.Sum(autograd.Square(xv), keep, axes...)
		case "ReduceLogSum":
			y = autograd.Log(autograd.Sum(xv, keep, axes...))
		case "ReduceLogSumExp":
			m := autograd.Const(tensor.Max(xv.Value, true, axes...))
			y = autograd.Log(autograd.Sum(autograd.Exp(autograd.Sub(xv, m)), true, axes...))
			y = autograd.Add(y, m)
			if !keep {
				y = autograd.Reshape(y, tensor.ReducedShape(xv.Shape(), axes, false)...)
			}
		case "ReduceProd":
			y = autograd.Exp(autograd.Sum(autograd.Log(xv), keep, axes...))
			y = autograd.Const(prodReduce(xv.Value, axes, keep))
		}
		return one(&value{v: y, dt: x.dt})
	}
}

func prodReduce(t *tensor.Tensor, axes []int, keep bool) *tensor.Tensor {
	s := t.Shape()
	red := make([]bool, len(s))
	for _, a := range axes {
		red[a] = true
	}
	ks := make([]int, len(s))
	for i, d := range s {
		ks[i] = d
		if red[i] {
			ks[i] = 1
		}
	}
	out := tensor.Ones(ks...)
	pos := make([]int, len(s))
	for _, x := range t.Data() {
		off := 0
		for i := range s {
			p := pos[i]
			if red[i] {
				p = 0
			}
			off = off*ks[i] + p
		}
		out.Data()[off] *= x
		for i := len(s) - 1; i >= 0; i-- {
			pos[i]++
			if pos[i] < s[i] {
				break
			}
			pos[i] = 0
		}
	}
	return out.Reshape(tensor.ReducedShape(s, axes, keep)...)
}

func emptyReduce(name string, t *tensor.Tensor, axes []int, keep bool) *tensor.Tensor {
	shape := tensor.ReducedShape(t.Shape(), axes, keep)
	fill := float32(0)
	switch name {
	case "ReduceProd":
		fill = 1
	case "ReduceMax":
		fill = float32(math.Inf(-1))
	case "ReduceMin":
		fill = float32(math.Inf(1))
	case "ReduceLogSum", "ReduceLogSumExp":
		fill = float32(math.Inf(-1))
	}
	return tensor.Full(fill, shape...)
}

func opArg(isMax bool) opFunc {
	return func(c *opCtx, in []*value) []*value {
		t := T(need(in, 0, "data"))
		s := t.Shape()
		axis := normAxis(c.int("axis", 0), len(s))
		last := c.int("select_last_index", 0) == 1
		outer, n, inner := 1, s[axis], 1
		for i := 0; i < axis; i++ {
			outer *= s[i]
		}
		for i := axis + 1; i < len(s); i++ {
			inner *= s[i]
		}
		res := make([]int64, outer*inner)
		d := t.Data()
		for o := 0; o < outer; o++ {
			for j := 0; j < inner; j++ {
				best := 0
				for k := 1; k < n; k++ {
					a, b := d[(o*n+k)*inner+j], d[(o*n+best)*inner+j]
					if !isMax {
						a, b = -a, -b
					}
					if a > b || last && a == b {
						best = k
					}
				}
				res[o*inner+j] = int64(best)
			}
		}
		shape := tensor.ReducedShape(s, []int{axis}, c.int("keepdims", 1) == 1)
		return one(intConst(shape, res))
	}
}

func opPad(c *opCtx, in []*value) []*value {
	x := need(in, 0, "data")
	t := T(x)
	s := t.Shape()
	var pads []int
	if len(in) > 1 && in[1] != nil {
		pads = toInts(in[1].intsOf())
	} else {
		pads = toInts(c.ints("pads"))
	}
	if len(pads) != 2*len(s) {
		fail("pads %v for rank %d", pads, len(s))
	}
	val := c.float("value", 0)
	if len(in) > 2 && in[2] != nil && in[2].v.Value.Len() > 0 {
		val = in[2].data()[0]
	}
	mode := c.str("mode", "constant")
	shape := make([]int, len(s))
	idx := make([][]int, len(s))
	for ax, d := range s {
		b, e := pads[ax], pads[ax+len(s)]
		if d == 0 && (b > 0 || e > 0) && mode != "constant" {
			fail("cannot pad an empty axis in %s mode", mode)
		}
		shape[ax] = d + b + e
		if shape[ax] < 0 {
			fail("pads %v remove more than axis %d has", pads, ax)
		}
		for o := 0; o < shape[ax]; o++ {
			i := o - b
			switch {
			case i >= 0 && i < d:
			case mode == "edge":
				i = min(max(i, 0), d-1)
			case mode == "reflect":
				if d == 1 {
					i = 0
					break
				}
				p := 2 * (d - 1) // reflection repeats with this period
				i = ((i % p) + p) % p
				if i >= d {
					i = p - i
				}
			case mode == "constant":
				i = -1
			default:
				fail("unknown mode %q", mode)
			}
			idx[ax] = append(idx[ax], i)
		}
	}
	checkSize(shape)
	out := tensor.Full(val, shape...)
	// copy with per-axis index maps; -1 keeps the constant
	strides := make([]int, len(s))
	k := 1
	for i := len(s) - 1; i >= 0; i-- {
		strides[i] = k
		k *= s[i]
	}
	pos := make([]int, len(s))
	for o := range out.Data() {
		off, ok := 0, true
		for ax := range s {
			i := idx[ax][pos[ax]]
			if i < 0 {
				ok = false
				break
			}
			off += i * strides[ax]
		}
		if ok {
			out.Data()[o] = t.Data()[off]
		}
		for ax := len(s) - 1; ax >= 0; ax-- {
			pos[ax]++
			if pos[ax] < shape[ax] {
				break
			}
			pos[ax] = 0
		}
	}
	return one(constant(out, x.dt))
}

func opDepthToSpace(c *opCtx, in []*value) []*value {
	x := L(need(in, 0, "input"))
	s := x.Shape()
	if len(s) != 4 {
		fail("needs rank 4")
	}
	b := int(c.int("blocksize", 0))
	if b <= 0 || s[1]%(b*b) != 0 {
		fail("blocksize %d does not divide %d channels", b, s[1])
	}
	n, ch, h, w := s[0], s[1]/(b*b), s[2], s[3]
	var y *autograd.Var
	if c.str("mode", "DCR") == "CRD" {
		y = autograd.Transpose(autograd.Reshape(x, n, ch, b, b, h, w), 0, 1, 4, 2, 5, 3)
	} else {
		y = autograd.Transpose(autograd.Reshape(x, n, b, b, ch, h, w), 0, 3, 4, 1, 5, 2)
	}
	return one(fl(autograd.Reshape(y, n, ch, h*b, w*b)))
}

func opSpaceToDepth(c *opCtx, in []*value) []*value {
	x := L(need(in, 0, "input"))
	s := x.Shape()
	b := int(c.int("blocksize", 0))
	if len(s) != 4 || b <= 0 || s[2]%b != 0 || s[3]%b != 0 {
		fail("blocksize %d does not divide %v", b, s)
	}
	n, ch, h, w := s[0], s[1], s[2]/b, s[3]/b
	y := autograd.Transpose(autograd.Reshape(x, n, ch, h, b, w, b), 0, 3, 5, 1, 2, 4)
	return one(fl(autograd.Reshape(y, n, ch*b*b, h, w)))
}

func opCumSum(c *opCtx, in []*value) []*value {
	x := need(in, 0, "x")
	t := T(x)
	s := t.Shape()
	axis := normAxis(need(in, 1, "axis").intsOf()[0], len(s))
	excl, rev := c.int("exclusive", 0) == 1, c.int("reverse", 0) == 1
	outer, n, inner := 1, s[axis], 1
	for i := 0; i < axis; i++ {
		outer *= s[i]
	}
	for i := axis + 1; i < len(s); i++ {
		inner *= s[i]
	}
	out := tensor.Zeros(s...)
	d, od := t.Data(), out.Data()
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			var acc float32
			for kk := 0; kk < n; kk++ {
				k := kk
				if rev {
					k = n - 1 - kk
				}
				i := (o*n+k)*inner + j
				if excl {
					od[i] = acc
					acc += d[i]
				} else {
					acc += d[i]
					od[i] = acc
				}
			}
		}
	}
	return one(constant(out, x.dt))
}

func opTrilu(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	t := T(x)
	k := int64(0)
	if len(in) > 1 && in[1] != nil {
		k = in[1].intsOf()[0]
	}
	upper := c.int("upper", 1) == 1
	s := t.Shape()
	if len(s) < 2 {
		fail("needs rank ≥ 2")
	}
	r, cl := s[len(s)-2], s[len(s)-1]
	out := t.Clone()
	for i := range out.Data() {
		col := int64(i % cl)
		row := int64(i / cl % max(r, 1))
		keep := col-row >= k
		if !upper {
			keep = col-row <= k
		}
		if !keep {
			out.Data()[i] = 0
		}
	}
	return one(constant(out, x.dt))
}

func opEyeLike(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	s := x.shape()
	if len(s) != 2 {
		fail("needs rank 2")
	}
	k := int(c.int("k", 0))
	out := tensor.Zeros(s...)
	for i := 0; i < s[0]; i++ {
		if j := i + k; j >= 0 && j < s[1] {
			out.Data()[i*s[1]+j] = 1
		}
	}
	dt := int32(c.int("dtype", int64(x.dt)))
	return one(constant(out, dt))
}

func opOneHot(c *opCtx, in []*value) []*value {
	iv, dv, vv := need(in, 0, "indices"), need(in, 1, "depth"), need(in, 2, "values")
	depth := int(dv.data()[0])
	if depth < 0 || depth > MaxElements {
		fail("depth %d", depth)
	}
	is := iv.shape()
	rank := len(is) + 1
	axis := normAxis(c.int("axis", -1), rank)
	shape := append(append(append([]int{}, is[:axis]...), depth), is[axis:]...)
	checkSize(shape)
	off, on := vv.data()[0], vv.data()[1]
	out := tensor.Full(off, shape...)
	inner := 1
	for _, d := range is[axis:] {
		inner *= d
	}
	for i, x := range iv.data() {
		k := int(x)
		if k < 0 {
			k += depth
		}
		if k < 0 || k >= depth {
			continue
		}
		o, j := i/inner, i%inner
		out.Data()[(o*depth+k)*inner+j] = on
	}
	return one(constant(out, vv.dt))
}
