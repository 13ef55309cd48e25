package run

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/internal/memplan"
	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// TextSource is the text a language-model run reads, as its config.json
// records it: what the user asked for (Data, Extensions, MaxBytes,
// HeldOut, the fraction kept out of training) and what was read
// (DataSource, DataSHA256, Files, Chars), so that a resumed run can refuse
// text that has changed.
type TextSource struct {
	Data       string   `json:"data"` // text:FILE or text:DIR
	DataSource string   `json:"data_source"`
	DataSHA256 string   `json:"data_sha256"`
	Extensions []string `json:"extensions,omitempty"`
	MaxBytes   int64    `json:"max_bytes"`
	HeldOut    float64  `json:"held_out"`
	Files      int      `json:"files"`
	Chars      int      `json:"chars"`
}

// CharLMConfig is a character language model run's config.json.
type CharLMConfig struct {
	Version string   `json:"version"`
	Args    []string `json:"args"`
	Model   string   `json:"model"` // "charlm"
	TextSource
	SeqLen         int               `json:"seq_len"`
	Epochs         int               `json:"epochs"`
	BatchSize      int               `json:"batch_size"`
	Optimizer      string            `json:"optimizer"`
	LR             float64           `json:"lr"`
	ClipNorm       float64           `json:"clip_norm"`
	Seed           uint64            `json:"seed"`
	Threads        int               `json:"threads"`
	Ranks          int               `json:"ranks"` // MPI ranks training data-parallel (1: one process)
	Net            zoo.CharLMOptions `json:"net"`
	TrainWindows   int               `json:"train_windows"`
	HeldOutWindows int               `json:"held_out_windows"`
	Created        time.Time         `json:"created"`
}

// CharLMArchitecture is stored in a char LM's model.safetensors metadata
// ("strata.architecture"): with it the weights file alone rebuilds the
// model and decodes its output.
type CharLMArchitecture struct {
	Model  string            `json:"model"` // "charlm"
	Net    zoo.CharLMOptions `json:"net"`
	SeqLen int               `json:"seq_len"`
	Vocab  *data.Vocab       `json:"vocabulary"`
}

// Validate checks the user's settings, naming the flag at fault.
func (c *CharLMConfig) Validate() error {
	if c.Model != "charlm" {
		return configf("--model %s is not the character language model", c.Model)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"epochs", c.Epochs}, {"batch-size", c.BatchSize}, {"seq-len", c.SeqLen}, {"units", c.Net.Units}, {"layers", c.Net.Layers}, {"embedding-dim", c.Net.EmbeddingDim}} {
		if err := positive(p.name, p.v); err != nil {
			return err
		}
	}
	if err := finiteNonNegative("lr", c.LR); err != nil {
		return err
	}
	if err := finiteNonNegative("clip-norm", c.ClipNorm); err != nil {
		return err
	}
	if err := c.TextSource.validate(); err != nil {
		return err
	}
	if !(c.Net.Dropout >= 0 && c.Net.Dropout < 1) {
		return configf("--dropout must be in [0, 1), got %v", c.Net.Dropout)
	}
	if c.Net.Cell != "lstm" && c.Net.Cell != "gru" {
		return configf("--cell must be lstm or gru, got %q", c.Net.Cell)
	}
	return nil
}

// textData is a char LM's text, cut into training and held-out windows.
type textData struct {
	path           string
	info           data.TextInfo
	vocab          *data.Vocab
	train, heldOut *data.TextWindows
}

// validate checks the user's part of t, naming the flag at fault.
func (t *TextSource) validate() error {
	if !(t.HeldOut > 0 && t.HeldOut < 1) {
		return configf("--held-out must be in (0, 1), got %v", t.HeldOut)
	}
	if t.MaxBytes < 0 {
		return configf("--max-bytes must not be negative, got %d", t.MaxBytes)
	}
	return nil
}

// loadText reads c.Data (text:PATH) for the named model, checks it against
// a resumed run's checksum and cuts it into windows of seqLen characters
// (and the next one), filling in what c records of what was read.
func loadText(ctx context.Context, model string, c *TextSource, seqLen int, resuming bool) (*textData, error) {
	src, err := ParseSource(c.Data)
	if err != nil || src.Kind != "text" {
		if c.Data == "" {
			return nil, configf("--model %s needs --data text:FILE_OR_DIR", model)
		}
		return nil, configf("--model %s reads --data text:FILE_OR_DIR, got %q", model, c.Data)
	}
	text, info, err := data.ReadTextContext(ctx, src.Path, data.TextOptions{MaxBytes: c.MaxBytes, Extensions: c.Extensions})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(text))
	if resuming && c.DataSHA256 != "" && hex.EncodeToString(sum[:]) != c.DataSHA256 {
		return nil, fmt.Errorf("cannot resume: the text %s has changed since the run started (sha256 %s, config.json records %s)", src.Path, hex.EncodeToString(sum[:]), c.DataSHA256)
	}
	c.DataSource, c.DataSHA256, c.Files = src.Path, hex.EncodeToString(sum[:]), info.Files
	t := &textData{path: src.Path, info: info, vocab: data.NewVocab(text)}
	ids, err := t.vocab.Encode(text)
	if err != nil {
		return nil, err
	}
	c.Chars = len(ids)
	cut := int(float64(len(ids)) * (1 - c.HeldOut))
	if cut < seqLen+1 {
		return nil, fmt.Errorf("%s: the training part of the text has %d characters, fewer than one window of --seq-len %d and its next character; give more text or a smaller --seq-len", src.Path, cut, seqLen)
	}
	if len(ids)-cut < seqLen+1 {
		return nil, fmt.Errorf("%s: the held-out part of the text (--held-out %v) has %d characters, fewer than one window of --seq-len %d and its next character; give more text, a larger --held-out or a smaller --seq-len", src.Path, c.HeldOut, len(ids)-cut, seqLen)
	}
	if t.train, err = data.NewTextWindows(ids[:cut], seqLen, 0); err != nil {
		return nil, err
	}
	if t.heldOut, err = data.NewTextWindows(ids[cut:], seqLen, 0); err != nil {
		return nil, err
	}
	return t, nil
}

// newCharLMModel builds the network of c and compiles it.
func newCharLMModel(c *CharLMConfig) (*train.Model, error) {
	net, err := zoo.NewCharLM(c.Net)
	if err != nil {
		return nil, configf("%v", err)
	}
	c.Net = net.Options
	if _, err := nn.Build(net, []int{c.SeqLen}, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return nil, err
	}
	opt, err := optim.ByName(c.Optimizer, c.LR)
	if err != nil {
		return nil, configf("%v", err)
	}
	if c.ClipNorm > 0 {
		if err := optim.SetClip(opt, "global_norm", c.ClipNorm); err != nil {
			return nil, configf("%v", err)
		}
	}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, zoo.NewPerplexity(), zoo.NewBitsPerChar())
	if err != nil {
		return nil, err
	}
	model.SetSeed(c.Seed)
	return model, nil
}

// TrainCharLM trains the character-level language model on text (c.Data:
// text:FILE or text:DIR) into a run directory: config.json, vocab.json,
// summary.txt, metrics.jsonl, state.safetensors, model.safetensors (the
// weights, rewritten after every epoch, with the architecture and
// vocabulary in its metadata), history.png and results.json.
func TrainCharLM(ctx context.Context, c CharLMConfig, version string, o Options) (*Result, error) {
	s, err := begin(o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	text, err := loadText(ctx, "charlm", &c.TextSource, c.SeqLen, s.ckpt != nil)
	if err != nil {
		return nil, err
	}
	c.Net.Vocab, c.TrainWindows, c.HeldOutWindows = text.vocab.Len(), text.train.Len(), text.heldOut.Len()
	if r, ok := s.alreadyFinished(c.Epochs); ok {
		return r, nil
	}
	if err := checkCharLMMemory(ctx, &c); err != nil {
		return nil, err
	}
	c.Threads, c.Version, c.Created, c.Args = runtime.GOMAXPROCS(0), version, time.Now().UTC(), s.args()
	c.Ranks = s.ranks()
	model, err := newCharLMModel(&c)
	if err != nil {
		return nil, err
	}
	return s.trainCharLM(ctx, &c, text, model)
}

func (s *session) trainCharLM(ctx context.Context, c *CharLMConfig, text *textData, model *train.Model) (*Result, error) {
	if err := s.create("charlm"); err != nil {
		return nil, err
	}
	summary, err := nn.Summary(model.Net, []int{c.SeqLen})
	if err != nil {
		return nil, err
	}
	if err := s.writeStart(c, summary); err != nil {
		return nil, err
	}
	if err := WriteJSON(s.dir.File(VocabFile), text.vocab); err != nil {
		return nil, err
	}
	arch, _ := json.Marshal(CharLMArchitecture{Model: "charlm", Net: c.Net, SeqLen: c.SeqLen, Vocab: text.vocab})
	loader, err := data.NewLoader(text.train, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return nil, err
	}
	val, err := data.NewLoader(text.heldOut, data.LoaderOptions{BatchSize: 256})
	if err != nil {
		return nil, err
	}
	if s.ckpt == nil {
		trunc := ""
		if text.info.Truncated {
			trunc = fmt.Sprintf(", cut at --max-bytes %d", c.MaxBytes)
		}
		fmt.Fprintf(s.progress, "%s: %d characters from %d files%s; vocabulary of %d; %d training and %d held-out windows of %d\n%s",
			text.path, c.Chars, c.Files, trunc, text.vocab.Len(), c.TrainWindows, c.HeldOutWindows, c.SeqLen, summary)
	}
	meta := modelfile.Meta{Family: "charlm", InputShape: []int{c.SeqLen}, Vocab: text.vocab}
	weights := &epochWeights{path: s.dir.File(ModelFile), net: model.Net, meta: meta, arch: arch}
	hist, elapsed, stop, err := s.fit(ctx, model, loader, train.FitOptions{Epochs: c.Epochs, Validation: val, Callbacks: []train.Callback{weights}})
	if stop != nil || err != nil {
		return stop, err
	}
	return s.finishCharLM(ctx, c, text, model, hist, elapsed, weights)
}

func (s *session) finishCharLM(ctx context.Context, c *CharLMConfig, text *textData, model *train.Model, hist *train.History, elapsed time.Duration, weights *epochWeights) (*Result, error) {
	chars := float64(s.epochsRun(hist)*text.train.Len()*c.SeqLen) / elapsed.Seconds()
	held := hist.Last()
	if held == nil || held["val_loss"] == 0 || s.stoppedByBudget() { // a stopped epoch has no validation
		l, err := model.Evaluate(ctx, text.heldOut, 256)
		if err != nil {
			if ctx.Err() != nil {
				return s.interrupted(hist), nil
			}
			return nil, fmt.Errorf("evaluating on the held-out text: %w", err)
		}
		held = train.Logs{"val_loss": l["loss"]}
	}
	heldLoss := held["val_loss"]
	if err := weights.OnEpochEnd(nil, nil); err != nil {
		return nil, err
	}
	if err := s.dir.WriteHistoryPlot(hist, "charlm", "perplexity", "val_perplexity"); err != nil {
		return nil, err
	}
	result := map[string]any{
		"run_dir": s.dir.Path, "model": "charlm", "cell": c.Net.Cell, "epochs": len(hist.Epochs),
		"held_out_loss": heldLoss, "held_out_perplexity": math.Exp(heldLoss), "held_out_bpc": heldLoss / math.Ln2,
		"held_out_chars": c.HeldOutWindows * c.SeqLen, "train_chars": c.TrainWindows * c.SeqLen,
		"vocabulary": text.vocab.Len(), "train_chars_per_sec": chars, "train_seconds": elapsed.Seconds(),
		"seed": c.Seed, "threads": c.Threads, "ranks": c.Ranks,
	}
	if err := s.dir.WriteResults(result, hist); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("held-out perplexity %.3f, %.3f bits per character (loss %.4f), %d epochs in %s (%.0f characters/s); run directory %s",
		math.Exp(heldLoss), heldLoss/math.Ln2, heldLoss, len(hist.Epochs), elapsed.Round(time.Second), chars, s.dir.Path)
	return &Result{Dir: s.dir.Path, Summary: result, Message: msg, History: hist}, nil
}

// epochWeights rewrites the model file after every epoch, so that strata
// generate can sample from a run that is still training or was
// interrupted.
type epochWeights struct {
	train.Base
	path string
	net  nn.Layer
	meta modelfile.Meta
	arch []byte
}

func (e *epochWeights) OnEpochEnd(*train.Run, train.Logs) error {
	return saveModel(e.path, e.net, e.meta, e.arch)
}

// checkCharLMMemory refuses, before the model is built, a char LM whose
// estimated training memory (memplan.RecurrentLM) exceeds what the process
// may use: --units 1000000, --layers 500 or a text of 21,000 distinct
// characters on a small machine.
func checkCharLMMemory(ctx context.Context, c *CharLMConfig) error {
	o := c.Net.WithDefaults()
	gates := 4
	if o.Cell == "gru" {
		gates = 3
	}
	needs := memplan.RecurrentLM(o.Vocab, o.EmbeddingDim, o.Units, o.Layers, gates, c.SeqLen, c.BatchSize)
	return sysmem.Check(sysmem.FromContext(ctx), fmt.Sprintf("this char LM (%d characters in its vocabulary)", o.Vocab), needs...)
}
