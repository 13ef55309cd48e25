package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// gptConfig is a GPT run's config.json.
type gptConfig struct {
	Version     string         `json:"version"`
	Args        []string       `json:"args"`
	Model       string         `json:"model"` // "gpt"
	Data        string         `json:"data"`
	DataSHA256  string         `json:"data_sha256"`
	Extensions  []string       `json:"extensions,omitempty"`
	MaxBytes    int64          `json:"max_bytes"`
	HeldOut     float64        `json:"held_out"`
	Epochs      int            `json:"epochs"`
	BatchSize   int            `json:"batch_size"`
	LR          float64        `json:"lr"`
	MinLR       float64        `json:"min_lr_fraction"`
	Warmup      int            `json:"warmup_steps"`
	WeightDecay float64        `json:"weight_decay"`
	ClipNorm    float64        `json:"clip_norm"`
	MaxMinutes  float64        `json:"max_minutes,omitempty"`
	Seed        uint64         `json:"seed"`
	Threads     int            `json:"threads"`
	Net         zoo.GPTOptions `json:"net"`
	Chars       int            `json:"chars"`
	Created     time.Time      `json:"created"`
}

const gptExamples = `  strata train --model gpt --data text:$(go env GOROOT)/src --ext .go --max-bytes 3000000 --max-minutes 10
  strata train --model gpt --data text:book.txt --layers 2 --d-model 64 --epochs 3 --json
  strata generate --run runs/gpt-20261206-010000 --prompt "func main() {" --length 400 --temperature 0.7
`

// cmdTrainGPT trains the decoder-only Transformer on text (the data of
// --model charlm) with AdamW, a linear warm-up then cosine decay of the
// learning rate and global gradient clipping, and writes a run directory
// like the char LM's (config.json, vocab.json, summary.txt, metrics.jsonl,
// model.safetensors with the architecture in its metadata, results.json).
func cmdTrainGPT(ctx context.Context, args []string, out io.Writer) error {
	c, o, err := parseGPTFlags(args, out)
	if err != nil {
		return err
	}
	vocab, ids, err := readGPTText(&c)
	if err != nil {
		return err
	}
	cut := int(float64(len(ids)) * (1 - c.HeldOut))
	if cut < c.Net.Context+1 || len(ids)-cut < c.Net.Context+1 {
		return fmt.Errorf("%s: %d training and %d held-out characters; each part needs more than one window of --seq-len %d", c.Data, cut, len(ids)-cut, c.Net.Context)
	}
	trainDS, err := data.NewTextWindows(ids[:cut], c.Net.Context, 0)
	if err != nil {
		return err
	}
	heldDS, err := data.NewTextWindows(ids[cut:], c.Net.Context, 0)
	if err != nil {
		return err
	}
	net, model, err := newGPTModel(&c, trainDS.Len())
	if err != nil {
		return err
	}
	dir := o.outDir
	if dir == "" {
		dir = defaultRunDir("gpt")
	}
	meta, err := writeGPTRunFiles(dir, &c, vocab, net)
	if err != nil {
		return err
	}
	progress := io.Writer(os.Stdout)
	if o.quiet {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "%s: %d characters, vocabulary of %d; %d training and %d held-out windows of %d\n", c.Data, c.Chars, vocab.Len(), trainDS.Len(), heldDS.Len(), c.Net.Context)
	loader, err := data.NewLoader(trainDS, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return err
	}
	weights := filepath.Join(dir, "model.safetensors")
	callbacks := []train.Callback{&train.JSONLogger{Path: filepath.Join(dir, "metrics.jsonl")}, &modelSaver{path: weights, net: net, meta: meta}}
	if c.MaxMinutes > 0 {
		callbacks = append(callbacks, &timeBudget{minutes: c.MaxMinutes})
	}
	start := time.Now()
	hist, err := train.Fit(ctx, model, loader, train.FitOptions{Epochs: c.Epochs, Callbacks: callbacks, Verbose: 1, Out: progress})
	elapsed := time.Since(start)
	if errors.Is(err, train.ErrInterrupted) {
		return interruptedRun(dir)
	}
	if err != nil {
		return err
	}
	held, err := model.Evaluate(ctx, heldDS, 64)
	if err != nil {
		return fmt.Errorf("evaluating on the held-out text: %w", err)
	}
	if err := modelfile.Save(weights, net, meta); err != nil {
		return err
	}
	steps := model.Optimizer.Iterations()
	result := map[string]any{
		"run_dir": dir, "model": "gpt", "epochs": len(hist.Epochs), "steps": steps,
		"held_out_loss": held["loss"], "held_out_perplexity": math.Exp(held["loss"]), "held_out_bpc": held["loss"] / math.Ln2,
		"vocabulary": vocab.Len(), "train_seconds": elapsed.Seconds(),
		"train_chars_per_sec": float64(steps*c.BatchSize*c.Net.Context) / elapsed.Seconds(),
		"parameters":          countParams(net), "seed": c.Seed, "threads": c.Threads,
	}
	if err := writeResults(dir, result, hist); err != nil {
		return err
	}
	fmt.Fprintf(out, "held-out perplexity %.3f, %.3f bits per character, %d steps in %s; run directory %s\n",
		math.Exp(held["loss"]), held["loss"]/math.Ln2, steps, elapsed.Round(time.Second), dir)
	if o.json {
		return printJSON(out, result)
	}
	return nil
}

// gptCLI holds the flags that are not part of the config.
type gptCLI struct {
	outDir      string
	json, quiet bool
}

func parseGPTFlags(args []string, out io.Writer) (gptConfig, gptCLI, error) {
	fs := newFlags("train", "train --model gpt --data text:FILE_OR_DIR [flags]", gptExamples, out)
	c := gptConfig{Model: "gpt"}
	var o gptCLI
	var ext string
	var dropout float64
	fs.StringVar(&c.Model, "model", "gpt", "gpt")
	fs.StringVar(&c.Data, "data", "", "text:FILE or text:DIR (every UTF-8 text file under DIR, in path order)")
	fs.StringVar(&ext, "ext", "", "in a directory, read only files with these comma-separated suffixes (e.g. .go)")
	fs.Int64Var(&c.MaxBytes, "max-bytes", 0, "read at most this many bytes of text (0: all)")
	fs.Float64Var(&c.HeldOut, "held-out", 0.1, "fraction of the text, at its end, held out to measure bits per character")
	fs.IntVar(&c.Net.Context, "seq-len", 128, "context: characters per training window and positions learned")
	fs.IntVar(&c.Epochs, "epochs", 1, "number of epochs")
	fs.IntVar(&c.BatchSize, "batch-size", 32, "windows per batch")
	fs.IntVar(&c.Net.DModel, "d-model", 128, "width of the residual stream")
	fs.IntVar(&c.Net.Layers, "layers", 4, "Transformer blocks")
	fs.IntVar(&c.Net.Heads, "heads", 4, "attention heads")
	fs.IntVar(&c.Net.FFDim, "ff-dim", 0, "feed-forward width (0: 4·d-model)")
	fs.StringVar(&c.Net.Activation, "activation", "gelu", "feed-forward activation: gelu, gelu_tanh, silu, relu")
	fs.Float64Var(&dropout, "dropout", 0, "dropout in training, in [0, 1)")
	fs.Float64Var(&c.LR, "lr", 0.002, "peak learning rate of AdamW")
	fs.Float64Var(&c.MinLR, "min-lr", 0.1, "the cosine decay ends at this fraction of --lr")
	fs.IntVar(&c.Warmup, "warmup", 100, "steps of linear learning-rate warm-up")
	fs.Float64Var(&c.WeightDecay, "weight-decay", 0.01, "AdamW's decoupled weight decay")
	fs.Float64Var(&c.ClipNorm, "clip-norm", 1, "clip the global gradient norm to this (0: off)")
	fs.Float64Var(&c.MaxMinutes, "max-minutes", 0, "stop after the step that crosses this many minutes of training, then evaluate and save (0: no limit)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (initialization, shuffling, dropout)")
	fs.StringVar(&o.outDir, "out", "", "run directory (default runs/gpt-TIMESTAMP)")
	fs.BoolVar(&o.json, "json", false, "print a JSON summary as the last line of output")
	fs.BoolVar(&o.quiet, "quiet", false, "no progress output")
	if err := parse(fs, args); err != nil {
		return c, o, err
	}
	if fs.NArg() > 0 {
		return c, o, usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, e := range strings.Split(ext, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.Extensions = append(c.Extensions, e)
		}
	}
	c.Net.Dropout = float32(dropout)
	return c, o, validateGPT(&c)
}

func validateGPT(c *gptConfig) error {
	for _, p := range []struct {
		name string
		v    int
	}{{"epochs", c.Epochs}, {"batch-size", c.BatchSize}, {"seq-len", c.Net.Context}, {"d-model", c.Net.DModel}, {"layers", c.Net.Layers}, {"heads", c.Net.Heads}} {
		if err := positive(p.name, p.v); err != nil {
			return err
		}
	}
	if err := finitePositive("lr", c.LR); err != nil {
		return err
	}
	if !(c.HeldOut > 0 && c.HeldOut < 1) {
		return usagef("--held-out must be in (0, 1), got %v", c.HeldOut)
	}
	if c.Warmup < 0 || c.FFDimNegative() || !(c.MinLR >= 0 && c.MinLR <= 1) || !(c.WeightDecay >= 0) || !(c.ClipNorm >= 0) || !(c.MaxMinutes >= 0) || c.MaxBytes < 0 {
		return usagef("--warmup, --ff-dim, --weight-decay, --clip-norm, --max-minutes and --max-bytes must not be negative, and --min-lr must be in [0, 1]")
	}
	if kind, path, _ := strings.Cut(c.Data, ":"); kind != "text" || path == "" {
		return usagef("--model gpt reads --data text:FILE_OR_DIR, got %q", c.Data)
	}
	if err := c.Net.Validate(); err != nil && c.Net.Vocab > 0 {
		return usagef("%v", err)
	}
	probe := c.Net
	probe.Vocab = 1
	if err := probe.Validate(); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// FFDimNegative reports a negative --ff-dim.
func (c *gptConfig) FFDimNegative() bool { return c.Net.FFDim < 0 }

// readGPTText reads and encodes the text of c.Data and records what it
// read in c.
func readGPTText(c *gptConfig) (*data.Vocab, []int32, error) {
	_, path, _ := strings.Cut(c.Data, ":")
	text, _, err := data.ReadText(path, data.TextOptions{MaxBytes: c.MaxBytes, Extensions: c.Extensions})
	if err != nil {
		return nil, nil, err
	}
	sum := sha256.Sum256([]byte(text))
	c.DataSHA256 = hex.EncodeToString(sum[:])
	vocab := data.NewVocab(text)
	ids, err := vocab.Encode(text)
	if err != nil {
		return nil, nil, err
	}
	c.Chars, c.Net.Vocab = len(ids), vocab.Len()
	return vocab, ids, nil
}

// newGPTModel builds the network and compiles it with AdamW and the
// warm-up + cosine schedule over all the steps of the run.
func newGPTModel(c *gptConfig, windows int) (*zoo.GPT, *train.Model, error) {
	net, err := zoo.NewGPT(c.Net)
	if err != nil {
		return nil, nil, usagef("%v", err)
	}
	c.Net = net.Options
	if _, err := nn.Build(net, []int{c.Net.Context}, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return nil, nil, err
	}
	steps := c.Epochs * ((windows + c.BatchSize - 1) / c.BatchSize)
	opt := &optim.AdamW{WeightDecay: c.WeightDecay, Beta2: 0.99, GlobalClipNorm: c.ClipNorm,
		Schedule: optim.Warmup{Steps: c.Warmup, Then: optim.CosineDecay{Initial: c.LR, DecaySteps: max(steps-c.Warmup, 1), Alpha: c.MinLR}}}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, zoo.NewBitsPerChar())
	if err != nil {
		return nil, nil, err
	}
	model.SetSeed(c.Seed)
	c.Threads, c.Version, c.Created = threads(), version(), time.Now().UTC()
	return net, model, nil
}

func writeGPTRunFiles(dir string, c *gptConfig, vocab *data.Vocab, net *zoo.GPT) (modelfile.Meta, error) {
	var none modelfile.Meta
	if err := prepareRunDir(dir, nil); err != nil {
		return none, err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), c); err != nil {
		return none, err
	}
	if err := writeJSON(filepath.Join(dir, "vocab.json"), vocab); err != nil {
		return none, err
	}
	summary, err := nn.Summary(net, []int{c.Net.Context})
	if err != nil {
		return none, err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(summary), 0o644); err != nil {
		return none, err
	}
	return modelfile.Meta{Family: "gpt", InputShape: []int{c.Net.Context}, Vocab: vocab}, nil
}

func countParams(l nn.Layer) int {
	n := 0
	for _, w := range nn.AllWeights(l) {
		n += w.Var.Value.Len()
	}
	return n
}

// timeBudget stops training after the batch that crosses minutes of
// training (--max-minutes) and records that it did.
type timeBudget struct {
	train.Base
	minutes float64
	start   time.Time
	stopped bool
}

func (b *timeBudget) OnTrainBegin(*train.Run) error { b.start = time.Now(); return nil }

func (b *timeBudget) OnBatchEnd(*train.Run, train.Logs) error {
	if time.Since(b.start).Minutes() >= b.minutes {
		b.stopped = true
		return train.ErrStopTraining
	}
	return nil
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

// modelSaver saves the model whole (a model file) after every epoch, so
// that strata generate can sample from a run still training.
type modelSaver struct {
	train.Base
	path string
	net  nn.Layer
	meta modelfile.Meta
}

func (s *modelSaver) OnEpochEnd(*train.Run, train.Logs) error {
	return modelfile.Save(s.path, s.net, s.meta)
}
