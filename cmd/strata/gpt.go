package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	runs "github.com/strata-dl/strata/run"
	"github.com/strata-dl/strata/zoo"
)

const gptExamples = `  strata train --model gpt --data text:$(go env GOROOT)/src --ext .go --max-bytes 3000000 --max-minutes 10
  strata train --model gpt --data text:book.txt --layers 2 --d-model 64 --epochs 3 --json
  strata train --resume runs/gpt-20261206-010000 --epochs 2
  strata generate --run runs/gpt-20261206-010000 --prompt "func main() {" --length 400 --temperature 0.7
`

// cmdTrainGPT trains the decoder-only Transformer on text (the data of
// --model charlm): flags → runs.GPTConfig → runs.TrainGPT.
func cmdTrainGPT(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", "train --model gpt --data text:FILE_OR_DIR [flags]", gptExamples, out)
	c := runs.GPTConfig{Model: "gpt"}
	fs.StringVar(&c.Model, "model", "gpt", "gpt")
	textFlags := addTextFlags(fs, &c.TextSource, "bits per character")
	fs.IntVar(&c.Net.Context, "seq-len", 128, "context: characters per training window and positions learned")
	fs.IntVar(&c.Epochs, "epochs", 1, "number of epochs")
	fs.IntVar(&c.BatchSize, "batch-size", 32, "windows per batch")
	fs.IntVar(&c.Net.DModel, "d-model", 128, "width of the residual stream")
	fs.IntVar(&c.Net.Layers, "layers", 4, "Transformer blocks")
	fs.IntVar(&c.Net.Heads, "heads", 4, "attention heads")
	fs.IntVar(&c.Net.FFDim, "ff-dim", 0, "feed-forward width (0: 4·d-model)")
	fs.StringVar(&c.Net.Activation, "activation", "gelu", "feed-forward activation (exact gelu, gelu_tanh, silu, relu, or another name of the activation vocabulary)")
	dropout := fs.Float64("dropout", 0, "dropout in training, in [0, 1)")
	fs.Float64Var(&c.LR, "lr", 0.002, "peak learning rate of AdamW")
	fs.Float64Var(&c.MinLR, "min-lr", 0.1, "the cosine decay ends at this fraction of --lr")
	fs.IntVar(&c.Warmup, "warmup", 100, "steps of linear learning-rate warm-up")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0.01, "AdamW's decoupled weight decay")
	fs.Float64Var(&c.ClipNorm, "clip-norm", 1, "clip the global gradient norm to this (0: off)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (initialization, shuffling, dropout)")
	rf := addRunFlags(fs, "runs/gpt-TIMESTAMP")
	if err := parse(fs, args); err != nil {
		return err
	}
	c.Net.Dropout = float32(*dropout)
	textFlags()
	if err := resumeConfig(fs, rf, &c); err != nil {
		return err
	}
	if *rf.resume != "" && c.Model != "gpt" {
		return fmt.Errorf("cannot resume: %s is a %q run, not gpt", *rf.resume, c.Model)
	}
	res, err := runs.TrainGPT(ctx, c, version(), rf.options(ctx, args))
	return rf.report(out, res, err)
}

// textSampler is what strata generate draws text from.
type textSampler interface {
	Feed(ids []int32) error
	Next(rng *rand.Rand, temperature float64) (int32, error)
}

// loadTextSampler opens a character-level language model — a GPT model
// file, or a char LM run or model file — given a run directory or a model
// file, and returns a sampler at the start of a text and the vocabulary.
func loadTextSampler(runDir, file string) (textSampler, *data.Vocab, error) {
	path := file
	if runDir != "" {
		path = filepath.Join(runDir, "model.safetensors")
	}
	if f, err := checkpoint.LoadSafetensors(path); err == nil {
		if m, err := modelfile.FromFile(f); err == nil {
			if g, ok := m.Net.(*zoo.GPT); ok {
				if m.Meta.Vocab == nil || m.Meta.Vocab.Len() != g.Options.Vocab {
					return nil, nil, fmt.Errorf("%s: the vocabulary in the metadata does not match the GPT's %d tokens", path, g.Options.Vocab)
				}
				return g.NewSampler(), m.Meta.Vocab, nil
			}
		}
	}
	m, vocab, err := loadCharLMFrom(runDir, file) // its errors say what is missing
	if err != nil {
		return nil, nil, err
	}
	return m.NewSampler(), vocab, nil
}
