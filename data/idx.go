package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"

	"github.com/strata-dl/strata/internal/regular"
	"github.com/strata-dl/strata/tensor"
)

// idxType describes one IDX element type code.
type idxType struct {
	name string
	size int
}

var idxTypes = map[byte]idxType{
	0x08: {"unsigned byte", 1},
	0x09: {"signed byte", 1},
	0x0B: {"short", 2},
	0x0C: {"int", 4},
	0x0D: {"float", 4},
	0x0E: {"double", 8},
}

// maxIDXElements bounds the element count an IDX header may claim.
const maxIDXElements = 1 << 40

// LoadIDX reads the IDX file at path (see ReadIDX). Errors name the file.
func LoadIDX(path string) (*tensor.Tensor, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	t, err := readIDX(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("data: read idx %s: %w", path, err)
	}
	return t, nil
}

// ReadIDX reads an IDX file (the format of MNIST and its relatives) from r,
// decompressing it first if it starts with the gzip magic bytes, and returns
// its values as float32 in a tensor of the file's shape, 1 to 4 dimensions
// (MNIST images are [n, 28, 28], labels [n]). Values are not rescaled.
//
// The header is two zero bytes, a type byte (0x08 unsigned byte, 0x09
// signed byte, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64, all
// big-endian), a dimension count and one big-endian uint32 per dimension; the
// data must be exactly as long as the dimensions say. Errors give the byte
// offset (in the decompressed data for a gzipped file) and the expected and
// actual values.
func ReadIDX(r io.Reader) (*tensor.Tensor, error) {
	t, err := readIDX(r, -1)
	if err != nil {
		return nil, fmt.Errorf("data: read idx: %w", err)
	}
	return t, nil
}

// readIDX reads an IDX stream of size bytes (−1 when unknown).
func readIDX(r io.Reader, size int64) (*tensor.Tensor, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	where := "byte"
	payloadHint := size // the most the payload can hold, for preallocation
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip header: %w", err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 1<<16)
		where = "decompressed byte"
		if size >= 0 {
			payloadHint = size * 1032 // deflate's largest ratio
		}
	}
	var hdr [4]byte
	if n, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("%s 0: data ends after %d bytes, before the 4-byte magic number%s", where, n, gzipNote(err))
	}
	if hdr[0] != 0 || hdr[1] != 0 {
		return nil, fmt.Errorf("%s 0: magic number 0x%08X does not start with two zero bytes (not an IDX file)", where, binary.BigEndian.Uint32(hdr[:]))
	}
	typ, ok := idxTypes[hdr[2]]
	if !ok {
		return nil, fmt.Errorf("%s 2: type code 0x%02X is not one of 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E", where, hdr[2])
	}
	nd := int(hdr[3])
	if nd < 1 || nd > 4 {
		return nil, fmt.Errorf("%s 3: %d dimensions, want 1 to 4", where, nd)
	}
	shape := make([]int, nd)
	count := uint64(1)
	for i := range shape {
		var d [4]byte
		if n, err := io.ReadFull(br, d[:]); err != nil {
			return nil, fmt.Errorf("%s %d: data ends inside the size of dimension %d of %d (%d of 4 bytes)%s", where, 4+4*i+n, i, nd, n, gzipNote(err))
		}
		v := binary.BigEndian.Uint32(d[:])
		shape[i] = int(v)
		hi, lo := bits.Mul64(count, uint64(v))
		if hi != 0 || lo > maxIDXElements {
			return nil, fmt.Errorf("%s %d: dimensions %v are too large", where, 4+4*i, shape[:i+1])
		}
		count = lo
	}
	start := int64(4 + 4*nd)
	nbytes := int64(count) * int64(typ.size)

	// Decode as the data arrives, a chunk at a time, so that no byte copy of
	// the whole payload is held beside the float32 one. The output is
	// allocated up front only when the file's size bounds it (a header
	// cannot make a small file allocate gigabytes); otherwise it grows with
	// the data actually present.
	var out []float32
	if payloadHint >= 0 {
		if avail := max(payloadHint-start, 0); nbytes > avail && where == "byte" {
			return nil, fmt.Errorf("%s %d: data ends early: dimensions %v of %s (size %d) need %d bytes after the %d-byte header, found %d",
				where, start+avail, shape, typ.name, typ.size, nbytes, start, avail)
		} else if nbytes > avail {
			return nil, fmt.Errorf("%s %d: dimensions %v of %s (size %d) need %d bytes, more than a gzip file of this size can hold (%d)",
				where, start, shape, typ.name, typ.size, nbytes, avail)
		}
		out = make([]float32, 0, count)
	}
	lr := io.LimitReader(br, nbytes+1)
	chunk := make([]byte, 1<<16-(1<<16)%typ.size)
	var n int64
	for {
		m, err := io.ReadFull(lr, chunk)
		n += int64(m)
		if n > nbytes {
			return nil, fmt.Errorf("%s %d: unexpected data after the %d bytes that dimensions %v of %s need", where, start+nbytes, nbytes, shape, typ.name)
		}
		out = decodeIDX(hdr[2], out, chunk[:m-m%typ.size])
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s %d: %d of the %d data bytes read: %w", where, start+n, n, nbytes, err)
		}
	}
	if n < nbytes {
		return nil, fmt.Errorf("%s %d: data ends early: dimensions %v of %s (size %d) need %d bytes after the %d-byte header, found %d",
			where, start+n, shape, typ.name, typ.size, nbytes, start, n)
	}
	if hdr[2] == 0x0D || hdr[2] == 0x0E {
		for i, v := range out {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s %d: value %v at index %v of %v is not finite", where, start+int64(i*typ.size), v, unravel(i, shape), shape)
			}
		}
	}
	return tensor.New(shape, out), nil
}

// unravel converts a flat row-major index into a position in shape.
func unravel(i int, shape []int) []int {
	pos := make([]int, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		if shape[d] > 0 {
			pos[d] = i % shape[d]
			i /= shape[d]
		}
	}
	return pos
}

// decodeIDX appends the big-endian values of IDX type code typ in b to out.
func decodeIDX(typ byte, out []float32, b []byte) []float32 {
	be := binary.BigEndian
	switch typ {
	case 0x08:
		for _, v := range b {
			out = append(out, float32(v))
		}
	case 0x09:
		for _, v := range b {
			out = append(out, float32(int8(v)))
		}
	case 0x0B:
		for i := 0; i+2 <= len(b); i += 2 {
			out = append(out, float32(int16(be.Uint16(b[i:]))))
		}
	case 0x0C:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, float32(int32(be.Uint32(b[i:]))))
		}
	case 0x0D:
		for i := 0; i+4 <= len(b); i += 4 {
			out = append(out, math.Float32frombits(be.Uint32(b[i:])))
		}
	case 0x0E:
		for i := 0; i+8 <= len(b); i += 8 {
			out = append(out, float32(math.Float64frombits(be.Uint64(b[i:]))))
		}
	}
	return out
}

// gzipNote explains a read error that is not a plain end of data.
func gzipNote(err error) string {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ""
	}
	return ": " + err.Error()
}

// IDXPair loads a labelled dataset from an IDX images file ([n, h, w] or
// [n, h, w, c]) and an IDX labels file ([n]). It returns X as
// [n, h, w, c] (c = 1 for a rank-3 file) with the file's values unscaled
// (0–255 for MNIST) and Y as [n] class indices. It returns an error naming
// the files if their sample counts differ or, when classes > 0, a label is
// not an integer in [0, classes).
func IDXPair(imagesPath, labelsPath string, classes int) (Tensors, error) {
	x, err := LoadIDX(imagesPath)
	if err != nil {
		return Tensors{}, err
	}
	y, err := LoadIDX(labelsPath)
	if err != nil {
		return Tensors{}, err
	}
	switch x.Rank() {
	case 3:
		x = x.Reshape(x.Dim(0), x.Dim(1), x.Dim(2), 1)
	case 4:
	default:
		return Tensors{}, fmt.Errorf("data: %s: images have shape %v, want [n, height, width] or [n, height, width, channels]", imagesPath, x.Shape())
	}
	if y.Rank() != 1 {
		return Tensors{}, fmt.Errorf("data: %s: labels have shape %v, want [n]", labelsPath, y.Shape())
	}
	if x.Dim(0) != y.Dim(0) {
		return Tensors{}, fmt.Errorf("data: %s holds %d images but %s holds %d labels", imagesPath, x.Dim(0), labelsPath, y.Dim(0))
	}
	if classes > 0 {
		if err := CheckLabels(y, classes); err != nil {
			return Tensors{}, fmt.Errorf("%s: %w", labelsPath, err)
		}
	}
	return Tensors{X: x, Y: y}, nil
}
