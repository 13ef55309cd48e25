package run

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/train"
)

// The files of a run directory (see the package documentation).
const (
	ConfigFile  = "config.json"
	SummaryFile = "summary.txt"
	ModelFile   = "model.safetensors"
	StateFile   = "state.safetensors"
	MetricsFile = "metrics.jsonl"
	HistoryFile = "history.png"
	ResultsFile = "results.json"
	VocabFile   = "vocab.json"
	ExplainDir  = "explain"
)

// runFiles are the files whose presence means a directory holds a run
// with something to lose: a checkpoint or a model. Without either (only a
// config.json, or metrics of an epoch whose checkpoint was never
// written), the run stopped before its first checkpoint and cannot be
// resumed: starting again in its directory loses nothing, and is what
// resuming it tells the user to do.
var runFiles = []string{StateFile, ModelFile}

// Dir is a run directory held (locked) by this process.
type Dir struct {
	Path string
	lock *Lock
}

// File returns the path of a file of the run.
func (d *Dir) File(name string) string { return filepath.Join(d.Path, name) }

// Close releases the directory's lock (a nil Dir does nothing).
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	return d.lock.Unlock()
}

// HoldsRun reports whether dir holds a run (state.safetensors or
// model.safetensors) and which file says so.
func HoldsRun(dir string) (string, bool) {
	for _, f := range runFiles {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return f, true
		}
	}
	return "", false
}

// New creates the directory of a new run and locks it for command. With
// path "", it creates runs/PREFIX-YYYYMMDD-HHMMSS exclusively (adding
// "-2", "-3", ... while the name is taken), so that runs started in the
// same second never share a directory. With a path, the directory may
// exist, but it must not hold a run unless overwrite is set, in which case
// that run's files (the layout's, sample images and explain/) are removed
// first.
func New(path, prefix, command string, overwrite bool) (*Dir, error) {
	if path == "" {
		return newUnique(filepath.Join("runs", prefix+"-"+time.Now().Format("20060102-150405")), command)
	}
	if err := os.MkdirAll(path, 0o755); err != nil {
		return nil, err
	}
	d, err := lockDir(path, command)
	if err != nil {
		return nil, err
	}
	if f, ok := HoldsRun(path); ok {
		if !overwrite {
			d.Close()
			return nil, fmt.Errorf("%s already holds a run (%s): resume it with --resume %s, choose another --out, or give --overwrite to replace it", path, f, path)
		}
		if err := d.removeRun(); err != nil {
			d.Close()
			return nil, err
		}
	}
	if err := d.Clean(1); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// newUnique creates base, or base-2, base-3, ... exclusively.
func newUnique(base, command string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		return nil, err
	}
	for i := 1; i < 10000; i++ {
		path := base
		if i > 1 {
			path = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(path, 0o755)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return lockDir(path, command)
	}
	return nil, fmt.Errorf("cannot find a free run directory name after %s", base)
}

// Resume locks the directory of an existing run for command and readies
// it to continue at epoch (the checkpoint's next epoch): see Clean.
func Resume(path, command string, epoch int) (*Dir, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	d, err := lockDir(path, command)
	if err != nil {
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	if err := d.Clean(epoch); err != nil {
		d.Close()
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	return d, nil
}

// Open locks an existing run directory for a writer that adds to it (an
// evaluation writing plots).
func Open(path, command string) (*Dir, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return lockDir(path, command)
}

func lockDir(path, command string) (*Dir, error) {
	l, err := LockDir(path, command)
	if err != nil {
		return nil, err
	}
	return &Dir{Path: path, lock: l}, nil
}

// removeRun deletes the files of the run in d.
func (d *Dir) removeRun() error {
	names := []string{ConfigFile, SummaryFile, ModelFile, StateFile, MetricsFile, HistoryFile, ResultsFile, VocabFile}
	samples, _ := filepath.Glob(d.File("samples_epoch_*.png"))
	for _, n := range names {
		samples = append(samples, d.File(n))
	}
	for _, p := range samples {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("replacing the run in %s: %w", d.Path, err)
		}
	}
	if err := os.RemoveAll(d.File(ExplainDir)); err != nil {
		return fmt.Errorf("replacing the run in %s: %w", d.Path, err)
	}
	return nil
}

// Clean readies d for a run starting or resuming at epoch (the next epoch
// to run): it removes the temporary files a killed process left behind
// (see checkpoint.WriteFileAtomic) and drops the lines of metrics.jsonl
// for epochs at or after epoch, which a process killed between logging an
// epoch and checkpointing it wrote and which the resumed run writes again.
func (d *Dir) Clean(epoch int) error {
	stale, err := filepath.Glob(d.File(".*.tmp-*"))
	if err != nil {
		return err
	}
	for _, p := range stale {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	path := d.File(MetricsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
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

// WriteJSON atomically writes v as indented JSON to path.
func WriteJSON(path string, v any) error {
	return checkpoint.WriteFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// ReadJSON reads path's JSON into v; the error names the file.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// ReadModel returns the "model" field of the config.json of the run in
// dir ("" when it cannot be read), which tells which config type the rest
// is.
func ReadModel(dir string) string {
	var c struct{ Model string }
	if ReadJSON(filepath.Join(dir, ConfigFile), &c) != nil {
		return ""
	}
	return c.Model
}

// WriteResults adds the last epoch's logs to result as "final_<name>" and
// writes it to results.json.
func (d *Dir) WriteResults(result map[string]any, hist *train.History) error {
	for k, v := range hist.Last() {
		result["final_"+k] = v
	}
	return WriteJSON(d.File(ResultsFile), result)
}

// WriteHistoryPlot writes history.png: every logged quantity but the
// learning rate and the skipped ones, per epoch.
func (d *Dir) WriteHistoryPlot(hist *train.History, title string, skip ...string) error {
	series := map[string][]float64{}
	for _, k := range hist.Last().Keys() {
		if k != "lr" && !slices.Contains(skip, k) {
			series[k] = hist.Series(k)
		}
	}
	if err := plot.SaveHistory(d.File(HistoryFile), series, plot.HistoryOptions{Title: title}); err != nil {
		return fmt.Errorf("writing history.png: %w", err)
	}
	return nil
}

// LoadCheckpoint reads the training checkpoint of the run in dir, with an
// error that says what to do when there is none.
func LoadCheckpoint(dir string) (*train.Checkpoint, error) {
	ckpt, err := train.LoadCheckpoint(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("cannot resume: %s holds no checkpoint (the run stopped before its first one was written); start it again without --resume", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot resume: %w", err)
	}
	return ckpt, nil
}

// trimmed returns s without surrounding space (for config lists).
func trimmed(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}
