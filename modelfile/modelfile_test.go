package modelfile_test

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// gated is a user's struct model: a weight of its own, a layer field, a
// slice of layers and a plain config field.
type gated struct {
	Gate   *autograd.Var
	Blocks []nn.Layer
	Head   *nn.Dense
	Norm   nn.LayerNormalization // a layer held by value
	Note   string
}

func (m *gated) Weights() []nn.Weight {
	return []nn.Weight{{Name: "gate", Var: m.Gate, Trainable: true}}
}

func (m *gated) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if m.Gate == nil {
		m.Gate = autograd.NewParam("gate", tensor.Full(0.5, x.Shape()[1:]...))
	}
	x = autograd.Mul(x, m.Gate)
	for _, b := range m.Blocks {
		x = b.Forward(c, x)
	}
	return m.Head.Forward(c, m.Norm.Forward(c, x))
}

func init() { nn.RegisterLayer("modelfile_test.gated", func() nn.Layer { return &gated{} }) }

// roundTrip saves net, loads it and checks bit-identical outputs on x.
func roundTrip(t *testing.T, net nn.Layer, meta modelfile.Meta, x *tensor.Tensor) *modelfile.Model {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := modelfile.Save(path, net, meta); err != nil {
		t.Fatalf("save: %v", err)
	}
	m, err := modelfile.Load(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	want := net.Forward(&nn.Ctx{}, autograd.Const(x)).Value
	got := m.Net.Forward(&nn.Ctx{}, autograd.Const(x)).Value
	if !slices.Equal(want.Shape(), got.Shape()) || !slices.Equal(want.Data(), got.Data()) {
		t.Errorf("the loaded %T computes other outputs", net)
	}
	w1, w2 := nn.AllWeights(net), nn.AllWeights(m.Net)
	if len(w1) != len(w2) {
		t.Fatalf("%d weights loaded, want %d", len(w2), len(w1))
	}
	for i := range w1 {
		if w1[i].Path != w2[i].Path || !slices.Equal(w1[i].Var.Value.Data(), w2[i].Var.Value.Data()) {
			t.Errorf("weight %s differs after loading (%s)", w1[i].Path, w2[i].Path)
		}
	}
	return m
}

func build(t *testing.T, net nn.Layer, in []int) {
	t.Helper()
	if b, ok := net.(modelfile.Builder); ok {
		if err := b.Build(rand.New(rand.NewPCG(7, 7))); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := nn.Build(net, in, rand.New(rand.NewPCG(7, 7))); err != nil {
		t.Fatal(err)
	}
}

func TestZooRoundTrip(t *testing.T) {
	img := []int{28, 28, 1}
	lm, err := zoo.NewCharLM(zoo.CharLMOptions{Vocab: 5, EmbeddingDim: 3, Units: 4, Layers: 2, Cell: "gru"})
	if err != nil {
		t.Fatal(err)
	}
	lstm, _ := zoo.NewCharLM(zoo.CharLMOptions{Vocab: 4, EmbeddingDim: 2, Units: 3})
	cases := []struct {
		name string
		net  nn.Layer
		in   []int
	}{
		{"mlp", zoo.NewSimpleNet(10), img},
		{"cnn", zoo.NewCNNNet(10), img},
		{"lenet", zoo.NewLeNet5(10), img},
		{"lstm", zoo.NewRowLSTM(8, 10), img},
		{"gru", zoo.NewRowGRU(8, 10), img},
		{"rnn", zoo.NewRowSimpleRNN(8, 10), img},
		{"dcgan", zoo.NewDCGAN(zoo.GANConfig{Latent: 4, Width: 4}), []int{4}},
		{"gan", zoo.NewGAN(zoo.GANConfig{Latent: 4, Width: 8}), []int{4}},
		{"vae", zoo.NewVAE(zoo.VAEConfig{Latent: 2, Hidden: 8}), img},
		{"cvae", zoo.NewCVAE(zoo.VAEConfig{Latent: 2, Hidden: 8}), img},
		{"charlm/gru", lm, []int{6}},
		{"charlm/lstm", lstm, []int{6}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			build(t, c.net, c.in)
			x := tensor.RandUniform(rand.New(rand.NewPCG(1, 2)), 0, 1, append([]int{2}, c.in...)...)
			if strings.HasPrefix(c.name, "charlm") {
				for i := range x.Data() {
					x.Data()[i] = float32(i % 4)
				}
			}
			m := roundTrip(t, c.net, modelfile.Meta{Family: c.name, InputShape: c.in}, x)
			if g, ok := c.net.(*zoo.GAN); ok { // the discriminator too
				img := tensor.RandUniform(rand.New(rand.NewPCG(3, 4)), -1, 1, 2, 28, 28, 1)
				a := g.Discriminator.Forward(&nn.Ctx{}, autograd.Const(img)).Value
				b := m.Net.(*zoo.GAN).Discriminator.Forward(&nn.Ctx{}, autograd.Const(img)).Value
				if !slices.Equal(a.Data(), b.Data()) {
					t.Error("the loaded discriminator computes other outputs")
				}
			}
		})
	}
}

func TestUserModelsRoundTrip(t *testing.T) {
	seq := nn.NewSequential(
		&nn.Dense{Units: 8, Activation: "relu", KernelInitializer: nn.HeNormal{}, KernelRegularizer: nn.L2{L: 1e-4}},
		&nn.Dropout{Rate: 0.2},
		&nn.Sequential{Name: "block", Layers: []nn.Layer{&nn.Dense{Units: 6, Activation: "tanh"}, &nn.LayerNormalization{}}},
		&nn.Dense{Units: 3, Activation: "softmax"},
	)
	st := &gated{Blocks: []nn.Layer{&nn.Dense{Units: 5, Activation: "elu"}, &nn.BatchNormalization{}}, Head: &nn.Dense{Units: 2}, Norm: nn.LayerNormalization{Epsilon: 0.01}, Note: "v1"}
	std := &data.Standardizer{Mean: []float32{1, 2, 3, 4}, Std: []float32{1, 1, 2, 2}}
	meta := modelfile.Meta{InputShape: []int{4}, Classes: []string{"a", "b", "c"}, Standardizer: std,
		Vocab: data.NewVocab("abc"), Values: map[string]string{"author": "me"}}
	x := tensor.RandNormal(rand.New(rand.NewPCG(1, 1)), 0, 1, 3, 4)
	for _, net := range []nn.Layer{seq, st} {
		build(t, net, []int{4})
		m := roundTrip(t, net, meta, x)
		if !slices.Equal(m.Output, []int{net.Forward(&nn.Ctx{}, autograd.Const(x)).Value.Dim(1)}) {
			t.Errorf("output shape %v", m.Output)
		}
		if b, _ := json.Marshal(m.Meta); string(b) != mustJSON(meta) {
			t.Errorf("meta %s, want %s", b, mustJSON(meta))
		}
	}
	if got := st.Note; got != "v1" {
		t.Error(got)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSaveErrors(t *testing.T) {
	dir := t.TempDir()
	unbuilt := nn.NewSequential(&nn.Dense{Units: 2})
	if err := modelfile.Save(filepath.Join(dir, "a"), unbuilt, modelfile.Meta{InputShape: []int{3}}); err == nil || !strings.Contains(err.Error(), "not built") {
		t.Errorf("unbuilt: %v", err)
	}
	build(t, unbuilt, []int{3})
	if err := modelfile.Save(filepath.Join(dir, "a"), unbuilt, modelfile.Meta{}); err == nil || !strings.Contains(err.Error(), "InputShape") {
		t.Errorf("no input shape: %v", err)
	}
	type local struct{ *nn.Dense }
	d := &nn.Dense{Units: 2}
	build(t, d, []int{3})
	if err := modelfile.Save(filepath.Join(dir, "a"), &local{d}, modelfile.Meta{InputShape: []int{3}}); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("unregistered: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failed save left a file")
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	weightsOnly := filepath.Join(dir, "w.safetensors")
	if err := checkpoint.SaveSafetensors(weightsOnly, []checkpoint.Named{{Name: "k", Tensor: tensor.Ones(2)}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := modelfile.Load(weightsOnly); !errors.Is(err, modelfile.ErrNoArchitecture) || !strings.Contains(err.Error(), weightsOnly) {
		t.Errorf("weights only: %v", err)
	}
	unknown := filepath.Join(dir, "u.safetensors")
	checkpoint.SaveSafetensors(unknown, nil, map[string]string{modelfile.KeyModel: `{"type":"nope.Net","config":{}}`})
	if _, err := modelfile.Load(unknown); err == nil || !strings.Contains(err.Error(), `"nope.Net"`) {
		t.Errorf("unknown type: %v", err)
	}
	// Weights that do not fit the architecture are listed.
	net := nn.NewSequential(&nn.Dense{Units: 2})
	build(t, net, []int{3})
	md, err := modelfile.Metadata(net, modelfile.Meta{InputShape: []int{3}})
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "b.safetensors")
	checkpoint.SaveSafetensors(bad, []checkpoint.Named{{Name: "dense.kernel", Tensor: tensor.Ones(3, 2)}}, md)
	if _, err := modelfile.Load(bad); err == nil || !strings.Contains(err.Error(), `missing 1: "dense.bias"`) {
		t.Errorf("mismatch: %v", err)
	}
}

// TestLoadedModelConcurrentInference runs a loaded model from several
// goroutines (run with -race): inference of a built model only reads it.
func TestLoadedModelConcurrentInference(t *testing.T) {
	net := nn.NewSequential(&nn.Embedding{InputDim: 5, OutputDim: 3, MaskZero: true}, &nn.LSTM{Units: 4}, &nn.Dense{Units: 2, Activation: "softmax"})
	build(t, net, []int{6})
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := modelfile.Save(path, net, modelfile.Meta{InputShape: []int{6}}); err != nil {
		t.Fatal(err)
	}
	m, err := modelfile.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New([]int{2, 6}, []float32{1, 2, 3, 0, 0, 0, 4, 4, 1, 2, 3, 1})
	want := m.Net.Forward(&nn.Ctx{}, autograd.Const(x)).Value.Data()
	errs := make(chan string, 8)
	for range 8 {
		go func() {
			got := m.Net.Forward(&nn.Ctx{}, autograd.Const(x)).Value.Data()
			if !slices.Equal(got, want) {
				errs <- "a concurrent forward pass computed other outputs"
				return
			}
			errs <- ""
		}()
	}
	for range 8 {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

// TestEditedArchitectureRefusedBeforeBuilding edits a saved model's layer
// to Units: 1e8 (a 784×10⁸ kernel, 314 GB): Load refuses it naming the file
// and the layer, without allocating it.
func TestEditedArchitectureRefusedBeforeBuilding(t *testing.T) {
	net := nn.NewSequential(&nn.Dense{Units: 8, Name: "hidden"}, &nn.Dense{Units: 2, Name: "out"})
	build(t, net, []int{784})
	md, err := modelfile.Metadata(net, modelfile.Meta{InputShape: []int{784}})
	if err != nil {
		t.Fatal(err)
	}
	md[modelfile.KeyModel] = strings.Replace(md[modelfile.KeyModel], `"Units":8`, `"Units":100000000`, 1)
	if !strings.Contains(md[modelfile.KeyModel], `100000000`) {
		t.Fatalf("the edit did not apply: %s", md[modelfile.KeyModel])
	}
	path := filepath.Join(t.TempDir(), "edited.safetensors")
	if err := checkpoint.SaveSafetensors(path, modelfile.Tensors(net), md); err != nil {
		t.Fatal(err)
	}
	_, err = modelfile.Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `layer "hidden"`) || !strings.Contains(err.Error(), "[784 100000000]") {
		t.Errorf("edited Units: 1e8: got %v, want a refusal naming %s and layer \"hidden\"", err, path)
	}
}
