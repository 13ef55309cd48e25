package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

func TestAttentionLayerConformance(t *testing.T) {
	mha := []string{"query.kernel", "query.bias", "key.kernel", "key.bias", "value.kernel", "value.bias", "attention_output.kernel", "attention_output.bias"}
	block := []string{"norm1.gamma", "norm1.beta"}
	for _, w := range mha {
		block = append(block, "attention."+w)
	}
	block = append(block, "norm2.gamma", "norm2.beta", "ff1.kernel", "ff1.bias", "ff2.kernel", "ff2.bias")
	// d=4, heads 2, key 3, value 2: q,k kernels 4·2·3, biases 6; v 4·2·2 + 4; out 2·2·4 + 4
	mhaCount := 2*(24+6) + 16 + 4 + 16 + 4
	// d=4, 2 heads of 2, ff 8: LN 8+8, attention 3·(16+4) + 16+4, ff 4·8+8 + 8·4+4
	blockCount := 16 + 3*20 + 20 + 40 + 36
	cases := []layerCase{
		{name: "mha", make: func() Layer { return &MultiHeadAttention{NumHeads: 2, KeyDim: 3, ValueDim: 2, Name: "m"} },
			in: []int{2, 5, 4}, out: []int{2, 5, 4}, weights: mha, count: mhaCount},
		{name: "mha/causal-dropout", make: func() Layer {
			return &MultiHeadAttention{NumHeads: 2, KeyDim: 3, ValueDim: 2, Causal: true, Dropout: 0.3, Name: "m"}
		}, in: []int{2, 5, 4}, out: []int{2, 5, 4}, weights: mha, count: mhaCount, stochastic: true},
		{name: "mha/nobias-outdim", make: func() Layer { return &MultiHeadAttention{NumHeads: 1, KeyDim: 2, OutputDim: 3, NoBias: true} },
			in: []int{1, 3, 4}, out: []int{1, 3, 3}, weights: []string{"query.kernel", "key.kernel", "value.kernel", "attention_output.kernel"}, count: 8*3 + 6},
		{name: "transformer/encoder", make: func() Layer { return &TransformerBlock{NumHeads: 2, FFDim: 8, Name: "b"} },
			in: []int{2, 3, 4}, out: []int{2, 3, 4}, weights: block, count: blockCount},
		{name: "transformer/decoder-silu-dropout", make: func() Layer {
			return &TransformerBlock{NumHeads: 2, FFDim: 8, Causal: true, Activation: "silu", Dropout: 0.2, Name: "b"}
		}, in: []int{2, 3, 4}, out: []int{2, 3, 4}, weights: block, count: blockCount, stochastic: true},
		{name: "transformer/gelu-tanh", make: func() Layer { return &TransformerBlock{NumHeads: 1, FFDim: 8, Activation: "gelu_tanh"} },
			in: []int{1, 3, 4}, out: []int{1, 3, 4}, weights: block, count: blockCount},
		{name: "position_embedding", make: func() Layer { return &PositionEmbedding{MaxLength: 6} },
			in: []int{2, 4, 3}, out: []int{2, 4, 3}, weights: []string{"embeddings"}, count: 18},
		{name: "sinusoidal", make: func() Layer { return &SinusoidalPositionEncoding{} }, in: []int{2, 4, 5}, out: []int{2, 4, 5}},
		{name: "conv1d/valid", make: func() Layer { return &Conv1D{Filters: 3, KernelSize: 2, Activation: "tanh"} },
			in: []int{2, 5, 2}, out: []int{2, 4, 3}, weights: []string{"kernel", "bias"}, count: 15},
		{name: "conv1d/same-stride", make: func() Layer { return &Conv1D{Filters: 2, KernelSize: 3, Strides: 2, Padding: "same"} },
			in: []int{2, 5, 2}, out: []int{2, 3, 2}, weights: []string{"kernel", "bias"}, count: 14},
		{name: "conv1d/causal-dilated", make: func() Layer { return &Conv1D{Filters: 2, KernelSize: 2, DilationRate: 2, Padding: "causal"} },
			in: []int{1, 5, 3}, out: []int{1, 5, 2}, weights: []string{"kernel", "bias"}, count: 14},
		{name: "global_avg_1d", make: func() Layer { return &GlobalAveragePooling1D{} }, in: []int{2, 3, 4}, out: []int{2, 4}},
		{name: "global_max_1d", make: func() Layer { return &GlobalMaxPooling1D{} }, in: []int{2, 3, 4}, out: []int{2, 4}, input: distinctValues},
		{name: "global_max_2d", make: func() Layer { return &GlobalMaxPooling2D{} }, in: []int{2, 2, 3, 2}, out: []int{2, 2}, input: distinctValues},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c) })
	}
}

// distinctValues returns well separated values, so that maxima have no
// near-ties for the finite differences.
func distinctValues(rng *rand.Rand, shape []int) *tensor.Tensor {
	x := tensor.Zeros(shape...)
	for i, p := range rng.Perm(x.Len()) {
		x.Data()[i] = float32(p)*0.3 - 1
	}
	return x
}

// TestCausalConv1DSeesNoFuture changes the last step of the input and
// checks that no earlier output moves.
func TestCausalNoFuture(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, l := range map[string]Layer{
		"conv1d":      &Conv1D{Filters: 2, KernelSize: 3, DilationRate: 2, Padding: "causal"},
		"mha":         &MultiHeadAttention{NumHeads: 2, KeyDim: 2, Causal: true},
		"transformer": &TransformerBlock{NumHeads: 2, Causal: true, Activation: "relu"}, // relu's kink defeats finite differences: checked here only
	} {
		x := tensor.RandNormal(rng, 0, 1, 1, 6, 4)
		y1 := l.Forward(&Ctx{RNG: rng}, autograd.Const(x)).Value.Clone()
		x.Data()[x.Len()-1] += 5
		y2 := l.Forward(&Ctx{}, autograd.Const(x)).Value
		f := y1.Dim(2)
		for i := 0; i < y1.Len()-f; i++ {
			if y1.Data()[i] != y2.Data()[i] {
				t.Errorf("%s: output %d changed when the last input changed", name, i)
				break
			}
		}
	}
}

// TestKVCacheMatchesFullForward decodes one position at a time through a
// causal block with a cache and compares with one pass over the whole
// sequence.
func TestKVCacheMatchesFullForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	b := &TransformerBlock{NumHeads: 2, Causal: true}
	pe := &PositionEmbedding{MaxLength: 10}
	x := tensor.RandNormal(rng, 0, 1, 1, 7, 4)
	full := b.Forward(&Ctx{RNG: rng}, pe.Forward(&Ctx{RNG: rng}, autograd.Const(x))).Value
	var cache KVCache
	at := 0
	for _, n := range []int{3, 1, 1, 2} { // a prompt, then single steps
		part := tensor.New([]int{1, n, 4}, x.Data()[at*4:(at+n)*4])
		y := b.ForwardCached(&Ctx{}, pe.ForwardAt(&Ctx{}, autograd.Const(part), at), &cache).Value
		for i, v := range y.Data() {
			if w := full.Data()[at*4+i]; math.Abs(float64(v-w)) > 1e-5 {
				t.Fatalf("position %d: cached %v, full %v", at+i/4, v, w)
			}
		}
		at += n
	}
	if cache.Len != 7 {
		t.Errorf("cache holds %d positions, want 7", cache.Len)
	}
}

// TestMultiHeadAttentionCross checks cross-attention with a mask: the
// scores are a distribution over the allowed keys and the fused output
// equals the composed one.
func TestMultiHeadAttentionCross(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	l := &MultiHeadAttention{NumHeads: 2, KeyDim: 3}
	q := autograd.Const(tensor.RandNormal(rng, 0, 1, 2, 3, 4))
	v := autograd.Const(tensor.RandNormal(rng, 0, 1, 2, 5, 6))
	mask := tensor.Ones(2, 3, 5)
	mask.Data()[4] = 0 // batch 0, query 0 may not see key 4
	o := AttendOptions{Mask: mask}
	y := l.Attend(&Ctx{RNG: rng}, q, v, nil, o)
	y2, s := l.AttendScores(&Ctx{}, q, v, nil, o)
	if got := y.Shape(); got[0] != 2 || got[1] != 3 || got[2] != 4 {
		t.Fatalf("output shape %v, want [2 3 4]", got)
	}
	for i, a := range y.Value.Data() {
		if math.Abs(float64(a-y2.Value.Data()[i])) > 1e-5 {
			t.Fatalf("fused %v, composed %v at %d", a, y2.Value.Data()[i], i)
		}
	}
	sd := s.Value.Data() // [2, 2, 3, 5]
	if sd[4] != 0 || sd[3*5+4] != 0 {
		t.Errorf("masked key has probability %v, %v", sd[4], sd[3*5+4])
	}
	var sum float32
	for _, p := range sd[:5] {
		sum += p
	}
	if math.Abs(float64(sum-1)) > 1e-5 {
		t.Errorf("probabilities sum to %v", sum)
	}
	defer func() {
		if _, ok := recover().(*ShapeError); !ok {
			t.Error("a key of the wrong width did not panic with a *ShapeError")
		}
	}()
	l.Attend(&Ctx{}, q, v, autograd.Const(tensor.Zeros(2, 5, 2)), AttendOptions{})
}

func ExampleMultiHeadAttention() {
	mha := &MultiHeadAttention{NumHeads: 4, KeyDim: 8, Causal: true}
	if _, err := Build(mha, []int{10, 32}, rand.New(rand.NewPCG(1, 2))); err != nil { // [time, features]
		panic(err)
	}
	y := mha.Forward(&Ctx{}, autograd.Const(tensor.Zeros(2, 10, 32))) // [batch, time, features]
	fmt.Println(y.Shape(), mha.QueryKernel.Shape(), mha.OutputKernel.Shape())
	// Output: [2 10 32] [32 4 8] [4 8 32]
}

func ExampleTransformerBlock() {
	block := &TransformerBlock{NumHeads: 2, FFDim: 64, Causal: true}
	if _, err := Build(block, []int{5, 16}, rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	y := block.Forward(&Ctx{}, autograd.Const(tensor.Zeros(1, 5, 16)))
	fmt.Println(y.Shape(), len(AllWeights(block)))
	// Output: [1 5 16] 16
}
