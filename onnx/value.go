package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/onnx/onnxpb"
	"github.com/strata-dl/strata/tensor"
)

// ONNX element types this package reads (TensorProto.DataType).
const (
	tFloat   = int32(onnxpb.TensorProto_FLOAT)
	tUint8   = int32(onnxpb.TensorProto_UINT8)
	tInt8    = int32(onnxpb.TensorProto_INT8)
	tUint16  = int32(onnxpb.TensorProto_UINT16)
	tInt16   = int32(onnxpb.TensorProto_INT16)
	tInt32   = int32(onnxpb.TensorProto_INT32)
	tInt64   = int32(onnxpb.TensorProto_INT64)
	tBool    = int32(onnxpb.TensorProto_BOOL)
	tFloat16 = int32(onnxpb.TensorProto_FLOAT16)
	tBFloat  = int32(onnxpb.TensorProto_BFLOAT16)
	tDouble  = int32(onnxpb.TensorProto_DOUBLE)
	tUint32  = int32(onnxpb.TensorProto_UINT32)
	tUint64  = int32(onnxpb.TensorProto_UINT64)
)

// MaxElements bounds the number of elements of any tensor that import
// reads or computes (2^28 float32s, 1 GiB): a file or a shape computation
// asking for more is an error, not an allocation.
const MaxElements = 1 << 28

// value is a tensor flowing through an imported graph. Every element type
// is held as float32 (integers and booleans exactly up to 2^24); dt keeps
// the ONNX element type so that integer ops round and compare as ONNX
// says, and ints keeps the exact values of integer constants (shapes,
// slice bounds such as INT64_MAX) when they are known.
//
// nhwc marks a rank-4 value whose data is held in NHWC order although the
// graph sees it as NCHW: Conv, pooling and normalization run on NHWC, and
// the transposes between them are elided (see logical).
type value struct {
	v    *autograd.Var
	dt   int32
	ints []int64
	nhwc bool
	// layout says how an initializer's data is held (see optimize.go).
	layout uint8
}

func isInt(dt int32) bool {
	switch dt {
	case tUint8, tInt8, tUint16, tInt16, tInt32, tInt64, tUint32, tUint64:
		return true
	}
	return false
}

func isFloat(dt int32) bool {
	return dt == tFloat || dt == tDouble || dt == tFloat16 || dt == tBFloat
}

func elemSize(dt int32) int {
	switch dt {
	case tUint8, tInt8, tBool:
		return 1
	case tUint16, tInt16, tFloat16, tBFloat:
		return 2
	case tFloat, tInt32, tUint32:
		return 4
	case tInt64, tDouble, tUint64:
		return 8
	}
	return 0
}

func dtName(dt int32) string {
	if s, ok := onnxpb.TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("type %d", dt)
}

// checkDims validates a shape read from a file and returns its number of
// elements.
func checkDims(what string, dims []int64) ([]int, int, error) {
	shape := make([]int, len(dims))
	n := 1
	for i, d := range dims {
		if d < 0 || d > MaxElements {
			return nil, 0, fmt.Errorf("%s: dimension %d is %d", what, i, d)
		}
		shape[i] = int(d)
		if d != 0 && n > MaxElements/int(d) {
			return nil, 0, fmt.Errorf("%s: shape %v has more than %d elements", what, dims, MaxElements)
		}
		n *= int(d)
	}
	return shape, n, nil
}

// decodeTensor reads a TensorProto into a value, checking that the data
// holds exactly as many elements as the dims say.
func decodeTensor(tp *onnxpb.TensorProto) (*value, error) {
	what := fmt.Sprintf("tensor %q", tp.GetName())
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(tp.GetExternalData()) > 0 {
		return nil, fmt.Errorf("%s: external data is not supported", what)
	}
	if tp.Segment != nil {
		return nil, fmt.Errorf("%s: segmented tensors are not supported", what)
	}
	shape, n, err := checkDims(what, tp.GetDims())
	if err != nil {
		return nil, err
	}
	dt := tp.GetDataType()
	if dt == int32(onnxpb.TensorProto_STRING) || elemSize(dt) == 0 {
		return nil, fmt.Errorf("%s: element type %s is not supported", what, dtName(dt))
	}
	// check the data's length before allocating: memory stays bounded by
	// the file's size whatever the dims claim
	have := 0
	switch raw := tp.GetRawData(); {
	case raw != nil:
		have = len(raw) / elemSize(dt)
		if len(raw)%elemSize(dt) != 0 {
			have = -1
		}
	case dt == tFloat:
		have = len(tp.GetFloatData())
	case dt == tDouble:
		have = len(tp.GetDoubleData())
	case dt == tInt64:
		have = len(tp.GetInt64Data())
	case dt == tUint32 || dt == tUint64:
		have = len(tp.GetUint64Data())
	default:
		have = len(tp.GetInt32Data())
	}
	if have != n {
		return nil, fmt.Errorf("%s: shape %v needs %d elements, the data holds %d", what, tp.GetDims(), n, have)
	}
	out := make([]float32, n)
	var ints []int64
	if isInt(dt) {
		ints = make([]int64, n)
	}
	set := func(i int, f float64, k int64) {
		if ints != nil {
			ints[i] = k
			out[i] = float32(k)
		} else {
			out[i] = float32(f)
		}
	}
	bad := func(got int) error {
		return fmt.Errorf("%s: shape %v needs %d elements, the data holds %d", what, tp.GetDims(), n, got)
	}
	if raw := tp.GetRawData(); raw != nil {
		es := elemSize(dt)
		if len(raw) != n*es {
			return nil, bad(len(raw) / es)
		}
		le := binary.LittleEndian
		for i := 0; i < n; i++ {
			b := raw[i*es:]
			switch dt {
			case tFloat:
				out[i] = math.Float32frombits(le.Uint32(b))
			case tDouble:
				set(i, math.Float64frombits(le.Uint64(b)), 0)
			case tFloat16:
				out[i] = halfToFloat(le.Uint16(b))
			case tBFloat:
				out[i] = math.Float32frombits(uint32(le.Uint16(b)) << 16)
			case tBool, tUint8:
				set(i, 0, int64(b[0]))
				if dt == tBool {
					out[i] = float32(b[0] & 1)
				}
			case tInt8:
				set(i, 0, int64(int8(b[0])))
			case tUint16:
				set(i, 0, int64(le.Uint16(b)))
			case tInt16:
				set(i, 0, int64(int16(le.Uint16(b))))
			case tInt32:
				set(i, 0, int64(int32(le.Uint32(b))))
			case tUint32:
				set(i, 0, int64(le.Uint32(b)))
			case tInt64:
				set(i, 0, int64(le.Uint64(b)))
			case tUint64:
				set(i, 0, int64(le.Uint64(b)))
			}
		}
	} else {
		switch dt {
		case tFloat:
			d := tp.GetFloatData()
			if len(d) != n {
				return nil, bad(len(d))
			}
			copy(out, d)
		case tDouble:
			d := tp.GetDoubleData()
			if len(d) != n {
				return nil, bad(len(d))
			}
			for i, x := range d {
				out[i] = float32(x)
			}
		case tInt64:
			d := tp.GetInt64Data()
			if len(d) != n {
				return nil, bad(len(d))
			}
			for i, x := range d {
				set(i, 0, x)
			}
		case tUint32, tUint64:
			d := tp.GetUint64Data()
			if len(d) != n {
				return nil, bad(len(d))
			}
			for i, x := range d {
				set(i, 0, int64(x))
			}
		default: // int32, int16, int8, uint16, uint8, bool, float16 in int32_data
			d := tp.GetInt32Data()
			if len(d) != n {
				return nil, bad(len(d))
			}
			for i, x := range d {
				switch dt {
				case tFloat16:
					out[i] = halfToFloat(uint16(x))
				case tBFloat:
					out[i] = math.Float32frombits(uint32(x) << 16)
				case tBool:
					out[i] = float32(x & 1)
				default:
					set(i, 0, int64(x))
				}
			}
		}
	}
	return &value{v: autograd.Const(tensor.New(shape, out)), dt: dt, ints: ints}, nil
}

// encodeTensor writes a float32 tensor as a TensorProto of element type dt.
func encodeTensor(name string, t *tensor.Tensor, dt int32) *onnxpb.TensorProto {
	dims := make([]int64, t.Rank())
	for i, d := range t.Shape() {
		dims[i] = int64(d)
	}
	tp := &onnxpb.TensorProto{Name: &name, Dims: dims, DataType: &dt}
	switch dt {
	case tInt64:
		tp.Int64Data = make([]int64, t.Len())
		for i, x := range t.Data() {
			tp.Int64Data[i] = int64(x)
		}
	default:
		raw := make([]byte, 4*t.Len())
		for i, x := range t.Data() {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		tp.RawData = raw
	}
	return tp
}

func int64Tensor(name string, vals ...int64) *onnxpb.TensorProto {
	dt := tInt64
	return &onnxpb.TensorProto{Name: &name, Dims: []int64{int64(len(vals))}, DataType: &dt, Int64Data: vals}
}

// halfToFloat converts an IEEE 754 binary16 to float32.
func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(mant) / 1024 / 16384
		if sign != 0 {
			return -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | mant<<13)
}

// intsOf returns the integer contents of v (exact for integer constants).
func (v *value) intsOf() []int64 {
	if v.ints != nil && len(v.ints) == v.v.Value.Len() {
		return v.ints
	}
	d := v.v.Value.Data()
	out := make([]int64, len(d))
	for i, x := range d {
		out[i] = clampInt(x)
	}
	return out
}

func clampInt(x float32) int64 {
	switch {
	case x != x:
		return 0
	case x >= 9.2e18:
		return math.MaxInt64
	case x <= -9.2e18:
		return math.MinInt64
	}
	return int64(x)
}

func (v *value) shape() []int { return v.v.Value.Shape() }

func (v *value) data() []float32 { return v.v.Value.Data() }

// constant wraps a computed tensor as an untracked value of type dt.
func constant(t *tensor.Tensor, dt int32) *value { return &value{v: autograd.Const(t), dt: dt} }

// intConst wraps integers as an INT64 value of the given shape.
func intConst(shape []int, vals []int64) *value {
	f := make([]float32, len(vals))
	for i, x := range vals {
		f[i] = float32(x)
	}
	return &value{v: autograd.Const(tensor.New(shape, f)), dt: tInt64, ints: vals}
}
