package autograd

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func TestSizeClass(t *testing.T) {
	prev := 0
	for n := 1; n < 1<<20; n += 1 + n/97 {
		c := sizeClass(n)
		if c < n || (n > 16 && 4*c > 5*n) || c < prev {
			t.Fatalf("sizeClass(%d) = %d: want n ≤ c ≤ 1.25n, not below sizeClass of a smaller n (%d)", n, c, prev)
		}
		if classBelow(c) != c || classBelow(c+1) != c && sizeClass(c+1) != c+1 {
			t.Fatalf("classBelow(%d) = %d, classBelow(%d) = %d", c, classBelow(c), c+1, classBelow(c+1))
		}
		prev = c
	}
}

// TestPoolSizeClasses: after one pass over batch sizes 1 to 64, a second
// pass through an inference tape allocates no tensor data (only headers
// for buffers reused at another length), and its values are right.
func TestPoolSizeClasses(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	w := Const(randT(rng, 96, 48))
	f := func(in *Var) *Var { return Softmax(Dense(in, w, nil, Act(tensor.OpRelu, 0)), -1) }
	x := randT(rng, 64, 96)
	pool := NewPool()
	pass := func(check bool) {
		for b := 1; b <= 64; b++ {
			in := x.Slice(0, b)
			tape := NewInferenceTape(pool)
			y := f(tape.Input(in))
			if check {
				want := f(Const(in)).Value
				for i, v := range y.Value.Data() {
					if v != want.Data()[i] {
						t.Fatalf("batch %d: pooled value %v, unpooled %v", b, v, want.Data()[i])
					}
				}
			}
			tape.Release()
		}
	}
	pass(true)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	pass(false)
	runtime.ReadMemStats(&m1)
	// Without classes a second pass allocates nothing either, but a
	// pass in another order did: check the bytes against the data a
	// pass touches (64 batches of 64·48 floats at most, two ops).
	if got, data := m1.TotalAlloc-m0.TotalAlloc, uint64(64*64*48*4*2); got > data/8 {
		t.Errorf("second pass allocated %d bytes; its tensors hold up to %d", got, data)
	}
}

// TestPoolReusesClass: a buffer given back serves any length of its size
// class, with the same memory.
func TestPoolReusesClass(t *testing.T) {
	pool := NewPool()
	for n := 1; n < 5000; n += 1 + n/50 {
		c := sizeClass(n)
		x := pool.get([]int{c})
		pool.giveBack(nil, nil, []*tensor.Tensor{x}, [][]int32{make([]int32, c)}, nil, nil)
		y := pool.get([]int{1, n})
		if &y.Data()[0] != &x.Data()[0] || y.Len() != n || y.Dim(1) != n {
			t.Fatalf("get(%d) after a buffer of class %d came back: new memory or shape %v", n, c, y.Shape())
		}
		if b := pool.getInt32(n); len(b) != n || cap(b) != c {
			t.Fatalf("getInt32(%d): len %d cap %d, want the class-%d buffer", n, len(b), cap(b), c)
		}
	}
}

// TestReleasedInferenceVarsHoldNothing checks that the Vars and reshape
// views an inference tape gives back to its pool no longer point at the
// caller's input (a Predictor's pool must not keep a dataset alive).
func TestReleasedInferenceVarsHoldNothing(t *testing.T) {
	x := tensor.Zeros(4, 3)
	tape := NewInferenceTape(nil)
	in := tape.Input(x)
	flat := Flatten(Reshape(in, 2, 2, 3))
	view := flat.Value
	tape.Release()
	if in.Value != nil || flat.Value != nil || view.Len() != 0 {
		t.Errorf("after Release: input %v, view Var %v, view header of %d elements; want nil, nil, 0", in.Value, flat.Value, view.Len())
	}
}
