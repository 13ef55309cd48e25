package tensor

import "github.com/strata-dl/strata/internal/kernels"

// BinaryOp is an elementwise operation of two tensors with broadcasting.
type BinaryOp = kernels.BinaryOp

// UnaryOp is an elementwise function of one tensor and a parameter. The
// activations among them are named, for layers, by the one activation
// vocabulary autograd.Activations ("relu" is OpRelu, "leaky_relu" is
// OpLeakyRelu with slope 0.2, ...).
type UnaryOp = kernels.UnaryOp

// Binary operations (comparisons yield 1 for true, 0 for false).
const (
	OpAdd          = kernels.Add
	OpSub          = kernels.Sub
	OpMul          = kernels.Mul
	OpDiv          = kernels.Div
	OpPow          = kernels.Pow
	OpMaximum      = kernels.Maximum
	OpMinimum      = kernels.Minimum
	OpEqual        = kernels.Equal
	OpGreater      = kernels.Greater
	OpGreaterEqual = kernels.GreaterEqual
	OpLess         = kernels.Less
	OpLessEqual    = kernels.LessEqual
)

// Unary operations.
const (
	OpNeg        = kernels.Neg
	OpAbs        = kernels.Abs
	OpExp        = kernels.Exp
	OpLog        = kernels.Log
	OpSqrt       = kernels.Sqrt
	OpSquare     = kernels.Square
	OpTanh       = kernels.Tanh
	OpSigmoid    = kernels.Sigmoid
	OpRelu       = kernels.Relu
	OpLeakyRelu  = kernels.LeakyRelu
	OpElu        = kernels.Elu
	OpGelu       = kernels.Gelu
	OpSoftplus   = kernels.Softplus
	OpPowScalar  = kernels.PowScalar
	OpAddScalar  = kernels.AddScalar
	OpMulScalar  = kernels.MulScalar
	OpReciprocal = kernels.Reciprocal
	OpSign       = kernels.Sign
)

// BroadcastShape returns the NumPy broadcast of shapes a and b: aligned
// from the right, each pair of dimensions must be equal or one of them 1.
// It panics with a *ShapeError naming op otherwise.
func BroadcastShape(op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := make([]int, n)
	for i := 0; i < n; i++ {
		da, db := dimFromRight(a, n-1-i), dimFromRight(b, n-1-i)
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panic(&ShapeError{Op: op, Got: b, Want: a, Msg: "shapes cannot be broadcast"})
		}
	}
	return out
}

func dimFromRight(s []int, i int) int {
	if i < len(s) {
		return s[len(s)-1-i]
	}
	return 1
}

// broadcastStrides returns element strides for reading a tensor of shape s
// as the (larger) broadcast shape out: 0 on broadcast axes.
func broadcastStrides(s, out []int) []int {
	st := make([]int, len(out))
	stride := 1
	for i := len(out) - 1; i >= 0; i-- {
		j := i - (len(out) - len(s))
		if j >= 0 && s[j] != 1 {
			st[i] = stride
		}
		if j >= 0 {
			stride *= s[j]
		}
	}
	return st
}

// BinaryInto computes dst = a op b with broadcasting and returns dst. A nil
// dst is allocated; otherwise dst must have the broadcast shape.
func BinaryInto(dst *Tensor, op BinaryOp, a, b *Tensor) *Tensor {
	shape := BroadcastShape("Binary", a.shape, b.shape)
	if dst == nil {
		dst = Zeros(shape...)
	} else if !EqualShapes(dst.shape, shape) {
		panic(&ShapeError{Op: "Binary", Got: dst.shape, Want: shape, Msg: "destination shape"})
	}
	switch {
	case EqualShapes(a.shape, b.shape):
		kernels.Binary(op, dst.data, a.data, b.data)
	default:
		kernels.BinaryBroadcast(op, dst.data, shape, a.data, broadcastStrides(a.shape, shape), b.data, broadcastStrides(b.shape, shape))
	}
	return dst
}

// UnaryInto computes dst = f(x) for op with parameter p and returns dst. A
// nil dst is allocated; otherwise it must have x's shape (it may be x).
func UnaryInto(dst *Tensor, op UnaryOp, x *Tensor, p float32) *Tensor {
	if dst == nil {
		dst = Zeros(x.shape...)
	} else if len(dst.data) != len(x.data) {
		panic(&ShapeError{Op: "Unary", Got: dst.shape, Want: x.shape, Msg: "destination shape"})
	}
	if len(x.data) > 0 {
		kernels.Unary(op, dst.data, x.data, p)
	}
	return dst
}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return BinaryInto(nil, OpAdd, a, b) }

// Sub returns a − b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return BinaryInto(nil, OpSub, a, b) }

// Mul returns a ⊙ b (elementwise) with broadcasting.
func Mul(a, b *Tensor) *Tensor { return BinaryInto(nil, OpMul, a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return BinaryInto(nil, OpDiv, a, b) }

// Pow returns a^b with broadcasting.
func Pow(a, b *Tensor) *Tensor { return BinaryInto(nil, OpPow, a, b) }

// Maximum returns the elementwise maximum of a and b.
func Maximum(a, b *Tensor) *Tensor { return BinaryInto(nil, OpMaximum, a, b) }

// Minimum returns the elementwise minimum of a and b.
func Minimum(a, b *Tensor) *Tensor { return BinaryInto(nil, OpMinimum, a, b) }

// Equal returns 1 where a == b and 0 elsewhere.
func Equal(a, b *Tensor) *Tensor { return BinaryInto(nil, OpEqual, a, b) }

// Greater returns 1 where a > b and 0 elsewhere.
func Greater(a, b *Tensor) *Tensor { return BinaryInto(nil, OpGreater, a, b) }

// GreaterEqual returns 1 where a ≥ b and 0 elsewhere.
func GreaterEqual(a, b *Tensor) *Tensor { return BinaryInto(nil, OpGreaterEqual, a, b) }

// Less returns 1 where a < b and 0 elsewhere.
func Less(a, b *Tensor) *Tensor { return BinaryInto(nil, OpLess, a, b) }

// LessEqual returns 1 where a ≤ b and 0 elsewhere.
func LessEqual(a, b *Tensor) *Tensor { return BinaryInto(nil, OpLessEqual, a, b) }

// Neg returns −x.
func Neg(x *Tensor) *Tensor { return UnaryInto(nil, OpNeg, x, 0) }

// Abs returns |x|.
func Abs(x *Tensor) *Tensor { return UnaryInto(nil, OpAbs, x, 0) }

// Exp returns eˣ.
func Exp(x *Tensor) *Tensor { return UnaryInto(nil, OpExp, x, 0) }

// Log returns ln x.
func Log(x *Tensor) *Tensor { return UnaryInto(nil, OpLog, x, 0) }

// Sqrt returns √x.
func Sqrt(x *Tensor) *Tensor { return UnaryInto(nil, OpSqrt, x, 0) }

// Square returns x².
func Square(x *Tensor) *Tensor { return UnaryInto(nil, OpSquare, x, 0) }

// Tanh returns tanh x.
func Tanh(x *Tensor) *Tensor { return UnaryInto(nil, OpTanh, x, 0) }

// Sigmoid returns σ(x) = 1/(1+e⁻ˣ).
func Sigmoid(x *Tensor) *Tensor { return UnaryInto(nil, OpSigmoid, x, 0) }

// Relu returns max(x, 0).
func Relu(x *Tensor) *Tensor { return UnaryInto(nil, OpRelu, x, 0) }

// LeakyRelu returns x for x > 0 and slope·x otherwise.
func LeakyRelu(x *Tensor, slope float32) *Tensor { return UnaryInto(nil, OpLeakyRelu, x, slope) }

// Elu returns x for x > 0 and alpha·(eˣ − 1) otherwise.
func Elu(x *Tensor, alpha float32) *Tensor { return UnaryInto(nil, OpElu, x, alpha) }

// Gelu returns the GELU of x (tanh approximation, as Keras's
// approximate=True): 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))).
func Gelu(x *Tensor) *Tensor { return UnaryInto(nil, OpGelu, x, 0) }

// Softplus returns ln(1 + eˣ), computed stably.
func Softplus(x *Tensor) *Tensor { return UnaryInto(nil, OpSoftplus, x, 0) }

// PowScalar returns x^p.
func PowScalar(x *Tensor, p float32) *Tensor { return UnaryInto(nil, OpPowScalar, x, p) }

// AddScalar returns x + s.
func AddScalar(x *Tensor, s float32) *Tensor { return UnaryInto(nil, OpAddScalar, x, s) }

// Scale returns s·x.
func Scale(x *Tensor, s float32) *Tensor { return UnaryInto(nil, OpMulScalar, x, s) }

// Clip returns x limited to [lo, hi].
func Clip(x *Tensor, lo, hi float32) *Tensor {
	out := Zeros(x.shape...)
	kernels.Clip(out.data, x.data, lo, hi)
	return out
}

// Where returns a where cond is non-zero and b elsewhere. The three shapes
// must be equal.
func Where(cond, a, b *Tensor) *Tensor {
	if !SameShape(cond, a) || !SameShape(a, b) {
		panic(&ShapeError{Op: "Where", Got: b.shape, Want: a.shape, Msg: "condition and operands must have one shape"})
	}
	out := Zeros(a.shape...)
	kernels.Where(out.data, cond.data, a.data, b.data)
	return out
}
