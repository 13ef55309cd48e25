// Command allreduce times the dist communicator's all-reduce (float32, sum,
// in place) for message sizes of 1 KB to 64 MB, in the format of the C
// reference dist/bench/allreduce.c, so that the two can be compared on the
// same machine:
//
//	go build -tags mpi -o /tmp/allreduce-go ./dist/bench/allreduce
//	mpirun -np 2 /tmp/allreduce-go            # blocking AllReduce
//	mpirun -np 2 /tmp/allreduce-go -started   # StartAllReduce + Wait (DDP's path)
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/strata-dl/strata/dist"
)

func main() {
	started := flag.Bool("started", false, "time StartAllReduce + Wait instead of AllReduce")
	flag.Parse()
	c, err := dist.Init(dist.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	if err := run(c, *started); err != nil {
		fmt.Fprintln(os.Stderr, err)
		c.Abort(1)
		os.Exit(1)
	}
}

func run(c dist.Communicator, started bool) error {
	const maxBytes = 64 << 20
	buf := make([]float32, maxBytes/4)
	for i := range buf {
		buf[i] = 1e-6 * float32(i%1000)
	}
	op := func(b []float32) error { return c.AllReduce(b) }
	name := "AllReduce"
	if started {
		name = "StartAllReduce+Wait"
		op = func(b []float32) error {
			if err := c.StartAllReduce(b); err != nil {
				return err
			}
			return c.Wait()
		}
	}
	if c.Rank() == 0 {
		fmt.Printf("# Go dist.%s (MPI: %v), %d ranks\n# bytes\tusec\tMB/s\n", name, dist.Available, c.Size())
	}
	for bytes := 1024; bytes <= maxBytes; bytes *= 4 {
		b := buf[:bytes/4]
		iters := min(max((64<<20)/bytes, 3), 1000)
		for range 3 {
			if err := op(b); err != nil {
				return err
			}
		}
		if err := c.Barrier(); err != nil {
			return err
		}
		t0 := time.Now()
		for range iters {
			if err := op(b); err != nil {
				return err
			}
		}
		t := []float64{time.Since(t0).Seconds() / float64(iters)}
		// The mean over the ranks, as the C program reports.
		if err := c.AllReduce64(t); err != nil {
			return err
		}
		t[0] /= float64(c.Size())
		if c.Rank() == 0 {
			fmt.Printf("%d\t%.1f\t%.1f\n", bytes, t[0]*1e6, float64(bytes)/t[0]/1e6)
		}
	}
	return nil
}
