package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

// bigState is a state file's worth of tensors: a kernel and two Adam
// moments, so that the middle of the file is tensor data.
func bigState() []Named {
	mk := func(n int, seed float32) *tensor.Tensor {
		d := make([]float32, n)
		for i := range d {
			d[i] = seed + float32(i)*1e-3
		}
		return tensor.New([]int{n}, d)
	}
	return []Named{{"dense.kernel", mk(4096, 1)}, {"opt.m.dense.kernel", mk(4096, 2)}, {"opt.v.dense.kernel", mk(4096, 3)}}
}

func TestChecksumDetectsFlippedBytes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.safetensors")
	if err := SaveSafetensors(path, bigState(), map[string]string{"format": "x"}); err != nil {
		t.Fatal(err)
	}
	f, err := LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Verified || f.Metadata[ChecksumKey] != "" || f.Metadata["format"] != "x" {
		t.Fatalf("verified %v, metadata %v", f.Verified, f.Metadata)
	}
	b, _ := os.ReadFile(path)
	hlen := int(binary.LittleEndian.Uint64(b))
	for _, tc := range []struct {
		at     int // byte offset in the data buffer
		tensor string
	}{
		{len(b)/2 - 8 - hlen/2, ""}, // the example: 16 bytes in the middle of the file
		{0, "dense.kernel"},
		{4096*4 + 3, "opt.m.dense.kernel"}, // a corrupted optimizer moment
		{3*4096*4 - 16, "opt.v.dense.kernel"},
	} {
		bad := bytes.Clone(b)
		pos := 8 + hlen + tc.at
		if tc.tensor == "" {
			pos = len(b)/2 - 8
		}
		for i := pos; i < pos+16 && i < len(bad); i++ {
			bad[i] ^= 0x5a
		}
		p := filepath.Join(t.TempDir(), "bad.safetensors")
		os.WriteFile(p, bad, 0o644)
		_, err := LoadSafetensors(p)
		var ce *ChecksumError
		if !errors.As(err, &ce) {
			t.Fatalf("flip at %d: got %v, want a *ChecksumError", pos, err)
		}
		if !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "damaged") {
			t.Errorf("error %q should name the file and say it is damaged", err)
		}
		if tc.tensor != "" && ce.Tensor != tc.tensor {
			t.Errorf("flip at %d blamed tensor %q, want %q", pos, ce.Tensor, tc.tensor)
		}
	}
}

func TestChecksumAbsentStillLoads(t *testing.T) {
	// A file from an older build (or another writer): no checksum entry.
	hdr := `{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	buf := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1.5))
	buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(-2))
	b := stFile(hdr, buf)
	f, err := ReadSafetensors(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if f.Verified || f.Tensors["w"].Data()[1] != -2 {
		t.Errorf("verified %v, data %v", f.Verified, f.Tensors["w"].Data())
	}
}

func TestChecksumListEdited(t *testing.T) {
	data := make([]byte, 8)
	for _, tc := range []struct{ sums, want string }{
		{`{}`, `tensor "w" has no checksum`},
		{`{\"w\":\"00000000\",\"x\":\"00000000\"}`, `lists tensor "x"`},
		{`{\"w\":\"zz\"}`, `not 8 hex digits`},
		{`[1]`, `not a JSON object`},
		{`{\"w\":\"00000001\"}`, `tensor "w" (bytes`},
	} {
		hdr := `{"__metadata__":{"checksum.crc32c":"` + tc.sums + `"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
		b := stFile(hdr, data)
		_, err := ReadSafetensors(bytes.NewReader(b), int64(len(b)))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("checksums %s: got %v, want an error containing %q", tc.sums, err, tc.want)
		}
	}
}

func TestChecksumRoundTripKeepsUserMetadata(t *testing.T) {
	// A caller that passes a File's metadata back to the writer (as a
	// converter does) gets a fresh checksum, not a stale one.
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, bigState(), map[string]string{ChecksumKey: "stale", "a": "b"}); err != nil {
		t.Fatal(err)
	}
	f, err := ReadSafetensors(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || !f.Verified || f.Metadata["a"] != "b" || len(f.Metadata) != 1 {
		t.Fatalf("err %v verified %v metadata %v", err, f != nil && f.Verified, f)
	}
}

func TestCheckFinite(t *testing.T) {
	f := &File{Names: []string{"a", "b"}, Tensors: map[string]*tensor.Tensor{
		"a": tensor.New([]int{2}, []float32{1, 2}),
		"b": tensor.New([]int{2, 3}, []float32{0, 0, 0, 0, float32(math.NaN()), 0}),
	}}
	err := f.CheckFinite()
	var ne *NonFiniteError
	if !errors.As(err, &ne) || ne.Tensor != "b" || ne.Index[0] != 1 || ne.Index[1] != 1 {
		t.Fatalf("got %v", err)
	}
	delete(f.Tensors, "b")
	f.Names = f.Names[:1]
	if err := f.CheckFinite(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkSafetensorsChecksum measures writing and reading 16 MB of
// tensors; compare with -tags to see the checksum's share (see
// ChecksumKey's doc for the figures).
func BenchmarkSafetensorsChecksum(b *testing.B) {
	d := make([]float32, 4<<20)
	ts := []Named{{"w", tensor.New([]int{len(d)}, d)}}
	var buf bytes.Buffer
	b.Run("write", func(b *testing.B) {
		b.SetBytes(int64(4 * len(d)))
		for b.Loop() {
			buf.Reset()
			WriteSafetensors(&buf, ts, nil)
		}
	})
	b.Run("read", func(b *testing.B) {
		b.SetBytes(int64(4 * len(d)))
		r := bytes.NewReader(buf.Bytes())
		for b.Loop() {
			if _, err := ReadSafetensors(r, int64(buf.Len())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crc32c", func(b *testing.B) {
		b.SetBytes(int64(4 * len(d)))
		raw := buf.Bytes()
		for b.Loop() {
			_ = crc32Of(raw)
		}
	})
}

func crc32Of(b []byte) uint32 { return crc32.Update(0, castagnoli, b) }
