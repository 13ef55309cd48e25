package train

import (
	"errors"
	"fmt"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// DefaultBucketBytes is the size of a gradient bucket when
// DataParallelOptions.BucketBytes is 0: large enough that a bucket's
// all-reduce is bandwidth-bound rather than latency-bound on shared memory
// and fast networks, small enough that the first buckets start early in the
// backward pass. (PyTorch DDP uses 25 MB for models much larger than the
// ones trained here on CPUs.)
const DefaultBucketBytes = 1 << 20

// DataParallelOptions configure data-parallel training. Zero values mean
// the defaults in brackets.
type DataParallelOptions struct {
	// GlobalBatch, when set, makes the loader's batch size the global
	// batch, split as evenly as possible over the ranks (Keras's
	// distribution API; the CLI's --batch-size). By default the loader's
	// batch size is the per-rank batch and the global batch is ranks times
	// it (PyTorch DDP's DistributedSampler). [false: per rank]
	GlobalBatch bool `json:"global_batch,omitempty"`
	// BucketBytes is the size of a bucket of gradients summed by one
	// all-reduce. [DefaultBucketBytes]
	BucketBytes int `json:"bucket_bytes,omitempty"`
	// NoOverlap sums the buckets after the backward pass instead of
	// starting each one as soon as its gradients are final. [false]
	NoOverlap bool `json:"no_overlap,omitempty"`
}

// DataParallelTrainer is a Trainer that Fit can train over the ranks of a
// communicator. Before the first step Fit calls SetDataParallel, after
// which every TrainStep must average its gradients over the ranks (see
// DataParallel) so that all ranks take the same step. A nil communicator
// or one of one rank turns data parallelism off.
type DataParallelTrainer interface {
	Trainer
	SetDataParallel(c dist.Communicator, o DataParallelOptions) error
}

// DataParallel makes a step data-parallel — PyTorch's
// DistributedDataParallel for a tape. Every rank computes the loss of its
// own part of the global batch; SyncLoss sums the ranks' sample counts and
// losses, so that the step's loss (and its NaN check) is the global one,
// and returns the factor n_r/m by which the rank scales its loss (n_r its
// samples, m the global batch's); Gradients then runs the backward pass
// with the gradients written into one flat float32 buffer laid out in
// buckets, and starts the all-reduce (sum) of each bucket as soon as all
// of its gradients are final, so that the sum over the ranks,
//
//	g = Σ_r (n_r/m)·∇L_r = ∇(1/m Σ_samples loss),
//
// is the gradient of the global batch's mean loss — the gradient one
// process computes on the whole global batch, up to float32 rounding of the
// summation order. The all-reduces work in place on the gradient buffers:
// no copy in or out. After the update, SyncBuffers broadcasts the
// non-trainable weights (BatchNormalization's moving statistics) from rank
// 0, as DDP's broadcast_buffers does, so that all ranks stay identical.
//
// BatchNormalization normalizes with each rank's own batch statistics (as
// in PyTorch DDP without SyncBatchNorm): with BatchNormalization in the
// network, N ranks at per-rank batch B train like one process whose batch
// statistics are taken over groups of B samples, not like one process at
// batch N·B.
//
// A DataParallel is not safe for concurrent use.
type DataParallel struct {
	comm    dist.Communicator
	opts    DataParallelOptions
	params  []*autograd.Var
	flat    []float32   // all gradients, in buckets
	views   [][]float32 // params[i]'s gradient within flat
	bucket  []int       // the bucket of each parameter
	lo, hi  []int       // each bucket's range in flat
	left    []int       // parameters of each bucket not ready yet
	grads   []*tensor.Tensor
	buffers []*tensor.Tensor // broadcast from rank 0 after each step
	bflat   []float32
	sync    [2]float64
	err     error
}

// NewDataParallel prepares data-parallel steps over c for params (the
// trainable weights, in the same order on every rank) and buffers (the
// non-trainable weights to keep equal to rank 0's, nil if none).
// Gradients are packed in reverse order of params — the order in which a
// backward pass usually completes them — into buckets of about
// o.BucketBytes.
func NewDataParallel(c dist.Communicator, params []*autograd.Var, buffers []*tensor.Tensor, o DataParallelOptions) (*DataParallel, error) {
	if c == nil {
		return nil, errors.New("train: data parallel: no communicator")
	}
	if o.BucketBytes < 0 {
		return nil, fmt.Errorf("train: data parallel: bucket size %d bytes is negative", o.BucketBytes)
	}
	if o.BucketBytes == 0 {
		o.BucketBytes = DefaultBucketBytes
	}
	d := &DataParallel{comm: c, opts: o, params: params, buffers: buffers}
	total := 0
	for _, p := range params {
		total += p.Value.Len()
	}
	d.flat = make([]float32, total)
	d.views = make([][]float32, len(params))
	d.bucket = make([]int, len(params))
	d.grads = make([]*tensor.Tensor, len(params))
	capElems := max(o.BucketBytes/4, 1)
	off := 0
	for i := len(params) - 1; i >= 0; i-- {
		n := params[i].Value.Len()
		if len(d.lo) == 0 || off-d.lo[len(d.lo)-1] >= capElems {
			d.lo = append(d.lo, off)
			d.hi = append(d.hi, off)
			d.left = append(d.left, 0)
		}
		b := len(d.lo) - 1
		d.views[i] = d.flat[off : off+n : off+n]
		d.bucket[i] = b
		off += n
		d.hi[b] = off
	}
	n := 0
	for _, t := range buffers {
		n += t.Len()
	}
	d.bflat = make([]float32, n)
	return d, nil
}

// Comm returns the communicator.
func (d *DataParallel) Comm() dist.Communicator { return d.comm }

// Buckets returns the number of gradient buckets.
func (d *DataParallel) Buckets() int { return len(d.lo) }

// SyncLoss sums (n, n·loss) over the ranks, where loss is this rank's mean
// loss over its n samples, and returns the global batch's mean loss
// Σ n_r·loss_r / Σ n_r and the factor n/Σ n_r by which to scale this
// rank's loss before Gradients. A NaN on any rank makes the global loss
// NaN on all of them, so that every rank stops at the same step.
func (d *DataParallel) SyncLoss(loss float64, n int) (global float64, scale float32, err error) {
	d.sync = [2]float64{float64(n), float64(n) * loss}
	if err := d.comm.AllReduce64(d.sync[:]); err != nil {
		return 0, 0, err
	}
	if d.sync[0] <= 0 {
		return 0, 0, fmt.Errorf("train: data parallel: the global batch has %v samples", d.sync[0])
	}
	return d.sync[1] / d.sync[0], float32(float64(n) / d.sync[0]), nil
}

// Gradients runs the backward pass of loss (already scaled by SyncLoss's
// factor) on tape and returns the gradients of the parameters summed over
// the ranks. They live in the DataParallel's buffers, valid until the next
// call.
func (d *DataParallel) Gradients(tape *autograd.Tape, loss *autograd.Var) ([]*tensor.Tensor, error) {
	for b := range d.left {
		d.left[b] = 0
	}
	for _, b := range d.bucket {
		d.left[b]++
	}
	d.err = nil
	ready := func(i int) {
		b := d.bucket[i]
		if d.left[b]--; d.left[b] > 0 || d.opts.NoOverlap || d.err != nil {
			return
		}
		if d.err = d.comm.StartAllReduce(d.flat[d.lo[b]:d.hi[b]]); d.err == nil {
			d.err = d.comm.Progress()
		}
	}
	if err := tape.BackwardHooked(loss, d.params, d.views, ready); err != nil {
		return nil, err
	}
	if d.opts.NoOverlap && d.err == nil {
		for b := range d.lo {
			if d.err = d.comm.AllReduce(d.flat[d.lo[b]:d.hi[b]]); d.err != nil {
				break
			}
		}
	}
	if err := d.comm.Wait(); err != nil && d.err == nil {
		d.err = err
	}
	if d.err != nil {
		return nil, fmt.Errorf("train: data parallel: summing gradients: %w", d.err)
	}
	for i, p := range d.params {
		d.grads[i] = tape.Grad(p)
	}
	return d.grads, nil
}

// SyncBuffers copies rank 0's non-trainable weights to every rank (one
// broadcast).
func (d *DataParallel) SyncBuffers() error {
	if len(d.buffers) == 0 {
		return nil
	}
	return broadcastTensors(d.comm, d.buffers, d.bflat)
}

// broadcastTensors copies rank 0's ts to every rank through one broadcast
// of flat (their total size; nil: allocated).
func broadcastTensors(c dist.Communicator, ts []*tensor.Tensor, flat []float32) error {
	n := 0
	for _, t := range ts {
		n += t.Len()
	}
	if flat == nil {
		flat = make([]float32, n)
	}
	off := 0
	for _, t := range ts {
		off += copy(flat[off:], t.Data())
	}
	if err := c.Broadcast(flat, 0); err != nil {
		return err
	}
	off = 0
	for _, t := range ts {
		off += copy(t.Data(), flat[off:])
	}
	return nil
}

// BroadcastState copies rank 0's tensors ts (weights, optimizer slots:
// the same list, in the same order, on every rank) to every rank. It first
// checks that the ranks agree on the number of tensors and elements and
// returns an error on every rank when they do not.
func BroadcastState(c dist.Communicator, ts []*tensor.Tensor) error {
	n := 0
	for _, t := range ts {
		n += t.Len()
	}
	sizes := []float64{float64(len(ts)), float64(n)}
	if err := c.AllReduce64(sizes); err != nil {
		return err
	}
	k := float64(c.Size())
	if sizes[0] != k*float64(len(ts)) || sizes[1] != k*float64(n) {
		return fmt.Errorf("train: data parallel: %s holds %d state tensors of %d values, but the ranks hold %v tensors of %v values in all: "+
			"every rank must build the same model and optimizer", dist.Describe(c), len(ts), n, sizes[0], sizes[1])
	}
	return broadcastTensors(c, ts, nil)
}

// syncLoss, gradients and syncBuffers are Model.TrainStep's data-parallel
// hooks: without a communicator they do what one process does.
func (m *Model) syncLoss(loss float64, n int) (float64, float32, error) {
	if m.dp == nil {
		return loss, 1, nil
	}
	return m.dp.SyncLoss(loss, n)
}

func (m *Model) gradients(tape *autograd.Tape, loss *autograd.Var, scale float32) ([]*tensor.Tensor, error) {
	if m.dp == nil {
		return tape.Gradients(loss, m.params...)
	}
	if scale != 1 {
		loss = autograd.Scale(loss, scale)
	}
	return m.dp.Gradients(tape, loss)
}

func (m *Model) syncBuffers() error {
	if m.dp == nil {
		return nil
	}
	return m.dp.SyncBuffers()
}

// SetDataParallel makes the model's steps data-parallel over c (see
// DataParallel); a nil c, or one of one rank, makes them single-process
// again. Fit calls it when FitOptions.Comm is set.
func (m *Model) SetDataParallel(c dist.Communicator, o DataParallelOptions) error {
	if c == nil || c.Size() == 1 {
		m.dp = nil
		return nil
	}
	var buffers []*tensor.Tensor
	for _, w := range nn.AllWeights(m.Net) {
		if !w.Trainable {
			buffers = append(buffers, w.Var.Value)
		}
	}
	dp, err := NewDataParallel(c, m.params, buffers, o)
	if err != nil {
		return err
	}
	m.dp = dp
	return nil
}

var _ DataParallelTrainer = (*Model)(nil)
