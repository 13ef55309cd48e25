package train_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
	"github.com/strata-dl/strata/internal/mpitest"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// dpCase is one equivalence case: a seed model, its optimizer and a
// synthetic data set of n samples (MNIST-shaped).
type dpCase struct {
	name string
	n    int
	net  func() nn.Layer
	opt  func() optim.Optimizer
}

var dpCases = []dpCase{
	{"mlp", 96, func() nn.Layer { return zoo.NewSimpleNet(10) }, func() optim.Optimizer { return &optim.Adam{Base: optim.Base{LearningRate: 1e-3}} }},
	{"cnn", 64, func() nn.Layer { return zoo.NewCNNNet(10) }, func() optim.Optimizer { return &optim.SGD{Base: optim.Base{LearningRate: 0.05}, Momentum: 0.9} }},
}

// dpResult is what a run of a case ends with.
type dpResult struct {
	Params  []float32
	History []train.Logs
	Steps   int
}

// synthetic returns n MNIST-shaped samples and labels drawn from seed.
func synthetic(n int, seed uint64) (x, y *tensor.Tensor) {
	rng := rand.New(rand.NewPCG(seed, 3))
	xd, yd := make([]float32, n*28*28), make([]float32, n)
	for i := range yd {
		c := rng.IntN(10)
		yd[i] = float32(c)
		for j := range 28 * 28 {
			xd[i*784+j] = rng.Float32() * 0.5
			if j%10 == c {
				xd[i*784+j] += 0.5
			}
		}
	}
	return tensor.New([]int{n, 28, 28, 1}, xd), tensor.New([]int{n}, yd)
}

// runCase trains c for 2 epochs at batch size batch per rank over comm
// (nil: one process), with the initial weights drawn from initSeed, and
// calls check after every step.
func runCase(t testing.TB, c dpCase, comm dist.Communicator, batch int, initSeed uint64, check func(m *train.Model) error) dpResult {
	net := c.net()
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(initSeed, 1))); err != nil {
		t.Fatal(err)
	}
	m, err := train.Compile(net, c.opt(), losses.SparseCategoricalCrossentropy{}, metrics.NewSparseCategoricalAccuracy())
	if err != nil {
		t.Fatal(err)
	}
	x, y := synthetic(c.n, 11)
	vx, vy := synthetic(21, 12)
	var steps int
	cb := batchEnd(func(*train.Run, train.Logs) error {
		steps++
		if check != nil {
			return check(m)
		}
		return nil
	})
	hist, err := m.Fit(context.Background(), x, y, train.FitOptions{
		Epochs: 2, BatchSize: batch, Seed: 7, Comm: comm,
		ValidationData: &data.Tensors{X: vx, Y: vy},
		Callbacks:      []train.Callback{cb},
	})
	if err != nil {
		t.Fatal(err)
	}
	var p []float32
	for _, w := range nn.AllWeights(net) {
		p = append(p, w.Var.Value.Data()...)
	}
	return dpResult{Params: p, History: hist.Epochs, Steps: steps}
}

// batchEnd is a callback that calls f after every step.
type batchEnd func(*train.Run, train.Logs) error

func (batchEnd) OnTrainBegin(*train.Run) error                 { return nil }
func (batchEnd) OnEpochBegin(*train.Run) error                 { return nil }
func (f batchEnd) OnBatchEnd(r *train.Run, l train.Logs) error { return f(r, l) }
func (batchEnd) OnEpochEnd(*train.Run, train.Logs) error       { return nil }
func (batchEnd) OnTrainEnd(*train.Run) error                   { return nil }

// TestDataParallelEquivalence trains the seed MLP (Adam) and CNN (SGD with
// momentum) with 2 ranks at per-rank batch 16 under mpirun and checks that
// they end with the parameters, losses and validation metrics of one
// process at batch 32, and that the ranks held identical parameters after
// every step (TestDataParallelWorker checks that on the ranks).
func TestDataParallelEquivalence(t *testing.T) {
	if mpitest.Worker() {
		t.Skip("launcher test")
	}
	mpitest.Require(t)
	bin := mpitest.Build(t)
	dir := t.TempDir()
	out, err := mpitest.Run(bin, 2, "TestDataParallelWorker", 3*time.Minute, "STRATA_DP_OUT="+dir)
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "--- PASS: TestDataParallelWorker"); n != 2 {
		t.Fatalf("%d ranks passed, want 2:\n%s", n, out)
	}
	for _, c := range dpCases {
		var got dpResult
		b, err := os.ReadFile(filepath.Join(dir, c.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		want := runCase(t, c, nil, 32, 1, nil)
		if got.Steps != want.Steps || len(got.Params) != len(want.Params) {
			t.Fatalf("%s: %d steps, %d parameters; one process: %d, %d", c.name, got.Steps, len(got.Params), want.Steps, len(want.Params))
		}
		// Float32 rounding of the summation order (16+16 samples summed
		// per rank and then over ranks, against 32 at once) is all that
		// may differ: |Δw| ≤ 1e-5 + 1e-4·|w|.
		worst := 0.0
		for i, w := range want.Params {
			d := math.Abs(float64(got.Params[i] - w))
			worst = max(worst, d)
			if d > 1e-5+1e-4*math.Abs(float64(w)) {
				t.Fatalf("%s: parameter %d is %v with 2 ranks, %v with one process", c.name, i, got.Params[i], w)
			}
		}
		t.Logf("%s: %d steps, largest parameter difference %.3g", c.name, got.Steps, worst)
		for e := range want.History {
			for _, k := range []string{"loss", "accuracy", "val_loss", "val_accuracy"} {
				g, w := got.History[e][k], want.History[e][k]
				if math.Abs(g-w) > 1e-4*(1+math.Abs(w)) {
					t.Errorf("%s: epoch %d %s is %v with 2 ranks, %v with one process", c.name, e+1, k, g, w)
				}
			}
		}
	}
}

// TestDataParallelWorker is a rank of TestDataParallelEquivalence; it
// also checks AveragedOptimizer.
func TestDataParallelWorker(t *testing.T) {
	if !mpitest.Worker() {
		t.Skip("runs under mpirun (see TestDataParallelEquivalence)")
	}
	comm, err := dist.Init(dist.Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer comm.Close()
	p := autograd.NewParam("p", tensor.New([]int{2}, []float32{0, 0}))
	g := tensor.New([]int{2}, []float32{float32(comm.Rank() + 1), 1})
	if err := train.AverageOver(comm, &optim.SGD{Base: optim.Base{LearningRate: 1}}).Step([]*autograd.Var{p}, []*tensor.Tensor{g}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(p.Value.Data()) != "[-1.5 -1]" {
		t.Fatalf("rank %d: averaged SGD step gave %v, want [-1.5 -1]", comm.Rank(), p.Value.Data())
	}
	for _, c := range dpCases {
		// Rank 1 starts from other weights: the broadcast from rank 0
		// must replace them.
		seed := uint64(1 + 100*comm.Rank())
		res := runCase(t, c, comm, 16, seed, func(m *train.Model) error {
			var p []float32
			for _, w := range nn.AllWeights(m.Net) {
				p = append(p, w.Var.Value.Data()...)
			}
			root := slices.Clone(p)
			if err := comm.Broadcast(root, 0); err != nil {
				return err
			}
			if !slices.Equal(p, root) {
				return fmt.Errorf("%s: rank %d holds other parameters than rank 0", c.name, comm.Rank())
			}
			return nil
		})
		if comm.Rank() == 0 {
			b, _ := json.Marshal(res)
			if err := os.WriteFile(filepath.Join(os.Getenv("STRATA_DP_OUT"), c.name+".json"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestDataParallelDeadRank kills one rank in the middle of training, then
// makes one hang, and checks that each job ends with an error well within
// its time limit: the first through mpirun, which notices the dead rank,
// the second through the other rank's watchdog (STRATA_DIST_TIMEOUT=10s).
func TestDataParallelDeadRank(t *testing.T) {
	if mpitest.Worker() {
		t.Skip("launcher test")
	}
	mpitest.Require(t)
	bin := mpitest.Build(t)
	for _, mode := range []string{"kill", "hang"} {
		start := time.Now()
		out, err := mpitest.Run(bin, 2, "TestDataParallelDeadRankWorker", 2*time.Minute,
			dist.TimeoutEnv+"=10s", "STRATA_DP_FAIL="+mode)
		if err == nil || err == context.DeadlineExceeded {
			t.Fatalf("%s: the job did not fail in time (%v after %v):\n%s", mode, err, time.Since(start), out)
		}
		if mode == "hang" && !strings.Contains(string(out), "did not complete within 10s") {
			t.Fatalf("hang: no watchdog message:\n%s", out)
		}
		t.Logf("%s: the job failed after %v: %v\n%s", mode, time.Since(start).Round(time.Second), err, out)
	}
}

// TestDataParallelDeadRankWorker trains on both ranks; after 3 steps rank
// 1 kills itself or hangs (STRATA_DP_FAIL=kill or hang).
func TestDataParallelDeadRankWorker(t *testing.T) {
	if !mpitest.Worker() {
		t.Skip("runs under mpirun (see TestDataParallelDeadRank)")
	}
	comm, err := dist.Init(dist.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer comm.Close()
	c := dpCases[0]
	c.n = 1 << 14
	runCase(t, c, comm, 16, 1, func(m *train.Model) error {
		if comm.Rank() == 1 && m.Optimizer.Iterations() == 3 {
			if os.Getenv("STRATA_DP_FAIL") == "hang" {
				time.Sleep(time.Hour)
			}
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		return nil
	})
	t.Fatal("training ended although rank 1 failed")
}

func TestAverageOverOneRank(t *testing.T) {
	opt := &optim.SGD{}
	if got := train.AverageOver(dist.Single{}, opt); got != opt {
		t.Fatalf("one rank: %T, want the optimizer itself", got)
	}
	if got := train.AverageOver(nil, train.AverageOver(dist.Single{}, opt)); got != opt {
		t.Fatalf("nil communicator: %T", got)
	}
}

// Fit with a communicator of one rank (dist.Single, or dist.Init in a
// binary without MPI) trains as without one; under mpirun, with a binary
// built with -tags mpi, the same code trains data-parallel.
func ExampleFitOptions_comm() {
	comm, err := dist.Init(dist.Options{})
	if err != nil {
		panic(err)
	}
	defer comm.Close()
	net := &nn.Dense{Units: 1}
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		panic(err)
	}
	m, _ := train.Compile(net, &optim.SGD{Base: optim.Base{LearningRate: 0.1}}, losses.MSE{})
	x := tensor.New([]int{4, 2}, []float32{0, 0, 0, 1, 1, 0, 1, 1})
	y := tensor.New([]int{4, 1}, []float32{0, 1, 1, 2})
	hist, err := m.Fit(context.Background(), x, y, train.FitOptions{Epochs: 50, BatchSize: 2, Seed: 1, Comm: comm})
	if err != nil {
		panic(err)
	}
	fmt.Printf("rank %d of %d, loss %.3f\n", comm.Rank(), comm.Size(), hist.Epochs[len(hist.Epochs)-1]["loss"])
	// Output: rank 0 of 1, loss 0.000
}

// A data-parallel step written by hand: the loss is made global, the
// backward pass sums the gradients over the ranks in buckets, and every
// rank applies the same update. With dist.Single it is an ordinary step.
func ExampleNewDataParallel() {
	var comm dist.Communicator = dist.Single{} // dist.Init under mpirun
	w := autograd.NewParam("w", tensor.New([]int{2}, []float32{1, -1}))
	dp, err := train.NewDataParallel(comm, []*autograd.Var{w}, nil, train.DataParallelOptions{})
	if err != nil {
		panic(err)
	}
	x := autograd.Const(tensor.New([]int{2}, []float32{3, 4})) // this rank's batch
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(w)
	loss := autograd.Sum(autograd.Mul(w, x), false) // w·x
	global, scale, err := dp.SyncLoss(float64(loss.Item()), 1)
	if err != nil {
		panic(err)
	}
	grads, err := dp.Gradients(tape, autograd.Scale(loss, scale))
	if err != nil {
		panic(err)
	}
	if err := (&optim.SGD{Base: optim.Base{LearningRate: 0.1}}).Step([]*autograd.Var{w}, grads); err != nil {
		panic(err)
	}
	fmt.Println(global, grads[0].Data(), w.Value.Data())
	// Output: -1 [3 4] [0.7 -1.4]
}
