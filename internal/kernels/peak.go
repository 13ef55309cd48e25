package kernels

import (
	"sync"
	"time"
)

// ISA names the instruction set the GEMM and vector kernels of this build
// run on this CPU: "avx512" (16-lane FMA GEMM micro-kernels), "avx2"
// (8-lane FMA) or "generic" (pure Go).
func ISA() string {
	_, _, isa := archFMALoop()
	return isa
}

// FMAPeak measures the machine's single-precision FMA throughput with
// threads goroutines, each running a register-only loop of independent
// fused multiply-adds for about d, and returns GFLOP/s summed over the
// threads (an FMA counts as 2 FLOPs) and the ISA it used. It is the
// ceiling no kernel of this package can pass: the peak that benchmark
// figures are a fraction of. Without a vector FMA it returns 0 and
// "generic".
func FMAPeak(threads int, d time.Duration) (gflops float64, isa string) {
	loop, flops, isa := archFMALoop()
	if loop == nil || threads < 1 {
		return 0, isa
	}
	const chunk = 1 << 16 // iterations between clock reads (~0.1 ms)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		total float64
	)
	for t := 0; t < threads; t++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(chunk) // warm the vector unit up to full width
			iters := 0
			start := time.Now()
			for time.Since(start) < d {
				loop(chunk)
				iters += chunk
			}
			rate := float64(iters) * float64(flops) / time.Since(start).Seconds()
			mu.Lock()
			total += rate
			mu.Unlock()
		}()
	}
	wg.Wait()
	return total / 1e9, isa
}
