package kernels

import (
	"math"
	"sync"
)

// BinaryOp names an elementwise operation of two operands.
type BinaryOp uint8

// Binary operations. Comparisons produce 1 for true and 0 for false.
const (
	Add BinaryOp = iota
	Sub
	Mul
	Div
	Pow
	Maximum
	Minimum
	Equal
	Greater
	GreaterEqual
	Less
	LessEqual
)

func binaryFunc(op BinaryOp) func(a, b float32) float32 {
	switch op {
	case Add:
		return func(a, b float32) float32 { return a + b }
	case Sub:
		return func(a, b float32) float32 { return a - b }
	case Mul:
		return func(a, b float32) float32 { return a * b }
	case Div:
		return func(a, b float32) float32 { return a / b }
	case Pow:
		return func(a, b float32) float32 { return float32(math.Pow(float64(a), float64(b))) }
	case Maximum:
		return func(a, b float32) float32 {
			if a >= b || a != a {
				return a
			}
			return b
		}
	case Minimum:
		return func(a, b float32) float32 {
			if a <= b || a != a {
				return a
			}
			return b
		}
	case Equal:
		return func(a, b float32) float32 { return b2f(a == b) }
	case Greater:
		return func(a, b float32) float32 { return b2f(a > b) }
	case GreaterEqual:
		return func(a, b float32) float32 { return b2f(a >= b) }
	case Less:
		return func(a, b float32) float32 { return b2f(a < b) }
	case LessEqual:
		return func(a, b float32) float32 { return b2f(a <= b) }
	}
	panic("kernels: unknown binary op")
}

func b2f(b bool) float32 {
	if b {
		return 1
	}
	return 0
}

// Binary computes dst[i] = a[i] op b[i] for equal-length slices.
func Binary(op BinaryOp, dst, a, b []float32) {
	switch op {
	case Add:
		SIMD.Add(dst, a, b)
		return
	case Mul:
		SIMD.Mul(dst, a, b)
		return
	case Sub:
		b = b[:len(a)]
		dst = dst[:len(a)]
		for i := range a {
			dst[i] = a[i] - b[i]
		}
		return
	}
	f := binaryFunc(op)
	b = b[:len(a)]
	dst = dst[:len(a)]
	for i := range a {
		dst[i] = f(a[i], b[i])
	}
}

// BinaryBroadcast computes dst = a op b over the output shape, where a and b
// are read through element strides as (0 on broadcast axes). dst is
// contiguous with the given shape.
func BinaryBroadcast(op BinaryOp, dst []float32, shape []int, a []float32, as []int, b []float32, bs []int) {
	nd := len(shape)
	if nd == 0 {
		dst[0] = binaryFunc(op)(a[0], b[0])
		return
	}
	inner := shape[nd-1]
	sa, sb := as[nd-1], bs[nd-1]
	outer := len(dst) / max(inner, 1)
	if inner == 0 || outer == 0 {
		return
	}
	f := binaryFunc(op)
	idx := make([]int, nd)
	offA, offB := 0, 0
	for o := 0; o < outer; o++ {
		d := dst[o*inner : (o+1)*inner]
		switch {
		case sa == 1 && sb == 1:
			Binary(op, d, a[offA:offA+inner], b[offB:offB+inner])
		case sa == 1 && sb == 0:
			bv := b[offB]
			av := a[offA : offA+inner]
			switch op {
			case Add:
				for i, x := range av {
					d[i] = x + bv
				}
			case Mul:
				for i, x := range av {
					d[i] = x * bv
				}
			default:
				for i, x := range av {
					d[i] = f(x, bv)
				}
			}
		case sa == 0 && sb == 1:
			av := a[offA]
			bv := b[offB : offB+inner]
			for i, x := range bv {
				d[i] = f(av, x)
			}
		default:
			v := f(a[offA], b[offB])
			for i := range d {
				d[i] = v
			}
		}
		// advance the outer index (all axes but the last)
		for ax := nd - 2; ax >= 0; ax-- {
			idx[ax]++
			offA += as[ax]
			offB += bs[ax]
			if idx[ax] < shape[ax] {
				break
			}
			offA -= as[ax] * shape[ax]
			offB -= bs[ax] * shape[ax]
			idx[ax] = 0
		}
	}
}

// UnaryOp names an elementwise function of one operand and an optional
// parameter (the slope of LeakyReLU, alpha of ELU, the exponent of PowScalar).
type UnaryOp uint8

// Unary operations.
const (
	Neg UnaryOp = iota
	Abs
	Exp
	Log
	Sqrt
	Square
	Tanh
	Sigmoid
	Relu
	LeakyRelu // param: negative slope
	Elu       // param: alpha
	Gelu      // tanh approximation
	Softplus
	PowScalar // param: exponent
	AddScalar // param: addend
	MulScalar // param: factor
	Reciprocal
	Sign
)

const sqrt2OverPi = 0.7978845608028654

// Unary computes dst[i] = f(x[i]) for the op with parameter p.
func Unary(op UnaryOp, dst, x []float32, p float32) {
	dst = dst[:len(x)]
	switch op {
	case Exp:
		SIMD.Exp(dst, x)
	case Tanh:
		SIMD.Tanh(dst, x)
	case Sigmoid:
		SIMD.Sigmoid(dst, x)
	case Relu:
		SIMD.Relu(dst, x)
	case MulScalar:
		if &dst[0] == &x[0] {
			SIMD.Scale(p, dst)
			return
		}
		for i, v := range x {
			dst[i] = v * p
		}
	case Neg:
		for i, v := range x {
			dst[i] = -v
		}
	case Abs:
		for i, v := range x {
			dst[i] = float32(math.Abs(float64(v)))
		}
	case Log:
		for i, v := range x {
			dst[i] = float32(math.Log(float64(v)))
		}
	case Sqrt:
		for i, v := range x {
			dst[i] = float32(math.Sqrt(float64(v)))
		}
	case Square:
		for i, v := range x {
			dst[i] = v * v
		}
	case LeakyRelu:
		SIMD.LeakyRelu(dst, x, p)
	case Elu:
		for i, v := range x {
			if v < 0 {
				v = p * float32(math.Expm1(float64(v)))
			}
			dst[i] = v
		}
	case Gelu:
		for i, v := range x {
			u := float64(v)
			dst[i] = float32(0.5 * u * (1 + math.Tanh(sqrt2OverPi*(u+0.044715*u*u*u))))
		}
	case Softplus:
		for i, v := range x {
			u := float64(v)
			// log(1+e^u) = max(u,0) + log1p(e^-|u|)
			dst[i] = float32(math.Max(u, 0) + math.Log1p(math.Exp(-math.Abs(u))))
		}
	case PowScalar:
		for i, v := range x {
			dst[i] = float32(math.Pow(float64(v), float64(p)))
		}
	case AddScalar:
		for i, v := range x {
			dst[i] = v + p
		}
	case Reciprocal:
		for i, v := range x {
			dst[i] = 1 / v
		}
	case Sign:
		for i, v := range x {
			switch {
			case v > 0:
				dst[i] = 1
			case v < 0:
				dst[i] = -1
			default:
				dst[i] = 0
			}
		}
	default:
		panic("kernels: unknown unary op")
	}
}

// UnaryGradAcc accumulates the input gradient of a unary op:
// gx[i] += gy[i] · f'(x[i]), using the saved output y where that is cheaper
// (exp: y; tanh: 1−y²; sigmoid: y(1−y); sqrt: 1/(2y)).
func UnaryGradAcc(op UnaryOp, gx, x, y, gy []float32, p float32) {
	gx = gx[:len(gy)]
	switch op {
	case Neg:
		for i, g := range gy {
			gx[i] -= g
		}
	case Abs:
		for i, g := range gy {
			switch {
			case x[i] > 0:
				gx[i] += g
			case x[i] < 0:
				gx[i] -= g
			}
		}
	case Exp:
		for i, g := range gy {
			gx[i] += g * y[i]
		}
	case Log:
		for i, g := range gy {
			gx[i] += g / x[i]
		}
	case Sqrt:
		for i, g := range gy {
			gx[i] += g / (2 * y[i])
		}
	case Square:
		for i, g := range gy {
			gx[i] += 2 * g * x[i]
		}
	case Tanh:
		for i, g := range gy {
			gx[i] += g * (1 - y[i]*y[i])
		}
	case Sigmoid:
		for i, g := range gy {
			gx[i] += g * y[i] * (1 - y[i])
		}
	case Relu:
		// Written as max(x, 0) the gradient would split at 0; we take 0 there
		// as PyTorch does.
		reluGradAcc(gx, x, gy)
	case LeakyRelu:
		var buf [512]float32 // in stack-sized chunks, as reluGradAcc
		for lo := 0; lo < len(gy); lo += len(buf) {
			hi := min(lo+len(buf), len(gy))
			b := buf[:hi-lo]
			SIMD.LeakyReluGrad(b, x[lo:hi], gy[lo:hi], p)
			SIMD.Axpy(1, b, gx[lo:hi])
		}
	case Elu:
		for i, g := range gy {
			if x[i] > 0 {
				gx[i] += g
			} else {
				gx[i] += g * (y[i] + p)
			}
		}
	case Gelu:
		for i, g := range gy {
			u := float64(x[i])
			t := math.Tanh(sqrt2OverPi * (u + 0.044715*u*u*u))
			d := 0.5*(1+t) + 0.5*u*(1-t*t)*sqrt2OverPi*(1+3*0.044715*u*u)
			gx[i] += g * float32(d)
		}
	case Softplus:
		for i, g := range gy {
			gx[i] += g * float32(1/(1+math.Exp(-float64(x[i]))))
		}
	case PowScalar:
		for i, g := range gy {
			gx[i] += g * p * float32(math.Pow(float64(x[i]), float64(p-1)))
		}
	case AddScalar:
		SIMD.Axpy(1, gy, gx)
	case MulScalar:
		SIMD.Axpy(p, gy, gx)
	case Reciprocal:
		for i, g := range gy {
			gx[i] -= g * y[i] * y[i]
		}
	case Sign:
		// zero gradient almost everywhere
	default:
		panic("kernels: unknown unary op")
	}
}

// Clip computes dst[i] = min(max(x[i], lo), hi).
func Clip(dst, x []float32, lo, hi float32) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < lo {
			v = lo
		} else if v > hi {
			v = hi
		}
		dst[i] = v
	}
}

// ClipGrad writes the input gradient of Clip: gx[i] = gy[i] where
// lo ≤ x[i] ≤ hi, else 0; with acc it adds gy[i] there instead and leaves
// gx[i] elsewhere.
func ClipGrad(gx, x, gy []float32, lo, hi float32, acc bool) {
	gx, x = gx[:len(gy)], x[:len(gy)]
	for i, g := range gy {
		in := x[i] >= lo && x[i] <= hi
		switch {
		case acc && in:
			gx[i] += g
		case !acc && in:
			gx[i] = g
		case !acc:
			gx[i] = 0
		}
	}
}

// Where computes dst[i] = a[i] if cond[i] != 0 else b[i].
func Where(dst, cond, a, b []float32) {
	for i, c := range cond {
		if c != 0 {
			dst[i] = a[i]
		} else {
			dst[i] = b[i]
		}
	}
}

// Axpy computes y += a·x.
func Axpy(a float32, x, y []float32) { SIMD.Axpy(a, x, y) }

// Scale computes x *= a.
func Scale(a float32, x []float32) { SIMD.Scale(a, x) }

// Fill sets every element of x to v.
func Fill(x []float32, v float32) {
	if v == 0 {
		clear(x)
		return
	}
	for i := range x {
		x[i] = v
	}
}

// Dot returns Σ x[i]·y[i].
func Dot(x, y []float32) float32 { return SIMD.Dot(x, y) }

// AddRowVector computes x[r, :] += v for every row r of the rows×len(v)
// matrix x (the bias add of a dense layer).
func AddRowVector(x []float32, v []float32) {
	n := len(v)
	if n == 0 {
		return
	}
	for r := 0; r+n <= len(x); r += n {
		SIMD.Axpy(1, v, x[r:r+n])
	}
}

// SumRowsAcc accumulates the column sums of the rows×len(dst) matrix x into
// dst (the bias gradient of a dense layer): SumRows with acc.
func SumRowsAcc(dst, x []float32) { SumRows(dst, x, true) }

// SumRows writes the column sums of the rows×len(dst) matrix x into dst,
// or with acc adds them to dst. Many rows go through the GEMM as
// ones[1×rows]·x, which streams x once at full vector width instead of
// one short call per row. A long matrix narrower than a GEMM tile per
// thread (a bias gradient of 64 features over 12,544 pixels), which the
// GEMM would run on one thread, is cut into column blocks of 16 for the
// threads instead: each sum is the GEMM's, the same bits whatever the
// thread count.
func SumRows(dst, x []float32, acc bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	rows := len(x) / n
	if rows >= 64 {
		t := sumRowsTask{dst: dst, x: x, ones: onesOf(rows), rows: rows}
		if acc {
			t.beta = 1
		}
		blocks := (n + 15) / 16
		if w := min(Threads(), blocks); w > 1 && gemmCeilDiv(n, gemmBest.nr) < w && rows*n >= 2*elementwiseGrain {
			runPooled(&sumRowsPool, t, blocks, w)
			return
		}
		Sgemm(false, false, 1, n, rows, 1, t.ones, rows, x, n, t.beta, dst, n)
		return
	}
	r := 0
	if !acc {
		if rows == 0 {
			clear(dst)
			return
		}
		copy(dst, x[:n])
		r = 1
	}
	for ; r < rows; r++ {
		SIMD.Axpy(1, x[r*n:(r+1)*n], dst)
	}
}

// sumRowsTask is one SumRows through the GEMM, run over blocks of 16
// columns so that threads can share it.
type sumRowsTask struct {
	dst, x, ones []float32
	rows         int
	beta         float32
}

var sumRowsPool = sync.Pool{New: func() any { return new(sumRowsTask) }}

func (t *sumRowsTask) run(lo, hi int) {
	n := len(t.dst)
	j0, j1 := lo*16, min(hi*16, n)
	sgemm(gemmBest, 1, nil, false, false, 1, j1-j0, t.rows, 1, t.ones, t.rows, t.x[j0:], n, t.beta, t.dst[j0:j1], n)
}

// ones is a run of ones that only grows: a slice handed out is never
// written again.
var ones struct {
	sync.Mutex
	buf []float32
}

// onesOf returns n ones (read-only).
func onesOf(n int) []float32 {
	ones.Lock()
	defer ones.Unlock()
	if len(ones.buf) < n {
		ones.buf = make([]float32, max(n, 2*len(ones.buf)))
		for i := range ones.buf {
			ones.buf[i] = 1
		}
	}
	return ones.buf[:n]
}

// Permute writes src (contiguous, with shape) into dst with its axes
// reordered: dst axis i is src axis perm[i].
func Permute(dst, src []float32, shape, perm []int) {
	nd := len(shape)
	if len(src) == 0 {
		return
	}
	if nd == 0 {
		dst[0] = src[0]
		return
	}
	srcStride := make([]int, nd)
	s := 1
	for i := nd - 1; i >= 0; i-- {
		srcStride[i] = s
		s *= shape[i]
	}
	outShape := make([]int, nd)
	st := make([]int, nd) // source stride of each destination axis
	for i, p := range perm {
		outShape[i] = shape[p]
		st[i] = srcStride[p]
	}
	inner, sInner := outShape[nd-1], st[nd-1]
	idx := make([]int, nd)
	off := 0
	for o := 0; o < len(dst); o += inner {
		d := dst[o : o+inner]
		if sInner == 1 {
			copy(d, src[off:off+inner])
		} else {
			for i := range d {
				d[i] = src[off+i*sInner]
			}
		}
		for ax := nd - 2; ax >= 0; ax-- {
			idx[ax]++
			off += st[ax]
			if idx[ax] < outShape[ax] {
				break
			}
			off -= st[ax] * outShape[ax]
			idx[ax] = 0
		}
	}
}

// DropoutMask fills dst with 1/keep with probability keep and 0 otherwise
// (inverted dropout: the expected value of the masked input is unchanged).
func DropoutMask(dst []float32, keep float32, uniform func() float64) {
	scale := 1 / keep
	for i := range dst {
		if float32(uniform()) < keep {
			dst[i] = scale
		} else {
			dst[i] = 0
		}
	}
}

// reluGradAcc adds g where x > 0 to gx, through the vectorized ReluGrad
// in stack-sized chunks (a per-element sign test would mispredict on half
// of all elements).
func reluGradAcc(gx, x, g []float32) {
	var buf [512]float32
	for lo := 0; lo < len(g); lo += len(buf) {
		hi := min(lo+len(buf), len(g))
		b := buf[:hi-lo]
		SIMD.ReluGrad(b, x[lo:hi], g[lo:hi])
		SIMD.Axpy(1, b, gx[lo:hi])
	}
}

// elementwiseGrain is the fewest elements per thread worth a hand-off in a
// one-pass elementwise kernel (~10 µs of work).
const elementwiseGrain = 1 << 15

// Copy is copy(dst, src) split over threads for long slices (from
// 2·elementwiseGrain values): the gradient of a reshape, which a
// two-thread step otherwise ran on one thread.
func Copy(dst, src []float32) {
	src = src[:len(dst)]
	if len(dst) < 2*elementwiseGrain || Threads() == 1 {
		copy(dst, src)
		return
	}
	Parallel(len(dst), elementwiseGrain, func(lo, hi int) { copy(dst[lo:hi], src[lo:hi]) })
}

// UnaryThreaded is Unary split over threads for long slices.
func UnaryThreaded(op UnaryOp, dst, x []float32, p float32) {
	x = x[:len(dst)]
	if len(dst) < 2*elementwiseGrain || Threads() == 1 {
		Unary(op, dst, x, p)
		return
	}
	Parallel(len(dst), elementwiseGrain, func(lo, hi int) { Unary(op, dst[lo:hi], x[lo:hi], p) })
}

// UnaryGrad writes the input gradient of a unary op, gx[i] = gy[i] ·
// f'(x[i]), for a gx that holds nothing yet: UnaryGradAcc into zeros
// without the zero fill (one pass for ReLU, leaky ReLU, tanh and sigmoid).
func UnaryGrad(op UnaryOp, gx, x, y, gy []float32, p float32) {
	gx = gx[:len(gy)]
	switch op {
	case Relu:
		SIMD.ReluGrad(gx, x, gy)
	case LeakyRelu:
		SIMD.LeakyReluGrad(gx, x, gy, p)
	case Tanh:
		y = y[:len(gy)]
		for i, g := range gy {
			gx[i] = g * (1 - y[i]*y[i])
		}
	case Sigmoid:
		y = y[:len(gy)]
		for i, g := range gy {
			gx[i] = g * y[i] * (1 - y[i])
		}
	default:
		clear(gx)
		UnaryGradAcc(op, gx, x, y, gy, p)
	}
}

// UnaryGradThreaded is UnaryGrad, or with acc UnaryGradAcc, split over
// threads for long slices.
func UnaryGradThreaded(op UnaryOp, gx, x, y, gy []float32, p float32, acc bool) {
	gx, x, y = gx[:len(gy)], x[:len(gy)], y[:len(gy)]
	grad := UnaryGrad
	if acc {
		grad = UnaryGradAcc
	}
	if len(gy) < 2*elementwiseGrain || Threads() == 1 {
		grad(op, gx, x, y, gy, p)
		return
	}
	Parallel(len(gy), elementwiseGrain, func(lo, hi int) { grad(op, gx[lo:hi], x[lo:hi], y[lo:hi], gy[lo:hi], p) })
}

// BiasAct finishes a fused dense or convolution output in one pass over
// y [rows, f]: y[r, j] = op(y[r, j] + bias[j]) with op's parameter p. A nil
// bias adds nothing and act false applies no op. Rows are split over
// threads when y is long.
func BiasAct(y, bias []float32, act bool, op UnaryOp, p float32) {
	f := len(bias)
	if len(y) < 2*elementwiseGrain || Threads() == 1 { // serial, without a closure to allocate
		biasActSerial(y, bias, act, op, p)
		return
	}
	switch {
	case f == 0 && !act:
	case f == 0:
		Parallel(len(y), elementwiseGrain, func(lo, hi int) { Unary(op, y[lo:hi], y[lo:hi], p) })
	default:
		Parallel(len(y)/f, max(1, elementwiseGrain/f), func(lo, hi int) {
			biasActSerial(y[lo*f:hi*f], bias, act, op, p)
		})
	}
}

// biasActSerial is BiasAct on the calling goroutine.
func biasActSerial(y, bias []float32, act bool, op UnaryOp, p float32) {
	if f := len(bias); f > 0 {
		for r := 0; r+f <= len(y); r += f {
			SIMD.Add(y[r:r+f], y[r:r+f], bias)
		}
	}
	if act {
		Unary(op, y, y, p)
	}
}
