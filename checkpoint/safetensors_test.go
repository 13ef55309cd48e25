package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func sampleTensors() []Named {
	return []Named{
		{"conv1.kernel", tensor.New([]int{2, 1, 1, 3}, []float32{1, -2, 3.5, 4, 5, 6})},
		{"conv1.bias", tensor.New([]int{3}, []float32{0.25, 0, -1})},
		{"scalar", tensor.Scalar(7)},
		{"empty", tensor.Zeros(0, 4)},
		{"a.<b>&c", tensor.New([]int{1}, []float32{float32(math.Inf(-1))})},
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	in := sampleTensors()
	meta := map[string]string{"format": "pt", "arch": `{"layers":[1,2]}`}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, in, meta); err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(buf.Bytes())
	if (8+hlen)%8 != 0 {
		t.Errorf("buffer starts at %d, not a multiple of 8", 8+hlen)
	}
	f, err := ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names) != len(in) {
		t.Fatalf("names %v", f.Names)
	}
	for i, p := range in {
		if f.Names[i] != p.Name {
			t.Errorf("name %d = %q, want %q", i, f.Names[i], p.Name)
		}
		got := f.Tensors[p.Name]
		if !tensor.SameShape(got, p.Tensor) {
			t.Errorf("%s: shape %v, want %v", p.Name, got.Shape(), p.Tensor.Shape())
			continue
		}
		for j, v := range p.Tensor.Data() {
			if got.Data()[j] != v {
				t.Errorf("%s[%d] = %v, want %v", p.Name, j, got.Data()[j], v)
			}
		}
		if f.DTypes[p.Name] != "F32" {
			t.Errorf("%s: dtype %s", p.Name, f.DTypes[p.Name])
		}
	}
	if len(f.Metadata) != 2 || f.Metadata["arch"] != meta["arch"] || f.Metadata["format"] != "pt" {
		t.Errorf("metadata %v", f.Metadata)
	}

	// Deterministic bytes: writing again gives the same file.
	var again bytes.Buffer
	WriteSafetensors(&again, in, map[string]string{"arch": meta["arch"], "format": "pt"})
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Error("two writes of the same tensors differ")
	}
}

func TestSafetensorsHeaderLayout(t *testing.T) {
	var buf bytes.Buffer
	in := []Named{{"b", tensor.Zeros(2)}, {"a", tensor.Zeros(1, 1)}}
	if err := WriteSafetensors(&buf, in, map[string]string{"z": "1", "format": "pt"}); err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(buf.Bytes())
	hdr := strings.TrimRight(string(buf.Bytes()[8:8+hlen]), " ")
	want := `{"__metadata__":{"checksum.crc32c":"{\"a\":\"48674bc7\",\"b\":\"8c28b28a\"}","format":"pt","z":"1"},"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[8,12]}}`
	if hdr != want {
		t.Errorf("header\n got %s\nwant %s", hdr, want)
	}
	if buf.Len() != int(8+hlen+12) {
		t.Errorf("file is %d bytes, want %d", buf.Len(), 8+hlen+12)
	}
}

// stFile builds a safetensors file from a raw header and buffer.
func stFile(header string, buf []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, buf...)
}

func TestSafetensorsReadsReferenceFile(t *testing.T) {
	// As written by the Python safetensors library: metadata first, sorted
	// keys, space padding, tensors not in buffer order in the header.
	h := `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}   `
	buf := binary.LittleEndian.AppendUint32(nil, math.Float32bits(9))
	buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(1))
	buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(2))
	b := stFile(h, buf)
	f, err := ReadSafetensors(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names) != 2 || f.Names[0] != "b" || f.Names[1] != "w" {
		t.Errorf("names %v, want buffer order [b w]", f.Names)
	}
	if f.Tensors["b"].Rank() != 0 || f.Tensors["b"].Item() != 9 {
		t.Errorf("b = %v", f.Tensors["b"])
	}
	if w := f.Tensors["w"].Data(); w[0] != 1 || w[1] != 2 {
		t.Errorf("w = %v", w)
	}
}

func TestSafetensorsConvertsDTypes(t *testing.T) {
	var buf []byte
	// F16: 1.0, -2.0, 65504 (max), smallest subnormal 2^-24.
	for _, h := range []uint16{0x3c00, 0xc000, 0x7bff, 0x0001} {
		buf = binary.LittleEndian.AppendUint16(buf, h)
	}
	// BF16: 1.0, -0.5
	for _, h := range []uint16{0x3f80, 0xbf00} {
		buf = binary.LittleEndian.AppendUint16(buf, h)
	}
	// F64: 0.1, 1e300 (overflows to +Inf)
	for _, v := range []float64{0.1, 1e300} {
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(v))
	}
	h := `{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"bf":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"d":{"dtype":"F64","shape":[2],"data_offsets":[12,28]}}`
	b := stFile(h, buf)
	f, err := ReadSafetensors(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	check := func(name string, want ...float32) {
		t.Helper()
		got := f.Tensors[name].Data()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	check("h", 1, -2, 65504, float32(math.Ldexp(1, -24)))
	check("bf", 1, -0.5)
	check("d", 0.1, float32(math.Inf(1)))
	if f.DTypes["h"] != "F16" || f.DTypes["bf"] != "BF16" || f.DTypes["d"] != "F64" {
		t.Errorf("dtypes %v", f.DTypes)
	}
}

func TestHalfToFloat32(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want float32
	}{
		{0x0000, 0}, {0x3555, 0.333251953125}, {0x0400, float32(math.Ldexp(1, -14))},
		{0x03ff, float32(math.Ldexp(1023, -24))}, {0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	} {
		if got := halfToFloat32(c.h); got != c.want {
			t.Errorf("half %#04x = %v, want %v", c.h, got, c.want)
		}
	}
	if v := halfToFloat32(0x8000); math.Float32bits(v) != 0x80000000 {
		t.Errorf("half -0 = %v", v)
	}
	if v := halfToFloat32(0x7e00); !math.IsNaN(float64(v)) {
		t.Errorf("half NaN = %v", v)
	}
}

func TestSafetensorsCorrupt(t *testing.T) {
	f32 := make([]byte, 8)
	good := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"short", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "runs past the end of the file"},
		{"header over limit", binary.LittleEndian.AppendUint64(nil, 200<<20), "over the 104857600-byte limit"},
		{"not an object", stFile(`[1]`, nil), "does not start with '{'"},
		{"bad json", stFile(`{"a":{"dtype":"F32",`, nil), "unexpected EOF"},
		{"bad json key", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},}`, nil), "bad JSON"},
		{"trailing garbage", stFile(good+`x`, f32), "unexpected data after the JSON object"},
		{"not utf8", stFile("{\"\xff\":1}", nil), "not valid UTF-8"},
		{"no dtype", stFile(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, f32), "no dtype"},
		{"no shape", stFile(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, f32), "no shape"},
		{"no offsets", stFile(`{"a":{"dtype":"F32","shape":[2]}}`, f32), "data_offsets must be [begin, end]"},
		{"three offsets", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, f32), "data_offsets must be [begin, end]"},
		{"negative dim", stFile(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32), `tensor "a"`},
		{"fraction dim", stFile(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, f32), `tensor "a"`},
		{"unsupported dtype", stFile(`{"a":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, f32), "dtype I64 is not supported"},
		{"unknown dtype", stFile(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, f32), `unknown dtype "F33"`},
		{"size mismatch", stFile(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, f32), "needs 12 bytes, data_offsets [0, 8] hold 8"},
		{"huge shape", stFile(`{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}}`, f32), "too large"},
		{"huge dim times zero", stFile(`{"a":{"dtype":"F32","shape":[0,18446744073709551615],"data_offsets":[0,0]}}`, nil), "too large"},
		{"reversed offsets", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, f32), "end before they begin"},
		{"past buffer", stFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32), "run past the end of the 8-byte buffer"},
		{"gap at start", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32), "leaving bytes [0, 4) of the buffer unused"},
		{"gap between", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, make([]byte, 12)), `gap in the buffer between tensor "a" (ends at 4) and tensor "b" (begins at 8)`},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32), "overlaps"},
		{"trailing buffer", stFile(good, make([]byte, 12)), "4 bytes at the end belong to no tensor"},
		{"duplicate", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32), `duplicate name "a"`},
		{"duplicate metadata", stFile(`{"__metadata__":{},"__metadata__":{}}`, nil), `duplicate name "__metadata__"`},
		{"metadata not strings", stFile(`{"__metadata__":{"epoch":3}}`, nil), `"__metadata__" must map strings to strings`},
		{"entry not object", stFile(`{"a":3}`, nil), `tensor "a"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadSafetensors(bytes.NewReader(c.file), int64(len(c.file)))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestWriteSafetensorsRejects(t *testing.T) {
	x := tensor.Zeros(1)
	for _, c := range []struct {
		name string
		in   []Named
		meta map[string]string
		want string
	}{
		{"empty name", []Named{{"", x}}, nil, "empty name"},
		{"duplicate", []Named{{"a", x}, {"a", x}}, nil, `duplicate name "a"`},
		{"reserved", []Named{{"__metadata__", x}}, nil, "reserved"},
		{"nil", []Named{{"a", nil}}, nil, `tensor "a" is nil`},
		{"bad utf8 meta", []Named{{"a", x}}, map[string]string{"k": "\xff"}, "valid UTF-8"},
	} {
		var buf bytes.Buffer
		err := WriteSafetensors(&buf, c.in, c.meta)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: wrote %d bytes before failing", c.name, buf.Len())
		}
	}
}

func TestSaveLoadSafetensors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.safetensors")
	in := sampleTensors()
	if err := SaveSafetensors(path, in, nil); err != nil {
		t.Fatal(err)
	}
	f, err := LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metadata) != 0 || len(f.Names) != len(in) {
		t.Errorf("metadata %v names %v", f.Metadata, f.Names)
	}
	// Corrupt the file: the error names it.
	b, _ := os.ReadFile(path)
	os.WriteFile(path, b[:len(b)-1], 0o644)
	if _, err := LoadSafetensors(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: error %v does not name %s", err, path)
	}
}

func TestMatchAndAssign(t *testing.T) {
	file := &File{
		Names: []string{"w", "b", "extra1", "extra2"},
		Tensors: map[string]*tensor.Tensor{
			"w": tensor.Ones(2, 3), "b": tensor.Ones(4), "extra1": tensor.Zeros(1), "extra2": tensor.Zeros(1),
		},
	}
	model := []Named{{"w", tensor.Zeros(3, 2)}, {"b", tensor.Zeros(3)}, {"gamma", tensor.Zeros(1)}, {"beta", tensor.Zeros(1)}}
	err := Match(model, file)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("error %v is not a *MismatchError", err)
	}
	if strings.Join(me.Missing, ",") != "gamma,beta" || strings.Join(me.Unexpected, ",") != "extra1,extra2" || len(me.Shapes) != 2 {
		t.Errorf("mismatch %+v", me)
	}
	msg := err.Error()
	for _, s := range []string{`"gamma"`, `"beta"`, `"extra1"`, `"extra2"`, `"w" model [3 2] file [2 3]`, `"b" model [3] file [4]`} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not mention %s", msg, s)
		}
	}
	if err := Assign(model, file); err == nil {
		t.Error("Assign accepted a mismatched file")
	}
	if model[0].Tensor.Data()[0] != 0 {
		t.Error("Assign changed a parameter despite the mismatch")
	}

	good := []Named{{"w", tensor.Zeros(2, 3)}, {"b", tensor.Zeros(4)}, {"extra1", tensor.Zeros(1)}, {"extra2", tensor.Zeros(1)}}
	if err := Assign(good, file); err != nil {
		t.Fatal(err)
	}
	if good[0].Tensor.Data()[5] != 1 || good[1].Tensor.Data()[3] != 1 {
		t.Error("Assign did not copy the values")
	}
	if err := Match([]Named{{"w", tensor.Zeros(2, 3)}, {"w", tensor.Zeros(2, 3)}}, file); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("repeated model name: %v", err)
	}
}

// FuzzReadSafetensors checks that no input makes ReadSafetensors panic, and
// that whatever it accepts survives a write and a second read unchanged.
func FuzzReadSafetensors(f *testing.F) {
	var buf bytes.Buffer
	WriteSafetensors(&buf, sampleTensors(), map[string]string{"format": "pt"})
	f.Add(buf.Bytes())
	f.Add(stFile(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}`, make([]byte, 6)))
	f.Add(stFile(`{"a":{"dtype":"F64","shape":[1,1],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add(stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)))
	f.Add(stFile(`{}`, nil))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := ReadSafetensors(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		var named []Named
		for _, n := range sf.Names {
			named = append(named, Named{n, sf.Tensors[n]})
		}
		var out bytes.Buffer
		if err := WriteSafetensors(&out, named, sf.Metadata); err != nil {
			if strings.Contains(err.Error(), "empty name") || strings.Contains(err.Error(), "reserved") {
				return // accepted on read, refused on write
			}
			t.Fatalf("rewrite: %v", err)
		}
		again, err := ReadSafetensors(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatalf("reread: %v", err)
		}
		for _, n := range sf.Names {
			a, b := sf.Tensors[n].Data(), again.Tensors[n].Data()
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Fatalf("%s[%d]: %v became %v", n, i, a[i], b[i])
				}
			}
		}
	})
}
