package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	runs "github.com/strata-dl/strata/run"
)

const charLMExamples = `  strata train --model charlm --data text:book.txt --epochs 10
  strata train --model charlm --data text:$(go env GOROOT)/src --ext .go --max-bytes 3000000 --out runs/gosrc
  strata train --model charlm --data text:notes/ --cell gru --units 128 --layers 2 --seq-len 64 --json
  strata train --resume runs/gosrc --epochs 5           # continue, or train further
  strata generate --run runs/gosrc --prompt "func main() {" --length 400 --temperature 0.7
`

// addTextFlags defines the text source's flags (--data, --ext, --max-bytes,
// --held-out, whose held-out part measures what measures names) into t;
// the function it returns, called after parsing, sets t.Extensions from
// --ext.
func addTextFlags(fs *flags, t *runs.TextSource, measures string) func() {
	fs.StringVar(&t.Data, "data", "", "text:FILE or text:DIR (every UTF-8 text file under DIR, in path order)")
	ext := fs.String("ext", "", "in a directory, read only files with these comma-separated suffixes (e.g. .go)")
	fs.Int64Var(&t.MaxBytes, "max-bytes", 0, "read at most this many bytes of text (0: all)")
	fs.Float64Var(&t.HeldOut, "held-out", 0.1, "fraction of the text, at its end, held out to measure "+measures)
	return func() {
		for _, e := range strings.Split(*ext, ",") {
			if e = strings.TrimSpace(e); e != "" {
				t.Extensions = append(t.Extensions, e)
			}
		}
	}
}

// cmdTrainCharLM trains the character-level language model on text and
// writes a run directory: config.json, vocab.json, summary.txt,
// metrics.jsonl, state.safetensors (a checkpoint after every epoch),
// model.safetensors (the weights, rewritten after every epoch, with the
// architecture and vocabulary in its metadata), history.png and
// results.json.
func cmdTrainCharLM(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", "train --model charlm --data text:FILE_OR_DIR [flags]", charLMExamples, out)
	c := charLMConfig{Model: "charlm"}
	fs.StringVar(&c.Model, "model", "charlm", "charlm (see strata train --help for the classifiers)")
	textFlags := addTextFlags(fs, &c.TextSource, "perplexity")
	fs.IntVar(&c.SeqLen, "seq-len", 100, "characters per training window (truncated backpropagation through time)")
	fs.IntVar(&c.Epochs, "epochs", 3, "number of epochs (passes over the training windows)")
	fs.IntVar(&c.BatchSize, "batch-size", 64, "windows per batch")
	fs.StringVar(&c.Net.Cell, "cell", "lstm", "recurrent cell: lstm or gru")
	fs.IntVar(&c.Net.Units, "units", 256, "units per recurrent layer")
	fs.IntVar(&c.Net.Layers, "layers", 1, "stacked recurrent layers")
	fs.IntVar(&c.Net.EmbeddingDim, "embedding-dim", 64, "character embedding size")
	dropout := fs.Float64("dropout", 0, "input dropout of each recurrent layer in training, in [0, 1)")
	fs.StringVar(&c.Optimizer, "optimizer", "adam", "optimizer: adam, sgd, rmsprop, adamw, adagrad")
	fs.Float64Var(&c.LR, "lr", 0.002, "learning rate")
	fs.Float64Var(&c.ClipNorm, "clip-norm", 5, "clip the global gradient norm to this (0: off)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (initialization, shuffling, dropout)")
	rf := addRunFlags(fs, "runs/charlm-TIMESTAMP")
	if err := parse(fs, args); err != nil {
		return err
	}
	c.Net.Dropout = float32(*dropout)
	textFlags()
	if err := resumeConfig(fs, rf, &c, "model"); err != nil {
		return err
	}
	if *rf.resume != "" && c.Model != "charlm" {
		return fmt.Errorf("cannot resume: %s is a %q run, not charlm", *rf.resume, c.Model)
	}
	res, err := runs.TrainCharLM(ctx, c, version(), rf.options(ctx, args))
	return rf.report(out, res, err)
}
