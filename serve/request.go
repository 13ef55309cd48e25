package serve

import (
	"encoding/json"
	"errors"
	"fmt"
)

// decodeRequest reads an inference request in one pass over the body:
// the large "data" arrays are only delimited here (parseJSONNumbers reads
// and checks them), the small values (parameters, shape, outputs) go
// through encoding/json. It is equivalent to json.Unmarshal into
// inferRequest, with exact (not case-folded) keys, for a third of the
// time on a single-image request.
func decodeRequest(b []byte) (inferRequest, error) {
	var req inferRequest
	p := &reqParser{b: b}
	err := p.object(func(key string) error {
		switch key {
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
			req.Inputs = req.Inputs[:0]
			return p.array(func() error {
				var in inferInput
				if err := p.object(func(key string) error { return p.input(&in, key) }); err != nil {
					return err
				}
				req.Inputs = append(req.Inputs, in)
				return nil
			})
		}
		return p.unmarshal(new(any))
	})
	if err != nil {
		return req, err
	}
	if p.ws(); p.i != len(b) {
		return req, fmt.Errorf("trailing characters at offset %d", p.i)
	}
	return req, nil
}

// input reads one field of an input tensor.
func (p *reqParser) input(in *inferInput, key string) error {
	var err error
	switch key {
	case "name":
		in.Name, err = p.str()
	case "datatype":
		in.Datatype, err = p.str()
	case "shape":
		err = p.unmarshal(&in.Shape)
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
func (p *reqParser) object(field func(key string) error) error {
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
		key, err := p.str()
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
	c, err := p.peek()
	if err != nil {
		return "", err
	}
	if c != '"' {
		return "", fmt.Errorf("want a string at offset %d, found %q", p.i, c)
	}
	start, escaped := p.i, false
	for p.i++; p.i < len(p.b); p.i++ {
		switch c := p.b[p.i]; {
		case c == '\\':
			escaped = true
			p.i++
		case c < 0x20:
			return "", fmt.Errorf("control character in a string at offset %d", p.i)
		case c == '"':
			p.i++
			raw := p.b[start:p.i]
			if !escaped {
				return string(raw[1 : len(raw)-1]), nil
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", err
			}
			return s, nil
		}
	}
	return "", errEOF
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
