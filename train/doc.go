// Package train runs training: Compile a network with an optimizer, a loss
// and metrics into a Model, then Fit, Evaluate and Predict as in Keras.
//
// The loop (Fit) knows only the Trainer interface: a TrainStep per batch
// that returns the batch's values. Model is the built-in Trainer; a GAN or
// VAE supplies its own step (several tapes, losses and optimizers) and
// reuses everything else, which Fit owns: the running means of what steps
// return, NaN and divergence detection, shape panics turned into errors,
// progress bar, validation, callbacks, checkpoints (Parts), resume. Every piece the loop uses is exported, so the loop
// can also be written by hand (see Fit's doc comment).
//
// Callbacks (EarlyStopping, ModelCheckpoint, ReduceLROnPlateau,
// LearningRateScheduler, CSVLogger, JSONLogger, TerminateOnNaN) return
// errors; ErrStopTraining ends training cleanly.
//
// Errors: Fit, Evaluate and Predict return errors for bad data and shapes
// (a shape panic inside a step is recovered and returned, naming the
// layer); a NaN or infinite loss is a *NaNError naming the epoch and batch;
// cancelling the context stops after the current step with ErrInterrupted
// after writing a checkpoint. Checkpoints (SaveCheckpoint, LoadCheckpoint)
// hold weights, optimizer state, random state and the loop position, so
// that a resumed run is bit-identical to an uninterrupted one at the same
// thread count.
//
// Data parallelism: with FitOptions.Comm (a dist.Communicator of several
// MPI ranks) Fit trains as PyTorch's DistributedDataParallel does — each
// rank a disjoint part of every global batch (data.Loader.ShardEpochFrom),
// gradients summed over the ranks in buckets during the backward pass
// (DataParallel; AveragedOptimizer for custom steps), state broadcast from
// rank 0, logs and validation combined over the ranks, rank 0 alone
// writing. N ranks at per-rank batch B end with the parameters of one
// process at batch N·B, up to float32 rounding.
package train
