package kernels

import (
	"runtime"
	"sync"
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
// package's pool (or by the caller, if a worker has not started its chunk
// when the caller is done with its own). Workers busy-wait for 200µs after
// a chunk before parking, so back-to-back calls hand off in well under a
// microsecond. A Parallel called while the pool is busy (from inside fn,
// or from another goroutine) runs fn(0, n) on its own goroutine instead.
// fn escapes: a closure that captures variables costs one allocation per
// call (the package's own kernels pass pooled tasks to parallelRun).
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
	parallelRun(poolFunc(fn), n, w)
}

// rangeTask is work over [0, n) that can be cut into ranges. Kernels that
// must not allocate pass a pooled pointer rather than a closure.
type rangeTask interface{ run(lo, hi int) }

// runPooled is parallelRun(&task, n, w) without allocating: task is copied
// into a header from pool (a sync.Pool of *T), run, and cleared before it
// goes back, so that the pool keeps none of the caller's slices. A closure
// handed to Parallel escapes to the heap on every call; this is for the
// kernels a steady-state step calls without allocating.
func runPooled[T any, P interface {
	*T
	rangeTask
}](pool *sync.Pool, task T, n, w int) {
	p := pool.Get().(P)
	*p = task
	parallelRun(p, n, w)
	var zero T
	*p = zero
	pool.Put(p)
}

type poolFunc func(lo, hi int)

func (f poolFunc) run(lo, hi int) { f(lo, hi) }

// The pool: one worker goroutine per extra thread, started on first use
// and kept for the life of the process. A worker that finishes a chunk
// spins for a short while watching for the next one (a hand-off then costs
// well under a microsecond), then parks on a channel. Chunk i goes to
// worker i-1; a caller that has finished its own chunk takes back every
// chunk whose worker has not started it yet (a parked worker takes tens of
// microseconds to wake, and a descheduled one longer), so a slow wake-up
// costs at most the serial time. Chunk boundaries do not depend on who
// runs them.
const (
	poolWorkerSpin = 200 * time.Microsecond // how long an idle worker watches for work
	poolCallerSpin = 200 * time.Microsecond // how long the caller watches for a running chunk
)

var workerPool struct {
	busy    atomic.Bool   // held by the one parallelRun in flight
	workers []*poolWorker // guarded by busy
}

// States of a worker's chunk slot.
const (
	chunkFree    = iota // the worker is done with the slot; it may be posted
	chunkPosted         // posted, not claimed yet
	chunkRunning        // claimed by the worker
	chunkStolen         // claimed back by the caller; the worker has yet to notice
)

type poolWorker struct {
	start, done poolSignal
	state       atomic.Int32
	task        rangeTask // set before posting, read by the worker once it claims
	lo, hi      int
	panicked    any

	// Owned by the busy holder.
	seq            uint64 // rounds posted
	posted, stolen bool   // in the current call
}

// parallelRun runs t over w contiguous near-equal ranges of [0, n),
// concurrently, and returns when all are done. It runs t.run(0, n) on the
// calling goroutine if w <= 1 or the pool is busy.
func parallelRun(t rangeTask, n, w int) {
	if w <= 1 || !workerPool.busy.CompareAndSwap(false, true) {
		t.run(0, n)
		return
	}
	for len(workerPool.workers) < w-1 {
		wk := &poolWorker{}
		wk.start.init()
		wk.done.init()
		workerPool.workers = append(workerPool.workers, wk)
		go wk.loop()
	}
	ws := workerPool.workers[:w-1]
	for i, wk := range ws {
		// A worker still waking up for a chunk taken back from it in an
		// earlier call is skipped: the caller runs its chunk.
		wk.posted, wk.stolen = wk.state.Load() == chunkFree, false
		if wk.posted {
			wk.task, wk.lo, wk.hi = t, (i+1)*n/w, (i+2)*n/w
			wk.state.Store(chunkPosted)
			wk.seq++
			wk.start.post(wk.seq)
		}
	}
	defer func() {
		var p any
		for _, wk := range ws {
			if !wk.posted || wk.stolen || wk.state.CompareAndSwap(chunkPosted, chunkStolen) {
				wk.task = nil
				continue
			}
			wk.done.wait(wk.seq, poolCallerSpin)
			wk.task = nil
			if wk.panicked != nil && p == nil {
				p = wk.panicked
			}
			wk.panicked = nil
		}
		workerPool.busy.Store(false)
		if p != nil {
			panic(p)
		}
	}()
	t.run(0, n/w)
	for i, wk := range ws {
		if !wk.posted {
			t.run((i+1)*n/w, (i+2)*n/w)
		} else if wk.state.CompareAndSwap(chunkPosted, chunkStolen) {
			wk.stolen = true
			t.run((i+1)*n/w, (i+2)*n/w)
		}
	}
}

func (wk *poolWorker) loop() {
	var seq uint64
	for {
		seq++
		wk.start.wait(seq, poolWorkerSpin)
		if !wk.state.CompareAndSwap(chunkPosted, chunkRunning) {
			wk.state.Store(chunkFree) // the caller ran it
			continue
		}
		wk.exec()
		wk.state.Store(chunkFree)
		wk.done.post(seq)
	}
}

func (wk *poolWorker) exec() {
	defer func() {
		if r := recover(); r != nil {
			wk.panicked = r
		}
	}()
	wk.task.run(wk.lo, wk.hi)
}

// poolSignal hands a round number from one goroutine to another: wait spins
// for a while, then parks until post. One goroutine posts, one waits.
type poolSignal struct {
	seq    atomic.Uint64
	parked atomic.Bool
	wake   chan struct{}
}

func (s *poolSignal) init() { s.wake = make(chan struct{}, 1) }

// post publishes round v and wakes the waiter if it parked.
func (s *poolSignal) post(v uint64) {
	s.seq.Store(v)
	if s.parked.Load() && s.parked.CompareAndSwap(true, false) {
		s.wake <- struct{}{}
	}
}

// wait returns once round v is posted.
func (s *poolSignal) wait(v uint64, spin time.Duration) {
	if s.seq.Load() == v {
		return
	}
	var start time.Time
	for i := 1; ; i++ {
		if s.seq.Load() == v {
			return
		}
		// No runtime.Gosched here: it moves the goroutine to the global
		// run queue without waking an idle P, and a worker doing that
		// ends up sharing the caller's P instead of running beside it.
		if i%256 == 0 {
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spin {
				break
			}
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
