package nn

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzUnmarshalLayer: any bytes give a layer or an error, never a panic,
// and a layer that comes back marshals again.
func FuzzUnmarshalLayer(f *testing.F) {
	seq := NewSequential(&Dense{Units: 3, KernelInitializer: HeNormal{}, KernelRegularizer: L2{L: 0.1}},
		&Bidirectional{Layer: &LSTM{Units: 2, ReturnSequences: true}}, &TimeDistributed{Layer: &Dense{Units: 1}})
	if _, err := Build(seq, []int{4, 3}, rand.New(rand.NewPCG(1, 1))); err != nil {
		f.Fatal(err)
	}
	js, err := MarshalLayer(seq)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(js)
	f.Add([]byte(`{"type":"Dense","config":{"Units":"x"}}`))
	f.Add([]byte(`{"type":"Sequential","config":{"Layers":[{"type":"Nope"}]}}`))
	f.Add([]byte(`{"type":"Dense","config":{"KernelInitializer":{"type":"L2","config":{}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := UnmarshalLayer(b)
		if err != nil {
			return
		}
		if _, err := MarshalLayer(l); err != nil {
			t.Fatalf("a loaded layer does not marshal: %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"type":"Dense","config":{"Units":"x"}}`, "Dense.Units"},
		{`{"type":"Dense","config":{"Kernel":null}}`, `no configurable field "Kernel"`},
		{`{"type":"Dense","config":{"act":1}}`, `no configurable field "act"`},
		{`{"type":"Nope","config":{}}`, `unknown layer type "Nope"`},
		{`{"type":"L2","config":{}}`, `"L2" is not a layer`},
		{`{"type":"Dense","config":{"KernelInitializer":{"type":"L2","config":{}}}}`, "does not fit"},
		{`{"type":"TimeDistributed","config":{"Layer":{"type":"GlorotUniform","config":{}}}}`, "is not a layer"},
	} {
		_, err := UnmarshalLayer([]byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", c.in, err, c.want)
		}
	}
}
