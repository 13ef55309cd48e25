package autograd

import (
	"sync"

	"github.com/strata-dl/strata/tensor"
)

// Pool recycles the buffers of released tapes, keyed by element count, so
// that a training step in steady state allocates almost nothing. A Pool is
// safe for concurrent use; give each model (or each training loop) its own.
type Pool struct {
	mu    sync.Mutex
	free  map[int][]*tensor.Tensor
	nodes [][]node
	vars  [][]*tensor.Tensor
	ints  map[int][][]int32
}

// NewPool returns an empty pool.
func NewPool() *Pool {
	return &Pool{free: map[int][]*tensor.Tensor{}, ints: map[int][][]int32{}}
}

// getInt32 returns an index buffer of length n.
func (p *Pool) getInt32(n int) []int32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b []int32
	if l := p.ints[n]; len(l) > 0 {
		b = l[len(l)-1]
		p.ints[n] = l[:len(l)-1]
	} else {
		b = make([]int32, n)
	}
	return b
}

func (p *Pool) get(shape []int) *tensor.Tensor {
	n := tensor.Numel(shape)
	p.mu.Lock()
	l := p.free[n]
	if k := len(l); k > 0 {
		x := l[k-1]
		p.free[n] = l[:k-1]
		p.mu.Unlock()
		x.ReshapeInPlace(shape)
		return x
	}
	p.mu.Unlock()
	return tensor.Zeros(shape...)
}

func (p *Pool) takeSlices() ([]node, []*tensor.Tensor, []*tensor.Tensor) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var nodes []node
	var grads, owned []*tensor.Tensor
	if k := len(p.nodes); k > 0 {
		nodes = p.nodes[k-1]
		p.nodes = p.nodes[:k-1]
	}
	if k := len(p.vars); k >= 2 {
		grads, owned = p.vars[k-1], p.vars[k-2]
		p.vars = p.vars[:k-2]
	}
	return nodes, grads, owned
}

func (p *Pool) giveBack(nodes []node, grads, owned []*tensor.Tensor, ints [][]int32) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range owned {
		n := x.Len()
		p.free[n] = append(p.free[n], x)
	}
	for _, b := range ints {
		p.ints[len(b)] = append(p.ints[len(b)], b)
	}
	clear(grads)
	clear(owned)
	p.nodes = append(p.nodes, nodes)
	p.vars = append(p.vars, owned[:0], grads[:0])
}
