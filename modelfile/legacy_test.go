package modelfile_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// legacyFixture is a file in the format runs wrote before model files
// (weights + "strata.architecture"), committed under testdata with the
// outputs the model gave when it was written.
type legacyFixture struct {
	file   string
	family string
	in     []int
	arch   string
	make   func() nn.Layer
	input  func() *tensor.Tensor
}

func legacyFixtures() []legacyFixture {
	ramp := func(shape ...int) func() *tensor.Tensor {
		return func() *tensor.Tensor {
			x := tensor.Zeros(shape...)
			for i := range x.Data() {
				x.Data()[i] = float32(i%7) / 7
			}
			return x
		}
	}
	vocab, _ := json.Marshal(data.NewVocab("abc"))
	return []legacyFixture{
		{"legacy-mlp.safetensors", "mlp", []int{4}, `{"model":"mlp","classes":3,"input_shape":[4],"preprocessing":"none"}`,
			func() nn.Layer { return zoo.NewSimpleNet(3) }, ramp(2, 4)},
		{"legacy-charlm.safetensors", "charlm", []int{5},
			`{"model":"charlm","net":{"vocab":3,"embedding_dim":2,"units":2,"layers":1,"cell":"lstm"},"seq_len":5,"vocabulary":` + string(vocab) + `}`,
			func() nn.Layer {
				m, _ := zoo.NewCharLM(zoo.CharLMOptions{Vocab: 3, EmbeddingDim: 2, Units: 2, Layers: 1, Cell: "lstm"})
				return m
			}, func() *tensor.Tensor { return tensor.New([]int{1, 5}, []float32{0, 1, 2, 1, 0}) }},
	}
}

// TestWriteLegacyFixtures rewrites the fixtures with STRATA_WRITE_FIXTURES=1
// (never needed unless the fixtures are lost).
func TestWriteLegacyFixtures(t *testing.T) {
	if os.Getenv("STRATA_WRITE_FIXTURES") == "" {
		t.Skip("set STRATA_WRITE_FIXTURES=1 to rewrite testdata")
	}
	for _, f := range legacyFixtures() {
		net := f.make()
		if _, err := nn.Build(net, f.in, rand.New(rand.NewPCG(11, 0))); err != nil {
			t.Fatal(err)
		}
		meta := map[string]string{"format": "strata.weights.v1", modelfile.KeyLegacy: f.arch}
		if err := checkpoint.SaveSafetensors(filepath.Join("testdata", f.file), modelfile.Tensors(net), meta); err != nil {
			t.Fatal(err)
		}
		y := net.Forward(&nn.Ctx{}, autograd.Const(f.input())).Value
		b, _ := json.Marshal(y.Data())
		if err := os.WriteFile(filepath.Join("testdata", f.file+".golden.json"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLegacyFilesLoad loads files written by an older build and checks
// their outputs.
func TestLegacyFilesLoad(t *testing.T) {
	for _, f := range legacyFixtures() {
		t.Run(f.family, func(t *testing.T) {
			m, err := modelfile.Load(filepath.Join("testdata", f.file))
			if err != nil {
				t.Fatal(err)
			}
			if m.Meta.Family != f.family || !slices.Equal(m.Meta.InputShape, f.in) {
				t.Errorf("meta %+v", m.Meta)
			}
			b, err := os.ReadFile(filepath.Join("testdata", f.file+".golden.json"))
			if err != nil {
				t.Fatal(err)
			}
			var want []float32
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := m.Net.Forward(&nn.Ctx{}, autograd.Const(f.input())).Value.Data()
			if !slices.Equal(got, want) {
				t.Errorf("outputs %v, want %v", got, want)
			}
			// Saved again in the new format, it loads the same.
			path := filepath.Join(t.TempDir(), "new.safetensors")
			if err := modelfile.Save(path, m.Net, m.Meta); err != nil {
				t.Fatal(err)
			}
			m2, err := modelfile.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := m2.Net.Forward(&nn.Ctx{}, autograd.Const(f.input())).Value.Data(); !slices.Equal(got, want) {
				t.Errorf("re-saved: outputs %v, want %v", got, want)
			}
		})
	}
}
