// Package bench defines Strata's standard performance workloads, the same
// ones bench/torch/twin.py runs in PyTorch, so that the two can be compared
// side by side (strata bench; bench/torch/compare.py).
//
// Each workload runs a warm-up, then three timed repetitions of a number
// of steps, and reports the median. Training workloads use random data of
// MNIST's shapes: throughput does not depend on the values.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"time"

	"github.com/strata-dl/strata/internal/kernels"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// Result is one workload's measurement, printed as a JSON line by
// strata bench --json.
type Result struct {
	Workload      string  `json:"workload"`
	SamplesPerSec float64 `json:"samples_per_sec,omitempty"`
	GFLOPS        float64 `json:"gflops,omitempty"`
	P50ms         float64 `json:"p50_ms,omitempty"`
	P99ms         float64 `json:"p99_ms,omitempty"`
	// NoiseP50ms and NoiseP99ms (cnn_predict1) are the machine's noise
	// floor at the same p50: the percentiles of as many calls of a loop
	// that touches only registers, calibrated to P50ms and timed the same
	// way (see timerNoise). A P99ms close to NoiseP99ms is the machine's
	// tail, not the code's.
	NoiseP50ms float64 `json:"noise_p50_ms,omitempty"`
	NoiseP99ms float64 `json:"noise_p99_ms,omitempty"`
	PeakMB     float64 `json:"peak_mb,omitempty"` // memory one step holds at its peak
	Threads    int     `json:"threads"`
	System     string  `json:"system"`
	// ISA is the instruction set of the kernels that ran (kernels.ISA):
	// "avx512", "avx2" or "generic".
	ISA string `json:"isa"`
}

// Options tune a run. Zero Steps means 200 (as torch_bench.py).
type Options struct {
	Steps int
}

// Workload is a named benchmark.
type Workload struct {
	Name string
	Run  func(ctx context.Context, o Options) (Result, error)
}

var workloads = map[string]Workload{}

func register(name string, run func(ctx context.Context, o Options) (Result, error)) {
	workloads[name] = Workload{Name: name, Run: run}
}

// Register adds a workload (used by model families defined elsewhere).
func Register(name string, run func(ctx context.Context, o Options) (Result, error)) {
	register(name, run)
}

// Names returns the workload names in the standard order.
func Names() []string {
	order := []string{"gemm_1024", "gemm_32x784x64", "gemm_128x784x400", "gemm_6272x288x64", "mlp_train", "cnn_train", "cnn_train_b128", "cnn_infer", "cnn_predict1", "lstm_train", "gru_train", "dcgan_step", "vae_train", "vgg_train", "vgg_infer", "mlp_wide_train", "lstm512_train", "fma_peak"}
	var out []string
	seen := map[string]bool{}
	for _, n := range order {
		if _, ok := workloads[n]; ok {
			out = append(out, n)
			seen[n] = true
		}
	}
	var rest []string
	for n := range workloads {
		if !seen[n] {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// Lookup returns the workload with the given name.
func Lookup(name string) (Workload, error) {
	w, ok := workloads[name]
	if !ok {
		return Workload{}, fmt.Errorf("unknown workload %q (known: %v)", name, Names())
	}
	return w, nil
}

// timed runs fn 10 times to warm up, then 3 repetitions of steps calls,
// and returns the median seconds per call.
func timed(ctx context.Context, steps int, fn func() error) (float64, error) {
	return timedN(ctx, 10, steps, fn)
}

// timedN is timed with warm warm-up calls (fewer for slow workloads).
func timedN(ctx context.Context, warm, steps int, fn func() error) (float64, error) {
	for range warm {
		if err := fn(); err != nil {
			return 0, err
		}
	}
	reps := make([]float64, 0, 3)
	for range 3 {
		start := time.Now()
		for range steps {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			if err := fn(); err != nil {
				return 0, err
			}
		}
		reps = append(reps, time.Since(start).Seconds()/float64(steps))
	}
	sort.Float64s(reps)
	return reps[1], nil
}

func result(name string) Result {
	return Result{Workload: name, Threads: runtime.GOMAXPROCS(0), System: "strata", ISA: kernels.ISA()}
}

func gemm(m, k, n int) func(ctx context.Context, o Options) (Result, error) {
	return func(ctx context.Context, o Options) (Result, error) {
		rng := rand.New(rand.NewPCG(1, 1))
		a := tensor.RandNormal(rng, 0, 1, m, k)
		b := tensor.RandNormal(rng, 0, 1, k, n)
		c := tensor.Zeros(m, n)
		steps := max(5, int(2e9/(2*float64(m*k*n))))
		s, err := timed(ctx, steps, func() error {
			kernels.Sgemm(false, false, m, n, k, 1, a.Data(), k, b.Data(), n, 0, c.Data(), n)
			return nil
		})
		r := result(fmt.Sprintf("gemm_%s", gemmName(m, k, n)))
		r.GFLOPS = 2 * float64(m*k*n) / s / 1e9
		return r, err
	}
}

func gemmName(m, k, n int) string {
	if m == 1024 && k == 1024 && n == 1024 {
		return "1024"
	}
	return fmt.Sprintf("%dx%dx%d", m, k, n)
}

// classifierStep returns a training step of a zoo classifier on random
// data of shape [batch, in...] with Adam 1e-3 and sparse categorical
// cross-entropy, through the same Model.TrainStep that Fit uses.
func classifierStep(name string, batch int, in []int) (func() error, error) {
	spec, err := zoo.LookupClassifier(name)
	if err != nil {
		return nil, err
	}
	return netStep(spec.New(10), batch, in)
}

func trainWorkload(name, model string, batch int, in []int) func(ctx context.Context, o Options) (Result, error) {
	return func(ctx context.Context, o Options) (Result, error) {
		step, err := classifierStep(model, batch, in)
		if err != nil {
			return Result{}, err
		}
		s, err := timed(ctx, o.Steps, step)
		r := result(name)
		r.SamplesPerSec = float64(batch) / s
		return r, err
	}
}

func cnnInfer(ctx context.Context, o Options) (Result, error) {
	net := zoo.NewCNNNet(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{28, 28, 1}, rng); err != nil {
		return Result{}, err
	}
	x := tensor.RandUniform(rng, 0, 1, 256, 28, 28, 1)
	p := &train.Predictor{Net: net}
	s, err := timed(ctx, max(5, o.Steps/10), func() error { _, err := p.Predict(ctx, x, 256); return err })
	r := result("cnn_infer")
	r.SamplesPerSec = 256 / s
	return r, err
}

func cnnPredict1(ctx context.Context, o Options) (Result, error) {
	net := zoo.NewCNNNet(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{28, 28, 1}, rng); err != nil {
		return Result{}, err
	}
	x := tensor.RandUniform(rng, 0, 1, 1, 28, 28, 1)
	p := &train.Predictor{Net: net}
	for i := 0; i < 50; i++ {
		if _, err := p.Predict(ctx, x, 1); err != nil {
			return Result{}, err
		}
	}
	lat := make([]float64, 1000)
	for i := range lat {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		t := time.Now()
		if _, err := p.Predict(ctx, x, 1); err != nil {
			return Result{}, err
		}
		lat[i] = float64(time.Since(t).Nanoseconds()) / 1e6
	}
	sort.Float64s(lat)
	r := result("cnn_predict1")
	r.P50ms, r.P99ms = lat[500], lat[990]
	// After the timed calls, so that it changes nothing they measure.
	r.NoiseP50ms, r.NoiseP99ms = timerNoise(r.P50ms, len(lat))
	return r, nil
}

func init() {
	register("gemm_1024", gemm(1024, 1024, 1024))
	register("gemm_32x784x64", gemm(32, 784, 64))
	register("gemm_128x784x400", gemm(128, 784, 400))
	register("gemm_6272x288x64", gemm(6272, 288, 64))
	register("mlp_train", trainWorkload("mlp_train", "mlp", 32, []int{784}))
	register("cnn_train", trainWorkload("cnn_train", "cnn", 32, []int{28, 28, 1}))
	register("cnn_train_b128", trainWorkload("cnn_train_b128", "cnn", 128, []int{28, 28, 1}))
	register("cnn_infer", cnnInfer)
	register("cnn_predict1", cnnPredict1)
}

// Run runs the named workloads (all when none) in order.
func Run(ctx context.Context, names []string, o Options, emit func(Result)) error {
	if o.Steps <= 0 {
		o.Steps = 200
	}
	if len(names) == 0 {
		names = Names()
	}
	for _, n := range names {
		w, err := Lookup(n)
		if err != nil {
			return err
		}
		r, err := w.Run(ctx, o)
		if err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		emit(r)
	}
	return nil
}
