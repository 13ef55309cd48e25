package zoo

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func TestGPTShapesAndCache(t *testing.T) {
	m, err := NewGPT(GPTOptions{Vocab: 9, Context: 12, DModel: 8, Layers: 2, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	out, err := nn.Build(m, []int{12}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []int{12, 9}) {
		t.Errorf("output %v, want [12 9]", out)
	}
	ws := nn.AllWeights(m)
	if ws[0].Path != "embedding.embeddings" || ws[2].Path != "block_0.norm1.gamma" || ws[len(ws)-1].Path != "head.bias" {
		t.Errorf("weights %v … %v", ws[0].Path, ws[len(ws)-1].Path)
	}
	// The cached sampler's distribution after each token equals the full
	// forward pass's, also past the context (where it slides).
	rng := rand.New(rand.NewPCG(3, 4))
	ids := make([]int32, 20)
	for i := range ids {
		ids[i] = int32(rng.IntN(9))
	}
	s := m.NewSampler()
	if err := s.Feed(ids[:4]); err != nil {
		t.Fatal(err)
	}
	for n := 4; n < len(ids); n++ {
		start := max(0, n-len(s.history))
		x := tensor.Zeros(1, n-start)
		for i, id := range ids[start:n] {
			x.Data()[i] = float32(id)
		}
		y := m.Forward(&nn.Ctx{}, autograd.Const(x)).Value.Data()
		want := y[len(y)-9:]
		for i, p := range s.Probs(1) {
			if math.Abs(p-float64(want[i])) > 1e-4 {
				t.Fatalf("after %d tokens: cached p[%d] = %v, full %v", n, i, p, want[i])
			}
		}
		if err := s.Feed(ids[n : n+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Feed([]int32{9}); err == nil {
		t.Error("an id outside the vocabulary was accepted")
	}
	for _, bad := range []GPTOptions{{}, {Vocab: 5, DModel: 10, Heads: 3}, {Vocab: 5, Activation: "swishy"}, {Vocab: 5, Dropout: 1}} {
		if _, err := NewGPT(bad); err == nil {
			t.Errorf("NewGPT(%+v) accepted", bad)
		}
	}
	_, err = NewGPT(GPTOptions{Vocab: 5, Activation: "swishy"})
	if want := `gpt: unknown activation "swishy": Dense, convolution, Activation and Transformer layers take`; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %v, want the vocabulary's error %q...", err, want)
	}
}

func TestGPTLearnsAndGenerates(t *testing.T) {
	text := strings.Repeat("the cat sat on the mat. ", 40)
	v := data.NewVocab(text)
	ids, _ := v.Encode(text)
	ds, err := data.NewTextWindows(ids, 24, 5)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewGPT(GPTOptions{Vocab: v.Len(), Context: 24, DModel: 16, Layers: 1, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Build(m, []int{24}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	model, err := train.Compile(m, &optim.AdamW{Base: optim.Base{LearningRate: 0.01}}, losses.SparseCategoricalCrossentropy{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := data.NewLoader(ds, data.LoaderOptions{BatchSize: 16, Shuffle: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.Fit(context.Background(), model, l, train.FitOptions{Epochs: 8}); err != nil {
		t.Fatal(err)
	}
	prompt, _ := v.Encode("the cat ")
	out, err := m.Generate(context.Background(), prompt, 40, 0.1, rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.Decode(out), "sat on the mat. the cat sat on the mat. "; got != want {
		t.Errorf("generated %q, want %q", got, want)
	}
}

func TestViTShapes(t *testing.T) {
	c, err := LookupClassifier("vit")
	if err != nil {
		t.Fatal(err)
	}
	m := c.New(10)
	out, err := nn.Build(m, c.Input, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out, []int{10}) {
		t.Errorf("output %v, want [10]", out)
	}
	n := 0
	for _, w := range nn.AllWeights(m) {
		n += w.Var.Value.Len()
	}
	// patch 16·64+64, positions 64·64, 4 blocks of 2·128 + 4·(64·64+64) + 64·128+128 + 128·64+64, norm 128, head 650
	if want := 1088 + 4096 + 4*(256+16640+8320+8256) + 128 + 650; n != want {
		t.Errorf("%d weights, want %d", n, want)
	}
	if _, err := NewViT(ViTOptions{Classes: 10, DModel: 10, Heads: 3}); err == nil {
		t.Error("heads that do not divide d_model were accepted")
	}
}

// TestGPTAndViTModelFiles saves both models whole and loads them back
// without their constructors: same outputs.
func TestGPTAndViTModelFiles(t *testing.T) {
	g, err := NewGPT(GPTOptions{Vocab: 7, Context: 8, DModel: 8, Layers: 1, Heads: 2})
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewViT(ViTOptions{Classes: 3, DModel: 8, Layers: 1, Heads: 2, MaxPatches: 16})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		net nn.Layer
		in  []int
		x   *tensor.Tensor
	}{{g, []int{8}, tensor.New([]int{1, 5}, []float32{1, 2, 3, 4, 5})}, {v, []int{16, 16, 1}, tensor.RandUniform(rng, 0, 1, 2, 16, 16, 1)}} {
		if _, err := nn.Build(c.net, c.in, rng); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "m.safetensors")
		if err := modelfile.Save(path, c.net, modelfile.Meta{InputShape: c.in}); err != nil {
			t.Fatal(err)
		}
		m, err := modelfile.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		want := c.net.Forward(&nn.Ctx{}, autograd.Const(c.x)).Value.Data()
		got := m.Net.Forward(&nn.Ctx{}, autograd.Const(c.x)).Value.Data()
		if !slices.Equal(got, want) {
			t.Errorf("%T: loaded model gives %v, saved %v", c.net, got[:3], want[:3])
		}
	}
}
