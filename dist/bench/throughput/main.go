// Command throughput measures the training throughput (samples per
// second) of a zoo classifier on random MNIST-shaped data, in one process
// or data-parallel over the ranks of an MPI job, at the same global batch:
//
//	go build -tags mpi -o /tmp/throughput ./dist/bench/throughput
//	GOMAXPROCS=2 /tmp/throughput -model cnn                      # 1 process × 2 threads
//	mpirun -np 2 -x GOMAXPROCS=1 /tmp/throughput -model cnn      # 2 ranks × 1 thread
//
// It trains -warmup steps, then -steps timed steps (one epoch of
// steps × batch samples), and prints one line from rank 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

func main() {
	model := flag.String("model", "cnn", "zoo classifier (cnn, lstm, mlp, …)")
	batch := flag.Int("batch", 64, "global batch size, split over the ranks")
	steps := flag.Int("steps", 40, "timed steps")
	warmup := flag.Int("warmup", 5, "untimed steps first")
	noOverlap := flag.Bool("no-overlap", false, "all-reduce after the backward pass")
	flag.Parse()
	c, err := dist.Init(dist.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	if err := run(c, *model, *batch, *steps, *warmup, *noOverlap); err != nil {
		fmt.Fprintln(os.Stderr, err)
		c.Abort(1)
		os.Exit(1)
	}
}

func run(c dist.Communicator, name string, batch, steps, warmup int, noOverlap bool) error {
	cl, err := zoo.LookupClassifier(name)
	if err != nil {
		return err
	}
	net := cl.New(10)
	if _, err := nn.Build(net, cl.Input, rand.New(rand.NewPCG(1, 1))); err != nil {
		return err
	}
	m, err := train.Compile(net, &optim.Adam{}, losses.SparseCategoricalCrossentropy{})
	if err != nil {
		return err
	}
	n := batch * max(steps, warmup)
	rng := rand.New(rand.NewPCG(2, 2))
	x := tensor.Zeros(append([]int{n}, cl.Input...)...)
	y := tensor.Zeros(n)
	for i := range x.Data() {
		x.Data()[i] = rng.Float32()
	}
	for i := range y.Data() {
		y.Data()[i] = float32(rng.IntN(10))
	}
	opts := train.FitOptions{Comm: c, DataParallel: train.DataParallelOptions{GlobalBatch: true, NoOverlap: noOverlap}}
	fit := func(k int) (time.Duration, error) {
		l, err := data.NewLoader(data.Tensors{X: x.Slice(0, k*batch), Y: y.Slice(0, k*batch)}, data.LoaderOptions{BatchSize: batch, Shuffle: true})
		if err != nil {
			return 0, err
		}
		if err := c.Barrier(); err != nil {
			return 0, err
		}
		start := time.Now()
		_, err = train.Fit(context.Background(), m, l, opts)
		return time.Since(start), err
	}
	if _, err := fit(warmup); err != nil {
		return err
	}
	d, err := fit(steps)
	if err != nil {
		return err
	}
	if c.Rank() == 0 {
		fmt.Printf("%s: %d rank(s) × GOMAXPROCS %d, global batch %d: %.0f samples/s (%.1f ms/step)\n",
			name, c.Size(), runtime.GOMAXPROCS(0), batch, float64(steps*batch)/d.Seconds(), d.Seconds()*1e3/float64(steps))
	}
	return nil
}
