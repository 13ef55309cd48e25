package train

import (
	"context"
	"fmt"
	"iter"
	"sort"
	"strconv"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/tensor"
)

// RanksKey is the checkpoint metadata key that records the number of ranks
// of the run that wrote it; a checkpoint without it comes from one process.
const RanksKey = "loop.ranks"

// distRun is the data-parallel side of a Fit call over several ranks; a
// nil *distRun is a single-process Fit. Under data parallelism:
//
//   - every rank reads its part of each global batch (data.Loader's
//     ShardEpochFrom), and validation splits the validation set over the
//     ranks (data.Loader.Part);
//   - after every step the ranks' running logs are combined into the
//     sample-weighted mean Σ c_r·v_r / Σ c_r (c_r: the samples rank r has
//     seen in the epoch), exact for the loss and for mean metrics such as
//     accuracy, MAE or MSE, approximate for metrics that are not a mean over
//     samples (AUC, precision, F1); every rank sees the same logs, so that
//     callbacks (early stopping, learning-rate schedules) decide alike;
//   - the same all-reduce carries each rank's "stop" vote (its context is
//     cancelled), so that all ranks stop after the same step; the loaders
//     run under a context that the caller's cancellation does not reach;
//   - only rank 0 draws the progress bar and writes checkpoints.
type distRun struct {
	comm   dist.Communicator
	shard  data.Shard
	seen   float64 // samples this rank has trained on in the epoch
	stop   bool    // the ranks voted to stop
	vec    []float64
	keys   []string
	val    *data.Loader // this rank's part of the validation set
	valLen int
}

// startDist prepares Fit for data-parallel training when opts.Comm has
// several ranks: it checks a resumed checkpoint's rank count, hands the
// communicator to the trainer and broadcasts the trainer's state (weights
// and optimizer slots) from rank 0. It returns nil for one process.
func startDist(t Trainer, opts *FitOptions) (*distRun, error) {
	ranks := 1
	if opts.Comm != nil {
		ranks = opts.Comm.Size()
	}
	if opts.Resume != nil && opts.Resume.File != nil {
		was := 1
		if s, ok := opts.Resume.File.Metadata[RanksKey]; ok {
			var err error
			if was, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("train: checkpoint metadata %s=%q is not a number", RanksKey, s)
			}
		}
		if was != ranks {
			return nil, fmt.Errorf("train: the checkpoint was written by a run of %d rank(s) and this run has %d: "+
				"resume with the same number of ranks (mpirun -np %d)", was, ranks, was)
		}
	}
	if ranks == 1 {
		if dt, ok := t.(DataParallelTrainer); ok {
			return nil, dt.SetDataParallel(nil, opts.DataParallel)
		}
		return nil, nil
	}
	dt, ok := t.(DataParallelTrainer)
	if !ok {
		return nil, fmt.Errorf("train: a %T cannot train data-parallel (it does not implement DataParallelTrainer)", t)
	}
	if err := dt.SetDataParallel(opts.Comm, opts.DataParallel); err != nil {
		return nil, err
	}
	var named []checkpoint.Named
	var err error
	if s, ok := t.(Stateful); ok {
		named, _, err = s.State()
	} else if p, ok := PartsOf(t); ok {
		named, _, err = SaveParts(p)
	} else {
		return nil, fmt.Errorf("train: a %T has no state to broadcast from rank 0 (declare its Parts)", t)
	}
	if err != nil {
		return nil, err
	}
	state := make([]*tensor.Tensor, len(named))
	for i, n := range named {
		state[i] = n.Tensor
	}
	if err := BroadcastState(opts.Comm, state); err != nil {
		return nil, err
	}
	return &distRun{comm: opts.Comm}, nil
}

// rank returns this process's rank (0 for one process).
func (d *distRun) rank() int {
	if d == nil {
		return 0
	}
	return d.comm.Rank()
}

// shardOf returns the shard of loader l for this rank.
func (d *distRun) shardOf(l *data.Loader, o DataParallelOptions) data.Shard {
	s := data.Shard{Rank: d.comm.Rank(), Ranks: d.comm.Size()}
	if o.GlobalBatch {
		s.GlobalBatch = l.Options().BatchSize
	}
	return s
}

// epochLen returns the number of steps of an epoch.
func (d *distRun) epochLen(l *data.Loader, o DataParallelOptions) int {
	if d == nil {
		return l.Len()
	}
	n, err := l.ShardLen(d.shardOf(l, o))
	if err != nil {
		return -1
	}
	return n
}

// epoch returns the batches of epoch from batch first: the loader's own,
// or this rank's part of the global batches.
func (d *distRun) epoch(ctx context.Context, l *data.Loader, o DataParallelOptions, epoch, first int) iter.Seq2[*data.Batch, error] {
	if d == nil {
		return l.EpochFrom(ctx, epoch, first)
	}
	d.seen = 0
	return l.ShardEpochFrom(context.WithoutCancel(ctx), epoch, first, d.shardOf(l, o))
}

// interrupted reports whether Fit must stop: ctx is cancelled (one
// process) or the ranks voted to stop at the last step.
func (d *distRun) interrupted(ctx context.Context) bool {
	if d == nil {
		return ctx.Err() != nil
	}
	return d.stop
}

// combine replaces this rank's logs, after a step on n samples, with the
// sample-weighted mean over the ranks, and collects the ranks' votes to
// stop (ctx cancelled on any rank).
func (d *distRun) combine(ctx context.Context, logs Logs, n int) (Logs, error) {
	if d == nil {
		return logs, nil
	}
	d.seen += float64(n)
	stop := 0.0
	if ctx.Err() != nil {
		stop = 1
	}
	out, votes, err := d.weightedMean(logs, d.seen, stop)
	if err != nil {
		return nil, err
	}
	d.stop = d.stop || votes > 0
	return out, nil
}

// mean returns the sample-weighted mean over the ranks of this rank's
// epoch logs (the logs themselves for one process).
func (d *distRun) mean(logs Logs) (Logs, error) {
	if d == nil {
		return logs, nil
	}
	out, _, err := d.weightedMean(logs, d.seen, 0)
	return out, err
}

// weightedMean all-reduces [w, extra, w·logs[k]…] and returns
// Σ w_r·logs_r[k] / Σ w_r for every key and Σ extra_r.
func (d *distRun) weightedMean(logs Logs, w, extra float64) (Logs, float64, error) {
	d.keys = d.keys[:0]
	for k := range logs {
		d.keys = append(d.keys, k)
	}
	sort.Strings(d.keys)
	d.vec = append(d.vec[:0], w, extra, float64(len(d.keys)))
	for _, k := range d.keys {
		d.vec = append(d.vec, w*logs[k])
	}
	if err := d.comm.AllReduce64(d.vec); err != nil {
		return nil, 0, fmt.Errorf("train: data parallel: combining the ranks' logs: %w", err)
	}
	if want := float64(d.comm.Size() * len(d.keys)); d.vec[2] != want {
		return nil, 0, fmt.Errorf("train: data parallel: the ranks log different values (%s logs %v)", dist.Describe(d.comm), d.keys)
	}
	out := make(Logs, len(d.keys))
	for i, k := range d.keys {
		if d.vec[0] > 0 {
			out[k] = d.vec[3+i] / d.vec[0]
		}
	}
	return out, d.vec[1], nil
}

// evaluate runs t over this rank's part of l and returns the sample-weighted
// mean of the ranks' logs, the same on every rank.
func (d *distRun) evaluate(ctx context.Context, t Tester, l *data.Loader) (Logs, error) {
	if d == nil {
		return evaluate(ctx, t, l)
	}
	if d.val == nil {
		for r := range d.comm.Size() {
			if _, n, err := l.Part(data.Shard{Rank: r, Ranks: d.comm.Size()}); err != nil {
				return nil, err
			} else if n == 0 {
				return nil, fmt.Errorf("train: the validation set is too small to give each of %d ranks a sample", d.comm.Size())
			}
		}
		var err error
		if d.val, d.valLen, err = l.Part(data.Shard{Rank: d.comm.Rank(), Ranks: d.comm.Size()}); err != nil {
			return nil, err
		}
	}
	logs, err := evaluate(context.WithoutCancel(ctx), t, d.val)
	if err != nil {
		return nil, err
	}
	out, _, err := d.weightedMean(logs, float64(d.valLen), 0)
	return out, err
}

// writes reports whether this rank writes files (checkpoints): rank 0.
func (d *distRun) writes() bool { return d.rank() == 0 }

// ranks returns the number of ranks of the run (1 without a communicator).
func (r *Run) ranks() int {
	if r.Options == nil || r.Options.Comm == nil {
		return 1
	}
	return r.Options.Comm.Size()
}
