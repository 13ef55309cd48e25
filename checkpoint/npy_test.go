package checkpoint

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// npyFile builds an .npy file the way numpy.save does: the dict, padded with
// spaces and a newline so that the whole header is a multiple of 64 bytes.
func npyFile(major byte, dict string, data []byte) []byte {
	lenSize := 2
	if major > 1 {
		lenSize = 4
	}
	h := dict
	for (6+2+lenSize+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	out := append([]byte(npyMagic), major, 0)
	if major == 1 {
		out = binary.LittleEndian.AppendUint16(out, uint16(len(h)))
	} else {
		out = binary.LittleEndian.AppendUint32(out, uint32(len(h)))
	}
	out = append(out, h...)
	return append(out, data...)
}

func TestWriteNPYMatchesNumPy(t *testing.T) {
	var buf bytes.Buffer
	x := tensor.New([]int{2, 3}, []float32{0, 1, 2, 3, 4, 5})
	if err := WriteNPY(&buf, x); err != nil {
		t.Fatal(err)
	}
	var data []byte
	for _, v := range x.Data() {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
	}
	// numpy.save(f, numpy.arange(6, dtype='<f4').reshape(2, 3)) writes these
	// bytes: 20 spaces leave room for the first dimension to grow.
	want := npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"+strings.Repeat(" ", 20), data)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("got\n%q\nwant\n%q", buf.Bytes(), want)
	}
	if (buf.Len()-len(data))%64 != 0 {
		t.Errorf("header is %d bytes, not a multiple of 64", buf.Len()-len(data))
	}
}

func TestNPYRoundTrip(t *testing.T) {
	for _, x := range []*tensor.Tensor{
		tensor.Scalar(3.5),
		tensor.New([]int{3}, []float32{1, -2, float32(math.Inf(1))}),
		tensor.Zeros(0, 5),
		tensor.Arange(0, 24, 1).Reshape(2, 3, 4),
		tensor.Arange(0, 5000, 1),
	} {
		var buf bytes.Buffer
		if err := WriteNPY(&buf, x); err != nil {
			t.Fatal(err)
		}
		got, err := ReadNPY(&buf)
		if err != nil {
			t.Fatalf("%v: %v", x.Shape(), err)
		}
		if !tensor.SameShape(got, x) {
			t.Fatalf("shape %v, want %v", got.Shape(), x.Shape())
		}
		for i, v := range x.Data() {
			if got.Data()[i] != v {
				t.Fatalf("%v: [%d] = %v, want %v", x.Shape(), i, got.Data()[i], v)
			}
		}
	}
}

func TestReadNPYDTypes(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	cases := []struct {
		descr string
		data  []byte
		want  []float32
	}{
		{"<f4", le.AppendUint32(le.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2)), []float32{1.5, -2}},
		{">f4", be.AppendUint32(be.AppendUint32(nil, math.Float32bits(1.5)), math.Float32bits(-2)), []float32{1.5, -2}},
		{"<f8", le.AppendUint64(le.AppendUint64(nil, math.Float64bits(0.1)), math.Float64bits(-3)), []float32{0.1, -3}},
		{"<f2", le.AppendUint16(le.AppendUint16(nil, 0x3c00), 0xc000), []float32{1, -2}},
		{"<i8", le.AppendUint64(le.AppendUint64(nil, 7), uint64(math.MaxUint64)), []float32{7, -1}},
		{"<i4", le.AppendUint32(le.AppendUint32(nil, 1<<20), math.MaxUint32), []float32{1 << 20, -1}},
		{">i2", be.AppendUint16(be.AppendUint16(nil, 300), math.MaxUint16), []float32{300, -1}},
		{"<u2", le.AppendUint16(le.AppendUint16(nil, 300), math.MaxUint16), []float32{300, 65535}},
		{"|u1", []byte{0, 255}, []float32{0, 255}},
		{"|i1", []byte{5, 0xff}, []float32{5, -1}},
		{"|b1", []byte{1, 0}, []float32{1, 0}},
	}
	for _, c := range cases {
		for _, major := range []byte{1, 2, 3} {
			b := npyFile(major, "{'descr': '"+c.descr+"', 'fortran_order': False, 'shape': (2,), }", c.data)
			got, err := ReadNPY(bytes.NewReader(b))
			if err != nil {
				t.Errorf("%s v%d: %v", c.descr, major, err)
				continue
			}
			if got.Rank() != 1 || got.Len() != 2 || got.Data()[0] != c.want[0] || got.Data()[1] != c.want[1] {
				t.Errorf("%s v%d: got %v, want %v", c.descr, major, got, c.want)
			}
		}
	}
}

func TestReadNPYHeaderVariants(t *testing.T) {
	data := make([]byte, 24)
	for _, dict := range []string{
		`{"descr": "<f4", "fortran_order": False, "shape": (2, 3)}`,
		"{'shape': (2L, 3L), 'fortran_order': False, 'descr': '<f4'}",
		"{'descr':'<f4','fortran_order':False,'shape':(2,3,),}",
	} {
		x, err := ReadNPY(bytes.NewReader(npyFile(1, dict, data)))
		if err != nil {
			t.Errorf("%s: %v", dict, err)
			continue
		}
		if !tensor.EqualShapes(x.Shape(), []int{2, 3}) {
			t.Errorf("%s: shape %v", dict, x.Shape())
		}
	}
}

func TestReadNPYCorrupt(t *testing.T) {
	f4 := make([]byte, 8)
	hdr := func(descr, fortran, shape string) string {
		return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }"
	}
	huge := npyFile(1, hdr("<f4", "False", "(1000000000000,)"), f4)
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"empty", nil, "read magic and version at byte 0"},
		{"bad magic", []byte("\x93NUMPZ\x01\x00\x00\x00"), "byte 0: magic"},
		{"version", append([]byte(npyMagic), 4, 0, 0, 0), "format version 4.0 is not supported"},
		{"truncated header", append([]byte(npyMagic), 1, 0, 100, 0, '{'), "read 100-byte header at byte 10"},
		{"huge header", append([]byte(npyMagic), 2, 0, 0, 0, 0, 0x40), "over the 1048576-byte limit"},
		{"fortran", npyFile(1, hdr("<f4", "True", "(2,)"), f4), "fortran_order True is not supported"},
		{"structured", npyFile(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", f4), "structured dtypes are not supported"},
		{"bad dtype", npyFile(1, hdr("<c8", "False", "(1,)"), f4), `dtype "<c8" is not supported`},
		{"object dtype", npyFile(1, hdr("|O", "False", "(1,)"), f4), `dtype "|O" is not supported`},
		{"missing key", npyFile(1, "{'descr': '<f4', 'shape': (2,), }", f4), `no "fortran_order"`},
		{"extra key", npyFile(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", f4), `unexpected key "x"`},
		{"repeated key", npyFile(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", f4), `key "descr" repeated`},
		{"negative dim", npyFile(1, hdr("<f4", "False", "(-2,)"), f4), "want a non-negative integer"},
		{"bad shape", npyFile(1, hdr("<f4", "False", "[2]"), f4), "shape must be a tuple"},
		{"huge dim", npyFile(1, hdr("<f4", "False", "(99999999999999999999,)"), f4), "too large"},
		{"huge shape", npyFile(1, hdr("<f4", "False", "(1000000000000, 1000000000000)"), f4), "too large"},
		{"short data", npyFile(1, hdr("<f4", "False", "(3,)"), f4), "needs 12 bytes of data after byte 128, the stream ends after 8"},
		{"huge claim", huge, "the stream ends after 8"},
		{"not a dict", npyFile(1, "('descr', '<f4')", f4), "header is not a dict"},
		{"unterminated", npyFile(1, "{'descr: <f4", f4), "unterminated string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadNPY(bytes.NewReader(c.file))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestSaveLoadNPY(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.npy")
	x := tensor.Arange(0, 12, 1).Reshape(3, 4)
	if err := SaveNPY(path, x); err != nil {
		t.Fatal(err)
	}
	got, err := LoadNPY(path)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.SameShape(got, x) || got.Data()[11] != 11 {
		t.Errorf("got %v", got)
	}
	// Trailing bytes in a file are an error that names the file and sizes.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{0, 0, 0, 0})
	f.Close()
	_, err = LoadNPY(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "needs 48 bytes of data after byte 128, the file has 52") {
		t.Errorf("trailing bytes: %v", err)
	}
}

func TestReadNPYStopsAtArray(t *testing.T) {
	var buf bytes.Buffer
	WriteNPY(&buf, tensor.Ones(2))
	WriteNPY(&buf, tensor.Zeros(3))
	a, err := ReadNPY(&buf)
	if err != nil || a.Len() != 2 {
		t.Fatalf("first: %v %v", a, err)
	}
	b, err := ReadNPY(&buf)
	if err != nil || b.Len() != 3 {
		t.Fatalf("second: %v %v", b, err)
	}
	if _, err := ReadNPY(&buf); err == nil {
		t.Error("reading past the last array succeeded")
	}
}

// FuzzReadNPY checks that no input makes ReadNPY panic and that whatever it
// accepts has as many elements as its shape says.
func FuzzReadNPY(f *testing.F) {
	var buf bytes.Buffer
	WriteNPY(&buf, tensor.Arange(0, 6, 1).Reshape(2, 3))
	f.Add(buf.Bytes())
	f.Add(npyFile(2, "{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }", make([]byte, 8)))
	f.Add(npyFile(3, "{'descr': '|b1', 'fortran_order': False, 'shape': (), }", []byte{1}))
	f.Add(npyFile(1, "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 1), }", make([]byte, 4)))
	f.Add([]byte(npyMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		x, err := ReadNPY(bytes.NewReader(b))
		if err != nil {
			return
		}
		if tensor.Numel(x.Shape()) != x.Len() {
			t.Fatalf("shape %v with %d elements", x.Shape(), x.Len())
		}
	})
}
