// Command strata trains, evaluates, explains and serves neural networks.
//
//	strata train   [--model cnn] [--data mnist] [--epochs 3] ...   train and write a run directory
//	strata eval    --run DIR                                       test accuracy, F1, AUC, confusion matrix
//	strata predict --run DIR FILE...                               classify PNG/JPEG images or .npy arrays
//	strata summary --model NAME                                    Keras-style model summary
//	strata inspect FILE.safetensors                                tensor names, shapes and metadata
//	strata explain --run DIR --method ig IMAGE...                  attribution heatmaps (saliency, IG, Grad-CAM, ...)
//	strata sample  --run DIR [--reconstruct | --interpolate]        image grids from a GAN or VAE
//	strata score   --run DIR --classifier RUN                      classifier-based score of a generator
//	strata generate --run DIR --prompt TEXT                        text from a character-level language model
//	strata board   [--logdir runs]                                 the live training dashboard
//	strata bench   [--workload NAME ...] [--json]                  the performance workloads
//	strata export  --run DIR --out model.onnx                      export a trained model to ONNX
//	strata serve   --model NAME=PATH [--addr 127.0.0.1:8080]       models as a web service (Open Inference Protocol v2)
//
// Run "strata COMMAND --help" for each command's flags and examples.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/strata-dl/strata/internal/sysmem"
	runs "github.com/strata-dl/strata/run"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, out io.Writer) error
}

func commands() []command {
	return []command{
		{"train", "train a model and write a run directory", cmdTrainDist},
		{"eval", "evaluate a trained model on a test set", cmdEval},
		{"predict", "classify images or .npy arrays with a trained model", cmdPredict},
		{"summary", "print a model's Keras-style summary", cmdSummary},
		{"inspect", "list the tensors and metadata of a safetensors file", cmdInspect},
		{"sample", "draw images from a trained GAN or VAE", cmdSample},
		{"score", "score a generator with an MNIST classifier (Inception-Score formula)", cmdScore},
		{"explain", "attribute a classifier's decision to input pixels (saliency, IG, Grad-CAM)", cmdExplain},
		{"generate", "sample text from a trained character-level language model", cmdGenerate},
		{"bench", "run the standard performance workloads", cmdBench},
		{"export", "export a trained model to ONNX", cmdExport},
		{"board", "serve the training dashboard", cmdBoard},
		{"serve", "serve models over HTTP (Open Inference Protocol v2)", cmdServe},
	}
}

// usageError is a bad command line: printed with a hint to --help, exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

func main() {
	if did := sysmem.Setup(sysmem.Detect()); did != "" && os.Getenv("STRATA_DEBUG") != "" {
		fmt.Fprintln(os.Stderr, "strata:", did)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line and returns the exit status: 0 success,
// 1 failure, 2 usage error, 70 internal error.
func run(args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			if os.Getenv("STRATA_DEBUG") != "" {
				panic(r)
			}
			fmt.Fprintf(stderr, "strata: internal error: %v (set STRATA_DEBUG=1 for a stack trace; please report it)\n", r)
			code = 70
		}
	}()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		return 0
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "strata", version())
		return 0
	}
	var cmd *command
	for _, c := range commands() {
		if c.name == args[0] {
			cmd = &c
			break
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "strata: unknown command %q (commands: %s)\n", args[0], strings.Join(commandNames(), ", "))
		return 2
	}
	cmdArgs, limit, err := cutMaxMemory(args[1:])
	if err == nil {
		ctx, stop := signalContext(stderr)
		defer stop()
		err = cmd.run(sysmem.WithLimit(ctx, limit), cmdArgs, stdout)
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	}
	var ue *usageError
	var ce *runs.ConfigError
	if errors.As(err, &ue) || errors.As(err, &ce) {
		fmt.Fprintf(stderr, "strata %s: %s (see strata %s --help)\n", cmd.name, oneLine(err.Error()), cmd.name)
		return 2
	}
	fmt.Fprintf(stderr, "strata %s: %s\n", cmd.name, oneLine(err.Error()))
	return 1
}

// oneLine folds a multi-line error into one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func commandNames() []string {
	var out []string
	for _, c := range commands() {
		out = append(out, c.name)
	}
	sort.Strings(out)
	return out
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "strata: define, train, evaluate, explain and ship neural networks in Go.")
	fmt.Fprintln(w, "\nUsage: strata COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"strata COMMAND --help\" for a command's flags and examples.")
	fmt.Fprintln(w, "Every command also takes --max-memory SIZE (4G, 512MiB): jobs estimated to need more are refused.")
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}

// flags is a command's flag set with its --help text.
type flags struct {
	*flag.FlagSet
	help func()
}

// newFlags returns a flag set whose errors come back as usage errors and
// whose --help prints usage and examples to out.
func newFlags(name, synopsis, examples string, out io.Writer) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse errors are reported in one line by run
	help := func() {
		fmt.Fprintf(out, "Usage: strata %s\n\nFlags:\n", synopsis)
		fs.SetOutput(out)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if examples != "" {
			fmt.Fprintf(out, "\nExamples:\n%s", examples)
		}
	}
	return &flags{fs, help}
}

// parse parses args, turning flag errors into usage errors. Flags may come
// before, between or after positional arguments ("--" ends the flags).
func parse(fs *flags, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.help()
				return err
			}
			return usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := args[:len(args)-len(rest)]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...) // everything after "--" is positional
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

// parseNoArgs is parse for a command that takes only flags: a positional
// argument ("strata bench cnn_train" for "--workload cnn_train") is a usage
// error, never silently ignored.
func parseNoArgs(fs *flags, args []string) error {
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
