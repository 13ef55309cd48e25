package onnx

import (
	"math"
	"sort"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// Indexing operators (GatherElements, GatherND, ScatterElements, Scatter,
// ScatterND, TopK, NonZero, Compress, ReverseSequence) and the losses
// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss. They compute
// constants, except the losses, whose gradient to the scores flows.

func init() {
	reg("GatherElements", opGatherElements, nil)
	reg("ScatterElements", opScatterElements, nil)
	reg("Scatter", opScatterElements, nil)
	reg("GatherND", opGatherND, nil)
	reg("ScatterND", opScatterND, nil)
	reg("TopK", opTopK, nil)
	reg("NonZero", opNonZero, nil)
	reg("Compress", opCompress, nil)
	reg("ReverseSequence", opReverseSequence, nil)
	reg("NegativeLogLikelihoodLoss", opNLL, nil)
	reg("SoftmaxCrossEntropyLoss", opSCE, nil)
}

func stridesOf(s []int) []int {
	st := make([]int, len(s))
	k := 1
	for i := len(s) - 1; i >= 0; i-- {
		st[i] = k
		k *= s[i]
	}
	return st
}

// unravel writes the multi-index of flat offset o in shape s into idx.
func unravel(o int, s []int, idx []int) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] > 0 {
			idx[i] = o % s[i]
			o /= s[i]
		}
	}
}

func index(k int64, n int) int {
	if k < 0 {
		k += int64(n)
	}
	if k < 0 || k >= int64(n) {
		fail("index %d out of range for size %d", k, n)
	}
	return int(k)
}

func opGatherElements(c *opCtx, in []*value) []*value {
	x, iv := need(in, 0, "data"), need(in, 1, "indices")
	t := T(x)
	s := t.Shape()
	axis := normAxis(c.int("axis", 0), len(s))
	is := iv.shape()
	ids := iv.intsOf()
	out := tensor.Zeros(is...)
	st := stridesOf(s)
	idx := make([]int, len(is))
	for o := range out.Data() {
		unravel(o, is, idx)
		off := 0
		for d := range s {
			p := idx[d]
			if d == axis {
				p = index(ids[o], s[axis])
			}
			off += p * st[d]
		}
		out.Data()[o] = t.Data()[off]
	}
	return one(constant(out, x.dt))
}

func opScatterElements(c *opCtx, in []*value) []*value {
	x, iv, uv := need(in, 0, "data"), need(in, 1, "indices"), need(in, 2, "updates")
	out := T(x).Clone()
	s := out.Shape()
	axis := normAxis(c.int("axis", 0), len(s))
	red := c.str("reduction", "none")
	is := iv.shape()
	ids, up := iv.intsOf(), T(uv).Data()
	st := stridesOf(s)
	idx := make([]int, len(is))
	for o := range ids {
		unravel(o, is, idx)
		off := 0
		for d := range s {
			p := idx[d]
			if d == axis {
				p = index(ids[o], s[axis])
			}
			off += p * st[d]
		}
		scatterSet(out.Data(), off, up[o], red)
	}
	return one(constant(out, x.dt))
}

func scatterSet(d []float32, i int, v float32, red string) {
	switch red {
	case "add":
		d[i] += v
	case "mul":
		d[i] *= v
	default:
		d[i] = v
	}
}

func opGatherND(c *opCtx, in []*value) []*value {
	x, iv := need(in, 0, "data"), need(in, 1, "indices")
	t := T(x)
	s := t.Shape()
	b := int(c.int("batch_dims", 0))
	is := iv.shape()
	if len(is) == 0 || b < 0 || b >= len(is) || b >= len(s) {
		fail("bad indices shape %v for batch_dims %d", is, b)
	}
	k := is[len(is)-1]
	if b+k > len(s) {
		fail("indices of depth %d into rank %d", k, len(s))
	}
	shape := append(append([]int{}, is[:len(is)-1]...), s[b+k:]...)
	checkSize(shape)
	inner := tensor.Numel(s[b+k:])
	batchN := tensor.Numel(s[:b])
	per := tensor.Numel(is[b : len(is)-1])
	out := tensor.Zeros(shape...)
	ids := iv.intsOf()
	st := stridesOf(s)
	block := tensor.Numel(s[b:])
	o := 0
	for bi := 0; bi < batchN; bi++ {
		for j := 0; j < per; j++ {
			off := bi * block
			row := ids[(bi*per+j)*k:]
			for d := 0; d < k; d++ {
				off += index(row[d], s[b+d]) * st[b+d]
			}
			copy(out.Data()[o:o+inner], t.Data()[off:off+inner])
			o += inner
		}
	}
	return one(constant(out, x.dt))
}

func opScatterND(c *opCtx, in []*value) []*value {
	x, iv, uv := need(in, 0, "data"), need(in, 1, "indices"), need(in, 2, "updates")
	out := T(x).Clone()
	s := out.Shape()
	is := iv.shape()
	k := is[len(is)-1]
	if k > len(s) {
		fail("indices of depth %d into rank %d", k, len(s))
	}
	inner := tensor.Numel(s[k:])
	n := tensor.Numel(is[:len(is)-1])
	ids, up := iv.intsOf(), T(uv).Data()
	if len(up) != n*inner {
		fail("updates have %d values, want %d", len(up), n*inner)
	}
	st := stridesOf(s)
	red := c.str("reduction", "none")
	for j := 0; j < n; j++ {
		off := 0
		for d := 0; d < k; d++ {
			off += index(ids[j*k+d], s[d]) * st[d]
		}
		for e := 0; e < inner; e++ {
			scatterSet(out.Data(), off+e, up[j*inner+e], red)
		}
	}
	return one(constant(out, x.dt))
}

func opTopK(c *opCtx, in []*value) []*value {
	x := need(in, 0, "X")
	t := T(x)
	s := t.Shape()
	axis := normAxis(c.int("axis", -1), len(s))
	k := int(need(in, 1, "K").intsOf()[0])
	if k < 0 || k > s[axis] {
		fail("k %d for an axis of %d", k, s[axis])
	}
	largest, sorted := c.int("largest", 1) == 1, c.int("sorted", 1) == 1
	_ = sorted
	outer, n, inner := tensor.Numel(s[:axis]), s[axis], tensor.Numel(s[axis+1:])
	shape := append([]int{}, s...)
	shape[axis] = k
	vals, idxs := tensor.Zeros(shape...), make([]int64, tensor.Numel(shape))
	ord := make([]int, n)
	for o := 0; o < outer; o++ {
		for j := 0; j < inner; j++ {
			at := func(i int) float32 { return t.Data()[(o*n+i)*inner+j] }
			for i := range ord {
				ord[i] = i
			}
			sort.SliceStable(ord, func(a, b int) bool {
				va, vb := at(ord[a]), at(ord[b])
				if largest {
					return va > vb
				}
				return va < vb
			})
			for i := 0; i < k; i++ {
				p := (o*k+i)*inner + j
				vals.Data()[p] = at(ord[i])
				idxs[p] = int64(ord[i])
			}
		}
	}
	return []*value{constant(vals, x.dt), intConst(shape, idxs)}
}

func opNonZero(c *opCtx, in []*value) []*value {
	t := T(need(in, 0, "X"))
	s := t.Shape()
	var hits []int
	for i, v := range t.Data() {
		if v != 0 {
			hits = append(hits, i)
		}
	}
	out := make([]int64, len(s)*len(hits))
	idx := make([]int, len(s))
	for j, h := range hits {
		unravel(h, s, idx)
		for d := range s {
			out[d*len(hits)+j] = int64(idx[d])
		}
	}
	return one(intConst([]int{len(s), len(hits)}, out))
}

func opCompress(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	t := T(x)
	cond := need(in, 1, "condition").data()
	if !c.has("axis") {
		t = t.Reshape(t.Len())
	}
	s := t.Shape()
	axis := normAxis(c.int("axis", 0), len(s))
	var keep []int
	for i := 0; i < s[axis] && i < len(cond); i++ {
		if cond[i] != 0 {
			keep = append(keep, i)
		}
	}
	return one(constant(tensor.IndexSelect(t, axis, keep), x.dt))
}

func opReverseSequence(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	out := T(x).Clone()
	src := T(x)
	s := out.Shape()
	ta, ba := int(c.int("time_axis", 0)), int(c.int("batch_axis", 1))
	lens := need(in, 1, "sequence_lens").intsOf()
	st := stridesOf(s)
	idx := make([]int, len(s))
	for o := range out.Data() {
		unravel(o, s, idx)
		b, tt := idx[ba], idx[ta]
		if b >= len(lens) {
			fail("sequence_lens has %d entries", len(lens))
		}
		if l := int(lens[b]); tt < l {
			off := o + (l-1-tt-tt)*st[ta]
			out.Data()[o] = src.Data()[off]
		}
	}
	return one(constant(out, x.dt))
}

// nll computes NegativeLogLikelihoodLoss on log-probabilities x [N, C,
// d...] as an autograd expression: the picked entries are selected by a
// constant weight mask (so the gradient to x flows).
func nll(c *opCtx, x *autograd.Var, target *value, weight *value) *autograd.Var {
	s := x.Shape()
	if len(s) < 2 {
		fail("input must be [N, C, ...], got %v", s)
	}
	cl := s[1]
	ts := target.shape()
	tg := target.intsOf()
	ii := c.int("ignore_index", math.MinInt64)
	hasII := c.has("ignore_index")
	inner := tensor.Numel(s[2:])
	if len(tg) != s[0]*inner {
		fail("target %v does not fit input %v", ts, s)
	}
	mask := tensor.Zeros(s...)
	per := tensor.Zeros(ts...) // weight of each sample
	var wsum float64
	for n := 0; n < s[0]; n++ {
		for j := 0; j < inner; j++ {
			k := tg[n*inner+j]
			if hasII && k == ii {
				continue
			}
			ci := index(k, cl)
			w := float32(1)
			if weight != nil {
				w = weight.data()[ci]
			}
			mask.Data()[(n*cl+ci)*inner+j] = -w
			per.Data()[n*inner+j] = w
			wsum += float64(w)
		}
	}
	picked := autograd.Sum(autograd.Mul(x, autograd.Const(mask)), false, 1) // [N, d...]
	switch c.str("reduction", "mean") {
	case "none":
		return picked
	case "sum":
		return autograd.Sum(picked, false)
	default:
		if wsum == 0 {
			return autograd.Scale(autograd.Sum(picked, false), 0)
		}
		return autograd.Scale(autograd.Sum(picked, false), float32(1/wsum))
	}
}

func opNLL(c *opCtx, in []*value) []*value {
	x := need(in, 0, "input")
	var w *value
	if len(in) > 2 {
		w = in[2]
	}
	return one(&value{v: nll(c, L(x), need(in, 1, "target"), w), dt: x.dt})
}

func opSCE(c *opCtx, in []*value) []*value {
	x := need(in, 0, "scores")
	lp := autograd.LogSoftmax(L(x), 1)
	var w *value
	if len(in) > 2 {
		w = in[2]
	}
	return []*value{{v: nll(c, lp, need(in, 1, "labels"), w), dt: x.dt}, {v: lp, dt: x.dt}}
}

func init() {
	reg("LRN", opLRN, nil)
	reg("Det", opDet, nil)
}

// opLRN is local response normalization across channels (Krizhevsky et
// al. 2012): y = x / (bias + α/size · Σ x²)^β over size neighbouring
// channels.
func opLRN(c *opCtx, in []*value) []*value {
	x := need(in, 0, "X")
	t := T(x)
	s := t.Shape()
	size := int(c.int("size", 0))
	if len(s) < 2 || size <= 0 {
		fail("LRN needs [N, C, ...] and a positive size, got %v and %d", s, size)
	}
	alpha, beta, bias := float64(c.float("alpha", 1e-4)), float64(c.float("beta", 0.75)), float64(c.float("bias", 1))
	ch, inner := s[1], tensor.Numel(s[2:])
	lo, hi := (size-1)/2, (size-1)-(size-1)/2
	out := tensor.Zeros(s...)
	d := t.Data()
	for n := 0; n < s[0]; n++ {
		for k := 0; k < ch; k++ {
			for j := 0; j < inner; j++ {
				sum := 0.0
				for i := max(0, k-lo); i <= min(ch-1, k+hi); i++ {
					v := float64(d[(n*ch+i)*inner+j])
					sum += v * v
				}
				p := (n*ch+k)*inner + j
				out.Data()[p] = float32(float64(d[p]) / math.Pow(bias+alpha/float64(size)*sum, beta))
			}
		}
	}
	return one(constant(out, x.dt))
}

// opDet returns the determinants of square matrices [..., M, M] (LU
// decomposition with partial pivoting, in float64).
func opDet(c *opCtx, in []*value) []*value {
	x := need(in, 0, "X")
	t := T(x)
	s := t.Shape()
	if len(s) < 2 || s[len(s)-1] != s[len(s)-2] {
		fail("Det needs square matrices, got %v", s)
	}
	m := s[len(s)-1]
	batch := tensor.Numel(s[:len(s)-2])
	out := tensor.Zeros(s[:len(s)-2]...)
	a := make([]float64, m*m)
	for b := 0; b < batch; b++ {
		for i, v := range t.Data()[b*m*m : (b+1)*m*m] {
			a[i] = float64(v)
		}
		det := 1.0
		for col := 0; col < m; col++ {
			p := col
			for r := col + 1; r < m; r++ {
				if math.Abs(a[r*m+col]) > math.Abs(a[p*m+col]) {
					p = r
				}
			}
			if a[p*m+col] == 0 {
				det = 0
				break
			}
			if p != col {
				for k := 0; k < m; k++ {
					a[p*m+k], a[col*m+k] = a[col*m+k], a[p*m+k]
				}
				det = -det
			}
			det *= a[col*m+col]
			for r := col + 1; r < m; r++ {
				f := a[r*m+col] / a[col*m+col]
				for k := col; k < m; k++ {
					a[r*m+k] -= f * a[col*m+k]
				}
			}
		}
		out.Data()[b] = float32(det)
	}
	return one(constant(out, x.dt))
}

func init() { reg("Einsum", opEinsum, nil) }

// opEinsum evaluates an Einstein summation ("ij,jk->ik", with "..." and
// repeated letters for diagonals) by a loop over every index combination:
// meant for the small contractions of exported graphs, not as a fast
// matrix product.
func opEinsum(c *opCtx, in []*value) []*value {
	eq := strings.ReplaceAll(c.str("equation", ""), " ", "")
	lhs, rhs, explicit := strings.Cut(eq, "->")
	terms := strings.Split(lhs, ",")
	if len(terms) != len(in) {
		fail("equation %q has %d operands, got %d inputs", eq, len(terms), len(in))
	}
	ts := make([]*tensor.Tensor, len(in))
	ell := 0 // number of axes "..." stands for
	for i, v := range in {
		ts[i] = T(v)
		if strings.Contains(terms[i], "...") {
			ell = max(ell, ts[i].Rank()-(len(terms[i])-3))
		}
	}
	ellLetters := ""
	for k := 0; k < ell; k++ {
		ellLetters += string(rune('A' + k))
	}
	size := map[rune]int{}
	for i, term := range terms {
		n := ts[i].Rank() - (len(term) - 3)
		if !strings.Contains(term, "...") {
			n = 0
		}
		term = strings.Replace(term, "...", ellLetters[ell-n:], 1)
		terms[i] = term
		if len(term) != ts[i].Rank() {
			fail("term %q does not fit an operand of shape %v", term, ts[i].Shape())
		}
		for k, r := range term {
			d := ts[i].Dim(k)
			if old, ok := size[r]; ok && old != d && old != 1 && d != 1 {
				fail("index %c is %d and %d", r, old, d)
			}
			size[r] = max(size[r], d)
		}
	}
	if !explicit {
		count := map[rune]int{}
		for _, t := range terms {
			for _, r := range t {
				count[r]++
			}
		}
		rhs = ellLetters
		var letters []string
		for r, n := range count {
			if n == 1 && (r < 'A' || r > 'Z') {
				letters = append(letters, string(r))
			}
		}
		sort.Strings(letters)
		rhs += strings.Join(letters, "")
	} else {
		rhs = strings.Replace(rhs, "...", ellLetters, 1)
	}
	var all []rune
	seen := map[rune]bool{}
	for _, r := range rhs + strings.Join(terms, "") {
		if !seen[r] {
			seen[r] = true
			all = append(all, r)
		}
	}
	shape := make([]int, len(rhs))
	for i, r := range rhs {
		shape[i] = size[r]
	}
	dims := make([]int, len(all))
	for i, r := range all {
		dims[i] = size[r]
	}
	checkSize(dims)
	out := tensor.Zeros(shape...)
	pos := make([]int, len(all))
	at := map[rune]int{}
	for i, r := range all {
		at[r] = i
	}
	strides := make([][]int, len(ts))
	for i, t := range ts {
		st := stridesOf(t.Shape())
		strides[i] = make([]int, len(all))
		for k, r := range terms[i] {
			if t.Dim(k) != 1 {
				strides[i][at[r]] += st[k]
			}
		}
	}
	ost := stridesOf(shape)
	outStride := make([]int, len(all))
	for k, r := range rhs {
		outStride[at[r]] = ost[k]
	}
	total := tensor.Numel(dims)
	for it := 0; it < total; it++ {
		prod := float32(1)
		for i, t := range ts {
			off := 0
			for k, p := range pos {
				off += p * strides[i][k]
			}
			prod *= t.Data()[off]
		}
		o := 0
		for k, p := range pos {
			o += p * outStride[k]
		}
		out.Data()[o] += prod
		for k := len(pos) - 1; k >= 0; k-- {
			pos[k]++
			if pos[k] < dims[k] {
				break
			}
			pos[k] = 0
		}
	}
	return one(constant(out, in[0].dt))
}
