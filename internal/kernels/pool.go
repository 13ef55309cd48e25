package kernels

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Threads returns the number of workers Parallel may use.
func Threads() int { return runtime.GOMAXPROCS(0) }

// Parallel calls fn(lo, hi) over disjoint chunks covering [0, n), running
// chunks concurrently when n is at least 2*grain. grain is the smallest
// chunk worth a hand-off to another worker; fn must be safe for concurrent
// use on disjoint ranges. Parallel returns when all chunks are done; a
// panic in any chunk is re-raised in the caller after all chunks finish.
//
// The chunks are the Threads() (or fewer) contiguous near-equal ranges,
// the first run by the caller, the others by the persistent workers of the
// package's pool. A Parallel called while the pool is busy (from inside fn,
// or from another goroutine) runs fn(0, n) on its own goroutine instead.
func Parallel(n, grain int, fn func(lo, hi int)) {
	if n <= 0 {
		return
	}
	grain = max(grain, 1)
	w := min(Threads(), n/grain)
	if w <= 1 {
		fn(0, n)
		return
	}
	parallelRun(funcTask(fn), n, w)
}

// rangeTask is work over [0, n) that can be cut into ranges. Kernels that
// must not allocate pass a pooled pointer rather than a closure.
type rangeTask interface{ run(lo, hi int) }

type funcTask func(lo, hi int)

func (f funcTask) run(lo, hi int) { f(lo, hi) }

// The pool: one worker goroutine per extra thread, started on first use
// and kept for the life of the process. A worker that finishes a chunk
// spins for a short while watching for the next one (hand-off then costs
// well under a microsecond), then parks on a channel.
const (
	workerSpin = 100 * time.Microsecond // how long an idle worker watches for work
	callerSpin = 500 * time.Microsecond // how long the caller watches for a late chunk
)

var pool struct {
	busy    atomic.Bool // held by the one parallelRun in flight
	workers []*worker   // guarded by busy
}

type worker struct {
	start, done signal
	seq         uint64 // rounds posted; owned by the busy holder
	task        rangeTask
	lo, hi      int
	panicked    any
}

// parallelRun runs t over w contiguous near-equal ranges of [0, n),
// concurrently, and returns when all are done.
func parallelRun(t rangeTask, n, w int) {
	if w <= 1 || !pool.busy.CompareAndSwap(false, true) {
		t.run(0, n)
		return
	}
	for len(pool.workers) < w-1 {
		wk := &worker{}
		wk.start.init()
		wk.done.init()
		pool.workers = append(pool.workers, wk)
		go wk.loop()
	}
	ws := pool.workers[:w-1]
	for i, wk := range ws {
		wk.task, wk.lo, wk.hi = t, (i+1)*n/w, (i+2)*n/w
		wk.seq++
		wk.start.post(wk.seq)
	}
	defer func() {
		var p any
		for _, wk := range ws {
			wk.done.wait(wk.seq, callerSpin)
			wk.task = nil
			if wk.panicked != nil && p == nil {
				p = wk.panicked
			}
			wk.panicked = nil
		}
		pool.busy.Store(false)
		if p != nil {
			panic(p)
		}
	}()
	t.run(0, n/w)
}

func (wk *worker) loop() {
	var seq uint64
	for {
		seq++
		wk.start.wait(seq, workerSpin)
		wk.exec()
		wk.done.post(seq)
	}
}

func (wk *worker) exec() {
	defer func() {
		if r := recover(); r != nil {
			wk.panicked = r
		}
	}()
	wk.task.run(wk.lo, wk.hi)
}

// signal hands a round number from one goroutine to another: wait spins
// for a while, then parks until post. One goroutine posts, one waits.
type signal struct {
	seq    atomic.Uint64
	parked atomic.Bool
	wake   chan struct{}
}

func (s *signal) init() { s.wake = make(chan struct{}, 1) }

// post publishes round v and wakes the waiter if it parked.
func (s *signal) post(v uint64) {
	s.seq.Store(v)
	if s.parked.Load() && s.parked.CompareAndSwap(true, false) {
		s.wake <- struct{}{}
	}
}

// wait returns once round v is posted.
func (s *signal) wait(v uint64, spin time.Duration) {
	if s.seq.Load() == v {
		return
	}
	var start time.Time
	for i := 1; ; i++ {
		if s.seq.Load() == v {
			return
		}
		if i%256 == 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spin {
				break
			}
			runtime.Gosched()
		}
	}
	// Park. Either post sees parked and sends, or we see its round and
	// take parked back; if both, its token must be consumed.
	s.parked.Store(true)
	if s.seq.Load() == v && s.parked.CompareAndSwap(true, false) {
		return
	}
	<-s.wake
}
