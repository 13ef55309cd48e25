package tensor

import "github.com/strata-dl/strata/internal/kernels"

// MatMulShape returns the shape of op(a)·op(b) where op transposes the last
// two axes when the flag is set. Supported forms:
//   - a [..., m, k] and b [k, n]: the leading axes of a are batch axes;
//   - a [m, k] and b [batch..., k, n]: a is shared by every batch;
//   - a [batch..., m, k] and b [batch..., k, n] with equal batch axes.
//
// It panics with a *ShapeError when the inner dimensions differ.
func MatMulShape(a, b []int, transA, transB bool) []int {
	if len(a) < 2 || len(b) < 2 {
		panic(&ShapeError{Op: "MatMul", Got: a, Want: b, Msg: "operands must have rank ≥ 2"})
	}
	m, ka := a[len(a)-2], a[len(a)-1]
	if transA {
		m, ka = ka, m
	}
	kb, n := b[len(b)-2], b[len(b)-1]
	if transB {
		kb, n = n, kb
	}
	if ka != kb {
		panic(&ShapeError{Op: "MatMul", Got: b, Want: a, Msg: "inner dimensions differ"})
	}
	var batch []int
	switch {
	case len(b) == 2:
		batch = a[:len(a)-2]
	case len(a) == 2:
		batch = b[:len(b)-2]
	default:
		if !EqualShapes(a[:len(a)-2], b[:len(b)-2]) {
			panic(&ShapeError{Op: "MatMul", Got: b, Want: a, Msg: "batch dimensions differ"})
		}
		batch = a[:len(a)-2]
	}
	return append(append([]int(nil), batch...), m, n)
}

// MatMulInto computes dst = op(a)·op(b) + beta·dst (see MatMulShape for the
// shapes) and returns dst; a nil dst is allocated (and beta ignored).
func MatMulInto(dst, a, b *Tensor, transA, transB bool, beta float32) *Tensor {
	shape := MatMulShape(a.shape, b.shape, transA, transB)
	if dst == nil {
		dst, beta = Zeros(shape...), 0
	} else if !EqualShapes(dst.shape, shape) {
		panic(&ShapeError{Op: "MatMul", Got: dst.shape, Want: shape, Msg: "destination shape"})
	}
	ar, ac := a.shape[len(a.shape)-2], a.shape[len(a.shape)-1]
	br, bc := b.shape[len(b.shape)-2], b.shape[len(b.shape)-1]
	m, n := shape[len(shape)-2], shape[len(shape)-1]
	k := ac
	if transA {
		k = ar
	}
	batch := Numel(shape[:len(shape)-2])
	switch {
	case len(b.shape) == 2 && !transA:
		// Fold a's batch axes into the rows: one GEMM.
		kernels.Sgemm(false, transB, batch*m, n, k, 1, a.data, ac, b.data, bc, beta, dst.data, n)
	default:
		sa, sb := ar*ac, br*bc
		if len(a.shape) == 2 {
			sa = 0
		}
		if len(b.shape) == 2 {
			sb = 0
		}
		for i := 0; i < batch; i++ {
			kernels.Sgemm(transA, transB, m, n, k, 1, a.data[i*sa:], ac, b.data[i*sb:], bc, beta, dst.data[i*m*n:], n)
		}
	}
	return dst
}

// MatMul returns a·b (see MatMulShape for batching).
func MatMul(a, b *Tensor) *Tensor { return MatMulInto(nil, a, b, false, false, 0) }

// MatMulT returns op(a)·op(b) with the given transposes.
func MatMulT(a, b *Tensor, transA, transB bool) *Tensor {
	return MatMulInto(nil, a, b, transA, transB, 0)
}
