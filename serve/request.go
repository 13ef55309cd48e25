package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// decodeRequest reads an inference request in one pass over the body:
// the large "data" arrays are only delimited here (parseJSONNumbers reads
// and checks them), shapes are read by hand, the rare values
// (parameters, outputs) go through encoding/json. It is equivalent to
// json.Unmarshal into inferRequest, with exact (not case-folded) keys.
func decodeRequest(b []byte) (inferRequest, error) {
	var req inferRequest
	err := decodeRequestInto(&req, b)
	return req, err
}

// decodeRequestInto is decodeRequest into a request whose slices it
// reuses (a pooled one): a single-image request with no parameters
// allocates only its id and input name.
func decodeRequestInto(req *inferRequest, b []byte) error {
	inputs := req.Inputs[:0]
	*req = inferRequest{}
	p := &reqParser{b: b}
	err := p.object(func(key []byte) error {
		switch string(key) {
		case "id":
			s, err := p.str()
			if err != nil {
				return fmt.Errorf("id: %v", err)
			}
			req.ID = s
			return nil
		case "parameters":
			return p.unmarshal(&req.Parameters)
		case "outputs":
			return p.unmarshal(&req.Outputs)
		case "inputs":
			inputs = inputs[:0]
			err := p.array(func() error {
				var shape []int
				if len(inputs) < cap(inputs) {
					shape = inputs[:len(inputs)+1][len(inputs)].Shape[:0]
				}
				inputs = append(inputs, inferInput{Shape: shape})
				in := &inputs[len(inputs)-1]
				return p.object(func(key []byte) error { return p.input(in, key) })
			})
			req.Inputs = inputs
			if req.Inputs == nil {
				req.Inputs = []inferInput{}
			}
			return err
		}
		return p.unmarshal(new(any))
	})
	if err != nil {
		return err
	}
	if p.ws(); p.i != len(b) {
		return fmt.Errorf("trailing characters at offset %d", p.i)
	}
	return nil
}

// input reads one field of an input tensor.
func (p *reqParser) input(in *inferInput, key []byte) error {
	var err error
	switch string(key) {
	case "name":
		in.Name, err = p.str()
	case "datatype":
		in.Datatype, err = p.str()
		if dt, ok := datatypes[in.Datatype]; ok {
			in.Datatype = dt.name // one string for all requests
		}
	case "shape":
		in.Shape, err = p.ints(in.Shape)
	case "parameters":
		err = p.unmarshal(&in.Parameters)
	case "data":
		var raw []byte
		if raw, err = p.skip(); err == nil {
			in.Data = json.RawMessage(raw)
		}
	default:
		err = p.unmarshal(new(any))
	}
	if err != nil {
		return fmt.Errorf("input field %q: %v", key, err)
	}
	return nil
}

// ints reads an array of integers into dst[:0] (null: nil), as
// encoding/json reads a []int: no fractions or exponents.
func (p *reqParser) ints(dst []int) ([]int, error) {
	if c, err := p.peek(); err != nil {
		return nil, err
	} else if c == 'n' {
		raw, err := p.skip()
		if err == nil && string(raw) != "null" {
			err = fmt.Errorf("want an array of integers at offset %d", p.i-len(raw))
		}
		return nil, err
	}
	if dst == nil {
		dst = make([]int, 0, 4)
	}
	dst = dst[:0]
	err := p.array(func() error {
		raw, err := p.skip()
		if err != nil {
			return err
		}
		v, err := strconv.ParseInt(string(raw), 10, 0)
		if err != nil || raw[0] == '+' || len(raw) > 1 && raw[0] == '0' || len(raw) > 2 && raw[0] == '-' && raw[1] == '0' {
			return fmt.Errorf("%s at offset %d is not an integer", raw, p.i-len(raw))
		}
		dst = append(dst, int(v))
		return nil
	})
	return dst, err
}

// reqParser is a cursor over a JSON document.
type reqParser struct {
	b []byte
	i int
}

var errEOF = errors.New("unexpected end of JSON input")

func (p *reqParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\n' || p.b[p.i] == '\r' || p.b[p.i] == '\t') {
		p.i++
	}
}

// peek skips white space and returns the next byte.
func (p *reqParser) peek() (byte, error) {
	p.ws()
	if p.i >= len(p.b) {
		return 0, errEOF
	}
	return p.b[p.i], nil
}

func (p *reqParser) expect(c byte) error {
	got, err := p.peek()
	if err != nil {
		return err
	}
	if got != c {
		return fmt.Errorf("want %q at offset %d, found %q", c, p.i, got)
	}
	p.i++
	return nil
}

// object calls field for each key of an object, with the cursor on the
// key's value; field must consume the value.
func (p *reqParser) object(field func(key []byte) error) error {
	if err := p.expect('{'); err != nil {
		return err
	}
	if c, err := p.peek(); err != nil {
		return err
	} else if c == '}' {
		p.i++
		return nil
	}
	for {
		key, err := p.strBytes()
		if err != nil {
			return err
		}
		if err := p.expect(':'); err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		c, err := p.peek()
		if err != nil {
			return err
		}
		p.i++
		switch c {
		case '}':
			return nil
		case ',':
		default:
			return fmt.Errorf("want ',' or '}' at offset %d, found %q", p.i-1, c)
		}
	}
}

// array calls elem for each element of an array.
func (p *reqParser) array(elem func() error) error {
	if err := p.expect('['); err != nil {
		return err
	}
	if c, err := p.peek(); err != nil {
		return err
	} else if c == ']' {
		p.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		c, err := p.peek()
		if err != nil {
			return err
		}
		p.i++
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return fmt.Errorf("want ',' or ']' at offset %d, found %q", p.i-1, c)
		}
	}
}

// str reads a string.
func (p *reqParser) str() (string, error) {
	b, err := p.strBytes()
	return string(b), err
}

// strBytes reads a string; the bytes are the body's own unless the string
// has escapes.
func (p *reqParser) strBytes() ([]byte, error) {
	c, err := p.peek()
	if err != nil {
		return nil, err
	}
	if c != '"' {
		return nil, fmt.Errorf("want a string at offset %d, found %q", p.i, c)
	}
	start, escaped := p.i, false
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i++
		case c < 0x20:
			return nil, fmt.Errorf("control character in a string at offset %d", p.i)
		case c == '"':
			p.i++
			raw := p.b[start:p.i]
			if !escaped {
				return raw[1 : len(raw)-1], nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return nil, err
			}
			return []byte(s), nil
		}
	}
	return nil, errEOF
}

// skip returns the raw bytes of the next value, delimited but not
// checked (the caller checks them).
func (p *reqParser) skip() ([]byte, error) {
	c, err := p.peek()
	if err != nil {
		return nil, err
	}
	start := p.i
	switch c {
	case '"':
		_, err := p.str()
		return p.b[start:p.i], err
	case '[', '{':
		depth := 0
		for ; p.i < len(p.b); p.i++ {
			switch p.b[p.i] {
			case '[', '{':
				depth++
			case ']', '}':
				if depth--; depth == 0 {
					p.i++
					return p.b[start:p.i], nil
				}
			case '"':
				if _, err := p.str(); err != nil {
					return nil, err
				}
				p.i--
			}
		}
		return nil, errEOF
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ',', '}', ']', ':', ' ', '\n', '\r', '\t':
			if p.i == start {
				return nil, fmt.Errorf("want a value at offset %d, found %q", p.i, p.b[p.i])
			}
			return p.b[start:p.i], nil
		}
		p.i++
	}
	return p.b[start:p.i], nil
}

// unmarshal decodes the next value into v with encoding/json.
func (p *reqParser) unmarshal(v any) error {
	raw, err := p.skip()
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
