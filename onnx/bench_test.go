package onnx

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// TestInferenceBenchmark prints the table of BENCHMARKS.md's ONNX section:
// the seed's CNN (zoo.CNNNet) at batch 1 (mean latency) and batch 256
// (samples per second) run by Strata natively, by Strata from its exported
// ONNX file (imported), and by ONNX Runtime from the same file, at 1 and 2
// threads, in one run:
//
//	STRATA_ONNX_BENCH=1 go test ./onnx -run TestInferenceBenchmark -v -timeout 20m
func TestInferenceBenchmark(t *testing.T) {
	if os.Getenv("STRATA_ONNX_BENCH") == "" {
		t.Skip("set STRATA_ONNX_BENCH=1 to run the ONNX inference benchmark")
	}
	dir := ortDir(t)
	net := zoo.NewCNNNet(10)
	rng := rand.New(rand.NewPCG(1, 2))
	if _, err := nn.Build(net, []int{28, 28, 1}, rng); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, "cnn.onnx")
	if err := Save(path, net, []int{28, 28, 1}, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	imported, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	x1 := tensor.RandUniform(rng, 0, 1, 1, 28, 28, 1)
	x256 := tensor.RandUniform(rng, 0, 1, 256, 28, 28, 1)
	const n1, n256 = 3000, 30
	type row struct {
		name     string
		ms1, sps float64
	}
	var rows []row
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, th := range []int{1, 2} {
		runtime.GOMAXPROCS(th)
		for _, m := range []struct {
			name string
			net  nn.Layer
		}{{"Strata native", net}, {"Strata, imported from ONNX", imported}} {
			p := &train.Predictor{Net: m.net}
			ms1 := timePredict(t, p, x1, n1)
			ms256 := timePredict(t, p, x256, n256)
			rows = append(rows, row{fmt.Sprintf("%s (%d thread%s)", m.name, th, plural(th)), ms1, 256 / (ms256 / 1000)})
		}
	}
	in1, in256 := filepath.Join(tmp, "x1"), filepath.Join(tmp, "x256")
	writeF32(in1, x1)
	writeF32(in256, x256)
	var jobs []ortJob
	for _, th := range []int{1, 2} {
		jobs = append(jobs,
			ortJob{Model: path, Input: in1, Shape: x1.Shape(), Output: filepath.Join(tmp, fmt.Sprint("o1_", th)), Threads: th, Repeat: n1},
			ortJob{Model: path, Input: in256, Shape: x256.Shape(), Output: filepath.Join(tmp, fmt.Sprint("o256_", th)), Threads: th, Repeat: n256})
	}
	_, ms := runORT(t, dir, jobs)
	for i, th := range []int{1, 2} {
		rows = append(rows, row{fmt.Sprintf("ONNX Runtime (%d thread%s)", th, plural(th)), ms[2*i], 256 / (ms[2*i+1] / 1000)})
	}
	var b strings.Builder
	fmt.Fprintln(&b, "| runner | batch 1: mean ms | batch 256: samples/s |")
	fmt.Fprintln(&b, "|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %.4f | %.0f |\n", r.name, r.ms1, r.sps)
	}
	t.Log("\n" + b.String())
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// timePredict returns the mean milliseconds of a Predict call over reps
// calls after a warm-up, taking the best of three rounds.
func timePredict(t *testing.T, p *train.Predictor, x *tensor.Tensor, reps int) float64 {
	ctx := context.Background()
	for i := 0; i < max(reps/10, 3); i++ {
		if _, err := p.Predict(ctx, x, x.Dim(0)); err != nil {
			t.Fatal(err)
		}
	}
	var rounds []float64
	for r := 0; r < 3; r++ {
		start := time.Now()
		for i := 0; i < reps/3; i++ {
			if _, err := p.Predict(ctx, x, x.Dim(0)); err != nil {
				t.Fatal(err)
			}
		}
		rounds = append(rounds, float64(time.Since(start).Nanoseconds())/1e6/float64(reps/3))
	}
	sort.Float64s(rounds)
	return rounds[0]
}
