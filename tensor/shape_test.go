package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The shape operations checked against naive loops over multi-indices:
// each case computes every output element from its index alone.

// forEach calls f with every multi-index of shape in row-major order.
func forEach(shape []int, f func(idx []int)) {
	idx := make([]int, len(shape))
	for n := Numel(shape); n > 0; n-- {
		f(idx)
		for a := len(shape) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < shape[a] {
				break
			}
			idx[a] = 0
		}
	}
}

// at returns x's element at a multi-index (naive strides).
func at(x *Tensor, idx []int) float32 {
	off := 0
	for a, i := range idx {
		off = off*x.shape[a] + i
	}
	return x.data[off]
}

// with returns a copy of idx with idx[axis] = v.
func with(idx []int, axis, v int) []int {
	c := append([]int(nil), idx...)
	c[axis] = v
	return c
}

func randT(rng *rand.Rand, shape ...int) *Tensor { return RandUniform(rng, -1, 1, shape...) }

// checkNaive compares got with want(idx) at every index of wantShape,
// exactly.
func checkNaive(t *testing.T, name string, got *Tensor, wantShape []int, want func(idx []int) float32) {
	t.Helper()
	checkClose(t, name, got, wantShape, want, 0)
}

// checkClose compares got with want(idx) at every index of wantShape, to
// within tol.
func checkClose(t *testing.T, name string, got *Tensor, wantShape []int, want func(idx []int) float32, tol float32) {
	t.Helper()
	if !EqualShapes(got.shape, wantShape) {
		t.Errorf("%s: shape %v, want %v", name, got.shape, wantShape)
		return
	}
	forEach(wantShape, func(idx []int) {
		if g, w := at(got, idx), want(idx); g-w > tol || w-g > tol {
			t.Errorf("%s: at %v got %v, want %v", name, idx, g, w)
		}
	})
}

func TestTransposeNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		shape, perm []int
	}{
		{[]int{2, 3}, []int{1, 0}},
		{[]int{2, 3, 4}, []int{2, 0, 1}},
		{[]int{2, 3, 4}, []int{0, 2, 1}},
		{[]int{1, 2, 3, 2}, []int{3, 1, 0, 2}},
		{[]int{3, 1, 2}, []int{0, 1, 2}},
	} {
		x := randT(rng, c.shape...)
		out := make([]int, len(c.perm))
		for i, p := range c.perm {
			out[i] = c.shape[p]
		}
		checkNaive(t, fmt.Sprintf("Transpose%v%v", c.shape, c.perm), Transpose(x, c.perm...), out, func(idx []int) float32 {
			in := make([]int, len(idx))
			for i, p := range c.perm {
				in[p] = idx[i]
			}
			return at(x, in)
		})
	}
}

func TestConcatStackSplitNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, c := range []struct {
		shape []int // of each part; the concat axis varies
		axis  int
		sizes []int
	}{
		{[]int{2, 3}, 0, []int{1, 2, 3}},
		{[]int{2, 3}, 1, []int{2, 1}},
		{[]int{2, 3, 4}, 2, []int{1, 3, 2}},
		{[]int{2, 3, 4}, 1, []int{3}},
	} {
		var parts []*Tensor
		for _, s := range c.sizes {
			parts = append(parts, randT(rng, with(c.shape, c.axis, s)...))
		}
		total := 0
		for _, s := range c.sizes {
			total += s
		}
		name := fmt.Sprintf("Concat%v axis %d sizes %v", c.shape, c.axis, c.sizes)
		cat := Concat(c.axis, parts...)
		checkNaive(t, name, cat, with(c.shape, c.axis, total), func(idx []int) float32 {
			i := idx[c.axis]
			for k, s := range c.sizes {
				if i < s {
					return at(parts[k], with(idx, c.axis, i))
				}
				i -= s
			}
			panic("unreachable")
		})
		for k, piece := range Split(cat, c.axis, c.sizes...) {
			checkNaive(t, name+" Split", piece, parts[k].shape, func(idx []int) float32 { return at(parts[k], idx) })
		}
		lo := 0
		for k, s := range c.sizes {
			checkNaive(t, name+" SliceAxis", SliceAxis(cat, c.axis, lo, lo+s), parts[k].shape, func(idx []int) float32 { return at(parts[k], idx) })
			lo += s
		}
	}
	for _, axis := range []int{0, 1, 2} {
		a, b := randT(rng, 2, 3), randT(rng, 2, 3)
		shape := append(append([]int{2, 3}[:axis:axis], 2), []int{2, 3}[axis:]...)
		checkNaive(t, fmt.Sprintf("Stack axis %d", axis), Stack(axis, a, b), shape, func(idx []int) float32 {
			rest := append(append([]int(nil), idx[:axis]...), idx[axis+1:]...)
			return at([]*Tensor{a, b}[idx[axis]], rest)
		})
	}
}

func TestIndexSelectPadNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := randT(rng, 3, 4, 2)
	for axis, sel := range [][]int{{2, 0, 2}, {3, 1}, {1, 1, 0, 1}} {
		checkNaive(t, fmt.Sprintf("IndexSelect axis %d %v", axis, sel), IndexSelect(x, axis, sel), with(x.shape, axis, len(sel)), func(idx []int) float32 {
			return at(x, with(idx, axis, sel[idx[axis]]))
		})
	}
	for _, pads := range [][][2]int{{{0, 0}, {1, 2}, {0, 1}}, {{2, 0}, {0, 0}, {1, 1}}, {{0, 0}, {0, 0}, {0, 0}}} {
		shape := make([]int, 3)
		for a := range shape {
			shape[a] = x.shape[a] + pads[a][0] + pads[a][1]
		}
		checkNaive(t, fmt.Sprintf("Pad %v", pads), Pad(x, pads, 7), shape, func(idx []int) float32 {
			in := make([]int, 3)
			for a := range in {
				in[a] = idx[a] - pads[a][0]
				if in[a] < 0 || in[a] >= x.shape[a] {
					return 7
				}
			}
			return at(x, in)
		})
	}
	labels := []int{2, 0, 1, 2}
	checkNaive(t, "OneHot", OneHot(labels, 3), []int{4, 3}, func(idx []int) float32 {
		if labels[idx[0]] == idx[1] {
			return 1
		}
		return 0
	})
}

func TestReduceNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	x := randT(rng, 2, 3, 4)
	for _, axes := range [][]int{{0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1, 2}, {-1}} {
		norm := NormAxes("test", 3, axes)
		reduced := map[int]bool{}
		for _, a := range norm {
			reduced[a] = true
		}
		for _, op := range []struct {
			name string
			f    func(*Tensor, bool, ...int) *Tensor
			init float32
			acc  func(a, v float32) float32
		}{
			{"Sum", Sum, 0, func(a, v float32) float32 { return a + v }},
			{"Max", Max, -2, func(a, v float32) float32 { return max(a, v) }},
			{"Min", Min, 2, func(a, v float32) float32 { return min(a, v) }},
		} {
			want := func(idx []int) float32 {
				acc := op.init
				forEach(x.shape, func(in []int) {
					for a := range in {
						if !reduced[a] && in[a] != idx[a] {
							return
						}
					}
					acc = op.acc(acc, at(x, in))
				})
				return acc
			}
			got := op.f(x, true, axes...)
			// a float32 sum in another order may differ in the last bits
			checkClose(t, fmt.Sprintf("%s axes %v", op.name, axes), got, ReducedShape(x.shape, norm, true), want, 1e-5)
		}
	}
}

// TestViewOfMatchesReshape checks ViewOf against Reshape on a table of
// shapes (an inferred dimension, ranks up to 6), that it shares the
// storage, and that a bad shape panics with a *ShapeError naming ViewOf.
func TestViewOfMatchesReshape(t *testing.T) {
	x := Arange(0, 24, 1)
	var v Tensor
	for _, shape := range [][]int{{24}, {2, 12}, {2, -1}, {-1, 3, 4}, {1, 2, 3, 4}, {1, 1, 2, 3, 1, 4}, {2, 3, 4}} {
		want := x.Reshape(shape...)
		v.ViewOf(x, shape...)
		if !EqualShapes(v.Shape(), want.Shape()) || &v.Data()[0] != &x.Data()[0] || v.Len() != 24 {
			t.Errorf("ViewOf(%v): shape %v, want %v, shared storage %v", shape, v.Shape(), want.Shape(), &v.Data()[0] == &x.Data()[0])
		}
	}
	for _, bad := range [][]int{{5, 5}, {-1, 5}, {-2, 12}, {-1, -1}} {
		func() {
			defer func() {
				se, ok := recover().(*ShapeError)
				if !ok || se.Op != "ViewOf" || !EqualShapes(se.Want, bad) {
					t.Errorf("ViewOf(%v): panic %v, want a ViewOf shape error", bad, se)
				}
			}()
			v.ViewOf(x, bad...)
		}()
	}
}
