package serve

import (
	"sync"
	"testing"
	"time"
)

// TestAdmitBurst checks that a burst of concurrent arrivals never admits
// more than MaxQueue requests (a check followed by a separate increment
// let every arrival of a burst pass the same check).
func TestAdmitBurst(t *testing.T) {
	const max = 8
	admitPause = func() { time.Sleep(time.Millisecond) } // every arrival checks before any counts
	defer func() { admitPause = nil }()
	for round := 0; round < 5; round++ {
		b := &batcher{queue: make(chan *job, max)}
		b.queue <- &job{} // one request already queued
		var wg sync.WaitGroup
		var mu sync.Mutex
		admitted := 0
		start := make(chan struct{})
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if b.admit(max) {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if admitted != max-1 || b.arriving.Load() != max-1 {
			t.Fatalf("round %d: %d admitted (arriving %d) with 1 queued, want %d", round, admitted, b.arriving.Load(), max-1)
		}
	}
}
