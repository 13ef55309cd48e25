package serve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// datatype is one of the protocol's tensor element types.
type datatype struct {
	name     string
	size     int     // bytes per element in the binary extension (0: BYTES)
	integer  bool    // whole numbers only
	min, max float64 // range of an integer type
}

var datatypes = map[string]datatype{}

func init() {
	for _, d := range []datatype{
		{"BOOL", 1, true, 0, 1},
		{"UINT8", 1, true, 0, math.MaxUint8},
		{"UINT16", 2, true, 0, math.MaxUint16},
		{"UINT32", 4, true, 0, math.MaxUint32},
		{"UINT64", 8, true, 0, math.MaxUint64},
		{"INT8", 1, true, math.MinInt8, math.MaxInt8},
		{"INT16", 2, true, math.MinInt16, math.MaxInt16},
		{"INT32", 4, true, math.MinInt32, math.MaxInt32},
		{"INT64", 8, true, math.MinInt64, math.MaxInt64},
		{"FP16", 2, false, 0, 0},
		{"FP32", 4, false, 0, 0},
		{"FP64", 8, false, 0, 0},
		{"BYTES", 0, false, 0, 0},
	} {
		datatypes[d.name] = d
	}
}

// parseJSONNumbers reads the numbers of a JSON array, flat or nested to any
// depth, into dst (appending), checking integer types. It returns an error
// for anything that is not an array of numbers. FP32 values are read as
// strconv.ParseFloat(s, 32) reads them (as encoding/json does into a
// []float32: one correct rounding, values beyond FP32's range an error);
// the other types as float64, checked, then converted. It allocates
// nothing beyond dst's growth.
func parseJSONNumbers(dst []float32, raw []byte, dt datatype) ([]float32, error) {
	depth, i := 0, 0
	skip := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t') {
			i++
		}
	}
	skip()
	if i == len(raw) || raw[i] != '[' {
		return nil, errors.New("data must be an array of numbers")
	}
	fp32 := dt.name == "FP32"
	expectValue := true // after '[' or ','
	comma := false      // right after ','
	for i < len(raw) {
		skip()
		if i == len(raw) {
			break
		}
		c := raw[i]
		if c != ',' && c != ']' {
			comma = false
		}
		switch {
		case c == '[':
			if !expectValue {
				return nil, fmt.Errorf("data: unexpected '[' at offset %d", i)
			}
			depth++
			i++
		case c == ']':
			if comma {
				return nil, fmt.Errorf("data: unexpected ']' after ',' at offset %d", i)
			}
			depth--
			i++
			expectValue = false
			if depth < 0 {
				return nil, fmt.Errorf("data: unbalanced ']' at offset %d", i-1)
			}
			if depth == 0 {
				skip()
				if i != len(raw) {
					return nil, fmt.Errorf("data: trailing characters at offset %d", i)
				}
				return dst, nil
			}
		case c == ',':
			if expectValue {
				return nil, fmt.Errorf("data: unexpected ',' at offset %d", i)
			}
			expectValue, comma = true, true
			i++
			continue
		case c == '-' || (c >= '0' && c <= '9'):
			if !expectValue {
				return nil, fmt.Errorf("data: missing ',' at offset %d", i)
			}
			v, j, exact, ok := scanNumber(raw, i)
			if !ok {
				return nil, fmt.Errorf("data: bad number %q at offset %d", raw[i:j], i)
			}
			if fp32 {
				f, err := toFloat32(v, exact, raw[i:j])
				if err != nil {
					return nil, fmt.Errorf("data: %s at offset %d is beyond the range of FP32", raw[i:j], i)
				}
				dst = append(dst, f)
				i = j
				expectValue = false
				continue
			}
			if !exact {
				var err error
				if v, err = strconv.ParseFloat(string(raw[i:j]), 64); err != nil {
					return nil, fmt.Errorf("data: bad number %q at offset %d", raw[i:j], i)
				}
			}
			if dt.integer && (v != math.Trunc(v) || v < dt.min || v > dt.max) {
				return nil, fmt.Errorf("data: %s at offset %d is not a %s value", raw[i:j], i, dt.name)
			}
			dst = append(dst, float32(v))
			i = j
			expectValue = false
		case c == 't' || c == 'f':
			if dt.name != "BOOL" {
				return nil, fmt.Errorf("data: a boolean at offset %d in %s data", i, dt.name)
			}
			v := float32(0)
			if c == 't' {
				v = 1
			}
			for i < len(raw) && raw[i] >= 'a' && raw[i] <= 'z' {
				i++
			}
			dst = append(dst, v)
			expectValue = false
		default:
			return nil, fmt.Errorf("data: unexpected %q at offset %d (want numbers in arrays)", c, i)
		}
	}
	return nil, errors.New("data: unterminated array")
}

// pow10 are the powers of ten that float64 holds exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// scanDigits reads the decimal digits of raw from i into the mantissa m,
// counting its significant digits in nd (leading zeros left out) up to 19;
// a further significant digit sets many (m is then not the whole number,
// and strconv reads it). It returns the index past the last digit and the
// updated m, nd and many.
func scanDigits(raw []byte, i int, m uint64, nd int, many bool) (int, uint64, int, bool) {
	for ; i < len(raw); i++ {
		d := raw[i] - '0'
		if d > 9 {
			break
		}
		if nd < 19 {
			m = m*10 + uint64(d)
			if m != 0 {
				nd++
			}
		} else {
			many = true
		}
	}
	return i, m, nd, many
}

// scanNumber reads the JSON number at raw[i:], following JSON's grammar
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, and returns its end j
// and whether it is well formed. When exact is true, v is the number
// correctly rounded to float64 (what strconv.ParseFloat(s, 64) returns):
// that is the case when its significant digits, as an integer m, are at
// most 2^53 and its power of ten e is within ±22, so that m and 10^|e|
// are exact float64 values and m·10^e or m/10^-e is one correctly rounded
// operation (Clinger's fast path). Otherwise the caller parses
// raw[i:j] with strconv.
func scanNumber(raw []byte, i int) (v float64, j int, exact, ok bool) {
	neg := false
	if i < len(raw) && raw[i] == '-' {
		neg = true
		i++
	}
	var m uint64
	nd, e := 0, 0 // significant digits in m (leading zeros left out); power of ten
	many := false // more than 19 significant digits: m is not the whole number
	start := i
	i, m, nd, many = scanDigits(raw, i, m, nd, many)
	if n := i - start; n == 0 || (n > 1 && raw[start] == '0') {
		return 0, min(max(i, start+1), len(raw)), false, false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		fs := i
		i, m, nd, many = scanDigits(raw, i, m, nd, many)
		e -= i - fs
		if i == fs {
			return 0, i, false, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		eneg := false
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			eneg = raw[i] == '-'
			i++
		}
		es, x := i, 0
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			if x < 100000 {
				x = x*10 + int(raw[i]-'0')
			}
			i++
		}
		if i == es {
			return 0, i, false, false
		}
		if eneg {
			x = -x
		}
		e += x
	}
	if many || m > 1<<53 || e < -22 || e > 22 {
		return 0, i, false, true
	}
	v = float64(m)
	if m == 0 {
		e = 0
	}
	if e < 0 {
		v /= pow10[-e]
	} else {
		v *= pow10[e]
	}
	if neg {
		v = -v
	}
	return v, i, true, true
}

// toFloat32 is strconv.ParseFloat(s, 32) of the number s whose float64
// rounding scanNumber gave (v, when exact). Rounding to float64 first and
// then to float32 is the same as rounding once unless v falls exactly on
// the midpoint between two float32 values, where the first rounding may
// have moved it there: v and the exact value are on the same side of
// every float32 midpoint otherwise. Midpoints, subnormal and out-of-range
// values go to strconv.
func toFloat32(v float64, exact bool, s []byte) (float32, error) {
	if exact {
		const low = 1<<29 - 1 // the float64 fraction bits below float32's
		bits := math.Float64bits(v)
		a := math.Abs(v)
		if bits&low != 1<<28 && (a == 0 || a >= 0x1p-126 && a <= math.MaxFloat32) {
			return float32(v), nil
		}
	}
	f, err := strconv.ParseFloat(string(s), 32)
	return float32(f), err
}

// decodeBinary reads n little-endian elements of type dt into dst.
func decodeBinary(dst []float32, b []byte, dt datatype) ([]float32, error) {
	n := len(b) / dt.size
	for k := range n {
		e := b[k*dt.size : (k+1)*dt.size]
		var v float32
		switch dt.name {
		case "FP32":
			v = math.Float32frombits(binary.LittleEndian.Uint32(e))
		case "FP64":
			v = float32(math.Float64frombits(binary.LittleEndian.Uint64(e)))
		case "UINT8", "BOOL":
			v = float32(e[0])
		case "INT8":
			v = float32(int8(e[0]))
		case "UINT16":
			v = float32(binary.LittleEndian.Uint16(e))
		case "INT16":
			v = float32(int16(binary.LittleEndian.Uint16(e)))
		case "UINT32":
			v = float32(binary.LittleEndian.Uint32(e))
		case "INT32":
			v = float32(int32(binary.LittleEndian.Uint32(e)))
		case "UINT64":
			v = float32(binary.LittleEndian.Uint64(e))
		case "INT64":
			v = float32(int64(binary.LittleEndian.Uint64(e)))
		default:
			return nil, fmt.Errorf("binary data of datatype %s is not supported", dt.name)
		}
		dst = append(dst, v)
	}
	return dst, nil
}

// appendJSONFloats writes vs as a JSON array (NaN and ±Inf as null).
func appendJSONFloats(b []byte, vs []float32) []byte {
	b = append(b, '[')
	for k, v := range vs {
		if k > 0 {
			b = append(b, ',')
		}
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b = append(b, "null"...)
			continue
		}
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return append(b, ']')
}
