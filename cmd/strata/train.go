package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// runConfig is a run's config.json: everything needed to repeat it.
type runConfig struct {
	Version         string    `json:"version"`
	Args            []string  `json:"args"`
	Model           string    `json:"model"`
	Data            string    `json:"data"`
	DataSource      string    `json:"data_source"`
	DataSHA256      string    `json:"data_sha256"`
	Epochs          int       `json:"epochs"`
	BatchSize       int       `json:"batch_size"`
	Optimizer       string    `json:"optimizer"`
	LR              float64   `json:"lr"`
	LRSchedule      string    `json:"lr_schedule"`
	Seed            uint64    `json:"seed"`
	ValidationSplit float64   `json:"validation_split"`
	EarlyStopping   int       `json:"early_stopping"`
	Threads         int       `json:"threads"`
	TrainLimit      int       `json:"train_limit,omitempty"`
	TestLimit       int       `json:"test_limit,omitempty"`
	InputShape      []int     `json:"input_shape"`
	Classes         int       `json:"classes"`
	Preprocessing   string    `json:"preprocessing"`
	OptimizerConfig any       `json:"optimizer_config,omitempty"`
	Created         time.Time `json:"created"`
}

// architecture is stored in model.safetensors' metadata so that the
// weights file alone rebuilds the model.
type architecture struct {
	Model         string `json:"model"`
	Classes       int    `json:"classes"`
	InputShape    []int  `json:"input_shape"`
	Preprocessing string `json:"preprocessing"`
}

const trainExamples = `  strata train                                   # CNNNet on MNIST, 3 epochs
  strata train --model mlp --epochs 5 --json
  strata train --model lenet --optimizer sgd --lr 0.05 --early-stopping 2 --validation-split 0.1
  strata train --data idx:/path/to/fashion-mnist --out runs/fashion
  strata train --resume runs/cnn-20261128-120000   # continue an interrupted run
`

func cmdTrain(ctx context.Context, args []string, out io.Writer) error {
	// Models with their own kind of training have their own flags.
	switch modelArg(args) {
	case "charlm":
		return cmdTrainCharLM(ctx, args, out)
	case "gpt":
		return cmdTrainGPT(ctx, args, out)
	case "dcgan", "gan", "vae", "cvae":
		return cmdTrainGenerative(ctx, args, out)
	}
	if dir := resumeArg(args); dir != "" {
		var prev struct{ Model string }
		if readJSON(filepath.Join(dir, "config.json"), &prev) == nil {
			switch prev.Model {
			case "charlm":
				return cmdTrainCharLM(ctx, args, out)
			case "dcgan", "gan", "vae", "cvae":
				return cmdTrainGenerative(ctx, args, out)
			}
		}
	}
	return cmdTrainClassifier(ctx, args, out)
}

// modelArg returns the value of --model in args ("" when absent).
func modelArg(args []string) string { return flagArg(args, "model") }

// resumeArg returns the value of --resume in args ("" when absent).
func resumeArg(args []string) string { return flagArg(args, "resume") }

// flagArg finds --name VALUE or --name=VALUE (one or two dashes) in args.
func flagArg(args []string, name string) string {
	for i, a := range args {
		if a == "--" {
			break
		}
		for _, p := range []string{"-" + name, "--" + name} {
			if a == p && i+1 < len(args) {
				return args[i+1]
			}
			if v, ok := strings.CutPrefix(a, p+"="); ok {
				return v
			}
		}
	}
	return ""
}

func cmdTrainClassifier(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("train", "train [flags]", trainExamples, out)
	c := runConfig{}
	fs.StringVar(&c.Model, "model", "cnn", "model: "+strings.Join(zoo.ClassifierNames(), ", ")+"; or charlm, gpt, dcgan, gan, vae, cvae (see their --help)")
	fs.StringVar(&c.Data, "data", "mnist", "data: mnist, idx:DIR (MNIST-layout IDX files) or csv:FILE (label in the last column)")
	fs.IntVar(&c.Epochs, "epochs", 3, "number of epochs")
	fs.IntVar(&c.BatchSize, "batch-size", 32, "batch size")
	fs.StringVar(&c.Optimizer, "optimizer", "adam", "optimizer: adam, sgd, rmsprop, adamw, adagrad")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: the optimizer's default, 0.001 for Adam)")
	fs.StringVar(&c.LRSchedule, "lr-schedule", "cosine", "learning-rate schedule: "+lrSchedules+" (decays to 0 over the run)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (initialization, shuffling, dropout)")
	fs.Float64Var(&c.ValidationSplit, "validation-split", 0, "fraction of the training data held out for validation (the last part, as Keras)")
	fs.IntVar(&c.EarlyStopping, "early-stopping", 0, "stop after this many epochs without improvement of the validation loss (0: off)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first N training samples (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first N test samples (0: all)")
	outDir := fs.String("out", "", "run directory (default runs/MODEL-TIMESTAMP)")
	resume := fs.String("resume", "", "continue the interrupted run in this directory")
	jsonOut := fs.Bool("json", false, "print a JSON summary as the last line of output")
	quiet := fs.Bool("quiet", false, "no progress output")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	var ckpt *train.Checkpoint
	if *resume != "" {
		var prev runConfig
		var epochsSet bool
		var err error
		if ckpt, epochsSet, err = loadResume(fs, *resume, &prev); err != nil {
			return err
		}
		if epochsSet {
			prev.Epochs = c.Epochs
		}
		c, *outDir = prev, *resume
	}
	if err := validate(&c); err != nil {
		return err
	}
	spec, err := zoo.LookupClassifier(c.Model)
	if err != nil {
		return usagef("%v", err)
	}
	opt, err := optim.ByName(c.Optimizer, c.LR)
	if err != nil {
		return usagef("%v", err)
	}
	ds, err := loadDataset(c.Data)
	if err != nil {
		return err
	}
	if ckpt != nil && c.DataSHA256 != "" && ds.SHA256 != c.DataSHA256 {
		return fmt.Errorf("cannot resume: the data %s has changed since the run started (sha256 %s, config.json records %s)", c.Data, ds.SHA256, c.DataSHA256)
	}
	ds.Train, ds.Test = limit(ds.Train, c.TrainLimit), limit(ds.Test, c.TestLimit)
	c.DataSource, c.DataSHA256, c.Classes = ds.Source, ds.SHA256, ds.Classes
	c.InputShape = ds.Train.XShape()
	c.Preprocessing = "x/255"
	if c.Data != "mnist" && c.Data[:3] == "csv" {
		c.Preprocessing = "none"
	}
	c.Threads, c.Version, c.Created = threads(), version(), time.Now().UTC()
	if ckpt == nil {
		c.Args = args
	}
	c.OptimizerConfig = opt.Config()

	net := spec.New(c.Classes)
	if _, err := nn.Build(net, c.InputShape, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return fmt.Errorf("model %s does not fit data of shape %v: %w", c.Model, c.InputShape, err)
	}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	if err != nil {
		return err
	}
	model.SetSeed(c.Seed)

	dir := *outDir
	if dir == "" {
		dir = defaultRunDir(c.Model)
	}
	if err := prepareRunDir(dir, ckpt); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, "config.json"), c); err != nil {
		return err
	}
	summary, err := nn.Summary(net, c.InputShape)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "summary.txt"), []byte(summary), 0o644); err != nil {
		return err
	}

	trainDS := ds.Train
	var val *data.Loader
	if c.ValidationSplit > 0 {
		tr, v, err := data.Split(ds.Train, c.ValidationSplit)
		if err != nil {
			return err
		}
		trainDS = tr
		if val, err = data.NewLoader(v, data.LoaderOptions{BatchSize: 256}); err != nil {
			return err
		}
	}
	loader, err := data.NewLoader(trainDS, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return err
	}
	if err := setSchedule(opt, c.LRSchedule, opt.LR(), c.Epochs, loader.Len()); err != nil {
		return err
	}
	progress := io.Writer(os.Stdout)
	if *quiet {
		progress = io.Discard
	}
	callbacks := []train.Callback{&train.JSONLogger{Path: filepath.Join(dir, "metrics.jsonl")}}
	if c.EarlyStopping > 0 {
		monitor := "val_loss"
		if val == nil {
			monitor = "loss"
		}
		callbacks = append(callbacks, &train.EarlyStopping{Monitor: monitor, Patience: c.EarlyStopping, RestoreBestWeights: true})
	}
	if !*quiet && ckpt == nil {
		fmt.Fprint(progress, summary)
	}
	if ckpt != nil && !*quiet {
		fmt.Fprintf(progress, "Resuming %s at epoch %d, batch %d\n", dir, ckpt.Epoch, ckpt.Batch)
	}
	epochsBefore := 0 // epochs done before this call (Fit appends to the checkpoint's history)
	if ckpt != nil {
		epochsBefore = len(ckpt.History.Epochs)
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
	var nan *train.NaNError
	if errors.As(err, &nan) {
		state := filepath.Join(dir, "state.safetensors")
		if ck, cerr := train.LoadCheckpoint(state); cerr == nil && ck.Batch == 0 && ck.Epoch > 1 {
			return fmt.Errorf("%w; the checkpoint after epoch %d is kept in %s", err, ck.Epoch-1, state)
		} else if cerr == nil && ck.Batch > 0 {
			return fmt.Errorf("%w; the checkpoint at epoch %d, batch %d is kept in %s", err, ck.Epoch, ck.Batch, state)
		}
	}
	if err != nil {
		return err
	}
	steps := (len(hist.Epochs) - epochsBefore) * trainDS.Len()

	test, err := model.Evaluate(ctx, ds.Test, 256)
	if err != nil {
		if ctx.Err() != nil { // interrupted after the last epoch's checkpoint
			return interruptedRun(dir)
		}
		return fmt.Errorf("evaluating on the test set: %w", err)
	}
	arch, _ := json.Marshal(architecture{Model: c.Model, Classes: c.Classes, InputShape: c.InputShape, Preprocessing: c.Preprocessing})
	meta := map[string]string{"format": "strata.weights.v1", "strata.architecture": string(arch)}
	if err := train.SaveWeights(filepath.Join(dir, "model.safetensors"), net, meta); err != nil {
		return err
	}
	if err := saveHistoryPlot(dir, hist, c.Model); err != nil {
		return err
	}
	result := map[string]any{
		"run_dir":               dir,
		"model":                 c.Model,
		"epochs":                len(hist.Epochs),
		"test_accuracy":         test["accuracy"],
		"test_loss":             test["loss"],
		"train_samples_per_sec": float64(steps) / elapsed.Seconds(),
		"train_seconds":         elapsed.Seconds(),
		"seed":                  c.Seed,
		"threads":               c.Threads,
	}
	if err := writeResults(dir, result, hist); err != nil {
		return err
	}
	fmt.Fprintf(out, "test accuracy %.4f, test loss %.4f, %d epochs in %s (%.0f samples/s); run directory %s\n",
		test["accuracy"], test["loss"], len(hist.Epochs), elapsed.Round(time.Second), result["train_samples_per_sec"], dir)
	if *jsonOut {
		return printJSON(out, result)
	}
	return nil
}

// interruptedRun reports an interrupted run whose checkpoint is saved; the
// command then exits 0.
func interruptedRun(dir string) error {
	fmt.Fprintf(os.Stderr, "\nstrata train: interrupted; checkpoint saved. Resume with: strata train --resume %s\n", dir)
	return nil
}

// cleanRunDir prepares the directory of a run starting or resuming at
// epoch (the next epoch to run): it removes the temporary files that a
// killed process left behind (see checkpoint.WriteFileAtomic) and drops
// the lines of metrics.jsonl for epochs at or after epoch, which a process
// killed between logging an epoch and checkpointing it wrote and which
// the resumed run writes again.
func cleanRunDir(dir string, epoch int) error {
	stale, err := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	path := filepath.Join(dir, "metrics.jsonl")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var keep []byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		var rec struct {
			Epoch int `json:"epoch"`
		}
		// A torn last line (no newline) or a later epoch is dropped.
		if len(line) == 0 || line[len(line)-1] != '\n' || json.Unmarshal(line, &rec) != nil || rec.Epoch >= epoch {
			continue
		}
		keep = append(keep, line...)
	}
	if bytes.Equal(keep, b) {
		return nil
	}
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(keep)
		return err
	})
}

func validate(c *runConfig) error {
	if err := positive("epochs", c.Epochs); err != nil {
		return err
	}
	if err := positive("batch-size", c.BatchSize); err != nil {
		return err
	}
	if err := finitePositive("lr", c.LR); err != nil {
		return err
	}
	if c.ValidationSplit < 0 || c.ValidationSplit >= 1 || c.ValidationSplit != c.ValidationSplit {
		return usagef("--validation-split must be in [0, 1), got %v", c.ValidationSplit)
	}
	if c.EarlyStopping < 0 || c.TrainLimit < 0 || c.TestLimit < 0 {
		return usagef("--early-stopping, --train-limit and --test-limit must not be negative")
	}
	return checkSchedule(c.LRSchedule)
}
