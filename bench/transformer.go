package bench

// The Transformer workloads and their PyTorch twins in
// bench/torch_transformer.py:
//
//   - gpt_train: one training step (AdamW, sparse categorical
//     cross-entropy) of a GPT with d_model 128, 4 layers, 4 heads, context
//     128, vocabulary 100, at batch 32; samples_per_sec counts tokens.
//   - gpt_generate: 512 tokens sampled after a 32-token prompt at batch 1
//     with the key/value cache; samples_per_sec counts generated tokens.
//   - attention_T: forward + backward of one attention op, batch 4,
//     4 heads, head size 64, no mask, T = 256, 1024, 4096; p50_ms is the
//     time per op, peak_mb the tensor memory the op allocates (all of it
//     is live until the tape is released).
//   - vit_train: one training step of the zoo's ViT on MNIST-sized images
//     at batch 64 (Adam 1e-3).

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

func init() {
	register("gpt_train", gptTrain)
	register("gpt_generate", gptGenerate)
	for _, T := range []int{256, 1024, 4096} {
		register(fmt.Sprintf("attention_%d", T), attentionWorkload(T))
	}
	register("vit_train", trainWorkload("vit_train", "vit", 64, []int{28, 28, 1}))
}

// GPTBenchOptions is the gpt_train model.
var gptBenchOptions = zoo.GPTOptions{Vocab: 100, Context: 128, DModel: 128, Layers: 4, Heads: 4}

// GPTTrainStep returns one training step of the gpt_train workload.
func GPTTrainStep(batch int) (func() error, error) {
	net, err := zoo.NewGPT(gptBenchOptions)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{128}, rng); err != nil {
		return nil, err
	}
	m, err := train.Compile(net, &optim.AdamW{Base: optim.Base{LearningRate: 1e-3}, WeightDecay: 0.01}, losses.SparseCategoricalCrossentropy{})
	if err != nil {
		return nil, err
	}
	x, y := tensor.Zeros(batch, 128), tensor.Zeros(batch, 128)
	for i := range x.Data() {
		x.Data()[i] = float32(rng.IntN(100))
		y.Data()[i] = float32(rng.IntN(100))
	}
	b := &data.Batch{X: x, Y: y}
	return func() error { _, err := m.TrainStep(b); return err }, nil
}

func gptTrain(ctx context.Context, o Options) (Result, error) {
	step, err := GPTTrainStep(32)
	if err != nil {
		return Result{}, err
	}
	s, err := timedN(ctx, 3, max(3, o.Steps/20), step)
	r := result("gpt_train")
	r.SamplesPerSec = 32 * 128 / s
	return r, err
}

func gptGenerate(ctx context.Context, o Options) (Result, error) {
	opts := gptBenchOptions
	opts.Context = 1024
	net, err := zoo.NewGPT(opts)
	if err != nil {
		return Result{}, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{1}, rng); err != nil {
		return Result{}, err
	}
	prompt := make([]int32, 32)
	for i := range prompt {
		prompt[i] = int32(rng.IntN(100))
	}
	s, err := timedN(ctx, 1, 1, func() error {
		_, err := net.Generate(ctx, prompt, 512, 1, rng)
		return err
	})
	r := result("gpt_generate")
	r.SamplesPerSec = 512 / s
	return r, err
}

func attentionWorkload(T int) func(ctx context.Context, o Options) (Result, error) {
	return func(ctx context.Context, o Options) (Result, error) {
		rng := rand.New(rand.NewPCG(1, 2))
		shape := []int{4, T, 4, 64}
		q, k, v := tensor.RandNormal(rng, 0, 1, shape...), tensor.RandNormal(rng, 0, 1, shape...), tensor.RandNormal(rng, 0, 1, shape...)
		gy := tensor.RandNormal(rng, 0, 1, shape...)
		pool := autograd.NewPool()
		step := func() error {
			tape := autograd.NewTape(pool)
			defer tape.Release()
			vs := []*autograd.Var{autograd.NewParam("q", q), autograd.NewParam("k", k), autograd.NewParam("v", v)}
			tape.Watch(vs...)
			y := autograd.Attention(vs[0], vs[1], vs[2], autograd.AttentionOptions{})
			_, err := tape.Gradients(autograd.Sum(autograd.Mul(y, autograd.Const(gy)), false), vs...)
			return err
		}
		// Peak: everything one step allocates stays live until Release.
		var before, after runtime.MemStats
		fresh := autograd.NewPool()
		runtime.ReadMemStats(&before)
		tape := autograd.NewTape(fresh)
		vs := []*autograd.Var{autograd.NewParam("q", q), autograd.NewParam("k", k), autograd.NewParam("v", v)}
		tape.Watch(vs...)
		y := autograd.Attention(vs[0], vs[1], vs[2], autograd.AttentionOptions{})
		if _, err := tape.Gradients(autograd.Sum(autograd.Mul(y, autograd.Const(gy)), false), vs...); err != nil {
			return Result{}, err
		}
		runtime.ReadMemStats(&after)
		tape.Release()
		steps := max(1, o.Steps*(1<<14)/(T*T))
		s, err := timedN(ctx, 1, steps, step)
		r := result(fmt.Sprintf("attention_%d", T))
		r.P50ms = s * 1e3
		r.PeakMB = float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20)
		return r, err
	}
}
