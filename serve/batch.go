package serve

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// job is one request's rows waiting for a batch.
type job struct {
	ctx  context.Context
	x    []float32 // n samples, flattened
	n    int
	done chan result // buffered: the worker never blocks on it
}

// result is a job's rows of the network's output.
type result struct {
	y   []float32 // n × outPer
	err error
}

// batcher gathers the jobs of one model into batches and runs them.
type batcher struct {
	m        *Model
	per      int // input elements per sample
	outPer   int // output elements per sample
	maxBatch int
	maxDelay time.Duration
	queue    chan *job
	observe  func(rows int, d time.Duration) // metrics hook
	// arriving counts requests being read and decoded for this model: a
	// worker with a part-full batch waits for them (up to maxDelay), and
	// runs at once when none is coming.
	arriving atomic.Int64

	mu     sync.RWMutex // guards closed against sends on a closed queue
	closed bool
	wg     sync.WaitGroup
}

func newBatcher(m *Model, per, outPer int, o Options, observe func(int, time.Duration)) *batcher {
	b := &batcher{m: m, per: per, outPer: outPer, maxBatch: o.MaxBatch, maxDelay: o.MaxDelay,
		queue: make(chan *job, o.MaxQueue), observe: observe}
	for range o.Workers {
		b.wg.Add(1)
		go b.work()
	}
	return b
}

// errQueueFull and errClosed are the overload answers.
var (
	errQueueFull = fmt.Errorf("queue full")
	errClosed    = fmt.Errorf("server is shutting down")
)

// admit counts one more arriving request unless arriving and queued
// requests already number max or more; it reports whether it did. The
// check and the count are one atomic step (a compare-and-swap loop), so
// a burst of concurrent requests cannot all pass the check before any
// of them is counted. (A request moving from arriving to the queue is
// briefly counted twice, which only errs on the side of refusing.)
func (b *batcher) admit(max int) bool {
	for {
		a := b.arriving.Load()
		if int(a)+len(b.queue) >= max {
			return false
		}
		if admitPause != nil {
			admitPause()
		}
		if b.arriving.CompareAndSwap(a, a+1) {
			return true
		}
	}
}

// admitPause, when set by a test, runs between admit's check and its
// count, to widen the window another arrival could slip through.
var admitPause func()

// submit queues j without waiting: a full queue is an error at once.
func (b *batcher) submit(j *job) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return errClosed
	}
	select {
	case b.queue <- j:
		return nil
	default:
		return errQueueFull
	}
}

// close stops the workers once the queued jobs are done.
func (b *batcher) close() {
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		close(b.queue)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// work is one worker: gather a batch, run it, hand out the rows.
func (b *batcher) work() {
	defer b.wg.Done()
	p := &train.Predictor{Net: b.m.Net}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		batch []*job
		buf   []float32
		carry *job
	)
	for {
		first := carry
		carry = nil
		if first == nil {
			j, ok := <-b.queue
			if !ok {
				return
			}
			first = j
		}
		batch = append(batch[:0], first)
		rows := first.n
		var open bool
		batch, rows, carry, open = b.gather(batch, rows, timer)
		buf = b.run(p, batch, rows, buf)
		clear(batch)
		if !open && carry == nil {
			return
		}
	}
}

// gather adds queued jobs to batch until it holds maxBatch rows, or the
// queue is empty and no request is being decoded, or maxDelay has passed
// since the first; a job that would overflow the batch comes back as
// carry for the next one. open is false once the queue is closed and
// empty.
func (b *batcher) gather(batch []*job, rows int, timer *time.Timer) ([]*job, int, *job, bool) {
	var deadline time.Time
	for rows < b.maxBatch {
		var j *job
		var ok bool
		select {
		case j, ok = <-b.queue:
		default:
			if b.maxDelay < 0 || b.arriving.Load() == 0 {
				return batch, rows, nil, true
			}
			now := time.Now()
			if deadline.IsZero() {
				deadline = now.Add(b.maxDelay)
			}
			if !now.Before(deadline) {
				return batch, rows, nil, true
			}
			// Wait for the next job, looking again at the arrivals at
			// least every pollArrivals.
			timer.Reset(min(deadline.Sub(now), pollArrivals))
			select {
			case j, ok = <-b.queue:
				timer.Stop()
			case <-timer.C:
				continue
			}
		}
		if !ok {
			return batch, rows, nil, false
		}
		if rows+j.n > b.maxBatch {
			return batch, rows, j, true
		}
		batch = append(batch, j)
		rows += j.n
	}
	return batch, rows, nil, true
}

// pollArrivals is how often a waiting worker checks that requests are
// still being decoded.
const pollArrivals = 200 * time.Microsecond

// run computes one batch and sends each job its rows. Jobs whose caller
// has gone are skipped.
func (b *batcher) run(p *train.Predictor, batch []*job, rows int, buf []float32) []float32 {
	live := batch[:0]
	rows = 0
	for _, j := range batch {
		if err := j.ctx.Err(); err != nil {
			j.done <- result{err: err}
			continue
		}
		live = append(live, j)
		rows += j.n
	}
	if len(live) == 0 {
		return buf
	}
	// Batches run at whatever size they have: autograd's pool keeps its
	// buffers by size class, so a batch of a new size reuses those of a
	// similar one. (Before it did, batches were padded to a few sizes:
	// each new size allocated megabytes of fresh buffers.)
	var x *tensor.Tensor
	if len(live) == 1 {
		x = tensor.New(append([]int{rows}, b.m.InputShape...), live[0].x)
	} else {
		buf = buf[:0]
		for _, j := range live {
			buf = append(buf, j.x...)
		}
		x = tensor.New(append([]int{rows}, b.m.InputShape...), buf)
	}
	start := time.Now()
	y, err := predict(p, x, b.maxBatch)
	b.observe(rows, time.Since(start))
	if err == nil && y.Len() != rows*b.outPer {
		err = fmt.Errorf("the network returned %v for %d samples, want %d values per sample", y.Shape(), rows, b.outPer)
	}
	off := 0
	for _, j := range live {
		if err != nil {
			j.done <- result{err: err}
			continue
		}
		n := j.n * b.outPer
		j.done <- result{y: y.Data()[off : off+n : off+n]}
		off += n
	}
	return buf
}

// predict runs the network, turning any panic into an error.
func predict(p *train.Predictor, x *tensor.Tensor, batch int) (y *tensor.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("inference failed: %v", r)
		}
	}()
	return p.Predict(context.Background(), x, batch)
}
