package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/strata-dl/strata/tensor"
)

// FuzzDecode feeds arbitrary bytes to Decode: it must return a model or
// an error, never panic, with memory bounded by the input; a model that
// decodes must run or return an error.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"lstm", "resnet", "dcgan"} {
		if b, err := os.ReadFile(filepath.Join("testdata", "torch", name, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	for _, g := range []string{"a=Relu(x); y=Add(a, x)", "y=Reshape(x, x)", "a=Relu(b); b=Relu(a); y=Relu(b)"} {
		b, _ := proto.Marshal(tinyGraph(g))
		f.Add(b)
	}
	elementLimit = 1 << 18 // keep each run small and fast
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err == nil && m == nil {
			t.Fatal("nil model without an error")
		}
		if err != nil {
			return
		}
		// a model that decodes runs to outputs or an error on inputs of
		// its declared shapes (dynamic dimensions 2), never a panic
		in := map[string]*tensor.Tensor{}
		for _, io := range m.Inputs {
			shape := []int{}
			n := 1
			for _, d := range io.Shape {
				if d < 0 {
					d = 2
				}
				shape = append(shape, d)
				n *= d
			}
			if n > 1<<16 {
				return
			}
			in[io.Name] = tensor.Full(0.5, shape...)
		}
		m.Run(in)
	})
}
