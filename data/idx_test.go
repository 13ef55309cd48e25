package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// idxBytes builds an IDX file of type code typ with the given dimensions and
// raw big-endian payload.
func idxBytes(typ byte, dims []uint32, payload []byte) []byte {
	out := []byte{0, 0, typ, byte(len(dims))}
	for _, d := range dims {
		out = binary.BigEndian.AppendUint32(out, d)
	}
	return append(out, payload...)
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestReadIDXTypes(t *testing.T) {
	be := binary.BigEndian
	cases := []struct {
		typ     byte
		payload []byte
		want    []float32
	}{
		{0x08, []byte{0, 255}, []float32{0, 255}},
		{0x09, []byte{5, 0xfe}, []float32{5, -2}},
		{0x0B, be.AppendUint16(be.AppendUint16(nil, 300), 0xffff), []float32{300, -1}},
		{0x0C, be.AppendUint32(be.AppendUint32(nil, 70000), 0xfffffffe), []float32{70000, -2}},
		{0x0D, be.AppendUint32(be.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-0.25)), []float32{1.5, -0.25}},
		{0x0E, be.AppendUint64(be.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(3)), []float32{0.1, 3}},
	}
	for _, c := range cases {
		for _, compress := range []bool{false, true} {
			b := idxBytes(c.typ, []uint32{2}, c.payload)
			if compress {
				b = gz(b)
			}
			x, err := ReadIDX(bytes.NewReader(b))
			if err != nil {
				t.Errorf("type %#x gz %v: %v", c.typ, compress, err)
				continue
			}
			if x.Rank() != 1 || x.Data()[0] != c.want[0] || x.Data()[1] != c.want[1] {
				t.Errorf("type %#x gz %v: %v, want %v", c.typ, compress, x, c.want)
			}
		}
	}
	// Four dimensions.
	x, err := ReadIDX(bytes.NewReader(idxBytes(0x08, []uint32{2, 1, 3, 2}, make([]byte, 12))))
	if err != nil || !tensor.EqualShapes(x.Shape(), []int{2, 1, 3, 2}) {
		t.Errorf("4-D: %v %v", x, err)
	}
}

func TestReadIDXCorrupt(t *testing.T) {
	good := idxBytes(0x08, []uint32{2, 3}, make([]byte, 6))
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "byte 0: data ends after 0 bytes, before the 4-byte magic number"},
		{"short magic", []byte{0, 0, 8}, "data ends after 3 bytes"},
		{"wrong magic", []byte{0, 1, 8, 3, 0, 0, 0, 1}, "byte 0: magic number 0x00010803 does not start with two zero bytes"},
		{"png", []byte("\x89PNG\r\n\x1a\n"), "not an IDX file"},
		{"bad type", idxBytes(0x0A, []uint32{1}, []byte{0}), "byte 2: type code 0x0A is not one of"},
		{"zero dims", []byte{0, 0, 8, 0}, "byte 3: 0 dimensions, want 1 to 4"},
		{"five dims", idxBytes(0x08, []uint32{1, 1, 1, 1, 1}, []byte{0}), "byte 3: 5 dimensions, want 1 to 4"},
		{"truncated dims", good[:9], "byte 9: data ends inside the size of dimension 1 of 2 (1 of 4 bytes)"},
		{"truncated data", good[:len(good)-2], "byte 16: data ends early: dimensions [2 3] of unsigned byte (size 1) need 6 bytes after the 12-byte header, found 4"},
		{"truncated gz data", gz(good[:len(good)-2]), "decompressed byte 16: data ends early"},
		{"trailing data", append(good, 1), "byte 18: unexpected data after the 6 bytes"},
		{"huge claim", idxBytes(0x0E, []uint32{1 << 31, 1 << 31}, nil), "byte 8: dimensions [2147483648 2147483648] are too large"},
		{"huge but legal claim", idxBytes(0x08, []uint32{1 << 20, 1 << 19}, []byte{1, 2}), "need 549755813888 bytes after the 12-byte header, found 2"},
		{"bad gzip", []byte{0x1f, 0x8b, 1, 2, 3}, "gzip header"},
		{"gzip checksum", func() []byte { b := gz(good); b[len(b)-6] ^= 0xff; return b }(), "checksum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadIDX(bytes.NewReader(c.file))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestLoadIDXNamesFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.idx")
	os.WriteFile(path, idxBytes(0x08, []uint32{4}, []byte{1, 2, 3}), 0o644)
	_, err := LoadIDX(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "byte 11: data ends early") {
		t.Errorf("error %v", err)
	}
	os.WriteFile(path, gz(idxBytes(0x08, []uint32{3}, []byte{1, 2, 3})), 0o644)
	x, err := LoadIDX(path)
	if err != nil || x.Data()[2] != 3 {
		t.Errorf("gz file: %v %v", x, err)
	}
	if _, err := LoadIDX(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file accepted")
	}
}

// FuzzLoadIDX checks that no input makes ReadIDX panic and that what it
// accepts has as many values as its shape says.
func FuzzLoadIDX(f *testing.F) {
	f.Add(idxBytes(0x08, []uint32{2, 2, 2}, make([]byte, 8)))
	f.Add(idxBytes(0x0D, []uint32{1}, make([]byte, 4)))
	f.Add(idxBytes(0x0E, []uint32{1, 1, 1, 1}, make([]byte, 8)))
	f.Add(gz(idxBytes(0x0B, []uint32{3}, make([]byte, 6))))
	f.Add(idxBytes(0x08, []uint32{0xffffffff, 0xffffffff}, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		if tensor.Numel(x.Shape()) != x.Len() || x.Rank() < 1 || x.Rank() > 4 {
			t.Fatalf("shape %v with %d values", x.Shape(), x.Len())
		}
	})
}

// A NaN pixel in a float IDX file is refused where it enters, with its
// position, instead of surfacing later as a diverging loss.
func TestReadIDXRejectsNonFinite(t *testing.T) {
	payload := make([]byte, 4*6)
	binary.BigEndian.PutUint32(payload[4*4:], math.Float32bits(float32(math.NaN())))
	_, err := ReadIDX(bytes.NewReader(idxBytes(0x0D, []uint32{2, 3}, payload)))
	if err == nil || !strings.Contains(err.Error(), "NaN at index [1 1] of [2 3] is not finite") || !strings.Contains(err.Error(), "byte 28") {
		t.Fatalf("got %v", err)
	}
}

// A header that claims more data than the file can hold is refused before
// the output is allocated.
func TestLoadIDXBoundsHeader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge-idx3-ubyte")
	os.WriteFile(path, idxBytes(0x08, []uint32{100000, 100000, 1}, []byte{1, 2, 3}), 0o644)
	_, err := LoadIDX(path)
	if err == nil || !strings.Contains(err.Error(), "data ends early") || !strings.Contains(err.Error(), path) {
		t.Fatalf("got %v", err)
	}
}
