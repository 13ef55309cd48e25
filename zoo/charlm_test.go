package zoo

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func TestCharLMShapesAndNames(t *testing.T) {
	for _, tc := range []struct {
		o     CharLMOptions
		names []string
	}{
		{CharLMOptions{Vocab: 11, Units: 8, EmbeddingDim: 4}, []string{"embedding.embeddings", "lstm.kernel", "lstm.recurrent_kernel", "lstm.bias", "dense.kernel", "dense.bias"}},
		{CharLMOptions{Vocab: 11, Units: 8, EmbeddingDim: 4, Layers: 2, Cell: "gru"}, []string{"embedding.embeddings", "gru.kernel", "gru.recurrent_kernel", "gru.bias",
			"gru_1.kernel", "gru_1.recurrent_kernel", "gru_1.bias", "dense.kernel", "dense.bias"}},
	} {
		m, err := NewCharLM(tc.o)
		if err != nil {
			t.Fatal(err)
		}
		out, err := nn.Build(m, []int{7}, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out, []int{7, 11}) {
			t.Errorf("output %v, want [7 11]", out)
		}
		var names []string
		for _, w := range nn.AllWeights(m) {
			names = append(names, w.Path)
		}
		if !slices.Equal(names, tc.names) {
			t.Errorf("weights %v, want %v", names, tc.names)
		}
		// Once built it runs any length.
		if y := m.Forward(&nn.Ctx{}, autograd.Const(tensor.Zeros(3, 20))); !slices.Equal(y.Shape(), []int{3, 20, 11}) {
			t.Errorf("forward [3 20]: %v", y.Shape())
		}
	}
	for _, bad := range []CharLMOptions{{}, {Vocab: 5, Cell: "rnn"}, {Vocab: 5, Units: -1}, {Vocab: 5, Dropout: 1}} {
		if _, err := NewCharLM(bad); err == nil {
			t.Errorf("NewCharLM(%+v) accepted", bad)
		}
	}
}

// trainTiny trains a small LSTM LM on a repetitive text and returns it
// with its vocabulary and the final training loss.
func trainTiny(t *testing.T) (*CharLM, *data.Vocab, *train.Model, *data.TextWindows) {
	t.Helper()
	text := strings.Repeat("the cat sat on the mat. ", 80)
	v := data.NewVocab(text)
	ids, err := v.Encode(text)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.NewTextWindows(ids, 24, 7)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewCharLM(CharLMOptions{Vocab: v.Len(), EmbeddingDim: 8, Units: 32})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Build(m, []int{24}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	model, err := train.Compile(m, &optim.Adam{Base: optim.Base{LearningRate: 0.01}}, losses.SparseCategoricalCrossentropy{}, NewPerplexity(), NewBitsPerChar())
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
	return m, v, model, ds
}

func TestCharLMLearnsAndGenerates(t *testing.T) {
	m, v, model, ds := trainTiny(t)
	logs, err := model.Evaluate(context.Background(), ds, 64)
	if err != nil {
		t.Fatal(err)
	}
	uniform := math.Log(float64(v.Len()))
	t.Logf("loss %.4f (uniform %.4f), perplexity %.3f, bpc %.3f", logs["loss"], uniform, logs["perplexity"], logs["bpc"])
	// The text is periodic: after a few characters the next one is
	// certain, so the loss must fall far below that of a uniform guess.
	if logs["loss"] > 0.2*uniform {
		t.Errorf("loss %.4f, want < %.4f (a fifth of the uniform loss)", logs["loss"], 0.2*uniform)
	}
	if p, want := logs["perplexity"], math.Exp(logs["loss"]); math.Abs(p-want) > 1e-3*want {
		t.Errorf("perplexity %v, want exp(loss) = %v", p, want)
	}
	if b, want := logs["bpc"], logs["loss"]/math.Ln2; math.Abs(b-want) > 1e-3*want {
		t.Errorf("bpc %v, want loss/ln 2 = %v", b, want)
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

// Feeding a text one character at a time, carrying the states, gives the
// same next-character distributions as one pass over the whole text.
func TestCharLMStepsMatchSequence(t *testing.T) {
	for _, cell := range []string{"lstm", "gru"} {
		m, err := NewCharLM(CharLMOptions{Vocab: 6, EmbeddingDim: 5, Units: 7, Layers: 2, Cell: cell})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nn.Build(m, []int{9}, rand.New(rand.NewPCG(3, 4))); err != nil {
			t.Fatal(err)
		}
		ids := []int32{1, 4, 0, 5, 2, 2, 3, 1, 0}
		x := tensor.Zeros(1, len(ids))
		for i, id := range ids {
			x.Data()[i] = float32(id)
		}
		full := m.Forward(&nn.Ctx{}, autograd.Const(x)).Value // [1, 9, 6]
		s := m.NewSampler()
		if err := s.Feed(ids[:3]); err != nil {
			t.Fatal(err)
		}
		for i := 3; i <= len(ids); i++ {
			p := s.Probs(1)
			for k := range 6 {
				if want := float64(full.At(0, i-1, k)); math.Abs(p[k]-want) > 1e-5 {
					t.Fatalf("%s: step %d class %d: %v, want %v", cell, i, k, p[k], want)
				}
			}
			if i < len(ids) {
				if err := s.Feed(ids[i : i+1]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestCharLMGenerateErrors(t *testing.T) {
	m, err := NewCharLM(CharLMOptions{Vocab: 4, EmbeddingDim: 2, Units: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nn.Build(m, []int{5}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	ctx, rng := context.Background(), rand.New(rand.NewPCG(1, 1))
	for _, tc := range []struct {
		prompt []int32
		n      int
		temp   float64
		want   string
	}{
		{nil, 5, 1, "empty prompt"},
		{[]int32{1}, 5, 0, "temperature 0 must be a positive number"},
		{[]int32{1}, 5, -1, "temperature -1"},
		{[]int32{1}, 5, math.NaN(), "temperature NaN"},
		{[]int32{1, 4}, 5, 1, "token id 4 at 1 is outside [0, 4)"},
		{[]int32{1}, -1, 1, "cannot generate -1"},
	} {
		if _, err := m.Generate(ctx, tc.prompt, tc.n, tc.temp, rng); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Generate(%v, %d, %v): %v, want %q", tc.prompt, tc.n, tc.temp, err, tc.want)
		}
	}
	if _, err := m.NewSampler().Next(rng, 1); err == nil {
		t.Error("Next before Feed succeeded")
	}
	out, err := m.Generate(ctx, []int32{3, 2}, 0, 1, rng)
	if err != nil || len(out) != 0 {
		t.Errorf("Generate 0: %v, %v", out, err)
	}
}
