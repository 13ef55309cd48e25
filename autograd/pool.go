package autograd

import (
	"math/bits"
	"sync"

	"github.com/strata-dl/strata/tensor"
)

// Pool recycles the buffers of released tapes so that a training step or
// a batch of inference in steady state allocates almost nothing. A Pool is
// safe for concurrent use; give each model (or each training loop) its own.
//
// Buffers are kept by size class: a request for n elements is served by
// a buffer of capacity sizeClass(n) ≥ n, at most 25% larger, so that
// batches of varying size (a server's dynamic batches of 1 to 64 samples)
// reuse each other's buffers instead of each size allocating its own.
type Pool struct {
	mu    sync.Mutex
	free  map[int][]*tensor.Tensor // by the capacity of their data
	nodes [][]node
	vars  [][]*tensor.Tensor
	outs  [][]*Var           // the Vars of released inference tapes, for reuse
	views [][]*tensor.Tensor // their view headers, likewise
	ints  map[int][][]int32  // by capacity
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{free: map[int][]*tensor.Tensor{}, ints: map[int][][]int32{}}
}

// sizeClass is the capacity a buffer of n elements is allocated with: n
// itself up to 16, then n rounded up to its three leading binary digits
// (16, 20, 24, 28, 32, 40, 48, 56, 64, 80, ...: four classes per
// doubling, each at most 25% above the sizes it serves).
func sizeClass(n int) int {
	if n <= 16 {
		return n
	}
	s := bits.Len(uint(n)) - 3
	return (n + 1<<s - 1) >> s << s
}

// classBelow is the largest size class at most c: the key under which a
// buffer of capacity c is kept (every buffer the pool allocates has a
// size class as its capacity; this keeps others honest).
func classBelow(c int) int {
	if c <= 16 {
		return c
	}
	s := bits.Len(uint(c)) - 3
	return c >> s << s
}

// getInt32 returns an index buffer of length n.
func (p *Pool) getInt32(n int) []int32 {
	c := sizeClass(n)
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.ints[c]; len(l) > 0 {
		b := l[len(l)-1]
		p.ints[c] = l[:len(l)-1]
		return b[:n]
	}
	return make([]int32, n, c)
}

// get returns an uninitialized tensor of the given shape. A buffer of the
// same length comes back as it was (reshaped); one of another length in
// the same class gets a new tensor header over the same memory.
func (p *Pool) get(shape []int) *tensor.Tensor {
	n := tensor.Numel(shape)
	c := sizeClass(n)
	p.mu.Lock()
	l := p.free[c]
	if k := len(l); k > 0 {
		// Prefer the most recent buffer of exactly n elements (its tensor
		// header comes back as it is): a step that asks for the same
		// sizes each time then allocates no headers either.
		i := k - 1
		for j := k - 1; j >= max(0, k-8); j-- {
			if l[j].Len() == n {
				i = j
				break
			}
		}
		x := l[i]
		l[i] = l[k-1]
		l[k-1] = nil
		p.free[c] = l[:k-1]
		p.mu.Unlock()
		if x.Len() == n {
			x.ReshapeInPlace(shape)
			return x
		}
		return tensor.New(shape, x.Data()[:n:cap(x.Data())])
	}
	p.mu.Unlock()
	return tensor.New(shape, make([]float32, n, c))
}

func (p *Pool) takeSlices() ([]node, []*tensor.Tensor, []*tensor.Tensor, []*Var, []*tensor.Tensor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var nodes []node
	var grads, owned []*tensor.Tensor
	var outs []*Var
	var views []*tensor.Tensor
	if k := len(p.nodes); k > 0 {
		nodes = p.nodes[k-1]
		p.nodes = p.nodes[:k-1]
	}
	if k := len(p.outs); k > 0 {
		outs = p.outs[k-1]
		p.outs = p.outs[:k-1]
	}
	if k := len(p.views); k > 0 {
		views = p.views[k-1]
		p.views = p.views[:k-1]
	}
	if k := len(p.vars); k >= 2 {
		grads, owned = p.vars[k-1], p.vars[k-2]
		p.vars = p.vars[:k-2]
	}
	return nodes, grads, owned, outs, views
}

func (p *Pool) giveBack(nodes []node, grads, owned []*tensor.Tensor, ints [][]int32, outs []*Var, views []*tensor.Tensor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range owned {
		c := classBelow(cap(x.Data()))
		p.free[c] = append(p.free[c], x)
	}
	for _, b := range ints {
		c := classBelow(cap(b))
		p.ints[c] = append(p.ints[c], b)
	}
	clear(grads)
	clear(owned)
	p.nodes = append(p.nodes, nodes)
	p.vars = append(p.vars, owned[:0], grads[:0])
	p.outs = append(p.outs, outs[:0])
	p.views = append(p.views, views[:0])
}
