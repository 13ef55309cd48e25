package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/train"
)

// Options are how a training call runs, besides its configuration.
type Options struct {
	// Dir is the run directory; "" creates runs/MODEL-YYYYMMDD-HHMMSS
	// uniquely (see New).
	Dir string
	// Resume continues the run in Dir from its checkpoint; the
	// configuration passed is then the run's own config.json (with only
	// Epochs changed, if at all).
	Resume bool
	// Overwrite lets a new run replace the run that Dir holds.
	Overwrite bool
	// Args is the command line, recorded in a new run's config.json.
	Args []string
	// Progress receives the summary, the progress bar and resume notes
	// (nil: nothing).
	Progress io.Writer
	// Command is what the directory's lock shows other processes
	// ["strata train"].
	Command string
	// MaxMinutes, when positive, stops training after the step that
	// crosses this many minutes (of this call); the run then evaluates
	// and saves as after its last epoch (--max-minutes). It is ignored
	// in data-parallel training (Comm with several ranks), whose ranks
	// must stop at the same step.
	MaxMinutes float64
	// Comm, when it has several ranks, trains data-parallel over them
	// (train.FitOptions.Comm; the config's batch size is the global
	// batch): every rank makes the same call, rank 0 alone creates, locks
	// and writes the run directory and prints, and the other ranks get a
	// Result with only Dir (when known) and History. A resumed run is read
	// by every rank, from a directory all hosts share. [nil: one process]
	Comm dist.Communicator
}

// Result is what a training call returns.
type Result struct {
	Dir string
	// Summary is results.json: the command's --json line.
	Summary map[string]any
	// Message is one line for people ("test accuracy 0.9921, ...").
	Message string
	// Interrupted is set when ctx stopped training after a checkpoint was
	// written: Options.Resume continues it. Summary is then nil.
	Interrupted bool
	History     *train.History
}

// session is one training call's hold on its run directory.
type session struct {
	o        Options
	dir      *Dir
	ckpt     *train.Checkpoint
	progress io.Writer
	before   int         // epochs done before this call
	budget   *TimeBudget // set when Options.MaxMinutes > 0
}

// begin starts a session: for a resumed run it locks the directory and
// reads its checkpoint, before anything else is loaded.
func begin(o Options) (*session, error) {
	if o.Command == "" {
		o.Command = "strata train"
	}
	if !(o.MaxMinutes >= 0) || math.IsInf(o.MaxMinutes, 1) {
		return nil, configf("--max-minutes must be a non-negative number, got %v", o.MaxMinutes)
	}
	s := &session{o: o, progress: o.Progress}
	if s.progress == nil || s.follower() {
		s.progress = io.Discard
	}
	if !o.Resume {
		return s, nil
	}
	if o.Dir == "" {
		return nil, configf("resuming needs the run directory")
	}
	if s.follower() { // rank 0 holds the lock; the others only read
		ckpt, err := LoadCheckpoint(o.Dir)
		if err != nil {
			return nil, err
		}
		s.dir, s.ckpt, s.before = &Dir{Path: o.Dir}, ckpt, len(ckpt.History.Epochs)
		return s, nil
	}
	ckpt, err := LoadCheckpoint(o.Dir)
	if err != nil {
		return nil, err
	}
	if s.dir, err = Resume(o.Dir, o.Command, ckpt.Epoch); err != nil {
		return nil, err
	}
	// Read again under the lock: another writer may have moved it on.
	if s.ckpt, err = LoadCheckpoint(o.Dir); err != nil {
		s.dir.Close()
		return nil, err
	}
	s.before = len(s.ckpt.History.Epochs)
	return s, nil
}

// alreadyFinished reports a resumed run whose checkpoint is past its last
// epoch: there is nothing to train, and its results.json (train time and
// speed included) stays as the run wrote it, instead of being rewritten
// with the zero time of an empty resume.
func (s *session) alreadyFinished(epochs int) (*Result, bool) {
	if s.ckpt == nil || s.ckpt.Epoch <= epochs {
		return nil, false
	}
	r := &Result{Dir: s.dir.Path, History: s.ckpt.History}
	var summary map[string]any
	if ReadJSON(s.dir.File(ResultsFile), &summary) == nil {
		r.Summary = summary
	}
	r.Message = fmt.Sprintf("run %s already finished its %d epochs: nothing to do (give --epochs N, more than %d, to train further)", s.dir.Path, epochs, epochs)
	return r, true
}

// create makes and locks the directory of a new run (after the data and
// the model were loaded, so that a run that cannot start leaves nothing).
func (s *session) create(model string) error {
	if s.dir != nil {
		return nil
	}
	if s.follower() {
		s.dir = &Dir{Path: s.o.Dir}
		return nil
	}
	d, err := New(s.o.Dir, model, s.o.Command, s.o.Overwrite)
	if err != nil {
		return err
	}
	s.dir = d
	return nil
}

// close releases the directory.
func (s *session) close() {
	if s.dir != nil {
		s.dir.Close()
	}
}

// args returns the command line to record: a new run's, or none for a
// resumed run (whose config keeps the original).
func (s *session) args() []string {
	if s.ckpt != nil {
		return nil
	}
	return s.o.Args
}

// writeStart writes config.json and summary.txt.
func (s *session) writeStart(config any, summary string) error {
	if s.follower() {
		return nil
	}
	if err := WriteJSON(s.dir.File(ConfigFile), config); err != nil {
		return err
	}
	return os.WriteFile(s.dir.File(SummaryFile), []byte(summary), 0o644)
}

// fit runs train.Fit with the run's checkpoint, metrics log and progress.
// stop, when not nil, is the run's result already: training was
// interrupted (a checkpoint is saved), or this process is an MPI follower,
// which writes nothing after training.
func (s *session) fit(ctx context.Context, t train.Trainer, loader *data.Loader, fo train.FitOptions) (hist *train.History, elapsed time.Duration, stop *Result, err error) {
	if s.ckpt != nil {
		fmt.Fprintf(s.progress, "Resuming %s at epoch %d, batch %d\n", s.dir.Path, s.ckpt.Epoch, s.ckpt.Batch)
	}
	if s.follower() {
		fo.Callbacks = onFollowers(fo.Callbacks)
	} else {
		fo.Callbacks = append([]train.Callback{&train.JSONLogger{Path: s.dir.File(MetricsFile)}}, fo.Callbacks...)
	}
	if s.o.MaxMinutes > 0 && (s.o.Comm == nil || s.o.Comm.Size() <= 1) {
		s.budget = &TimeBudget{Minutes: s.o.MaxMinutes}
		fo.Callbacks = append(fo.Callbacks, s.budget)
	}
	fo.Comm, fo.DataParallel.GlobalBatch = s.o.Comm, true // the config's batch size is the global batch
	fo.Verbose, fo.Out = 1, s.progress
	fo.CheckpointPath, fo.Resume = s.dir.File(StateFile), s.ckpt
	start := time.Now()
	hist, err = train.Fit(ctx, t, loader, fo)
	elapsed = time.Since(start)
	switch {
	case errors.Is(err, train.ErrInterrupted):
		return hist, elapsed, s.interrupted(hist), nil
	case err != nil:
		return hist, elapsed, nil, s.explainDivergence(err)
	case s.follower():
		return hist, elapsed, s.followerResult(hist), nil
	}
	return hist, elapsed, nil, nil
}

// explainDivergence adds to a NaN or divergence error which checkpoint
// the run keeps.
func (s *session) explainDivergence(err error) error {
	var nan *train.NaNError
	var div *train.DivergenceError
	if !errors.As(err, &nan) && !errors.As(err, &div) {
		return err
	}
	state := s.dir.File(StateFile)
	ck, cerr := train.LoadCheckpoint(state)
	switch {
	case cerr != nil:
		return err
	case ck.Batch == 0 && ck.Epoch > 1:
		return fmt.Errorf("%w; the checkpoint after epoch %d is kept in %s", err, ck.Epoch-1, state)
	case ck.Batch > 0:
		return fmt.Errorf("%w; the checkpoint at epoch %d, batch %d is kept in %s", err, ck.Epoch, ck.Batch, state)
	}
	return err
}

// interrupted is the result of a run stopped by its context.
func (s *session) interrupted(hist *train.History) *Result {
	return &Result{Dir: s.dir.Path, Interrupted: true, History: hist}
}

// epochsRun returns how many epochs this call ran.
func (s *session) epochsRun(hist *train.History) int { return len(hist.Epochs) - s.before }

// saveModel writes model.safetensors as a model file (modelfile.Save: the
// architecture, the weights and meta), which rebuilds the model without
// this program; legacy, the zoo architecture as older builds wrote it, is
// kept under "strata.architecture" so that those builds read it too.
func saveModel(path string, net nn.Layer, meta modelfile.Meta, legacy []byte) error {
	md, err := modelfile.Metadata(net, meta)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if legacy != nil {
		md[modelfile.KeyLegacy] = string(legacy)
	}
	return checkpoint.SaveSafetensors(path, modelfile.Tensors(net), md)
}

// checkLoop checks the settings every training run has.
func checkLoop(epochs, batchSize int, lr float64) error {
	if err := positive("epochs", epochs); err != nil {
		return err
	}
	if err := positive("batch-size", batchSize); err != nil {
		return err
	}
	return finiteNonNegative("lr", lr)
}

// positive and finiteNonNegative check numeric options, naming the flag.
func positive(name string, v int) error {
	if v <= 0 {
		return configf("--%s must be positive, got %d", name, v)
	}
	return nil
}

func finiteNonNegative(name string, v float64) error {
	if v != v || v < 0 || v > 1e308 {
		return configf("--%s must be a finite non-negative number, got %v", name, v)
	}
	return nil
}

// TimeBudget is a callback that stops training (train.ErrStopTraining)
// after the batch that crosses Minutes of training, and records that it
// did in Stopped.
type TimeBudget struct {
	train.Base
	Minutes float64
	Stopped bool
	start   time.Time
}

// OnTrainBegin starts the clock.
func (b *TimeBudget) OnTrainBegin(*train.Run) error { b.start = time.Now(); return nil }

// OnBatchEnd stops training once the budget is spent.
func (b *TimeBudget) OnBatchEnd(*train.Run, train.Logs) error {
	if time.Since(b.start).Minutes() >= b.Minutes {
		b.Stopped = true
		return train.ErrStopTraining
	}
	return nil
}

// stoppedByBudget reports whether the time budget ended training early.
func (s *session) stoppedByBudget() bool { return s.budget != nil && s.budget.Stopped }
