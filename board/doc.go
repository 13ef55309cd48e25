// Package board serves a live training dashboard for a directory of runs, in
// the manner of TensorBoard: `strata board --logdir runs`.
//
// # Runs
//
// Every direct sub-directory of the log directory that holds at least one of
// the files below is a run; its name is the directory name. Directories whose
// names start with a dot are ignored.
//
//   - config.json: a JSON object (model, flags, seed, ...). A numeric
//     top-level "epochs" field is shown as the planned length of the run.
//   - metrics.jsonl: one JSON object per line, appended while the run trains.
//     Epoch lines carry "epoch", step lines carry "step"; every other numeric
//     field except times ("time", "time_s", ...) is a scalar to plot against
//     the epoch or the step. A last line without its newline is still being
//     written and is left out until it is complete (or until it is a whole
//     JSON object); malformed lines are skipped and counted, never fatal.
//   - results.json: the final metrics, written when the run is done.
//   - summary.txt: the model summary.
//   - PNG images anywhere below the run directory (four levels deep at most).
//     Names of the form NAME_epoch_N.png or NAME_step_N.png form a sequence
//     that the page shows with a slider.
//
// # HTTP API
//
// All API answers are JSON; errors are {"error": "..."} with a 4xx or 5xx
// status.
//
//	GET /                          the dashboard page (embedded HTML, CSS and JS)
//	GET /api/runs                  {logdir, now, poll_ms, total, offset, more, runs: [{name,
//	                                display, error, config, results, last, lines, pending,
//	                                skipped, summary, done, modified}]}; newest first (latest
//	                                change of a run file), ?offset=N&limit=M (M at most and by
//	                                default 1000); "more" counts the runs after the page
//	GET /api/runs/{run}/scalars    {run, from, total, more, lines: [...], pending}; ?from=N
//	                               returns the lines from index N on (at most 20000 and 8 MB;
//	                               "more" says to ask again), so a poll fetches only new lines
//	GET /api/runs/{run}/images     {run, sequences: [{name, axis, frames: [{path, name,
//	                               version, index}]}], groups: [{name, images}], truncated}
//	GET /api/runs/{run}/summary    {run, summary, truncated}; summary is null without summary.txt
//	GET /files/{run}/{path...}     a regular file below the run directory
//
// A run's "name" is its id in URLs: the directory name, or "~" and its
// bytes in hex when the name is not UTF-8, holds a control character or
// starts with "~"; "display" is the name to show. "error" says why a run's
// files cannot be read (the page marks that run broken and shows the
// others). The server keeps, per listed run, where each metrics line is and
// the last ones, not the lines: a scalars request reads its page from the
// file.
//
// "last" is the latest epoch line, "lines" the number of complete metrics
// lines, "pending" tells that a whole JSON object follows the last newline
// (the scalars answer carries it apart, as it is not counted yet). Image
// "version" changes whenever the file changes; the page adds it to the URL.
//
// # Security
//
// The server only reads. It serves regular files below the log directory and
// nothing else: paths with "..", "." or hidden elements, backslashes, NUL
// bytes and absolute paths are refused, and every file is opened through an
// [os.Root], so a symbolic link that leads out of the log directory, or an
// absolute one, is refused too (a relative link that stays inside is
// followed). Only GET and HEAD are
// accepted; request bodies, URLs longer than 2 KiB and headers larger than
// 16 KiB are refused, and [Serve] sets read, write and idle timeouts.
//
// [Serve] listens on 127.0.0.1:6006 unless told otherwise. A non-loopback
// address (for example ":6006" or "0.0.0.0:6006") exposes every run below the
// log directory, with its configuration, metrics and images, to anyone who
// can reach the port: there is no authentication. The handler also checks the
// Host header (it must be localhost or an IP address), so that a web page
// cannot reach a dashboard on loopback by DNS rebinding; Options.AnyHost turns
// the check off, and Serve does so itself on a non-loopback address.
package board
