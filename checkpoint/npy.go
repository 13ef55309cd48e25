package checkpoint

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/internal/regular"
	"github.com/strata-dl/strata/tensor"
)

// npyMagic starts every .npy file.
const npyMagic = "\x93NUMPY"

// maxNPYHeader bounds the header length read from a file. NumPy itself
// refuses headers over 10000 bytes unless told otherwise.
const maxNPYHeader = 1 << 20

// WriteNPY writes t to w as a NumPy .npy file: format version 1.0 (2.0 if the
// header would not fit), dtype '<f4' (little-endian float32), C order, shape
// t.Shape(), with the header laid out byte for byte as numpy.save (NumPy
// 1.23 and later) lays it out.
func WriteNPY(w io.Writer, t *tensor.Tensor) error {
	if t == nil {
		return errors.New("checkpoint: write npy: tensor is nil")
	}
	var dims []string
	for _, d := range t.Shape() {
		dims = append(dims, strconv.Itoa(d))
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	dict := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }"
	if len(dims) > 0 {
		// Like numpy.save, leave room to rewrite the first dimension with
		// up to 21 digits in place.
		dict += strings.Repeat(" ", 21-len(dims[0]))
	}

	// The header (magic, version, length, dict, padding, '\n') is a
	// multiple of 64 bytes long.
	version, lenSize := byte(1), 2
	pad := func() int { return (64 - (len(npyMagic)+2+lenSize+len(dict)+1)%64) % 64 }
	if len(dict)+pad()+1 > math.MaxUint16 {
		version, lenSize = 2, 4
	}
	hlen := len(dict) + pad() + 1
	var b bytes.Buffer
	b.WriteString(npyMagic)
	b.WriteByte(version)
	b.WriteByte(0)
	if version == 1 {
		binary.Write(&b, binary.LittleEndian, uint16(hlen))
	} else {
		binary.Write(&b, binary.LittleEndian, uint32(hlen))
	}
	b.WriteString(dict)
	b.WriteString(strings.Repeat(" ", pad()))
	b.WriteByte('\n')

	bw := bufio.NewWriterSize(w, 1<<16)
	bw.Write(b.Bytes())
	var chunk [1 << 14]byte
	for d := t.Data(); len(d) > 0; {
		m := min(len(d), len(chunk)/4)
		for i, v := range d[:m] {
			binary.LittleEndian.PutUint32(chunk[4*i:], math.Float32bits(v))
		}
		if _, err := bw.Write(chunk[:4*m]); err != nil {
			return fmt.Errorf("checkpoint: write npy: %w", err)
		}
		d = d[m:]
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: write npy: %w", err)
	}
	return nil
}

// SaveNPY writes t to the file at path with WriteNPY, atomically (see
// WriteFileAtomic).
func SaveNPY(path string, t *tensor.Tensor) error {
	return WriteFileAtomic(path, func(w io.Writer) error { return WriteNPY(w, t) })
}

// LoadNPY reads the .npy file at path (see ReadNPY). The file must hold
// exactly the bytes its header describes.
func LoadNPY(path string) (*tensor.Tensor, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	t, err := readNPY(bufio.NewReaderSize(f, 1<<16), st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// ReadNPY reads one array in NumPy .npy format (versions 1.0, 2.0 and 3.0)
// from r and returns it as a float32 tensor of the same shape. It reads
// exactly the array's bytes and nothing after them.
//
// The dtype may be a float ('f2', 'f4', 'f8'), a signed or unsigned integer
// of 1, 2, 4 or 8 bytes ('i1' … 'u8') or a boolean ('|b1'), little-endian
// ('<') or big-endian ('>'); every value is converted to float32, so float64
// values are rounded and integers above 2²⁴ in magnitude may lose their low
// digits. Structured dtypes and fortran_order True are errors: write the
// array with numpy.ascontiguousarray first.
//
// The data is read as it arrives, so a header that claims more elements than
// the stream holds fails at the end of the stream without allocating the
// claimed size.
func ReadNPY(r io.Reader) (*tensor.Tensor, error) {
	return readNPY(r, -1)
}

// npyType is a parsed dtype descriptor.
type npyType struct {
	kind  byte // 'f', 'i', 'u' or 'b'
	size  int
	order binary.ByteOrder
}

// readNPY reads an array; size is the total length of the stream when known
// (a file), else -1.
func readNPY(r io.Reader, size int64) (*tensor.Tensor, error) {
	var pre [8]byte
	if _, err := io.ReadFull(r, pre[:]); err != nil {
		return nil, fmt.Errorf("checkpoint: npy: read magic and version at byte 0: %w", noEOF(err))
	}
	if string(pre[:6]) != npyMagic {
		return nil, fmt.Errorf("checkpoint: npy: byte 0: magic %q, want %q", pre[:6], npyMagic)
	}
	major, minor := pre[6], pre[7]
	var hlen, off int64
	switch major {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("checkpoint: npy: read header length at byte 8: %w", noEOF(err))
		}
		hlen, off = int64(binary.LittleEndian.Uint16(b[:])), 10
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return nil, fmt.Errorf("checkpoint: npy: read header length at byte 8: %w", noEOF(err))
		}
		hlen, off = int64(binary.LittleEndian.Uint32(b[:])), 12
	default:
		return nil, fmt.Errorf("checkpoint: npy: byte 6: format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", major, minor)
	}
	if hlen > maxNPYHeader {
		return nil, fmt.Errorf("checkpoint: npy: header length %d at byte 8 is over the %d-byte limit", hlen, maxNPYHeader)
	}
	if size >= 0 && off+hlen > size {
		return nil, fmt.Errorf("checkpoint: npy: header length %d at byte 8 runs past the end of the %d-byte file", hlen, size)
	}
	// Read through a limit rather than into a buffer of the claimed size,
	// so that a short stream claiming a long header allocates little.
	hdr, err := io.ReadAll(io.LimitReader(r, hlen))
	if err == nil && int64(len(hdr)) < hlen {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoint: npy: read %d-byte header at byte %d: %w", hlen, off, err)
	}
	dt, shape, err := parseNPYHeader(string(hdr), off)
	if err != nil {
		return nil, err
	}
	count := uint64(1)
	for _, d := range shape {
		hi, lo := bits.Mul64(count, uint64(d))
		if hi != 0 || lo > maxElements {
			return nil, fmt.Errorf("checkpoint: npy: shape %v is too large", shape)
		}
		count = lo
	}
	nbytes := count * uint64(dt.size)
	off += hlen
	if size >= 0 && uint64(size-off) != nbytes {
		return nil, fmt.Errorf("checkpoint: npy: shape %v needs %d bytes of data after byte %d, the file has %d", shape, nbytes, off, size-off)
	}

	// With a known size the whole array is allocated at once; otherwise it
	// grows with the data actually read.
	var data []float32
	if size >= 0 {
		data = make([]float32, 0, count)
	} else {
		data = make([]float32, 0, min(count, 1<<14))
	}
	chunk := make([]byte, 1<<16-(1<<16)%dt.size)
	var tmp [1 << 14]float32
	for remaining := nbytes; remaining > 0; {
		b := chunk[:min(uint64(len(chunk)), remaining)]
		if n, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("checkpoint: npy: shape %v needs %d bytes of data after byte %d, the stream ends after %d",
				shape, nbytes, off, nbytes-remaining+uint64(n))
		}
		m := len(b) / dt.size
		decodeNPY(dt, tmp[:m], b)
		data = append(data, tmp[:m]...)
		remaining -= uint64(len(b))
	}
	return tensor.New(shape, data), nil
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func decodeNPY(dt npyType, dst []float32, src []byte) {
	o := dt.order
	switch {
	case dt.kind == 'f' && dt.size == 4:
		for i := range dst {
			dst[i] = math.Float32frombits(o.Uint32(src[4*i:]))
		}
	case dt.kind == 'f' && dt.size == 8:
		for i := range dst {
			dst[i] = float32(math.Float64frombits(o.Uint64(src[8*i:])))
		}
	case dt.kind == 'f' && dt.size == 2:
		for i := range dst {
			dst[i] = halfToFloat32(o.Uint16(src[2*i:]))
		}
	case dt.kind == 'b':
		for i := range dst {
			dst[i] = 0
			if src[i] != 0 {
				dst[i] = 1
			}
		}
	case dt.kind == 'u' && dt.size == 1:
		for i := range dst {
			dst[i] = float32(src[i])
		}
	case dt.kind == 'i' && dt.size == 1:
		for i := range dst {
			dst[i] = float32(int8(src[i]))
		}
	case dt.kind == 'u' && dt.size == 2:
		for i := range dst {
			dst[i] = float32(o.Uint16(src[2*i:]))
		}
	case dt.kind == 'i' && dt.size == 2:
		for i := range dst {
			dst[i] = float32(int16(o.Uint16(src[2*i:])))
		}
	case dt.kind == 'u' && dt.size == 4:
		for i := range dst {
			dst[i] = float32(o.Uint32(src[4*i:]))
		}
	case dt.kind == 'i' && dt.size == 4:
		for i := range dst {
			dst[i] = float32(int32(o.Uint32(src[4*i:])))
		}
	case dt.kind == 'u' && dt.size == 8:
		for i := range dst {
			dst[i] = float32(o.Uint64(src[8*i:]))
		}
	case dt.kind == 'i' && dt.size == 8:
		for i := range dst {
			dst[i] = float32(int64(o.Uint64(src[8*i:])))
		}
	}
}

// parseNPYHeader parses the header, a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }; base is its
// byte offset in the file, for error messages.
func parseNPYHeader(h string, base int64) (npyType, []int, error) {
	p := &pyParser{s: h, base: base}
	var (
		dt       npyType
		shape    []int
		have     = map[string]bool{}
		fortran  bool
		keyStart int
	)
	errorf := p.errorf
	p.skipSpace()
	if !p.eat('{') {
		return dt, nil, errorf("header is not a dict: want '{'")
	}
	for {
		p.skipSpace()
		if p.eat('}') {
			break
		}
		keyStart = p.i
		key, err := p.str()
		if err != nil {
			return dt, nil, err
		}
		if have[key] {
			return dt, nil, p.errorfAt(keyStart, "key %q repeated", key)
		}
		have[key] = true
		p.skipSpace()
		if !p.eat(':') {
			return dt, nil, errorf("want ':' after key %q", key)
		}
		p.skipSpace()
		switch key {
		case "descr":
			at := p.i
			if p.peek() == '[' {
				return dt, nil, errorf("structured dtypes are not supported")
			}
			s, err := p.str()
			if err != nil {
				return dt, nil, err
			}
			if dt, err = parseDescr(s); err != nil {
				return dt, nil, p.errorfAt(at, "%v", err)
			}
		case "fortran_order":
			switch {
			case strings.HasPrefix(h[p.i:], "True"):
				fortran = true
				p.i += 4
			case strings.HasPrefix(h[p.i:], "False"):
				p.i += 5
			default:
				return dt, nil, errorf("fortran_order must be True or False")
			}
		case "shape":
			if shape, err = p.tuple(); err != nil {
				return dt, nil, err
			}
		default:
			return dt, nil, p.errorfAt(keyStart, "unexpected key %q (want descr, fortran_order and shape)", key)
		}
		p.skipSpace()
		if p.eat('}') {
			break
		}
		if !p.eat(',') {
			return dt, nil, errorf("want ',' or '}'")
		}
	}
	for _, k := range []string{"descr", "fortran_order", "shape"} {
		if !have[k] {
			return dt, nil, fmt.Errorf("checkpoint: npy: header at byte %d has no %q", base, k)
		}
	}
	p.skipSpace()
	if p.i != len(h) {
		return dt, nil, errorf("unexpected text after the dict")
	}
	if fortran {
		return dt, nil, fmt.Errorf("checkpoint: npy: header at byte %d: fortran_order True is not supported (save numpy.ascontiguousarray(a) instead)", base)
	}
	return dt, shape, nil
}

// parseDescr parses a simple dtype string such as '<f4' or '|u1'.
func parseDescr(s string) (npyType, error) {
	bad := fmt.Errorf("dtype %q is not supported (want f2, f4, f8, i1 … i8, u1 … u8 or b1, little- or big-endian)", s)
	if len(s) < 3 {
		return npyType{}, bad
	}
	dt := npyType{kind: s[1]}
	switch s[0] {
	case '<', '|':
		dt.order = binary.LittleEndian
	case '>':
		dt.order = binary.BigEndian
	default:
		return npyType{}, bad
	}
	n, err := strconv.Atoi(s[2:])
	if err != nil {
		return npyType{}, bad
	}
	dt.size = n
	switch {
	case dt.kind == 'f' && (n == 2 || n == 4 || n == 8),
		(dt.kind == 'i' || dt.kind == 'u') && (n == 1 || n == 2 || n == 4 || n == 8),
		dt.kind == 'b' && n == 1:
		return dt, nil
	}
	return npyType{}, bad
}

// pyParser reads the few Python literals an .npy header uses.
type pyParser struct {
	s    string
	i    int
	base int64
}

func (p *pyParser) errorf(format string, args ...any) error { return p.errorfAt(p.i, format, args...) }

func (p *pyParser) errorfAt(i int, format string, args ...any) error {
	return fmt.Errorf("checkpoint: npy: header byte %d: %s", p.base+int64(i), fmt.Sprintf(format, args...))
}

func (p *pyParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *pyParser) eat(c byte) bool {
	if p.peek() == c && p.i < len(p.s) {
		p.i++
		return true
	}
	return false
}

func (p *pyParser) skipSpace() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

// str reads a quoted string without escapes (none appear in npy headers).
func (p *pyParser) str() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errorf("want a quoted string")
	}
	end := strings.IndexByte(p.s[p.i+1:], q)
	if end < 0 {
		return "", p.errorf("unterminated string")
	}
	s := p.s[p.i+1 : p.i+1+end]
	if strings.IndexByte(s, '\\') >= 0 {
		return "", p.errorf("escapes in strings are not supported")
	}
	p.i += end + 2
	return s, nil
}

// tuple reads a tuple of non-negative integers: (), (3,), (3, 4).
func (p *pyParser) tuple() ([]int, error) {
	if !p.eat('(') {
		return nil, p.errorf("shape must be a tuple")
	}
	dims := []int{}
	for {
		p.skipSpace()
		if p.eat(')') {
			return dims, nil
		}
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			p.i++
		}
		if start == p.i {
			return nil, p.errorf("shape: want a non-negative integer")
		}
		d, err := strconv.ParseInt(p.s[start:p.i], 10, 64)
		if err != nil || d > maxElements {
			return nil, p.errorfAt(start, "shape: dimension %s is too large", p.s[start:p.i])
		}
		p.eat('L') // written by Python 2
		dims = append(dims, int(d))
		p.skipSpace()
		if p.eat(')') { // "(3)" is not a tuple in Python, but its meaning is clear
			return dims, nil
		}
		if !p.eat(',') {
			return nil, p.errorf("shape: want ',' or ')'")
		}
	}
}
