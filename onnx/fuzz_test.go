package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must return a model or
// an error, never panic, with memory bounded by the input.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"lstm", "resnet"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "torch", name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	for _, g := range []string{"a=Relu(x); y=Add(a, x)", "y=Reshape(x, x)", "a=Relu(b); b=Relu(a); y=Relu(b)"} {
		b, _ := proto.Marshal(tinyGraph(g))
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err == nil && m == nil {
			t.Fatal("nil model without an error")
		}
	})
}
