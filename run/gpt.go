package run

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// GPTConfig is a GPT run's config.json: the text of a char LM run
// (Data, Extensions, MaxBytes, HeldOut), the network (Net; Net.Context is
// the window length) and the recipe: AdamW with a linear warm-up of
// Warmup steps to LR, then a cosine decay to MinLR·LR over the rest of
// the run's steps, and global gradient-norm clipping.
type GPTConfig struct {
	Version string   `json:"version"`
	Args    []string `json:"args"`
	Model   string   `json:"model"` // "gpt"
	TextSource
	Epochs      int            `json:"epochs"`
	BatchSize   int            `json:"batch_size"`
	LR          float64        `json:"lr"`
	MinLR       float64        `json:"min_lr_fraction"`
	Warmup      int            `json:"warmup_steps"`
	WeightDecay float64        `json:"weight_decay"`
	ClipNorm    float64        `json:"clip_norm"`
	Seed        uint64         `json:"seed"`
	Threads     int            `json:"threads"`
	Net         zoo.GPTOptions `json:"net"`
	Created     time.Time      `json:"created"`
}

// Validate checks the user's settings, naming the flag at fault.
func (c *GPTConfig) Validate() error {
	if c.Model != "gpt" {
		return configf("--model %s is not gpt", c.Model)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"epochs", c.Epochs}, {"batch-size", c.BatchSize}, {"seq-len", c.Net.Context}, {"d-model", c.Net.DModel}, {"layers", c.Net.Layers}, {"heads", c.Net.Heads}} {
		if err := positive(p.name, p.v); err != nil {
			return err
		}
	}
	for _, p := range []struct {
		name string
		v    float64
	}{{"lr", c.LR}, {"weight-decay", c.WeightDecay}, {"clip-norm", c.ClipNorm}} {
		if err := finiteNonNegative(p.name, p.v); err != nil {
			return err
		}
	}
	if err := c.TextSource.validate(); err != nil {
		return err
	}
	switch {
	case !(c.MinLR >= 0 && c.MinLR <= 1):
		return configf("--min-lr must be in [0, 1], got %v", c.MinLR)
	case c.Warmup < 0 || c.Net.FFDim < 0:
		return configf("--warmup and --ff-dim must not be negative")
	}
	probe := c.Net
	probe.Vocab = 1
	if err := probe.Validate(); err != nil {
		return configf("%v", err)
	}
	return nil
}

// TrainGPT trains the decoder-only Transformer zoo.GPT on text (c.Data:
// text:FILE or text:DIR, as a char LM) into a run directory: config.json,
// vocab.json, summary.txt, metrics.jsonl, state.safetensors,
// model.safetensors (a model file, rewritten after every epoch),
// history.png and results.json, whose held_out_bpc is measured on the
// held-out part after training.
func TrainGPT(ctx context.Context, c GPTConfig, version string, o Options) (*Result, error) {
	s, err := begin(o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	text, err := loadText(ctx, "gpt", &c.TextSource, c.Net.Context, s.ckpt != nil)
	if err != nil {
		return nil, err
	}
	c.Net.Vocab = text.vocab.Len()
	c.Threads, c.Version, c.Created, c.Args = runtime.GOMAXPROCS(0), version, time.Now().UTC(), s.args()
	model, err := newGPTModel(&c, text.train.Len())
	if err != nil {
		return nil, err
	}
	return s.trainGPT(ctx, &c, text, model)
}

// newGPTModel builds the network and compiles it with AdamW and the
// warm-up + cosine schedule over all the steps of the run.
func newGPTModel(c *GPTConfig, windows int) (*train.Model, error) {
	net, err := zoo.NewGPT(c.Net)
	if err != nil {
		return nil, configf("%v", err)
	}
	c.Net = net.Options
	if _, err := nn.Build(net, []int{c.Net.Context}, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return nil, err
	}
	steps := c.Epochs * ((windows + c.BatchSize - 1) / c.BatchSize)
	opt := &optim.AdamW{WeightDecay: c.WeightDecay, Beta2: 0.99}
	opt.GlobalClipNorm = c.ClipNorm
	opt.Schedule = optim.Warmup{Steps: c.Warmup, Then: optim.CosineDecay{Initial: c.LR, DecaySteps: max(steps-c.Warmup, 1), Alpha: c.MinLR}}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, zoo.NewBitsPerChar())
	if err != nil {
		return nil, err
	}
	model.SetSeed(c.Seed)
	return model, nil
}

func (s *session) trainGPT(ctx context.Context, c *GPTConfig, text *textData, model *train.Model) (*Result, error) {
	if err := s.create("gpt"); err != nil {
		return nil, err
	}
	summary, err := nn.Summary(model.Net, []int{c.Net.Context})
	if err != nil {
		return nil, err
	}
	if err := s.writeStart(c, summary); err != nil {
		return nil, err
	}
	if !s.follower() {
		if err := WriteJSON(s.dir.File(VocabFile), text.vocab); err != nil {
			return nil, err
		}
	}
	loader, err := data.NewLoader(text.train, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return nil, err
	}
	if s.ckpt == nil {
		fmt.Fprintf(s.progress, "%s: %d characters, vocabulary of %d; %d training and %d held-out windows of %d\n%s",
			text.path, c.Chars, text.vocab.Len(), text.train.Len(), text.heldOut.Len(), c.Net.Context, summary)
	}
	meta := modelfile.Meta{Family: "gpt", InputShape: []int{c.Net.Context}, Vocab: text.vocab}
	weights := &epochWeights{path: s.dir.File(ModelFile), net: model.Net, meta: meta}
	hist, elapsed, stop, err := s.fit(ctx, model, loader, train.FitOptions{Epochs: c.Epochs, Callbacks: []train.Callback{weights}})
	if stop != nil || err != nil {
		return stop, err
	}
	held, err := model.Evaluate(ctx, text.heldOut, 64)
	if err != nil {
		if ctx.Err() != nil {
			return s.interrupted(hist), nil
		}
		return nil, fmt.Errorf("evaluating on the held-out text: %w", err)
	}
	if err := weights.OnEpochEnd(nil, nil); err != nil {
		return nil, err
	}
	if err := s.dir.WriteHistoryPlot(hist, "gpt", "bpc"); err != nil {
		return nil, err
	}
	steps := model.Optimizer.Iterations()
	loss := held["loss"]
	result := map[string]any{
		"run_dir": s.dir.Path, "model": "gpt", "epochs": len(hist.Epochs), "steps": steps,
		"held_out_loss": loss, "held_out_perplexity": math.Exp(loss), "held_out_bpc": loss / math.Ln2,
		"vocabulary": text.vocab.Len(), "train_seconds": elapsed.Seconds(),
		"train_chars_per_sec": float64(steps*c.BatchSize*c.Net.Context) / elapsed.Seconds(),
		"parameters":          countWeights(model.Net), "seed": c.Seed, "threads": c.Threads,
	}
	if err := s.dir.WriteResults(result, hist); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("held-out perplexity %.3f, %.3f bits per character, %d steps in %s; run directory %s",
		math.Exp(loss), loss/math.Ln2, steps, elapsed.Round(time.Second), s.dir.Path)
	return &Result{Dir: s.dir.Path, Summary: result, Message: msg, History: hist}, nil
}

func countWeights(l nn.Layer) int {
	n := 0
	for _, w := range nn.AllWeights(l) {
		n += w.Var.Value.Len()
	}
	return n
}
