// Package checkpoint reads and writes the files a run leaves behind: model
// weights in the safetensors format (the one PyTorch and Hugging Face use),
// NumPy .npy arrays, and any file written atomically.
//
// Weights are a list of Named tensors whose names are the model's dotted
// parameter paths ("conv1.kernel", "bn1.moving_mean"); WriteSafetensors and
// SaveSafetensors store them in the order given as little-endian F32, with a
// "__metadata__" map of strings (the model's architecture as JSON, for
// instance). ReadSafetensors and LoadSafetensors validate the whole file
// before trusting it, and Match and Assign put a loaded File into a model's
// parameters, reporting every missing, unexpected and mis-shaped name at once.
//
// Every Save function goes through WriteFileAtomic: the bytes go to a
// temporary file in the same directory, which is synced and renamed over the
// destination, and the directory is synced, so a crash leaves either the old
// file or the new one, never a torn one.
//
// Errors: nothing in this package panics on a bad file. Readers return an
// error that names the file (for the Load functions), what was wrong and
// where (byte offset, tensor name, expected and actual sizes); sizes read
// from a file are checked against the file's length or a sane limit before
// anything is allocated for them.
package checkpoint
