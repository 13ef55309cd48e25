package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// Model is a network compiled with an optimizer, a loss and metrics: the
// built-in Trainer behind Fit, Evaluate and Predict (Keras's
// model.compile). Create it with Compile.
type Model struct {
	Net       nn.Layer
	Optimizer optim.Optimizer
	Loss      losses.Loss
	Metrics   []metrics.Metric

	// ClassWeights, when set, weight each sample's loss by the weight of
	// its class (sparse integer targets), for imbalanced data.
	ClassWeights []float32
	// SampleWeights, when set, weight sample i of the training dataset
	// (indexed as the dataset is) by SampleWeights[i].
	SampleWeights []float32
	// WeightedMetrics makes the metrics count each sample with its class
	// and sample weight too (Keras's weighted_metrics); by default the
	// weights change the loss only and the metrics stay unweighted.
	WeightedMetrics bool

	params  []*autograd.Var
	reg     []nn.NamedWeight // regularized weights, found once at Compile
	pool    *autograd.Pool
	rngSrc  *rand.PCG
	rng     *rand.Rand
	weights []float32 // per-batch sample weights buffer
	wt      *tensor.Tensor
	dp      *DataParallel // data-parallel steps (SetDataParallel), or nil
}

// Compile returns a Model training net (which must be built: see nn.Build)
// with opt on loss, reporting metrics. Dropout and other stochastic layers
// draw from a source seeded with 0 unless SetSeed is called.
func Compile(net nn.Layer, opt optim.Optimizer, loss losses.Loss, ms ...metrics.Metric) (*Model, error) {
	if net == nil || opt == nil || loss == nil {
		return nil, errors.New("train: Compile needs a network, an optimizer and a loss")
	}
	params := nn.Trainable(net)
	if len(params) == 0 {
		return nil, errors.New("train: the network has no trainable weights (build it with nn.Build first)")
	}
	m := &Model{Net: net, Optimizer: opt, Loss: loss, Metrics: ms, params: params, pool: autograd.NewPool()}
	for _, w := range nn.AllWeights(net) {
		if w.Reg != nil && w.Trainable {
			m.reg = append(m.reg, w)
		}
	}
	m.SetSeed(0)
	return m, nil
}

// SetSeed reseeds the source of the model's stochastic layers (dropout).
func (m *Model) SetSeed(seed uint64) {
	m.rngSrc = rand.NewPCG(seed, 0x5eed)
	m.rng = rand.New(m.rngSrc)
}

// Params returns the trainable weights in stable order.
func (m *Model) Params() []*autograd.Var { return m.params }

// Network returns the compiled network (for callbacks and checkpoints).
func (m *Model) Network() nn.Layer { return m.Net }

// Optimizers returns the model's optimizer.
func (m *Model) Optimizers() []optim.Optimizer { return []optim.Optimizer{m.Optimizer} }

// EpochMetrics returns the compiled metrics, which Fit and Evaluate reset
// and read (see Metered).
func (m *Model) EpochMetrics() []metrics.Metric { return m.Metrics }

// batchWeights returns per-sample weights for b from class and sample
// weights, or nil when neither is set.
func (m *Model) batchWeights(b *data.Batch) (*tensor.Tensor, error) {
	if m.ClassWeights == nil && m.SampleWeights == nil {
		return nil, nil
	}
	n := b.X.Dim(0)
	if cap(m.weights) < n {
		m.weights = make([]float32, n)
	}
	w := m.weights[:n]
	for i := range w {
		w[i] = 1
		if m.ClassWeights != nil {
			c := int(b.Y.Data()[i])
			if b.Y.Len() != n || c < 0 || c >= len(m.ClassWeights) {
				return nil, fmt.Errorf("class weights need integer class targets in [0, %d); sample %d has %v", len(m.ClassWeights), i, b.Y.Data()[i])
			}
			w[i] *= m.ClassWeights[c]
		}
		if m.SampleWeights != nil && b.Indices != nil {
			w[i] *= m.SampleWeights[b.Indices[i]]
		}
	}
	if m.wt == nil || m.wt.Len() != n {
		m.wt = tensor.New([]int{n}, w)
	}
	return m.wt, nil
}

// TrainStep runs one optimization step on a batch, updates the metrics
// and returns the batch's loss. It is the step Fit calls (Fit checks the
// loss, keeps its running mean and reads the metrics); it reads, in order:
//
//	tape := autograd.NewTape(pool); tape.Watch(params...)
//	pred := net.Forward(&nn.Ctx{Training: true, RNG: rng}, autograd.Const(x))
//	loss := lossFn.Compute(pred, y, weights) + regularization penalties
//	grads, _ := tape.Gradients(loss, params...)
//	opt.Step(params, grads); update metrics; tape.Release()
//
// The class and sample weights weight the loss; they weight the metrics
// only with WeightedMetrics.
func (m *Model) TrainStep(b *data.Batch) (Logs, error) {
	sw, err := m.batchWeights(b)
	if err != nil {
		return nil, err
	}
	tape := autograd.NewTape(m.pool)
	defer tape.Release()
	tape.Watch(m.params...)
	pred := m.Net.Forward(&nn.Ctx{Training: true, RNG: m.rng}, autograd.Const(b.X))
	loss := m.Loss.Compute(pred, b.Y, sw)
	for _, w := range m.reg {
		loss = autograd.Add(loss, w.Reg.Penalty(w.Var))
	}
	lv, scale, err := m.syncLoss(float64(loss.Item()), b.X.Dim(0)) // data parallel: the global batch's loss
	if err != nil {
		return nil, err
	}
	if math.IsNaN(lv) || math.IsInf(lv, 0) {
		return Logs{"loss": lv}, nil // Fit stops here; the weights stay as they are
	}
	grads, err := m.gradients(tape, loss, scale)
	if err != nil {
		return nil, err
	}
	if err := m.Optimizer.Step(m.params, grads); err != nil {
		return nil, err
	}
	if err := m.syncBuffers(); err != nil {
		return nil, err
	}
	var mw []float32
	if sw != nil && m.WeightedMetrics {
		mw = sw.Data()
	}
	for _, mt := range m.Metrics {
		mt.Update(b.Y, pred.Value, mw)
	}
	return Logs{"loss": lv}, nil
}

// TestStep evaluates a batch (inference mode, no tape): it updates the
// metrics and returns the batch's loss.
func (m *Model) TestStep(b *data.Batch) (Logs, error) {
	return m.testStep(b, m.Metrics)
}

func (m *Model) testStep(b *data.Batch, ms []metrics.Metric) (Logs, error) {
	tape := autograd.NewInferenceTape(m.pool)
	defer tape.Release()
	pred := m.Net.Forward(&nn.Ctx{}, tape.Input(b.X))
	loss := m.Loss.Compute(pred, b.Y, nil)
	for _, mt := range ms {
		mt.Update(b.Y, pred.Value, nil)
	}
	return Logs{"loss": float64(loss.Item())}, nil
}

// Evaluate returns the loss and metrics of the model over a dataset
// (inference mode, batched), with the compiled metrics and any extra ones
// given here (Keras's evaluate with metrics added without recompiling);
// an extra metric is reset first and holds its result afterwards.
func (m *Model) Evaluate(ctx context.Context, ds data.Dataset, batchSize int, extra ...metrics.Metric) (Logs, error) {
	l, err := data.NewLoader(ds, data.LoaderOptions{BatchSize: batchSize})
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return evaluate(ctx, m, l)
	}
	return evaluate(ctx, &withMetrics{m: m, ms: append(append([]metrics.Metric(nil), m.Metrics...), extra...)}, l)
}

// withMetrics evaluates a Model with more metrics than it was compiled with.
type withMetrics struct {
	m  *Model
	ms []metrics.Metric
}

func (w *withMetrics) TestStep(b *data.Batch) (Logs, error) { return w.m.testStep(b, w.ms) }
func (w *withMetrics) EpochMetrics() []metrics.Metric       { return w.ms }

// Tester is a trainer that can also evaluate a batch without training:
// TestStep returns the batch's values (means over its samples), as
// TrainStep does, and updates the Metered metrics.
type Tester interface {
	TestStep(b *data.Batch) (Logs, error)
}

// Evaluate runs t's TestStep over every batch of l and returns the means
// of the values it returns, weighted by batch size, with the results of
// t's metrics (see Metered). Shape panics come back as errors.
func Evaluate(ctx context.Context, t Tester, l *data.Loader) (Logs, error) {
	return evaluate(ctx, t, l)
}

func evaluate(ctx context.Context, t Tester, l *data.Loader) (Logs, error) {
	resetEpoch(t)
	var means Means
	for b, err := range l.Epoch(ctx, 0) {
		if err != nil {
			return nil, err
		}
		logs, err := runStep(t.TestStep, b)
		if err != nil {
			return nil, err
		}
		means.Add(logs, batchSize(b))
	}
	return epochLogs(&means, t), nil
}

// Predict runs the network over x [n, ...] in batches (inference mode)
// and returns the outputs [n, ...]. It is safe for concurrent use, also on
// one network (see Predictor); keep a Predictor to reuse buffers.
func Predict(ctx context.Context, net nn.Layer, x *tensor.Tensor, batchSize int) (*tensor.Tensor, error) {
	return (&Predictor{Net: net}).Predict(ctx, x, batchSize)
}

// Predictor runs a network in inference mode, reusing its buffers from one
// batch and one call to the next: a steady-state call allocates only its
// result.
//
// A Predictor is safe for concurrent use: its buffer pool is locked, each
// call runs on a tape of its own, and a network's Forward in inference mode
// (nn.Ctx{Training: false}) only reads the weights. Concurrent calls share
// the pool, so a server may keep one Predictor per network for all its
// goroutines (see package serve, which also gathers concurrent requests
// into batches). Do not train or load weights into Net while predictions
// run.
type Predictor struct {
	Net  nn.Layer
	once sync.Once
	pool *autograd.Pool

	mu    sync.Mutex
	calls []*predictCall // idle, for the next calls
}

// predictCall is what one Predict call needs besides its result: an
// inference tape (reset between batches) and a context. Predictors keep
// them from one call to the next, so that a steady-state call allocates
// only its result.
type predictCall struct {
	tape *autograd.Tape
	ctx  nn.Ctx
}

// call returns an idle predictCall, or a new one.
func (p *Predictor) call() *predictCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	if k := len(p.calls); k > 0 {
		c := p.calls[k-1]
		p.calls = p.calls[:k-1]
		return c
	}
	return &predictCall{tape: autograd.NewInferenceTape(p.pool)}
}

// done resets c's tape and keeps c for a later call.
func (p *Predictor) done(c *predictCall) {
	c.tape.Reset()
	c.ctx = nn.Ctx{}
	p.mu.Lock()
	p.calls = append(p.calls, c)
	p.mu.Unlock()
}

// Predict runs the network over x [n, ...] in batches of batchSize (0:
// 32) and returns the outputs [n, ...]. Shape errors come back as errors.
// It is safe to call from several goroutines at once.
func (p *Predictor) Predict(ctx context.Context, x *tensor.Tensor, batchSize int) (out *tensor.Tensor, err error) {
	defer recoverShape(&err)
	p.once.Do(func() {
		if p.pool == nil {
			p.pool = autograd.NewPool()
		}
	})
	if batchSize <= 0 {
		batchSize = 32
	}
	n := x.Dim(0)
	call := p.call()
	defer p.done(call) // also after a shape panic: Reset releases what the tape holds
	for lo := 0; lo < n; lo += batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if lo > 0 {
			call.tape.Reset()
		}
		hi := min(lo+batchSize, n)
		xb := x
		if lo > 0 || hi < n {
			xb = x.Slice(lo, hi)
		}
		y := p.Net.Forward(&call.ctx, call.tape.Input(xb)).Value
		if out == nil {
			out = outputFor(n, y.Shape())
		}
		row := y.Len() / (hi - lo)
		copy(out.Data()[lo*row:hi*row], y.Data())
	}
	if out == nil {
		return nil, errors.New("train: Predict on an empty input")
	}
	return out, nil
}

// outputFor returns a zero tensor [n, batch[1:]...] for the outputs of n
// samples whose batches come out shaped batch.
func outputFor(n int, batch []int) *tensor.Tensor {
	var buf [8]int
	return tensor.Zeros(append(append(buf[:0], n), batch[1:]...)...)
}

// Predict runs the model's network over x in batches. It is safe for
// concurrent use with other Predict calls, not with Fit or Evaluate.
func (m *Model) Predict(ctx context.Context, x *tensor.Tensor, batchSize int) (*tensor.Tensor, error) {
	return (&Predictor{Net: m.Net, pool: m.pool}).Predict(ctx, x, batchSize)
}

// Parts returns what a checkpoint of the model holds: every weight
// ("model/"), the optimizer's slots ("optimizer/") and the random state of
// the stochastic layers ("rng.model").
func (m *Model) Parts() Parts {
	return Parts{
		Networks:   map[string]nn.Layer{"model/": m.Net},
		Optimizers: map[string]optim.Optimizer{"optimizer/": m.Optimizer},
		RNGs:       map[string]*rand.PCG{"rng.model": m.rngSrc},
	}
}

// DivergenceFactor is how many times its first value (or 1, if larger) a
// training loss may grow before Fit declares divergence. A loss computed stably
// from logits rarely becomes NaN: with a learning rate far too large it
// explodes to 1e20 and beyond while staying finite, and training is just
// as lost.
const DivergenceFactor = 1e6

// NaNError reports a value returned by a training step (a loss, most
// often) that became NaN or infinite.
type NaNError struct {
	Epoch, Batch int    // 1-based epoch, 0-based batch
	Key          string // the log key ["loss" when empty]
	Value        float64
}

func (e *NaNError) Error() string {
	key := e.Key
	if key == "" {
		key = "loss"
	}
	return fmt.Sprintf("%s is %v at epoch %d, batch %d: training diverged (lower the learning rate)", key, e.Value, e.Epoch, e.Batch)
}

// Fit trains the model on in-memory inputs x [n, ...] and targets y
// ([n] class indices or [n, ...] values) — Keras's model.fit(x, y,
// batch_size, epochs, validation_split, shuffle). It builds the data
// loaders and calls the package-level Fit.
func (m *Model) Fit(ctx context.Context, x, y *tensor.Tensor, opts FitOptions) (*History, error) {
	ds := data.Tensors{X: x, Y: y}
	if err := ds.Validate(); err != nil {
		return nil, err
	}
	trainDS, valDS := ds, opts.ValidationData
	if opts.ValidationSplit > 0 {
		if valDS != nil {
			return nil, errors.New("train: give either ValidationSplit or ValidationData, not both")
		}
		tr, val, err := data.Split(ds, opts.ValidationSplit)
		if err != nil {
			return nil, err
		}
		trainDS, valDS = tr, &val
	}
	if m.SampleWeights != nil && len(m.SampleWeights) != ds.Len() {
		return nil, fmt.Errorf("train: %d sample weights for %d samples", len(m.SampleWeights), ds.Len())
	}
	m.SetSeed(opts.Seed)
	loader, err := data.NewLoader(trainDS, data.LoaderOptions{BatchSize: opts.BatchSize, Shuffle: !opts.NoShuffle, Seed: opts.Seed})
	if err != nil {
		return nil, err
	}
	if valDS != nil {
		if opts.Validation, err = data.NewLoader(*valDS, data.LoaderOptions{BatchSize: max(opts.BatchSize, 256)}); err != nil {
			return nil, fmt.Errorf("validation data: %w", err)
		}
	}
	return Fit(ctx, m, loader, opts)
}
