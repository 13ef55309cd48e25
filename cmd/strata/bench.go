package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"

	"github.com/strata-dl/strata/bench"
)

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

const benchExamples = `  strata bench                                   # every workload
  strata bench --workload mlp_train --workload cnn_train --threads 1 --json
  python3 bench/torch/compare.py --rounds 5      # side by side with PyTorch, interleaved
`

func cmdBench(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("bench", "bench [--workload NAME ...] [--threads N] [--json]", benchExamples, out)
	var names multiFlag
	fs.Var(&names, "workload", "workload to run (repeatable; default all): "+strings.Join(bench.Names(), ", "))
	threadsN := fs.Int("threads", 0, "worker threads (0: GOMAXPROCS)")
	steps := fs.Int("steps", 200, "steps per timed repetition")
	jsonOut := fs.Bool("json", false, "one JSON object per workload")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *threadsN < 0 {
		return usagef("--threads must not be negative")
	}
	if err := positive("steps", *steps); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := bench.Lookup(n); err != nil {
			return usagef("%v", err)
		}
	}
	if *threadsN > 0 {
		runtime.GOMAXPROCS(*threadsN)
	}
	return bench.Run(ctx, names, bench.Options{Steps: *steps}, func(r bench.Result) {
		if *jsonOut {
			b, _ := json.Marshal(r)
			fmt.Fprintln(out, string(b))
			return
		}
		switch {
		case r.GFLOPS > 0:
			fmt.Fprintf(out, "%-18s %10.1f GFLOP/s   (%d threads)\n", r.Workload, r.GFLOPS, r.Threads)
		case r.P50ms > 0 && r.NoiseP50ms > 0:
			fmt.Fprintf(out, "%-18s p50 %.3f ms, p99 %.3f ms   (%d threads; machine noise at that p50: p99 %.3f ms)\n", r.Workload, r.P50ms, r.P99ms, r.Threads, r.NoiseP99ms)
		case r.P50ms > 0:
			fmt.Fprintf(out, "%-18s p50 %.3f ms, p99 %.3f ms   (%d threads)\n", r.Workload, r.P50ms, r.P99ms, r.Threads)
		default:
			fmt.Fprintf(out, "%-18s %10.0f samples/s   (%d threads)\n", r.Workload, r.SamplesPerSec, r.Threads)
		}
	})
}
