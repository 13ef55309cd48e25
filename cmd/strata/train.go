package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	runs "github.com/strata-dl/strata/run"
	"github.com/strata-dl/strata/zoo"
)

// The config.json types of the three kinds of run (see package run).
type (
	runConfig          = runs.ClassifierConfig
	genConfig          = runs.GenerativeConfig
	charLMConfig       = runs.CharLMConfig
	charLMArchitecture = runs.CharLMArchitecture
	architecture       = runs.ClassifierArchitecture
)

const trainExamples = `  strata train                                   # CNNNet on MNIST, 3 epochs
  strata train --model mlp --epochs 5 --json
  strata train --model lenet --optimizer sgd --lr 0.05 --early-stopping 2 --validation-split 0.1
  strata train --data idx:/path/to/fashion-mnist --out runs/fashion
  strata train --resume runs/cnn-20261128-120000   # continue an interrupted run
`

func cmdTrain(ctx context.Context, args []string, out io.Writer) error {
	// Models with their own kind of training have their own flags.
	model := modelArg(args)
	if dir := resumeArg(args); dir != "" && model == "" {
		model = runs.ReadModel(dir)
	}
	switch {
	case model == "charlm":
		return cmdTrainCharLM(ctx, args, out)
	case model == "gpt":
		return cmdTrainGPT(ctx, args, out)
	case runs.IsGenerative(model):
		return cmdTrainGenerative(ctx, args, out)
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
	fs.StringVar(&c.Data, "data", "mnist", "data: mnist, idx:DIR (MNIST-layout IDX files), csv:FILE (label in the last column) or images:DIR (a sub-directory of images per class)")
	fs.IntVar(&c.Epochs, "epochs", 3, "number of epochs")
	fs.IntVar(&c.BatchSize, "batch-size", 32, "batch size")
	fs.StringVar(&c.Optimizer, "optimizer", "adam", "optimizer: adam, sgd, rmsprop, adamw, adagrad")
	fs.Float64Var(&c.LR, "lr", 0, "learning rate (0: the optimizer's default, 0.001 for Adam)")
	fs.StringVar(&c.LRSchedule, "lr-schedule", "cosine", "learning-rate schedule: "+runs.Schedules+" (decays to 0 over the run)")
	fs.Uint64Var(&c.Seed, "seed", 1, "random seed (initialization, shuffling, dropout)")
	fs.Float64Var(&c.ValidationSplit, "validation-split", 0, "fraction of the training data held out for validation (the last part, as Keras)")
	fs.IntVar(&c.EarlyStopping, "early-stopping", 0, "stop after this many epochs without improvement of the validation loss (0: off)")
	fs.IntVar(&c.TrainLimit, "train-limit", 0, "use only the first N training samples (0: all)")
	fs.IntVar(&c.TestLimit, "test-limit", 0, "use only the first N test samples (0: all)")
	rf := addRunFlags(fs, "runs/MODEL-TIMESTAMP")
	if err := parseRun(fs, args, rf, &c); err != nil {
		return err
	}
	res, err := runs.TrainClassifier(ctx, c, version(), rf.options(ctx, args))
	return rf.report(out, res, err)
}

// runFlags are the flags every train command has.
type runFlags struct {
	fs                        *flags
	out, resume               *string
	overwrite, jsonOut, quiet *bool
	maxMinutes                *float64
	epochs                    bool // --epochs given with --resume
}

func addRunFlags(fs *flags, defaultOut string) *runFlags {
	return &runFlags{
		fs:         fs,
		out:        fs.String("out", "", "run directory (default "+defaultOut+")"),
		resume:     fs.String("resume", "", "continue the interrupted run in this directory (only --epochs may change)"),
		overwrite:  fs.Bool("overwrite", false, "replace the run that --out already holds"),
		maxMinutes: fs.Float64("max-minutes", 0, "stop after the step that crosses this many minutes of training, then evaluate and save (0: no limit)"),
		jsonOut:    fs.Bool("json", false, "print a JSON summary as the last line of output"),
		quiet:      fs.Bool("quiet", false, "no progress output"),
	}
}

// parseRun parses args; with --resume it replaces *config (a pointer to a
// config type) by the run's config.json, with --epochs applied when
// given. Only --epochs, --json, --quiet and the flags in also may be
// given with --resume: the rest of the configuration is the run's.
func parseRun[C any](fs *flags, args []string, rf *runFlags, config *C, also ...string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	return resumeConfig(fs, rf, config, also...)
}

// resumeConfig is parseRun after parsing.
func resumeConfig[C any](fs *flags, rf *runFlags, config *C, also ...string) error {
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *rf.resume == "" {
		return nil
	}
	var bad string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "epochs":
			rf.epochs = true
		case f.Name == "resume" || f.Name == "json" || f.Name == "quiet" || f.Name == "max-minutes" || slices.Contains(also, f.Name):
		default:
			bad = f.Name
		}
	})
	if bad != "" {
		return usagef("--%s cannot be changed when resuming (only --epochs can)", bad)
	}
	var prev C
	if err := runs.ReadJSON(filepath.Join(*rf.resume, runs.ConfigFile), &prev); err != nil {
		return fmt.Errorf("cannot resume: %w", err)
	}
	if rf.epochs {
		setEpochs(&prev, epochsOf(config))
	}
	*config = prev
	return nil
}

// epochsOf and setEpochs read and write the Epochs of a config.
func epochsOf(c any) int {
	switch c := c.(type) {
	case *runConfig:
		return c.Epochs
	case *genConfig:
		return c.Epochs
	case *charLMConfig:
		return c.Epochs
	}
	return 0
}

func setEpochs(c any, n int) {
	switch c := c.(type) {
	case *runConfig:
		c.Epochs = n
	case *genConfig:
		c.Epochs = n
	case *charLMConfig:
		c.Epochs = n
	}
}

// options returns the run options the flags ask for, with the
// communicator of cmdTrainDist.
func (rf *runFlags) options(ctx context.Context, args []string) runs.Options {
	o := runs.Options{Dir: *rf.out, Overwrite: *rf.overwrite, Args: args, Progress: os.Stdout, Command: "strata train", Comm: commOf(ctx), MaxMinutes: *rf.maxMinutes}
	if *rf.resume != "" {
		o.Dir, o.Resume = *rf.resume, true
	}
	if *rf.quiet {
		o.Progress = io.Discard
	}
	return o
}

// report prints a training call's outcome: its line and, with --json, its
// summary; an interrupted run says how to resume and exits 0.
func (rf *runFlags) report(out io.Writer, res *runs.Result, err error) error {
	if err != nil {
		return err
	}
	if res.Interrupted {
		fmt.Fprintf(os.Stderr, "\nstrata train: interrupted; checkpoint saved. Resume with: strata train --resume %s\n", res.Dir)
		return nil
	}
	fmt.Fprintln(out, res.Message)
	if *rf.jsonOut {
		return printJSON(out, res.Summary)
	}
	return nil
}
