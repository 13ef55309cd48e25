package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
)

// Trainer is what Fit trains: the built-in Model or a custom one (a GAN
// with two optimizers, a VAE with a composite loss). TrainStep runs one
// step on a batch — forward, losses, gradients, updates — and returns the
// step's values (each a mean over the batch's samples: "loss", "d_loss",
// ...). This step is the extension point, and all a trainer must write:
// Fit keeps the running means of the values over the epoch, checks them
// for NaN and divergence, turns a shape panic inside the step into an
// error naming the layer, calls the callbacks, and checkpoints and resumes
// the trainer (see PartsOf). Optional interfaces add to it: Metered
// (stateful metrics), Resetter, Tester (validation), Networked,
// WithOptimizers, WithParts, Stateful.
type Trainer interface {
	TrainStep(b *data.Batch) (Logs, error)
}

// Networked is implemented by trainers with one network (for callbacks
// that snapshot or save weights).
type Networked interface {
	Network() nn.Layer
}

// WithOptimizers is implemented by trainers whose learning rates callbacks
// may change.
type WithOptimizers interface {
	Optimizers() []optim.Optimizer
}

// ErrStopTraining is returned by a callback to end training early and
// cleanly; Fit then returns the history and a nil error.
var ErrStopTraining = errors.New("train: stop training")

// ErrInterrupted is returned (wrapped) by Fit when its context was
// cancelled; when FitOptions.CheckpointPath is set, a checkpoint of the
// last completed step was written first.
var ErrInterrupted = errors.New("train: interrupted")

// FitOptions configure Fit. Zero values mean the defaults in brackets.
type FitOptions struct {
	Epochs       int          // [1]
	InitialEpoch int          // epochs already done (for resuming) [0]
	Validation   *data.Loader // evaluated after each epoch when the trainer is a Tester
	Callbacks    []Callback   // called in order
	Verbose      int          // 0 silent, 1 progress bar, 2 one line per epoch [0]
	Out          io.Writer    // where progress goes [os.Stdout]
	AllowNaN     bool         // keep going when a step returns NaN/Inf or a loss diverges [false: stop with *NaNError or *DivergenceError]
	Resume       *Checkpoint  // continue from this checkpoint (see Checkpoint)
	// CheckpointPath, when set, receives a training checkpoint (atomically)
	// after every epoch and when interrupted.
	CheckpointPath string

	// For Model.Fit over in-memory arrays:
	BatchSize       int           // [32]
	NoShuffle       bool          // keep the sample order [shuffle every epoch]
	Seed            uint64        // shuffling and dropout [0]
	ValidationSplit float64       // last fraction of x, y held out before shuffling (Keras) [0]
	ValidationData  *data.Tensors // explicit validation set (instead of a split)

	// Comm, when it has several ranks, makes Fit train data-parallel over
	// them (see Fit and DataParallel) [nil: one process].
	Comm         dist.Communicator `json:"-"`
	DataParallel DataParallelOptions
}

// Run is the state of a Fit call that callbacks see.
type Run struct {
	Trainer Trainer
	Epoch   int // 1-based current epoch
	Batch   int // 0-based batch within the epoch
	Steps   int // total steps so far in this call
	History *History
	Options *FitOptions
	stop    bool
	means   Means // of the current epoch's steps
	guard   guard
}

// Network returns the trained network when the trainer has one, else nil.
func (r *Run) Network() nn.Layer {
	if n, ok := r.Trainer.(Networked); ok {
		return n.Network()
	}
	return nil
}

// Optimizers returns the trainer's optimizers (nil when it does not say).
func (r *Run) Optimizers() []optim.Optimizer {
	if o, ok := r.Trainer.(WithOptimizers); ok {
		return o.Optimizers()
	}
	return nil
}

// StopTraining asks Fit to stop after the current epoch.
func (r *Run) StopTraining() { r.stop = true }

// Fit trains t on the batches of loader for opts.Epochs epochs. It stands
// for this loop, which you can also write yourself with the exported
// pieces:
//
//	for epoch := opts.InitialEpoch + 1; epoch <= opts.Epochs; epoch++ {
//		var means Means                        // and reset t's metrics
//		for b, err := range loader.Epoch(ctx, epoch) {
//			logs, err := t.TrainStep(b)        // forward, loss, backward, update
//			means.Add(logs, batch size)        // after checking NaN and divergence
//			// progress bar, OnBatchEnd callbacks
//		}
//		val := Evaluate on opts.Validation     // logged as val_*
//		// OnEpochEnd callbacks (early stopping, checkpoints, LR schedules)
//	}
//
// A NaN or infinite value returned by a step stops training with a
// *NaNError, and a loss (IsLoss) past DivergenceFactor times its first
// value with a *DivergenceError, both naming the epoch and batch (unless
// AllowNaN, which keeps going, as Keras does: the epoch's means then show
// the NaN, and a TerminateOnNaN callback can still stop).
// Cancelling ctx stops after the current step with an error wrapping
// ErrInterrupted, after writing a checkpoint when CheckpointPath is set.
// A panic with a shape error inside a step comes back as an error naming
// the layer; other panics propagate.
//
// With opts.Comm of N > 1 ranks (every rank calls Fit alike), Fit trains
// data-parallel: it broadcasts the trainer's state (weights and optimizer
// slots, after resuming) from rank 0, gives each rank a disjoint part of
// every global batch (the loader's batch size is per rank, N·B in all,
// unless DataParallel.GlobalBatch), has the trainer average its gradients
// over the ranks (DataParallelTrainer), combines the logs and validation
// over the ranks, stops all ranks at the same step when any rank's ctx is
// cancelled, and lets only rank 0 draw progress and write checkpoints
// (callbacks run on every rank with the same logs: give file writers to
// rank 0 only). A checkpoint records N, and resuming with another number
// of ranks is an error.
func Fit(ctx context.Context, t Trainer, loader *data.Loader, opts FitOptions) (*History, error) {
	if opts.Epochs == 0 {
		opts.Epochs = 1
	}
	if opts.Epochs < 0 || opts.InitialEpoch < 0 {
		return nil, fmt.Errorf("train: epochs %d and initial epoch %d must not be negative", opts.Epochs, opts.InitialEpoch)
	}
	if loader == nil || t == nil {
		return nil, errors.New("train: Fit needs a trainer and a data loader")
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	l := &loop{ctx: ctx, t: t, loader: loader, opts: &opts, run: &Run{Trainer: t, History: &History{}, Options: &opts}}
	startEpoch, startBatch := opts.InitialEpoch+1, 0
	if c := opts.Resume; c != nil {
		if err := c.Restore(t); err != nil {
			return nil, err
		}
		startEpoch, startBatch = c.Epoch, c.Batch
		l.run.History, l.run.Steps = c.History, c.Steps
	}
	var err error
	if l.dr, err = startDist(t, &opts); err != nil { // data parallel over opts.Comm, or nil
		return nil, err
	}
	if opts.Verbose > 0 && l.dr.writes() {
		l.bar = newProgress(opts.Out, opts.Verbose, opts.Epochs, l.dr.epochLen(loader, opts.DataParallel))
	}
	for _, cb := range opts.Callbacks {
		if err := cb.OnTrainBegin(l.run); err != nil {
			return l.run.History, err
		}
	}
	for epoch := startEpoch; epoch <= opts.Epochs; epoch++ {
		first := 0
		if epoch == startEpoch {
			first = startBatch
		}
		if err := l.epoch(epoch, first); err != nil {
			return finish(l.run, err)
		}
		if l.run.stop {
			break
		}
	}
	return finish(l.run, nil)
}

// loop is one Fit call.
type loop struct {
	ctx    context.Context
	t      Trainer
	loader *data.Loader
	opts   *FitOptions
	run    *Run
	bar    *progress
	dr     *distRun // data parallelism over FitOptions.Comm, or nil
}

// epoch runs one epoch from batch first (after a resume, the checkpoint's
// running means and metric states stand for the batches before it).
func (l *loop) epoch(epoch, first int) error {
	run := l.run
	run.Epoch = epoch
	run.means.Reset()
	resetEpoch(l.t)
	if c := l.opts.Resume; c != nil && first > 0 && epoch == c.Epoch {
		run.means = c.Means.clone()
		if err := c.restoreMetrics(l.t); err != nil {
			return err
		}
	}
	for _, cb := range l.opts.Callbacks {
		if err := cb.OnEpochBegin(run); err != nil {
			return err
		}
	}
	if l.bar != nil {
		l.bar.startEpoch(epoch, first)
	}
	start := time.Now()
	next := first // the next batch to run, for an exact resume
	for b, err := range l.dr.epoch(l.ctx, l.loader, l.opts.DataParallel, epoch, first) {
		if err != nil {
			if l.ctx.Err() != nil {
				return l.interrupted(epoch, next)
			}
			return fmt.Errorf("epoch %d: %w", epoch, err)
		}
		if err := l.step(epoch, b); err != nil {
			return err
		}
		next = b.Index + 1
		if l.dr.interrupted(l.ctx) {
			return l.interrupted(epoch, next)
		}
	}
	if l.dr.interrupted(l.ctx) {
		return l.interrupted(epoch, next)
	}
	return l.endEpoch(epoch, next, time.Since(start))
}

// step runs the trainer's step on b and everything Fit does around it.
func (l *loop) step(epoch int, b *data.Batch) error {
	run := l.run
	run.Batch = b.Index
	logs, err := runStep(l.t.TrainStep, b)
	if err != nil {
		var nan *NaNError
		if errors.As(err, &nan) {
			nan.Epoch, nan.Batch = epoch, b.Index
			return err
		}
		return fmt.Errorf("epoch %d, batch %d: %w", epoch, b.Index, err)
	}
	if err := run.guard.check(logs, epoch, b.Index); err != nil && !l.opts.AllowNaN {
		return err
	}
	run.means.Add(logs, batchSize(b))
	run.Steps++
	logs = epochLogs(&run.means, l.t)
	if logs, err = l.dr.combine(l.ctx, logs, b.X.Dim(0)); err != nil {
		return fmt.Errorf("epoch %d, batch %d: %w", epoch, b.Index, err)
	}
	if l.bar != nil {
		l.bar.update(b.Index+1, logs)
	}
	for _, cb := range l.opts.Callbacks {
		if err := cb.OnBatchEnd(run, logs); err != nil {
			return err
		}
	}
	return nil
}

// endEpoch validates, logs the epoch, calls the callbacks and checkpoints.
func (l *loop) endEpoch(epoch, next int, elapsed time.Duration) error {
	run := l.run
	logs, err := l.dr.mean(epochLogs(&run.means, l.t)) // over the ranks
	if err != nil {
		return fmt.Errorf("epoch %d: %w", epoch, err)
	}
	if te, ok := l.t.(Tester); ok && l.opts.Validation != nil {
		val, err := l.dr.evaluate(l.ctx, te, l.opts.Validation)
		if err != nil {
			if l.ctx.Err() != nil {
				return l.interrupted(epoch, next)
			}
			return fmt.Errorf("epoch %d validation: %w", epoch, err)
		}
		for k, v := range val {
			logs["val_"+k] = v
		}
	}
	if opt := run.Optimizers(); len(opt) > 0 {
		logs["lr"] = opt[0].LR()
	}
	run.History.Epochs = append(run.History.Epochs, logs)
	if l.bar != nil {
		l.bar.endEpoch(logs, elapsed)
	}
	for _, cb := range l.opts.Callbacks {
		if err := cb.OnEpochEnd(run, logs); err != nil {
			return err
		}
	}
	if l.opts.CheckpointPath != "" {
		run.means.Reset()
	}
	if l.opts.CheckpointPath != "" && l.dr.writes() {
		if err := SaveCheckpoint(l.opts.CheckpointPath, l.t, epoch+1, 0, run); err != nil {
			return fmt.Errorf("epoch %d: writing checkpoint: %w", epoch, err)
		}
	}
	return nil
}

func finish(run *Run, err error) (*History, error) {
	if errors.Is(err, ErrStopTraining) {
		err = nil
	}
	if err == nil {
		for _, cb := range run.Options.Callbacks {
			if e := cb.OnTrainEnd(run); e != nil && err == nil {
				err = e
			}
		}
	}
	return run.History, err
}

// interrupted saves a checkpoint positioned at the next batch to run and
// returns ErrInterrupted.
func (l *loop) interrupted(epoch, batch int) error {
	if l.opts.CheckpointPath != "" && l.dr.writes() {
		if err := SaveCheckpoint(l.opts.CheckpointPath, l.t, epoch, batch, l.run); err != nil {
			return fmt.Errorf("interrupted, and writing the checkpoint failed: %w", err)
		}
	}
	return fmt.Errorf("epoch %d, batch %d: %w", epoch, batch, ErrInterrupted)
}
