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
// step on a batch and returns the running logs of the epoch; ResetMetrics
// starts a new epoch. This step is the extension point: Fit knows nothing
// else about the model.
type Trainer interface {
	TrainStep(b *data.Batch) (Logs, error)
	ResetMetrics()
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
	AllowNaN     bool         // keep going when the loss is NaN/Inf [false: stop with *NaNError]
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
//		t.ResetMetrics()
//		for b, err := range loader.Epoch(ctx, epoch) {
//			logs, err := t.TrainStep(b)        // forward, loss, backward, update
//			// progress bar, NaN check, OnBatchEnd callbacks
//		}
//		val := Evaluate on opts.Validation     // logged as val_*
//		// OnEpochEnd callbacks (early stopping, checkpoints, LR schedules)
//	}
//
// A NaN or infinite loss stops training with a *NaNError naming the epoch
// and batch (unless AllowNaN). Cancelling ctx stops after the current step
// with an error wrapping ErrInterrupted, after writing a checkpoint when
// CheckpointPath is set. A panic with a shape error inside a step comes
// back as an error; other panics propagate.
//
// With opts.Comm of N > 1 ranks (every rank calls Fit alike), Fit trains
// data-parallel: it broadcasts the trainer's state (weights and optimizer
// slots, after resuming) from rank 0, gives each rank a disjoint part of
// every global batch (the loader's batch size is per rank, N·B in all,
// unless DataParallel.GlobalBatch), averages the gradients over the ranks
// (DataParallel), combines the logs and validation over the ranks, stops
// all ranks at the same step when any rank's ctx is cancelled, and lets
// only rank 0 draw progress and write checkpoints (callbacks run on every
// rank with the same logs: give file writers to rank 0 only). A checkpoint
// records N, and resuming with another number of ranks is an error.
func Fit(ctx context.Context, t Trainer, loader *data.Loader, opts FitOptions) (*History, error) {
	if opts.Epochs == 0 {
		opts.Epochs = 1
	}
	if opts.Epochs < 0 || opts.InitialEpoch < 0 {
		return nil, fmt.Errorf("train: epochs %d and initial epoch %d must not be negative", opts.Epochs, opts.InitialEpoch)
	}
	if loader == nil {
		return nil, errors.New("train: Fit needs a data loader")
	}
	if opts.Out == nil {
		opts.Out = os.Stdout
	}
	run := &Run{Trainer: t, History: &History{}, Options: &opts}
	startEpoch, startBatch := opts.InitialEpoch+1, 0
	if opts.Resume != nil {
		if err := opts.Resume.Restore(t); err != nil {
			return nil, err
		}
		startEpoch, startBatch = opts.Resume.Epoch, opts.Resume.Batch
		run.History = opts.Resume.History
		run.Steps = opts.Resume.Steps
	}
	dr, err := startDist(t, &opts) // data parallel over opts.Comm, or nil
	if err != nil {
		return nil, err
	}
	var bar *progress
	if opts.Verbose > 0 && dr.writes() {
		bar = newProgress(opts.Out, opts.Verbose, opts.Epochs, dr.epochLen(loader, opts.DataParallel))
	}
	for _, cb := range opts.Callbacks {
		if err := cb.OnTrainBegin(run); err != nil {
			return run.History, err
		}
	}
	for epoch := startEpoch; epoch <= opts.Epochs; epoch++ {
		run.Epoch = epoch
		t.ResetMetrics()
		for _, cb := range opts.Callbacks {
			if err := cb.OnEpochBegin(run); err != nil {
				return finish(run, err)
			}
		}
		first := 0
		if epoch == startEpoch {
			first = startBatch
		}
		if bar != nil {
			bar.startEpoch(epoch, first)
		}
		var logs Logs
		start := time.Now()
		next := first // the next batch to run, for an exact resume
		for b, err := range dr.epoch(ctx, loader, opts.DataParallel, epoch, first) {
			if err != nil {
				if ctx.Err() != nil {
					return interrupted(run, t, opts, epoch, next)
				}
				return finish(run, fmt.Errorf("epoch %d: %w", epoch, err))
			}
			run.Batch = b.Index
			logs, err = t.TrainStep(b)
			if err != nil {
				var nan *NaNError
				if errors.As(err, &nan) {
					nan.Epoch, nan.Batch = epoch, b.Index
					if opts.AllowNaN {
						continue
					}
					return finish(run, err) // it names the epoch and batch
				}
				return finish(run, fmt.Errorf("epoch %d, batch %d: %w", epoch, b.Index, err))
			}
			if logs, err = dr.combine(ctx, logs, b.X.Dim(0)); err != nil {
				return finish(run, fmt.Errorf("epoch %d, batch %d: %w", epoch, b.Index, err))
			}
			run.Steps++
			next = b.Index + 1
			if bar != nil {
				bar.update(b.Index+1, logs)
			}
			for _, cb := range opts.Callbacks {
				if err := cb.OnBatchEnd(run, logs); err != nil {
					return finish(run, err)
				}
			}
			if dr.interrupted(ctx) {
				return interrupted(run, t, opts, epoch, next)
			}
		}
		if dr.interrupted(ctx) {
			return interrupted(run, t, opts, epoch, next)
		}
		logs = logs.Clone()
		if logs == nil {
			logs = Logs{}
		}
		if opts.Validation != nil {
			if te, ok := t.(Tester); ok {
				val, err := dr.evaluate(ctx, te, opts.Validation)
				if err != nil {
					if ctx.Err() != nil {
						return interrupted(run, t, opts, epoch, next)
					}
					return finish(run, fmt.Errorf("epoch %d validation: %w", epoch, err))
				}
				for k, v := range val {
					logs["val_"+k] = v
				}
			}
		}
		if opt := run.Optimizers(); len(opt) > 0 {
			logs["lr"] = opt[0].LR()
		}
		elapsed := time.Since(start)
		run.History.Epochs = append(run.History.Epochs, logs)
		if bar != nil {
			bar.endEpoch(logs, elapsed)
		}
		for _, cb := range opts.Callbacks {
			if err := cb.OnEpochEnd(run, logs); err != nil {
				return finish(run, err)
			}
		}
		if opts.CheckpointPath != "" && dr.writes() {
			if err := SaveCheckpoint(opts.CheckpointPath, t, epoch+1, 0, run); err != nil {
				return run.History, fmt.Errorf("epoch %d: writing checkpoint: %w", epoch, err)
			}
		}
		if run.stop {
			break
		}
	}
	return finish(run, nil)
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
func interrupted(run *Run, t Trainer, opts FitOptions, epoch, batch int) (*History, error) {
	if opts.CheckpointPath != "" && (opts.Comm == nil || opts.Comm.Rank() == 0) {
		if err := SaveCheckpoint(opts.CheckpointPath, t, epoch, batch, run); err != nil {
			return run.History, fmt.Errorf("interrupted, and writing the checkpoint failed: %w", err)
		}
	}
	return run.History, fmt.Errorf("epoch %d, batch %d: %w", epoch, batch, ErrInterrupted)
}
