package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// charLMConfig is a char LM run's config.json.
type charLMConfig struct {
	Version        string            `json:"version"`
	Args           []string          `json:"args"`
	Model          string            `json:"model"` // "charlm"
	Data           string            `json:"data"`
	DataSource     string            `json:"data_source"`
	DataSHA256     string            `json:"data_sha256"`
	Extensions     []string          `json:"extensions,omitempty"`
	MaxBytes       int64             `json:"max_bytes"`
	HeldOut        float64           `json:"held_out"`
	SeqLen         int               `json:"seq_len"`
	Epochs         int               `json:"epochs"`
	BatchSize      int               `json:"batch_size"`
	Optimizer      string            `json:"optimizer"`
	LR             float64           `json:"lr"`
	ClipNorm       float64           `json:"clip_norm"`
	Seed           uint64            `json:"seed"`
	Threads        int               `json:"threads"`
	Net            zoo.CharLMOptions `json:"net"`
	Files          int               `json:"files"`
	Chars          int               `json:"chars"`
	TrainWindows   int               `json:"train_windows"`
	HeldOutWindows int               `json:"held_out_windows"`
	Created        time.Time         `json:"created"`
}

// charLMArchitecture is stored in a char LM's model.safetensors metadata
// ("strata.architecture"): with it the weights file alone rebuilds the
// model and decodes its output.
type charLMArchitecture struct {
	Model  string            `json:"model"` // "charlm"
	Net    zoo.CharLMOptions `json:"net"`
	SeqLen int               `json:"seq_len"`
	Vocab  *data.Vocab       `json:"vocabulary"`
}

const charLMExamples = `  strata train --model charlm --data text:book.txt --epochs 10
  strata train --model charlm --data text:$(go env GOROOT)/src --ext .go --max-bytes 3000000 --out runs/gosrc
  strata train --model charlm --data text:notes/ --cell gru --units 128 --layers 2 --seq-len 64 --json
  strata train --resume runs/gosrc --epochs 5           # continue, or train further
  strata generate --run runs/gosrc --prompt "func main() {" --length 400 --temperature 0.7
`

// cmdTrainCharLM trains the character-level language model on text and
// writes a run directory: config.json, vocab.json, summary.txt,
// metrics.jsonl, state.safetensors (a checkpoint after every epoch),
// model.safetensors (the weights, rewritten after every epoch, with the
// architecture and vocabulary in its metadata), history.png and
// results.json.
func cmdTrainCharLM(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", "train --model charlm --data text:FILE_OR_DIR [flags]", charLMExamples, out)
	c := charLMConfig{Model: "charlm"}
	var ext string
	fs.StringVar(&c.Model, "model", "charlm", "charlm (see strata train --help for the classifiers)")
	fs.StringVar(&c.Data, "data", "", "text:FILE or text:DIR (every UTF-8 text file under DIR, in path order)")
	fs.StringVar(&ext, "ext", "", "in a directory, read only files with these comma-separated suffixes (e.g. .go)")
	fs.Int64Var(&c.MaxBytes, "max-bytes", 0, "read at most this many bytes of text (0: all)")
	fs.Float64Var(&c.HeldOut, "held-out", 0.1, "fraction of the text, at its end, held out to measure perplexity")
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
	outDir := fs.String("out", "", "run directory (default runs/charlm-TIMESTAMP)")
	resume := fs.String("resume", "", "continue the run in this directory (only --epochs may change)")
	jsonOut := fs.Bool("json", false, "print a JSON summary as the last line of output")
	quiet := fs.Bool("quiet", false, "no progress output")
	budget := &timeBudget{}
	fs.Float64Var(&budget.minutes, "max-minutes", 0, "stop after the step that crosses this many minutes of training, then evaluate and save (0: no limit)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	for _, e := range strings.Split(ext, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.Extensions = append(c.Extensions, e)
		}
	}
	c.Net.Dropout = float32(*dropout)
	var ckpt *train.Checkpoint
	if *resume != "" {
		var prev charLMConfig
		var epochsSet bool
		var err error
		if ckpt, epochsSet, err = loadResume(fs, *resume, &prev, "model"); err != nil {
			return err
		}
		if prev.Model != "charlm" {
			return fmt.Errorf("cannot resume: %s is a %q run, not charlm", *resume, prev.Model)
		}
		if epochsSet {
			prev.Epochs = c.Epochs
		}
		c, *outDir = prev, *resume
	}
	if c.Model != "charlm" {
		return usagef("--model %s is not the character language model", c.Model)
	}
	if err := validateCharLM(&c); err != nil {
		return err
	}
	kind, path, _ := strings.Cut(c.Data, ":")
	if kind != "text" || path == "" {
		if c.Data == "" {
			return usagef("--model charlm needs --data text:FILE_OR_DIR")
		}
		return usagef("--model charlm reads --data text:FILE_OR_DIR, got %q", c.Data)
	}
	text, info, err := data.ReadText(path, data.TextOptions{MaxBytes: c.MaxBytes, Extensions: c.Extensions})
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(text))
	if ckpt != nil && c.DataSHA256 != "" && hex.EncodeToString(sum[:]) != c.DataSHA256 {
		return fmt.Errorf("cannot resume: the text %s has changed since the run started (sha256 %s, config.json records %s)", path, hex.EncodeToString(sum[:]), c.DataSHA256)
	}
	c.DataSource, c.DataSHA256, c.Files = path, hex.EncodeToString(sum[:]), info.Files
	vocab := data.NewVocab(text)
	ids, err := vocab.Encode(text)
	if err != nil {
		return err
	}
	c.Chars, c.Net.Vocab = len(ids), vocab.Len()
	cut := int(float64(len(ids)) * (1 - c.HeldOut))
	if cut < c.SeqLen+1 {
		return fmt.Errorf("%s: the training part of the text has %d characters, fewer than one window of --seq-len %d and its next character; give more text or a smaller --seq-len", path, cut, c.SeqLen)
	}
	if len(ids)-cut < c.SeqLen+1 {
		return fmt.Errorf("%s: the held-out part of the text (--held-out %v) has %d characters, fewer than one window of --seq-len %d and its next character; give more text, a larger --held-out or a smaller --seq-len", path, c.HeldOut, len(ids)-cut, c.SeqLen)
	}
	trainDS, err := data.NewTextWindows(ids[:cut], c.SeqLen, 0)
	if err != nil {
		return err
	}
	heldDS, err := data.NewTextWindows(ids[cut:], c.SeqLen, 0)
	if err != nil {
		return err
	}
	c.TrainWindows, c.HeldOutWindows = trainDS.Len(), heldDS.Len()
	c.Threads, c.Version, c.Created = threads(), version(), time.Now().UTC()
	if ckpt == nil {
		c.Args = args
	}

	net, err := zoo.NewCharLM(c.Net)
	if err != nil {
		return usagef("%v", err)
	}
	c.Net = net.Options
	if _, err := nn.Build(net, []int{c.SeqLen}, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return err
	}
	opt, err := optim.ByName(c.Optimizer, c.LR)
	if err != nil {
		return usagef("%v", err)
	}
	if c.ClipNorm > 0 {
		if err := setGlobalClipNorm(opt, c.ClipNorm); err != nil {
			return usagef("%v", err)
		}
	}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, zoo.NewPerplexity(), zoo.NewBitsPerChar())
	if err != nil {
		return err
	}
	model.SetSeed(c.Seed)

	dir := *outDir
	if dir == "" {
		dir = defaultRunDir("charlm")
	}
	if err := prepareRunDir(dir, ckpt); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), c); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "vocab.json"), vocab); err != nil {
		return err
	}
	summary, err := nn.Summary(net, []int{c.SeqLen})
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(summary), 0o644); err != nil {
		return err
	}
	arch, _ := json.Marshal(charLMArchitecture{Model: "charlm", Net: c.Net, SeqLen: c.SeqLen, Vocab: vocab})
	meta := map[string]string{"format": "strata.weights.v1", "strata.architecture": string(arch)}
	weights := filepath.Join(dir, "model.safetensors")

	loader, err := data.NewLoader(trainDS, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return err
	}
	val, err := data.NewLoader(heldDS, data.LoaderOptions{BatchSize: 256})
	if err != nil {
		return err
	}
	progress := io.Writer(os.Stdout)
	if *quiet {
		progress = io.Discard
	}
	if ckpt == nil && !*quiet {
		trunc := ""
		if info.Truncated {
			trunc = fmt.Sprintf(", cut at --max-bytes %d", c.MaxBytes)
		}
		fmt.Fprintf(progress, "%s: %d characters from %d files%s; vocabulary of %d; %d training and %d held-out windows of %d\n%s",
			path, c.Chars, c.Files, trunc, vocab.Len(), c.TrainWindows, c.HeldOutWindows, c.SeqLen, summary)
	}
	if ckpt != nil && !*quiet {
		fmt.Fprintf(progress, "Resuming %s at epoch %d, batch %d\n", dir, ckpt.Epoch, ckpt.Batch)
	}
	callbacks := []train.Callback{
		&train.JSONLogger{Path: filepath.Join(dir, "metrics.jsonl")},
		&epochWeights{path: weights, net: net, meta: meta},
	}
	if budget.minutes > 0 {
		callbacks = append(callbacks, budget)
	}
	before := 0 // epochs done before this call
	if ckpt != nil {
		before = len(ckpt.History.Epochs)
	}
	start := time.Now()
	hist, err := train.Fit(ctx, model, loader, train.FitOptions{
		Epochs: c.Epochs, Validation: val, Callbacks: callbacks, Verbose: 1, Out: progress,
		CheckpointPath: filepath.Join(dir, "state.safetensors"), Resume: ckpt,
	})
	elapsed := time.Since(start)
	if errors.Is(err, train.ErrInterrupted) {
		return interruptedRun(dir)
	}
	if err != nil {
		return err
	}
	chars := float64((len(hist.Epochs)-before)*trainDS.Len()*c.SeqLen) / elapsed.Seconds()

	held := hist.Last()
	if held == nil || held["val_loss"] == 0 || budget.stopped {
		l, err := model.Evaluate(ctx, heldDS, 256)
		if err != nil {
			if ctx.Err() != nil {
				return interruptedRun(dir)
			}
			return fmt.Errorf("evaluating on the held-out text: %w", err)
		}
		held = train.Logs{"val_loss": l["loss"]}
	}
	heldLoss := held["val_loss"]
	if err := train.SaveWeights(weights, net, meta); err != nil {
		return err
	}
	if err := saveHistoryPlot(dir, hist, "charlm", "perplexity", "val_perplexity"); err != nil {
		return err
	}
	result := map[string]any{
		"run_dir":             dir,
		"model":               "charlm",
		"cell":                c.Net.Cell,
		"epochs":              len(hist.Epochs),
		"held_out_loss":       heldLoss,
		"held_out_perplexity": math.Exp(heldLoss),
		"held_out_bpc":        heldLoss / math.Ln2,
		"held_out_chars":      c.HeldOutWindows * c.SeqLen,
		"train_chars":         c.TrainWindows * c.SeqLen,
		"vocabulary":          vocab.Len(),
		"train_chars_per_sec": chars,
		"train_seconds":       elapsed.Seconds(),
		"seed":                c.Seed,
		"threads":             c.Threads,
	}
	if err := writeResults(dir, result, hist); err != nil {
		return err
	}
	fmt.Fprintf(out, "held-out perplexity %.3f, %.3f bits per character (loss %.4f), %d epochs in %s (%.0f characters/s); run directory %s\n",
		math.Exp(heldLoss), heldLoss/math.Ln2, heldLoss, len(hist.Epochs), elapsed.Round(time.Second), chars, dir)
	if *jsonOut {
		return printJSON(out, result)
	}
	return nil
}

func validateCharLM(c *charLMConfig) error {
	for _, p := range []struct {
		name string
		v    int
	}{{"epochs", c.Epochs}, {"batch-size", c.BatchSize}, {"seq-len", c.SeqLen}, {"units", c.Net.Units}, {"layers", c.Net.Layers}, {"embedding-dim", c.Net.EmbeddingDim}} {
		if err := positive(p.name, p.v); err != nil {
			return err
		}
	}
	if err := finitePositive("lr", c.LR); err != nil {
		return err
	}
	if err := finitePositive("clip-norm", c.ClipNorm); err != nil {
		return err
	}
	if !(c.HeldOut > 0 && c.HeldOut < 1) {
		return usagef("--held-out must be in (0, 1), got %v", c.HeldOut)
	}
	if c.MaxBytes < 0 {
		return usagef("--max-bytes must not be negative, got %d", c.MaxBytes)
	}
	if !(c.Net.Dropout >= 0 && c.Net.Dropout < 1) {
		return usagef("--dropout must be in [0, 1), got %v", c.Net.Dropout)
	}
	if c.Net.Cell != "lstm" && c.Net.Cell != "gru" {
		return usagef("--cell must be lstm or gru, got %q", c.Net.Cell)
	}
	return nil
}

// setGlobalClipNorm sets the global gradient-norm clipping of the
// optimizers that have it.
func setGlobalClipNorm(o optim.Optimizer, norm float64) error {
	switch o := o.(type) {
	case *optim.Adam:
		o.GlobalClipNorm = norm
	case *optim.AdamW:
		o.GlobalClipNorm = norm
	case *optim.SGD:
		o.GlobalClipNorm = norm
	case *optim.RMSprop:
		o.GlobalClipNorm = norm
	case *optim.Adagrad:
		o.GlobalClipNorm = norm
	default:
		return fmt.Errorf("--clip-norm is not supported with %T (use --clip-norm 0)", o)
	}
	return nil
}

// epochWeights rewrites the model's weights file after every epoch, so
// that strata generate can sample from a run that is still training or
// was interrupted.
type epochWeights struct {
	train.Base
	path string
	net  nn.Layer
	meta map[string]string
}

func (e *epochWeights) OnEpochEnd(*train.Run, train.Logs) error {
	return train.SaveWeights(e.path, e.net, e.meta)
}
