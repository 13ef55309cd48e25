package serve_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/serve"
)

// saveLoad builds net for meta.InputShape, saves it with meta in dir and
// loads it back.
func saveLoad(dir string, net nn.Layer, meta modelfile.Meta) (*modelfile.Model, error) {
	if _, err := nn.Build(net, meta.InputShape, rand.New(rand.NewPCG(1, 2))); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "model.safetensors")
	if err := modelfile.Save(path, net, meta); err != nil {
		return nil, err
	}
	return modelfile.Load(path)
}

// A program serves a model file saved by modelfile.Save (or strata train)
// without describing it again: FromModelFile reads its Meta.
func ExampleFromModelFile() {
	dir, err := os.MkdirTemp("", "serve-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	// A classifier ending in logits (trained with FromLogits: true).
	net := &nn.Sequential{Layers: []nn.Layer{&nn.Flatten{}, &nn.Dense{Units: 2}}}
	f, err := saveLoad(dir, net, modelfile.Meta{InputShape: []int{2, 2, 1}, Classes: []string{"cat", "dog"}, Preprocessing: "x/255", Logits: true})
	if err != nil {
		panic(err)
	}
	m, err := serve.FromModelFile("toy", f)
	if err != nil {
		panic(err)
	}
	fmt.Println(m.InputShape, m.Classes, m.Logits, m.Parameters["preprocessing"])
	srv, err := serve.New(serve.Options{}, m)
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	// Output:
	// [2 2 1] [cat dog] true x/255 (by the client)
}

// TestFromModelFile checks the mapping of Meta to a served model: a
// standardizer becomes Preprocess, a vocabulary INT64 inputs, a softmax
// classifier probabilities, a missing input shape an error.
func TestFromModelFile(t *testing.T) {
	f, err := saveLoad(t.TempDir(), &nn.Sequential{Layers: []nn.Layer{&nn.Dense{Units: 3, Activation: "softmax"}}},
		modelfile.Meta{InputShape: []int{4}, Classes: []string{"a", "b", "c"}, Family: "mlp"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := serve.FromModelFile("m", f)
	if err != nil {
		t.Fatal(err)
	}
	if m.Logits || m.Datatype != "" || m.Preprocess != nil || m.Parameters["family"] != "mlp" {
		t.Errorf("softmax classifier: %+v", m)
	}
	f.Meta.Vocab = data.NewVocab("abcd")
	f.Meta.Standardizer = &data.Standardizer{}
	if m, err = serve.FromModelFile("m", f); err != nil || m.Datatype != "INT64" || m.Preprocess == nil {
		t.Errorf("text model with standardizer: %+v, %v", m, err)
	}
	f.Meta.InputShape = nil
	if _, err := serve.FromModelFile("m", f); err == nil {
		t.Error("no input shape: no error")
	}
}
