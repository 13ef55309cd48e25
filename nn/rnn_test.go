package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/tensor"
)

var rnnWeightNames = []string{"kernel", "recurrent_kernel", "bias"}

func rnnPrefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + "." + n
	}
	return out
}

// rnnTokenIDs returns integer ids in [0, 7) with some zeros (padding).
func rnnTokenIDs(rng *rand.Rand, shape []int) *tensor.Tensor {
	t := tensor.Zeros(shape...)
	for i := range t.Data() {
		t.Data()[i] = float32(rng.IntN(7))
	}
	t.Data()[0] = 0
	return t
}

func TestRecurrentConformance(t *testing.T) {
	in := []int{2, 4, 3} // batch 2, 4 steps, 3 features
	lstm, gru, srnn := 84, 72, 21
	biNames := append(rnnPrefixed("forward_lstm", rnnWeightNames), rnnPrefixed("backward_lstm", rnnWeightNames)...)
	cases := []layerCase{
		{name: "simple_rnn", make: func() Layer { return &SimpleRNN{Units: 3, Name: "r"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: srnn},
		{name: "simple_rnn/seq-relu", make: func() Layer { return &SimpleRNN{Units: 3, Activation: "linear", ReturnSequences: true, Name: "r"} },
			in: in, out: []int{2, 4, 3}, weights: rnnWeightNames, count: srnn},
		{name: "simple_rnn/backwards-nobias", make: func() Layer { return &SimpleRNN{Units: 3, GoBackwards: true, NoBias: true, Name: "r"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames[:2], count: 18},
		{name: "lstm", make: func() Layer { return &LSTM{Units: 3, Name: "l"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: lstm},
		{name: "lstm/seq", make: func() Layer { return &LSTM{Units: 3, ReturnSequences: true, Name: "l"} },
			in: in, out: []int{2, 4, 3}, weights: rnnWeightNames, count: lstm},
		{name: "lstm/backwards-seq", make: func() Layer { return &LSTM{Units: 3, GoBackwards: true, ReturnSequences: true, Name: "l"} },
			in: in, out: []int{2, 4, 3}, weights: rnnWeightNames, count: lstm},
		{name: "lstm/hard-sigmoid", make: func() Layer { return &LSTM{Units: 3, RecurrentActivation: "hard_sigmoid", Name: "l"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: lstm},
		{name: "lstm/dropout", make: func() Layer { return &LSTM{Units: 3, Dropout: 0.3, RecurrentDropout: 0.3, Name: "l"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: lstm, stochastic: true},
		{name: "gru", make: func() Layer { return &GRU{Units: 3, Name: "g"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: gru},
		{name: "gru/seq", make: func() Layer { return &GRU{Units: 3, ReturnSequences: true, Name: "g"} },
			in: in, out: []int{2, 4, 3}, weights: rnnWeightNames, count: gru},
		{name: "gru/backwards", make: func() Layer { return &GRU{Units: 3, GoBackwards: true, Name: "g"} },
			in: in, out: []int{2, 3}, weights: rnnWeightNames, count: gru},
		{name: "gru/dropout-seq", make: func() Layer { return &GRU{Units: 3, ReturnSequences: true, RecurrentDropout: 0.5, Name: "g"} },
			in: in, out: []int{2, 4, 3}, weights: rnnWeightNames, count: gru, stochastic: true},
		{name: "bidirectional/concat", make: func() Layer { return &Bidirectional{Layer: &LSTM{Units: 3}} },
			in: in, out: []int{2, 6}, weights: biNames, count: 2 * lstm},
		{name: "bidirectional/concat-seq", make: func() Layer { return &Bidirectional{Layer: &LSTM{Units: 3, ReturnSequences: true}} },
			in: in, out: []int{2, 4, 6}, weights: biNames, count: 2 * lstm},
		{name: "bidirectional/sum-gru-seq", make: func() Layer {
			return &Bidirectional{Layer: &GRU{Units: 3, ReturnSequences: true}, MergeMode: "sum"}
		}, in: in, out: []int{2, 4, 3}, weights: append(rnnPrefixed("forward_gru", rnnWeightNames), rnnPrefixed("backward_gru", rnnWeightNames)...), count: 2 * gru},
		{name: "bidirectional/ave-simple", make: func() Layer {
			return &Bidirectional{Layer: &SimpleRNN{Units: 3, Name: "rnn"}, MergeMode: "ave"}
		}, in: in, out: []int{2, 3}, weights: append(rnnPrefixed("forward_rnn", rnnWeightNames), rnnPrefixed("backward_rnn", rnnWeightNames)...), count: 2 * srnn},
		{name: "time_distributed/dense", make: func() Layer { return &TimeDistributed{Layer: &Dense{Units: 2, Activation: "tanh"}} },
			in: in, out: []int{2, 4, 2}, weights: []string{"dense.kernel", "dense.bias"}, count: 8},
		{name: "embedding", make: func() Layer { return &Embedding{InputDim: 7, OutputDim: 3, Name: "e"} },
			in: []int{2, 5}, out: []int{2, 5, 3}, weights: []string{"embeddings"}, count: 21, input: rnnTokenIDs},
		{name: "embedding/mask-zero", make: func() Layer { return &Embedding{InputDim: 7, OutputDim: 3, MaskZero: true, Name: "e"} },
			in: []int{2, 5}, out: []int{2, 5, 3}, weights: []string{"embeddings"}, count: 21, input: rnnTokenIDs},
		{name: "stacked", make: func() Layer {
			return NewSequential(&Embedding{InputDim: 7, OutputDim: 4}, &LSTM{Units: 3, ReturnSequences: true}, &GRU{Units: 2})
		}, in: []int{2, 5}, out: []int{2, 2}, count: 28 + (4*12 + 3*12 + 12) + (3*6 + 2*6 + 12), input: rnnTokenIDs,
			weights: append(append([]string{"embedding.embeddings"}, rnnPrefixed("lstm", rnnWeightNames)...), rnnPrefixed("gru", rnnWeightNames)...)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkLayer(t, c) })
	}
}

// TestRecurrentParamCounts checks the parameter counts of Keras for the
// row-MNIST models and the checkpoint names.
func TestRecurrentParamCounts(t *testing.T) {
	for _, c := range []struct {
		l     Layer
		count int
		names []string
	}{
		{&LSTM{Units: 128}, 80384, rnnPrefixed("lstm", rnnWeightNames)},
		{&GRU{Units: 128}, 60672, rnnPrefixed("gru", rnnWeightNames)},
		{&SimpleRNN{Units: 128}, 20096, rnnPrefixed("simple_rnn", rnnWeightNames)},
	} {
		m := NewSequential(c.l)
		if _, err := Build(m, []int{28, 28}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, w := range AllWeights(m) {
			names = append(names, w.Path)
		}
		if tr, _ := CountParams(m); tr != c.count || !slices.Equal(names, c.names) {
			t.Errorf("%T: %d params %v, want %d %v", c.l, tr, names, c.count, c.names)
		}
		s, err := Summary(m, []int{28, 28})
		if err != nil || !strings.Contains(s, "Total params: "+commas(c.count)) {
			t.Errorf("summary (%v):\n%s", err, s)
		}
	}
	// Keras's unit_forget_bias: the f block of the LSTM bias starts at 1.
	l := &LSTM{Units: 2}
	if _, err := Build(l, []int{3, 4}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if got := l.Bias.Value.Data(); !slices.Equal(got, []float32{0, 0, 1, 1, 0, 0, 0, 0}) {
		t.Errorf("LSTM bias starts at %v, want the forget block at 1", got)
	}
	s, err := Summary(NewSequential(&Bidirectional{Layer: &LSTM{Units: 4, ReturnSequences: true}}, &TimeDistributed{Layer: &Dense{Units: 2}}), []int{5, 3})
	if err != nil || strings.Count(s, "(LSTM)") != 0 || strings.Count(s, "(Dense)") != 0 ||
		!strings.Contains(s, "bidirectional (Bidirectional)") || !strings.Contains(s, "time_distributed (TimeDistributed)") {
		t.Errorf("wrappers should be one summary row each (%v):\n%s", err, s)
	}
}

func TestRecurrentStates(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := autograd.Const(tensor.RandNormal(rng, 0, 1, 3, 5, 4))
	for _, l := range []recurrent{&LSTM{Units: 6}, &GRU{Units: 6}, &SimpleRNN{Units: 6}} {
		if _, err := Build(l, []int{5, 4}, rng); err != nil {
			t.Fatal(err)
		}
		y, st := l.ForwardState(nil, x, nil)
		if !slices.Equal(y.Value.Data(), st[0].Value.Data()) {
			t.Errorf("%T: last output differs from the final h", l)
		}
		init := make([]*autograd.Var, len(st))
		for i := range init {
			init[i] = autograd.Const(tensor.RandNormal(rng, 0, 1, 3, 6))
		}
		y2, st2 := l.ForwardState(nil, x, init)
		if len(st2) != len(st) || slices.Equal(y2.Value.Data(), y.Value.Data()) {
			t.Errorf("%T: the initial state has no effect", l)
		}
		func() {
			defer func() {
				if _, ok := recover().(*ShapeError); !ok {
					t.Errorf("%T: a wrong initial state shape should panic with a *ShapeError", l)
				}
			}()
			l.ForwardState(nil, x, []*autograd.Var{autograd.Const(tensor.Zeros(3, 5))})
		}()
	}
	// Bidirectional: states of both layers, forward first.
	bi := &Bidirectional{Layer: &LSTM{Units: 2}}
	if _, err := Build(bi, []int{5, 4}, rng); err != nil {
		t.Fatal(err)
	}
	if _, st := bi.ForwardState(nil, x, nil); len(st) != 4 {
		t.Errorf("Bidirectional LSTM returned %d states, want 4", len(st))
	}
	// Build reports bad input shapes as errors naming the layer.
	_, err := Build(NewSequential(&LSTM{Units: 2, Name: "enc"}), []int{7}, rng)
	if err == nil || !strings.Contains(err.Error(), `"enc"`) {
		t.Errorf("got %v, want an error naming the layer", err)
	}
	_, err = Build(&GRU{Units: 2, Activation: "swish"}, []int{3, 2}, rng)
	if err == nil || !strings.Contains(err.Error(), "swish") {
		t.Errorf("got %v, want an unknown activation error", err)
	}
}

// TestBidirectionalBackwardOrder checks that the backward layer of a
// Bidirectional is a GoBackwards layer whose output steps are put back in
// input order.
func TestBidirectionalBackwardOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	x := autograd.Const(tensor.RandNormal(rng, 0, 1, 2, 4, 3))
	bi := &Bidirectional{Layer: &GRU{Units: 2, ReturnSequences: true}, MergeMode: "concat"}
	if _, err := Build(bi, []int{4, 3}, rng); err != nil {
		t.Fatal(err)
	}
	y := bi.Forward(nil, x).Value
	back := bi.bwd.(*GRU)
	plain := &GRU{Units: 2, ReturnSequences: true, GoBackwards: true, Kernel: back.Kernel, RecurrentKernel: back.RecurrentKernel, Bias: back.Bias}
	yb := plain.Forward(nil, x).Value // steps in processing order
	for b := 0; b < 2; b++ {
		for s := 0; s < 4; s++ {
			for j := 0; j < 2; j++ {
				if got, want := y.At(b, s, 2+j), yb.At(b, 3-s, j); got != want {
					t.Fatalf("backward output at batch %d step %d: %v, want %v", b, s, got, want)
				}
			}
		}
	}
}

// TestRecurrentDropoutMaskFixedAcrossTime: with a linear SimpleRNN whose
// recurrent kernel is zero and kernel all ones, each output step is the
// sum of the kept inputs, so a mask held across time gives equal steps.
func TestRecurrentDropoutMaskFixedAcrossTime(t *testing.T) {
	l := &SimpleRNN{Units: 1, Activation: "linear", NoBias: true, ReturnSequences: true, Dropout: 0.5, RecurrentDropout: 0.5,
		KernelInitializer: Ones{}, RecurrentInitializer: Zeros{}}
	if _, err := Build(l, []int{6, 16}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	x := autograd.Const(tensor.Ones(4, 6, 16))
	y := l.Forward(&Ctx{Training: true, RNG: rand.New(rand.NewPCG(9, 9))}, x).Value
	dropped := false
	for b := 0; b < 4; b++ {
		first := y.At(b, 0, 0)
		if first != 16 {
			dropped = true
		}
		for s := 1; s < 6; s++ {
			if y.At(b, s, 0) != first {
				t.Fatalf("sample %d: step %d sums to %v, step 0 to %v: the mask changed across time", b, s, y.At(b, s, 0), first)
			}
		}
	}
	if !dropped {
		t.Error("no input was dropped")
	}
	// Same seed, same masks; inference uses none.
	y2 := l.Forward(&Ctx{Training: true, RNG: rand.New(rand.NewPCG(9, 9))}, x).Value
	if !slices.Equal(y.Data(), y2.Data()) {
		t.Error("training with one seed is not deterministic")
	}
	if inf := l.Forward(&Ctx{}, x).Value; inf.At(0, 0, 0) != 16 {
		t.Errorf("inference output %v, want 16 (no dropout)", inf.At(0, 0, 0))
	}
	func() {
		defer func() {
			if _, ok := recover().(*ConfigError); !ok {
				t.Error("training with dropout and no RNG should panic with a *ConfigError")
			}
		}()
		l.Forward(&Ctx{Training: true}, x)
	}()
}

func TestEmbeddingMaskZero(t *testing.T) {
	e := &Embedding{InputDim: 5, OutputDim: 3, MaskZero: true}
	if _, err := Build(e, []int{4}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	ids := tensor.New([]int{2, 4}, []float32{0, 2, 0, 4, 1, 0, 2, 2})
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(e.Embeddings)
	y := e.Forward(nil, autograd.Const(ids))
	table := e.Embeddings.Value
	for i, id := range ids.Data() {
		for j := 0; j < 3; j++ {
			want := table.At(int(id), j)
			if id == 0 {
				want = 0
			}
			if got := y.Value.Data()[i*3+j]; got != want {
				t.Fatalf("output %d,%d = %v, want %v", i, j, got, want)
			}
		}
	}
	g, err := tape.Gradients(autograd.Sum(y, false), e.Embeddings)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 0, 0, 1, 1, 1, 3, 3, 3, 0, 0, 0, 1, 1, 1} // counts of ids 1..4, none for 0
	if !slices.Equal(g[0].Data(), want) {
		t.Errorf("embedding gradient %v, want %v", g[0].Data(), want)
	}
	_, err = Build(NewSequential(&Embedding{InputDim: 3, OutputDim: 2, Name: "emb"}), []int{4}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if e, ok := recover().(*ShapeError); !ok || !strings.Contains(e.Error(), "outside [0, 5)") {
				t.Errorf("an out-of-range id should panic with a *ShapeError, got %v", e)
			}
		}()
		e.Forward(nil, autograd.Const(tensor.New([]int{1, 1}, []float32{5})))
	}()
}

// rnnSignSumBatch returns sequences of ±1 and the class 1 where they sum to
// more than zero.
func rnnSignSumBatch(rng *rand.Rand, batch, steps int) (*tensor.Tensor, *tensor.Tensor) {
	x, y := tensor.Zeros(batch, steps, 1), tensor.Zeros(batch)
	for b := 0; b < batch; b++ {
		sum := 0
		for s := 0; s < steps; s++ {
			v := 2*rng.IntN(2) - 1
			sum += v
			x.Data()[b*steps+s] = float32(v)
		}
		if sum > 0 {
			y.Data()[b] = 1
		}
	}
	return x, y
}

// TestRecurrentLearns trains each cell on the sign of a sum with the plain
// loop that train.Fit stands for, and SGD written out.
func TestRecurrentLearns(t *testing.T) {
	for _, cell := range []func() Layer{
		func() Layer { return &LSTM{Units: 8} },
		func() Layer { return &GRU{Units: 8} },
		func() Layer { return &SimpleRNN{Units: 8} },
		func() Layer { return &Bidirectional{Layer: &GRU{Units: 4}} },
	} {
		model := NewSequential(cell(), &Dense{Units: 2})
		rng := rand.New(rand.NewPCG(4, 4))
		if _, err := Build(model, []int{7, 1}, rng); err != nil {
			t.Fatal(err)
		}
		params := Trainable(model)
		pool := autograd.NewPool()
		ctx := &Ctx{Training: true, RNG: rng}
		for step := 0; step < 300; step++ {
			x, y := rnnSignSumBatch(rng, 32, 7)
			tape := autograd.NewTape(pool)
			tape.Watch(params...)
			loss := autograd.Mean(autograd.SoftmaxCrossEntropy(model.Forward(ctx, autograd.Const(x)), y), false)
			grads, err := tape.Gradients(loss, params...)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				kernels.Axpy(-0.3, grads[i].Data(), p.Value.Data())
			}
			tape.Release()
		}
		x, y := rnnSignSumBatch(rng, 512, 7)
		pred := tensor.ArgMax(model.Forward(&Ctx{}, autograd.Const(x)).Value, 1)
		correct := 0
		for i, p := range pred.Data() {
			if p == y.Data()[i] {
				correct++
			}
		}
		if acc := float64(correct) / 512; acc < 0.95 || math.IsNaN(acc) {
			t.Errorf("%s: accuracy %.3f after 300 steps, want ≥ 0.95", model.Children()[0].Name, acc)
		}
	}
}

// benchRecurrent measures one training step of the row-MNIST classifier
// (cell → Dense 10, softmax cross-entropy, batch 64 of 28 steps × 28
// features), forward and backward, with a plain SGD update.
func benchRecurrent(b *testing.B, cell Layer) {
	const batch = 64
	model := NewSequential(cell, &Dense{Units: 10})
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := Build(model, []int{28, 28}, rng); err != nil {
		b.Fatal(err)
	}
	x := tensor.RandUniform(rng, 0, 1, batch, 28, 28)
	labels := tensor.Zeros(batch)
	for i := range labels.Data() {
		labels.Data()[i] = float32(rng.IntN(10))
	}
	params := Trainable(model)
	pool := autograd.NewPool()
	ctx := &Ctx{Training: true, RNG: rng}
	step := func() {
		tape := autograd.NewTape(pool)
		tape.Watch(params...)
		logits := model.Forward(ctx, autograd.Const(x))
		loss := autograd.Mean(autograd.SoftmaxCrossEntropy(logits, labels), false)
		grads, err := tape.Gradients(loss, params...)
		if err != nil {
			b.Fatal(err)
		}
		for i, p := range params {
			kernels.Axpy(-1e-3, grads[i].Data(), p.Value.Data())
		}
		tape.Release()
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "samples/s")
}

func BenchmarkLSTMStep(b *testing.B)      { benchRecurrent(b, &LSTM{Units: 128}) }
func BenchmarkGRUStep(b *testing.B)       { benchRecurrent(b, &GRU{Units: 128}) }
func BenchmarkSimpleRNNStep(b *testing.B) { benchRecurrent(b, &SimpleRNN{Units: 128}) }
