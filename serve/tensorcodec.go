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
// for anything that is not an array of numbers.
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
	expectValue := true // after '[' or ','
	for i < len(raw) {
		skip()
		if i == len(raw) {
			break
		}
		c := raw[i]
		switch {
		case c == '[':
			if !expectValue {
				return nil, fmt.Errorf("data: unexpected '[' at offset %d", i)
			}
			depth++
			i++
		case c == ']':
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
			expectValue = true
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			if !expectValue {
				return nil, fmt.Errorf("data: missing ',' at offset %d", i)
			}
			j, ok := numberEnd(raw, i)
			v, err := strconv.ParseFloat(string(raw[i:j]), 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("data: bad number %q at offset %d", raw[i:j], i)
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

// numberEnd returns the end of the JSON number at raw[i:] and whether it
// follows JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(raw []byte, i int) (int, bool) {
	digits := func() int {
		k := i
		for i < len(raw) && raw[i] >= '0' && raw[i] <= '9' {
			i++
		}
		return i - k
	}
	if i < len(raw) && raw[i] == '-' {
		i++
	}
	start := i
	n := digits()
	if n == 0 || (n > 1 && raw[start] == '0') {
		return min(max(i, start+1), len(raw)), false
	}
	if i < len(raw) && raw[i] == '.' {
		i++
		if digits() == 0 {
			return i, false
		}
	}
	if i < len(raw) && (raw[i] == 'e' || raw[i] == 'E') {
		i++
		if i < len(raw) && (raw[i] == '+' || raw[i] == '-') {
			i++
		}
		if digits() == 0 {
			return i, false
		}
	}
	return i, true
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
