package serve

import (
	"context"
	"fmt"
	"sync"
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

// gather adds queued jobs to batch until it holds maxBatch rows or
// maxDelay has passed since the first; a job that would overflow the
// batch comes back as carry for the next one. open is false once the
// queue is closed and empty.
func (b *batcher) gather(batch []*job, rows int, timer *time.Timer) ([]*job, int, *job, bool) {
	var deadline <-chan time.Time
	if b.maxDelay > 0 {
		timer.Reset(b.maxDelay)
		defer timer.Stop()
		deadline = timer.C
	}
	for rows < b.maxBatch {
		var j *job
		var ok bool
		select {
		case j, ok = <-b.queue:
		default:
			if deadline == nil {
				return batch, rows, nil, true
			}
			select {
			case j, ok = <-b.queue:
			case <-deadline:
				return batch, rows, nil, true
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
