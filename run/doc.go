// Package run defines, writes and reads a training run's directory, and
// trains the command line's models into one: flags make a config, one
// call (TrainClassifier, TrainGenerative, TrainCharLM) does the rest. The
// strata command is a thin shell over it; a Go program can call the same
// functions.
//
// # The run directory
//
// A run lives in one directory, by default runs/MODEL-YYYYMMDD-HHMMSS
// (created exclusively: a second run started in the same second gets
// "-2", "-3", ...). Its files:
//
//	config.json        the configuration (ClassifierConfig, GenerativeConfig
//	                   or CharLMConfig as JSON): everything needed to repeat
//	                   the run; "model" tells which
//	summary.txt        the network's Keras-style summary
//	model.safetensors  the trained model: weights by dotted path, with the
//	                   architecture as JSON under "strata.architecture" in
//	                   the safetensors metadata (ModelFile)
//	state.safetensors  the training checkpoint (train.SaveCheckpoint):
//	                   weights, optimizer state, random state, loop position,
//	                   history, and inside an epoch its running means; written
//	                   atomically after every epoch and when interrupted
//	metrics.jsonl      one JSON object per epoch: {"epoch": 3, "loss": ...,
//	                   "time_s": ...} (train.JSONLogger); NaN is null
//	history.png        the logged quantities per epoch
//	samples_epoch_NNN.png  generative models: 64 samples after each epoch
//	vocab.json         character language models: the vocabulary
//	results.json       the final summary (the --json line), with the last
//	                   epoch's logs as "final_<name>"
//	explain/           attribution maps that strata explain writes
//	.lock              held by the process writing the run (see Lock)
//
// # Writers
//
// Every process that writes into a run directory — training, resuming,
// evaluation writing plots — holds its lock (Lock), so that two of them
// never interleave their files; the error for a held lock names the
// holder's process, host, command and start time (a lock whose process
// has died on this host is taken over). A new run refuses a directory
// that already holds a run (a checkpoint or a model) unless
// Options.Overwrite, which first removes that run's files.
//
// Readers (strata eval, predict, the board) read config.json,
// model.safetensors, metrics.jsonl and results.json and take no lock: every
// file is replaced atomically or appended one whole line at a time.
package run
