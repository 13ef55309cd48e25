package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestParallelCoversEachIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
		for _, grain := range []int{0, 1, 3, 64, 2000} {
			hits := make([]int32, n)
			Parallel(n, grain, func(lo, hi int) {
				if lo >= hi || lo < 0 || hi > n {
					t.Errorf("n=%d grain=%d: bad chunk [%d, %d)", n, grain, lo, hi)
					return
				}
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			})
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("n=%d grain=%d: index %d run %d times", n, grain, i, h)
				}
			}
		}
	}
}

func TestParallelRunRanges(t *testing.T) {
	for _, w := range []int{2, 3, 5} {
		for _, n := range []int{2, 5, 6, 100} {
			if w > n {
				continue
			}
			var mu sync.Mutex
			var got [][2]int
			parallelRun(poolFunc(func(lo, hi int) {
				mu.Lock()
				got = append(got, [2]int{lo, hi})
				mu.Unlock()
			}), n, w)
			covered := make([]int, n)
			for _, r := range got {
				for i := r[0]; i < r[1]; i++ {
					covered[i]++
				}
			}
			for i, c := range covered {
				if c != 1 {
					t.Fatalf("w=%d n=%d: index %d covered %d times (%v)", w, n, i, c, got)
				}
			}
		}
	}
}

func TestParallelNestedAndConcurrent(t *testing.T) {
	var total atomic.Int64
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				parallelRun(poolFunc(func(lo, hi int) {
					for i := lo; i < hi; i++ {
						// A nested call finds the pool busy and runs inline.
						parallelRun(poolFunc(func(lo, hi int) { total.Add(int64(hi - lo)) }), 10, 2)
					}
				}), 8, 3)
			}
		}()
	}
	wg.Wait()
	if got, want := total.Load(), int64(4*50*8*10); got != want {
		t.Fatalf("total = %d, want %d", got, want)
	}
}

func TestParallelPanicReachesCaller(t *testing.T) {
	for _, bad := range []int{0, 5} { // the caller's chunk, a worker's chunk
		func() {
			defer func() {
				if r := recover(); r != fmt.Sprint("boom ", bad) {
					t.Errorf("recovered %v", r)
				}
			}()
			parallelRun(poolFunc(func(lo, hi int) {
				if lo <= bad && bad < hi {
					panic(fmt.Sprint("boom ", bad))
				}
			}), 6, 2)
		}()
	}
	// The pool still works.
	var n atomic.Int32
	parallelRun(poolFunc(func(lo, hi int) { n.Add(int32(hi - lo)) }), 6, 2)
	if n.Load() != 6 {
		t.Fatal("pool broken after a panic")
	}
}

// BenchmarkParallelHandoff measures the cost of one Parallel call with
// empty chunks: the pool's hand-off and wait.
func BenchmarkParallelHandoff(b *testing.B) {
	b.ReportAllocs()
	var sink atomic.Int64
	t := poolFunc(func(lo, hi int) { sink.Add(int64(hi - lo)) })
	w := Threads()
	for b.Loop() {
		parallelRun(t, w, w)
	}
}

// TestParallelStealsFromSlowWorkers makes the workers' chunks slow to
// start (they are parked between calls) and checks that every index is
// still run exactly once, call after call.
func TestParallelStealsFromSlowWorkers(t *testing.T) {
	if Threads() < 2 {
		t.Skip("one thread")
	}
	for rep := 0; rep < 200; rep++ {
		n := 2 + rep%7
		hits := make([]int32, n)
		parallelRun(poolFunc(func(lo, hi int) {
			for i := lo; i < hi; i++ {
				atomic.AddInt32(&hits[i], 1)
			}
		}), n, min(n, 4))
		for i, h := range hits {
			if h != 1 {
				t.Fatalf("rep %d: index %d run %d times", rep, i, h)
			}
		}
		if rep%50 == 0 {
			time.Sleep(2 * poolWorkerSpin) // let the workers park
		}
	}
}

// BenchmarkParallelHandoffParked measures a call that finds the workers
// parked.
func BenchmarkParallelHandoffParked(b *testing.B) {
	var sink atomic.Int64
	t := poolFunc(func(lo, hi int) { sink.Add(int64(hi - lo)) })
	w := Threads()
	for b.Loop() {
		b.StopTimer()
		time.Sleep(2 * poolWorkerSpin)
		b.StartTimer()
		parallelRun(t, w, w)
	}
}
