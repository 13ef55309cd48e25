package onnx

import (
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// exportCase is a built Strata model and its per-sample input shape.
type exportCase struct {
	name string
	net  nn.Layer
	in   []int
}

// randomizeStats gives batch normalization non-trivial statistics so that
// their export is checked.
func randomizeStats(l nn.Layer, rng *rand.Rand) {
	for _, w := range nn.AllWeights(l) {
		if strings.HasSuffix(w.Path, "moving_variance") || strings.HasSuffix(w.Path, "gamma") {
			for i := range w.Var.Value.Data() {
				w.Var.Value.Data()[i] = 0.5 + rng.Float32()
			}
		} else if strings.HasSuffix(w.Path, "moving_mean") || strings.HasSuffix(w.Path, "beta") || strings.HasSuffix(w.Path, "bias") {
			for i := range w.Var.Value.Data() {
				w.Var.Value.Data()[i] = 0.2 * (rng.Float32() - 0.5)
			}
		}
	}
}

func build(t testing.TB, name string, net nn.Layer, in []int) exportCase {
	rng := rand.New(rand.NewPCG(3, 3))
	if _, err := nn.Build(net, in, rng); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	randomizeStats(net, rng)
	return exportCase{name, net, in}
}

// zooCases returns every zoo model the issue lists, built, plus a model
// with every other layer type.
func zooCases(t testing.TB) []exportCase {
	var cs []exportCase
	for _, name := range []string{"mlp", "cnn", "lenet", "lstm", "gru", "rnn"} {
		spec, err := zoo.LookupClassifier(name)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, build(t, name, spec.New(10), spec.Input))
	}
	vae := zoo.NewVAE(zoo.VAEConfig{})
	cs = append(cs, build(t, "vae-decoder", vae.Decoder, []int{20}))
	cvae := zoo.NewCVAE(zoo.VAEConfig{})
	cs = append(cs, build(t, "cvae-decoder", cvae.Decoder, []int{20}))
	cs = append(cs, build(t, "dcgan-generator", zoo.NewDCGAN(zoo.GANConfig{Latent: 16, Width: 8}), []int{16}))
	lm, err := zoo.NewCharLM(zoo.CharLMOptions{Vocab: 30, EmbeddingDim: 8, Units: 16, Layers: 2})
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, build(t, "charlm", lm, []int{7}))
	cs = append(cs, build(t, "layers", nn.NewSequential(
		&nn.Conv2D{Filters: 4, KernelSize: [2]int{3, 3}, Strides: [2]int{2, 1}, Padding: "same", Activation: "elu"},
		&nn.BatchNormalization{},
		&nn.Conv2D{Filters: 5, KernelSize: [2]int{3, 2}, DilationRate: [2]int{2, 1}, Activation: "gelu"},
		&nn.AveragePool2D{PoolSize: [2]int{2, 2}, Strides: [2]int{1, 1}, Padding: "same"},
		&nn.UpSampling2D{Size: [2]int{2, 3}},
		&nn.ConvTranspose2D{Filters: 3, KernelSize: [2]int{3, 3}, Strides: [2]int{2, 2}, Activation: "softplus"},
		&nn.MaxPool2D{PoolSize: [2]int{3, 3}, Strides: [2]int{2, 2}},
		&nn.Activation{Fn: "leaky_relu", Alpha: 0.1},
		&nn.LeakyReLU{},
		&nn.Dropout{Rate: 0.5},
		&nn.Reshape{Shape: []int{-1, 3}},
		&nn.LayerNormalization{},
		&nn.Bidirectional{Layer: &nn.GRU{Units: 4, ReturnSequences: true}, MergeMode: "sum"},
		&nn.Bidirectional{Layer: &nn.LSTM{Units: 3, ReturnSequences: true}},
		&nn.SimpleRNN{Units: 5, ReturnSequences: true, GoBackwards: true, Activation: "relu"},
		&nn.Bidirectional{Layer: &nn.LSTM{Units: 3}, MergeMode: "ave"},
		&nn.Dense{Units: 6, Activation: "sigmoid"},
		&nn.BatchNormalization{},
		&nn.Dense{Units: 4, Activation: "softmax"},
	), []int{12, 10, 2}))
	cs = append(cs, build(t, "global-pool", nn.NewSequential(
		&nn.Conv2D{Filters: 4, KernelSize: [2]int{3, 3}, Activation: "tanh"},
		&nn.GlobalAveragePool2D{},
		&nn.Dense{Units: 3},
	), []int{8, 8, 3}))
	cs = append(cs, build(t, "activations", nn.NewSequential(
		&nn.Dense{Units: 6, Activation: "gelu"},
		&nn.Dense{Units: 6, Activation: "gelu_tanh"},
		&nn.Activation{Fn: "silu"},
		&nn.Dense{Units: 6, Activation: "swish"},
		&nn.Dense{Units: 5, Activation: "hard_sigmoid"},
	), []int{4}))
	cs = append(cs, build(t, "embedding", nn.NewSequential(
		&nn.Embedding{InputDim: 11, OutputDim: 4},
		&nn.GRU{Units: 5},
	), []int{6}))
	return append(cs, transformerCases(t)...)
}

// transformerCases returns a small ViT and GPT and Sequentials with every
// sequence layer.
func transformerCases(t testing.TB) []exportCase {
	vit, err := zoo.NewViT(zoo.ViTOptions{Classes: 10, PatchSize: 4, DModel: 16, Layers: 2, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	gpt, err := zoo.NewGPT(zoo.GPTOptions{Vocab: 11, Context: 8, DModel: 16, Layers: 2, Heads: 4})
	if err != nil {
		t.Fatal(err)
	}
	return []exportCase{
		build(t, "vit", vit, []int{12, 8, 1}),
		build(t, "gpt", gpt, []int{8}),
		build(t, "transformer", nn.NewSequential(
			&nn.Conv1D{Filters: 8, KernelSize: 3, Padding: "causal", DilationRate: 2, Activation: "relu"},
			&nn.SinusoidalPositionEncoding{},
			&nn.TransformerBlock{NumHeads: 2, FFDim: 12, Activation: "gelu_tanh"},
			&nn.TransformerBlock{NumHeads: 4, Causal: true, Activation: "silu"},
			&nn.PositionEmbedding{MaxLength: 9},
			&nn.MultiHeadAttention{NumHeads: 2, KeyDim: 3, ValueDim: 5, OutputDim: 6, Causal: true, NoBias: true},
			&nn.GlobalMaxPooling1D{},
			&nn.Dense{Units: 3},
		), []int{7, 5}),
		build(t, "sequence-pool", nn.NewSequential(
			&nn.Conv1D{Filters: 4, KernelSize: 3, Strides: 2, Padding: "same", Activation: "gelu"},
			&nn.Conv1D{Filters: 6, KernelSize: 2},
			&nn.GlobalAveragePooling1D{},
			&nn.Reshape{Shape: []int{2, 3, 1}},
			&nn.Conv2D{Filters: 2, KernelSize: [2]int{1, 2}},
			&nn.GlobalMaxPooling2D{},
		), []int{9, 3}),
	}
}

// TestExportZoo exports every zoo model and layer; Export itself checks
// the graph against Forward (through import) within 1e-4.
func TestExportZoo(t *testing.T) {
	for _, c := range zooCases(t) {
		if _, err := Export(c.net, c.in, ExportOptions{Meta: map[string]string{"classes": "0,1,2,3,4,5,6,7,8,9"}}); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

type notExportable struct{}

func (notExportable) Forward(c *nn.Ctx, x *autogradVar) *autogradVar { return x }

func TestExportErrors(t *testing.T) {
	_, err := Export(nn.NewSequential(&nn.Dense{Units: 2}), []int{3}, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "not built") {
		t.Errorf("unbuilt Dense: %v", err)
	}
	_, err = Export(nn.NewSequential(&nn.Flatten{}, notExportable{}), []int{3}, ExportOptions{})
	if err == nil || !strings.Contains(err.Error(), "onnx.notExportable") {
		t.Errorf("unknown layer: %v", err)
	}
	// cross-attention (query, key and value of different widths) is
	// refused naming the layer
	att := &crossAttention{Att: &nn.MultiHeadAttention{Name: "att", NumHeads: 2, KeyDim: 2}}
	build(t, "attention", att, []int{3, 4})
	if _, err := Export(att, []int{3, 4}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), `"att" (*nn.MultiHeadAttention)`) ||
		!strings.Contains(err.Error(), "cross-attention") {
		t.Errorf("MultiHeadAttention: %v", err)
	}
	// so is an attention mask, which only the check against Forward sees
	mk := &maskedAttention{Att: &nn.MultiHeadAttention{Name: "att", NumHeads: 2, KeyDim: 2}}
	build(t, "attention-mask", mk, []int{3, 4})
	if _, err := Export(mk, []int{3, 4}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), `"att" (*nn.MultiHeadAttention)`) ||
		!strings.Contains(err.Error(), "attention-mask") {
		t.Errorf("MultiHeadAttention with a mask: %v", err)
	}
	masked := nn.NewSequential(&nn.Embedding{InputDim: 5, OutputDim: 2, MaskZero: true}, &nn.LSTM{Units: 2})
	build(t, "masked", masked, []int{3})
	if _, err := Export(masked, []int{3}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "MaskZero") {
		t.Errorf("masked LSTM: %v", err)
	}
	// a struct model whose Forward is not its layers in order
	m := &swapped{A: &nn.Dense{Units: 3}, B: &nn.Dense{Units: 3}}
	build(t, "swapped", m, []int{3})
	if _, err := Export(m, []int{3}, ExportOptions{}); err == nil || !strings.Contains(err.Error(), "not its layers in order") {
		t.Errorf("swapped: %v", err)
	}
}

// crossAttention attends x [B, T, 4] over its first two features.
type crossAttention struct{ Att *nn.MultiHeadAttention }

func (m *crossAttention) Forward(c *nn.Ctx, x *autogradVar) *autogradVar {
	kv := autogradConst(tensor.SliceAxis(x.Value, 2, 0, 2))
	return m.Att.Attend(c, x, kv, nil, nn.AttendOptions{})
}

// maskedAttention lets each position of x [B, T, d] attend only itself.
type maskedAttention struct{ Att *nn.MultiHeadAttention }

func (m *maskedAttention) Forward(c *nn.Ctx, x *autogradVar) *autogradVar {
	s := x.Shape()
	mask := tensor.Zeros(s[0], s[1], s[1])
	for b := range s[0] {
		for i := range s[1] {
			mask.Data()[(b*s[1]+i)*s[1]+i] = 1
		}
	}
	return m.Att.Attend(c, x, x, nil, nn.AttendOptions{Mask: mask})
}

type swapped struct{ A, B *nn.Dense }

func (s *swapped) Forward(c *nn.Ctx, x *autogradVar) *autogradVar {
	return s.A.Forward(c, s.B.Forward(c, x))
}

// TestExportRoundTrip saves the CNN and loads it back as a Model.
func TestExportRoundTrip(t *testing.T) {
	c := zooCases(t)[1]
	path := filepath.Join(t.TempDir(), "cnn.onnx")
	if err := Save(path, c.net, c.in, ExportOptions{Meta: map[string]string{"preprocessing": "x/255"}}); err != nil {
		t.Fatal(err)
	}
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta["preprocessing"] != "x/255" || m.Meta["strata.input_layout"] != "NHWC" || m.Opset != 17 {
		t.Errorf("metadata %v opset %d", m.Meta, m.Opset)
	}
	x := tensor.RandUniform(rand.New(rand.NewPCG(1, 2)), 0, 1, 3, 28, 28, 1)
	want := c.net.Forward(&nn.Ctx{}, autogradConst(x)).Value
	got := m.Forward(&nn.Ctx{}, autogradConst(x)).Value
	if msg := closeTo(got, want, 1e-4); msg != "" {
		t.Error(msg)
	}
}
