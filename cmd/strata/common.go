package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// dataset is a loaded classification dataset with a train and a test split.
type dataset struct {
	Spec    string // as given: mnist, idx:DIR, csv:FILE
	Train   data.Tensors
	Test    data.Tensors
	Classes int
	Source  string // where it was read from
	SHA256  string // checksum of the files read (dataset identity)
}

// loadDataset reads a --data spec. CSV files are split 80/20 into train
// and test (the last fifth is the test set).
func loadDataset(spec string) (*dataset, error) {
	kind, arg, _ := strings.Cut(spec, ":")
	d := &dataset{Spec: spec}
	var err error
	switch kind {
	case "mnist":
		if arg != "" {
			return nil, usagef("--data mnist takes no argument (use idx:DIR for a directory of IDX files)")
		}
		dir, err := data.MNISTDir()
		if err != nil {
			return nil, err
		}
		d.Source = dir
		d.Train, d.Test, err = data.LoadMNIST(dir)
		if err != nil {
			return nil, err
		}
		d.Classes = 10
	case "idx":
		if arg == "" {
			return nil, usagef("--data idx:DIR needs a directory")
		}
		if st, err := os.Stat(arg); err != nil {
			return nil, fmt.Errorf("data directory %s: %w", arg, errors.Unwrap(err))
		} else if !st.IsDir() {
			return nil, fmt.Errorf("data directory %s: not a directory", arg)
		}
		d.Source = arg
		if d.Train, d.Test, err = data.LoadMNIST(arg); err != nil {
			return nil, err
		}
		d.Classes = 10
	case "csv":
		if arg == "" {
			return nil, usagef("--data csv:FILE needs a file")
		}
		d.Source = arg
		all, _, err := data.LoadCSV(arg, data.CSVOptions{})
		if err != nil {
			return nil, err
		}
		if all.Len() < 2 {
			return nil, fmt.Errorf("%s: %d samples: need at least 2 (a train and a test sample)", arg, all.Len())
		}
		if d.Train, d.Test, err = data.Split(all, 0.2); err != nil {
			return nil, err
		}
		d.Classes = int(tensor.Max(all.Y, false).Item()) + 1
	default:
		return nil, usagef("unknown --data %q (want mnist, idx:DIR or csv:FILE)", spec)
	}
	for _, part := range []struct {
		name, file string
		t          data.Tensors
	}{{"training", "train-images-idx3-ubyte", d.Train}, {"test", "t10k-images-idx3-ubyte", d.Test}} {
		if part.t.Len() == 0 {
			if kind == "csv" {
				return nil, fmt.Errorf("%s: the %s set is empty (0 samples)", d.Source, part.name)
			}
			return nil, fmt.Errorf("%s: the %s set (%s) is empty (0 samples)", d.Source, part.name, part.file)
		}
	}
	if err = data.CheckLabels(d.Train.Y, d.Classes); err != nil {
		return nil, fmt.Errorf("training labels: %w", err)
	}
	if err = data.CheckLabels(d.Test.Y, d.Classes); err != nil {
		return nil, fmt.Errorf("test labels: %w", err)
	}
	d.SHA256 = checksum(d.Train, d.Test)
	return d, nil
}

// checksum identifies a dataset by its contents (SHA-256 of the float32
// values, little-endian), hashed in chunks so that no copy of the data is
// made.
func checksum(ts ...data.Tensors) string {
	h := sha256.New()
	var buf [4 << 10]byte
	for _, t := range ts {
		for _, x := range []*tensor.Tensor{t.X, t.Y} {
			if x == nil {
				continue
			}
			d := x.Data()
			for lo := 0; lo < len(d); lo += len(buf) / 4 {
				chunk := d[lo:min(lo+len(buf)/4, len(d))]
				for i, v := range chunk {
					binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
				}
				h.Write(buf[:4*len(chunk)])
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// modelFlags defines the flags that name a saved classifier: --run DIR,
// --model-file FILE (a model file: modelfile.Save's, strata train's or an
// older build's), --weights FILE (an alias of --model-file) and --model
// NAME (a zoo classifier whose weights the file holds, for files without
// an architecture).
func modelFlags(fs *flags) (run, model, file *string) {
	run = fs.String("run", "", "run directory written by strata train")
	file = fs.String("model-file", "", "model file (.safetensors) instead of --run: written by strata train or modelfile.Save")
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
func writeJSON(path string, v any) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// defaultRunDir returns runs/<model>-<timestamp>.
func defaultRunDir(model string) string {
	return filepath.Join("runs", fmt.Sprintf("%s-%s", model, time.Now().Format("20060102-150405")))
}

func positive(name string, v int) error {
	if v <= 0 {
		return usagef("--%s must be positive, got %d", name, v)
	}
	return nil
}

func finitePositive(name string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return usagef("--%s must be a finite non-negative number, got %v", name, v)
	}
	return nil
}

func threads() int { return runtime.GOMAXPROCS(0) }

// prepareRunDir creates a run directory and readies it: for a resumed run
// (ckpt non-nil) it removes what a killed process left after the
// checkpoint (see cleanRunDir); for a new run in the directory of an older
// one it removes the older run's checkpoint and metrics, which would
// otherwise be resumed or appended to under the new config.json.
func prepareRunDir(dir string, ckpt *train.Checkpoint) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if ckpt != nil {
		if err := cleanRunDir(dir, ckpt.Epoch); err != nil {
			return fmt.Errorf("cannot resume: %w", err)
		}
		return nil
	}
	if err := os.Remove(filepath.Join(dir, "state.safetensors")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return cleanRunDir(dir, 1)
}

// saveHistoryPlot writes DIR/history.png: every logged quantity but the
// learning rate and the skipped ones, per epoch.
func saveHistoryPlot(dir string, hist *train.History, title string, skip ...string) error {
	series := map[string][]float64{}
	for _, k := range hist.Last().Keys() {
		if k != "lr" && !slices.Contains(skip, k) {
			series[k] = hist.Series(k)
		}
	}
	if err := plot.SaveHistory(filepath.Join(dir, "history.png"), series, plot.HistoryOptions{Title: title}); err != nil {
		return fmt.Errorf("writing history.png: %w", err)
	}
	return nil
}

// loadResume reads the config.json of the run in dir into prev, and its
// training checkpoint. With --resume only --epochs (reported by
// epochsSet), --json, --quiet and the flags in also may be given: the rest
// of the configuration is the run's.
func loadResume(fs *flags, dir string, prev any, also ...string) (ckpt *train.Checkpoint, epochsSet bool, err error) {
	if err := readJSON(filepath.Join(dir, "config.json"), prev); err != nil {
		return nil, false, fmt.Errorf("cannot resume: %w", err)
	}
	var bad string
	fs.Visit(func(f *flag.Flag) {
		switch {
		case f.Name == "epochs":
			epochsSet = true
		case f.Name == "resume" || f.Name == "json" || f.Name == "quiet" || slices.Contains(also, f.Name):
		default:
			bad = f.Name
		}
	})
	if bad != "" {
		return nil, false, usagef("--%s cannot be changed when resuming (only --epochs can)", bad)
	}
	ckpt, err = train.LoadCheckpoint(filepath.Join(dir, "state.safetensors"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("cannot resume: %s holds no checkpoint (the run stopped before its first one was written); start it again without --resume", dir)
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot resume: %w", err)
	}
	return ckpt, epochsSet, nil
}

// writeResults adds the last epoch's logs to result as "final_<name>" and
// writes it to DIR/results.json.
func writeResults(dir string, result map[string]any, hist *train.History) error {
	for k, v := range hist.Last() {
		result["final_"+k] = v
	}
	return writeJSON(filepath.Join(dir, "results.json"), result)
}

// printJSON prints v as one line of JSON (the --json summary).
func printJSON(out io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, string(b))
	return err
}

// lrSchedules are the values of --lr-schedule.
const lrSchedules = "constant or cosine"

// setSchedule attaches the learning-rate schedule named by --lr-schedule to
// opt for a run of epochs epochs of batches steps each: "constant" keeps
// the rate; "cosine" decays it from lr along half a cosine to 0 at the
// last step (optim.CosineDecay). The schedule follows the optimizer's step
// counter, so a resumed run continues it where it stopped; resuming with
// another --epochs recomputes it for the new length.
func setSchedule(opt optim.Optimizer, name string, lr float64, epochs, batches int) error {
	if err := checkSchedule(name); err != nil {
		return err
	}
	if name == "cosine" {
		opt.SetSchedule(optim.CosineDecay{Initial: lr, DecaySteps: epochs * batches})
	}
	return nil
}

// checkSchedule returns a usage error unless name is a --lr-schedule value
// ("" is a run from before the flag existed: constant).
func checkSchedule(name string) error {
	switch name {
	case "constant", "", "cosine":
		return nil
	}
	return usagef("unknown --lr-schedule %q (want %s)", name, lrSchedules)
}
