package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	runs "github.com/strata-dl/strata/run"
)

// dataset is a loaded classification dataset with a train and a test split.
type dataset = runs.Dataset

// loadDataset reads a --data spec (see run.LoadDataset).
func loadDataset(spec string) (*dataset, error) { return runs.LoadDataset(spec) }

// modelFlags defines the flags that name a saved classifier: --run DIR,
// --model-file FILE (a model file: modelfile.Save's, strata train's or an
// older build's), --weights FILE (an alias of --model-file) and --model
// NAME (a zoo classifier whose weights the file holds, for files without
// an architecture).
func modelFlags(fs *flags) (run, model, file *string) {
	run = fs.String("run", "", "run directory written by strata train")
	file = fs.String("model-file", "", "model file instead of --run: .safetensors (strata train, modelfile.Save) or .onnx; the CLI rebuilds only nn layers and zoo models (a struct model of your own must be loaded with modelfile.Load in the program that registers its type)")
	fs.StringVar(file, "weights", "", "alias of --model-file")
	model = fs.String("model", "", "zoo classifier the file holds weights of (default: the file's architecture)")
	return run, model, file
}

// limit keeps the first n samples of d (n ≤ 0: all).
func limit(d data.Tensors, n int) data.Tensors {
	if n <= 0 || n >= d.Len() {
		return d
	}
	return d.Slice(0, n)
}

// writeJSON atomically writes v as indented JSON.
func writeJSON(path string, v any) error { return runs.WriteJSON(path, v) }

func readJSON(path string, v any) error { return runs.ReadJSON(path, v) }

func positive(name string, v int) error {
	if v <= 0 {
		return usagef("--%s must be positive, got %d", name, v)
	}
	return nil
}

// printJSON prints v as one line of JSON (the --json summary).
func printJSON(out io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("--json: %w (a result is not a finite number)", err)
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// modelLoadError explains err, an error loading the model file path: a
// type the file names that this program does not register (a user's
// struct model) gets a message saying what the CLI can rebuild; other
// errors are returned as they are.
func modelLoadError(path string, err error) error {
	var ut *nn.UnknownTypeError
	if errors.As(err, &ut) {
		return fmt.Errorf("%s: the model uses the type %q, which strata does not know: the CLI rebuilds only nn layers and zoo models; a struct model must be loaded with modelfile.Load from the program that registers its type (nn.RegisterLayer)", path, ut.Type)
	}
	return err
}
