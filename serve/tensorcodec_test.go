package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestScanNumberExact: the fast path of parseJSONNumbers gives the bits
// strconv.ParseFloat(s, 32) gives (encoding/json's float32), for numbers
// as clients write them (shortest float32, float64 and %.Ng forms) and
// for random decimal strings, midpoints and range edges among them.
func TestScanNumberExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var cases []string
	for range 20000 {
		f := math.Float32frombits(rng.Uint32())
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			continue
		}
		cases = append(cases,
			strconv.FormatFloat(float64(f), 'g', -1, 32),
			strconv.FormatFloat(float64(f), 'g', -1, 64),
			strconv.FormatFloat(float64(f), 'e', rng.IntN(12), 64),
			strconv.FormatFloat(float64(float32(rng.IntN(256))/255), 'f', -1, 32))
		// A random decimal of 1 to 22 digits with a random exponent.
		d := make([]byte, 1+rng.IntN(22))
		for k := range d {
			d[k] = byte('0' + rng.IntN(10))
		}
		d[0] = byte('1' + rng.IntN(9))
		if len(d) == 1 {
			d = append(d, '0')
		}
		cases = append(cases, fmt.Sprintf("%s.%se%d", d[:1], d[1:], rng.IntN(90)-45))
	}
	// Midpoints between neighbouring float32 values, written exactly:
	// a first rounding to float64 must not decide them.
	for range 2000 {
		f := math.Float32frombits(rng.Uint32() & 0x7effffff)
		mid := (float64(f) + float64(math.Nextafter32(f, float32(math.Inf(1))))) / 2
		cases = append(cases, strconv.FormatFloat(mid, 'e', -1, 64), strconv.FormatFloat(mid, 'e', 40, 64))
	}
	cases = append(cases, "0", "-0", "0.0", "-0.0e5", "1e22", "1e23", "9007199254740993", "9007199254740992",
		"3.4028235e38", "3.40282357e38", "1e39", "1e-46", "1.4e-45", "7e-46", "1.17549435e-38", "0.000000000000000000000000000000000000001",
		"123456789012345678901234567890", "0.30000000000000000000001", "1e-400", "-1e-400")
	for _, s := range cases {
		want, werr := strconv.ParseFloat(s, 32)
		got, err := parseJSONNumbers(nil, []byte("["+s+"]"), datatypes["FP32"])
		if (err != nil) != (werr != nil) {
			t.Fatalf("%s: error %v, strconv: %v", s, err, werr)
		}
		if err == nil && math.Float32bits(got[0]) != math.Float32bits(float32(want)) {
			t.Fatalf("%s: %g (%#x), strconv.ParseFloat(s, 32): %g (%#x)", s, got[0], math.Float32bits(got[0]), want, math.Float32bits(float32(want)))
		}
		want64, werr := strconv.ParseFloat(s, 64)
		got, err = parseJSONNumbers(nil, []byte("["+s+"]"), datatypes["FP64"])
		if (err != nil) != (werr != nil) || err == nil && math.Float32bits(got[0]) != math.Float32bits(float32(want64)) {
			t.Fatalf("%s as FP64: %v %v, strconv.ParseFloat(s, 64): %g %v", s, got, err, want64, werr)
		}
	}
}

// TestParseJSONNumbersAllocs: a single-image array allocates nothing
// when dst has room.
func TestParseJSONNumbersAllocs(t *testing.T) {
	body := mnistBody()
	raw := body[bytes.Index(body, []byte(`"data":`))+7 : len(body)-3]
	dst := make([]float32, 0, 784)
	if a := testing.AllocsPerRun(20, func() {
		if _, err := parseJSONNumbers(dst, raw, datatypes["FP32"]); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("%v allocations per single-image array, want 0", a)
	}
}

// FuzzParseJSONNumbers: whatever parseJSONNumbers accepts as FP32,
// encoding/json accepts too, with the same values bit for bit (into a
// []float32 for a flat array; with UseNumber and ParseFloat(s, 32), as
// encoding/json reads a float32, for nested ones); and a flat array of
// numbers that encoding/json reads into []float32 is accepted.
func FuzzParseJSONNumbers(f *testing.F) {
	for _, s := range []string{`[1, -2.5e1, [3, [4]], 0]`, `[0.1,0.2,0.30000001192092896]`, `[1e39]`, `[-0, 1E-7, 12345678912345678912]`,
		`[[0.5, 1.5], [2.5e-3, 3.4028235e38]]`, `[1.00000017881393421514957253748434595763683319091796875]`, `[01]`, `[1.]`, `[]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseJSONNumbers(nil, b, datatypes["FP32"])
		var flat []float32
		ferr := json.Unmarshal(b, &flat)
		if err == nil && ferr == nil {
			if len(got) != len(flat) {
				t.Fatalf("%q: %d values, encoding/json %d", b, len(got), len(flat))
			}
			for k := range got {
				if math.Float32bits(got[k]) != math.Float32bits(flat[k]) {
					t.Fatalf("%q: value %d is %g, encoding/json %g", b, k, got[k], flat[k])
				}
			}
			return
		}
		if err != nil {
			if ferr == nil && !bytes.Contains(b, []byte("null")) {
				t.Fatalf("%q: %v, but encoding/json reads %v", b, err, flat)
			}
			return
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil || d.More() {
			t.Fatalf("%q: accepted as %v, encoding/json: %v", b, got, err)
		}
		var want []float32
		var walk func(any)
		walk = func(v any) {
			switch v := v.(type) {
			case []any:
				for _, e := range v {
					walk(e)
				}
			case json.Number:
				x, err := strconv.ParseFloat(string(v), 32)
				if err != nil {
					t.Fatalf("%q: accepted %s, ParseFloat(s, 32): %v", b, v, err)
				}
				want = append(want, float32(x))
			default:
				t.Fatalf("%q: accepted a %T", b, v)
			}
		}
		walk(v)
		if len(want) != len(got) {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
		for k := range got {
			if math.Float32bits(got[k]) != math.Float32bits(want[k]) {
				t.Fatalf("%q: value %d is %g, want %g", b, k, got[k], want[k])
			}
		}
	})
}
