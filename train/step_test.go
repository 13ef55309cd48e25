package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// userTrainer is a custom trainer as a user writes one: a step with a
// tape, a loss and an optimizer, and the two methods that name its network
// and optimizer. It writes no running means, NaN checks, recovery or
// checkpoint code: Fit supplies all of it.
type userTrainer struct {
	net  *nn.Dense
	opt  optim.Optimizer
	rng  *rand.Rand
	hook func(b *data.Batch) Logs // replaces the logs when it returns some
}

func (u *userTrainer) TrainStep(b *data.Batch) (Logs, error) {
	params := nn.Trainable(u.net)
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(params...)
	pred := u.net.Forward(&nn.Ctx{Training: true, RNG: u.rng}, autograd.Const(b.X))
	loss := autograd.Mean(autograd.Square(autograd.Sub(pred, autograd.Const(b.Y))), false)
	grads, err := tape.Gradients(loss, params...)
	if err != nil {
		return nil, err
	}
	if err := u.opt.Step(params, grads); err != nil {
		return nil, err
	}
	if u.hook != nil {
		if l := u.hook(b); l != nil {
			return l, nil
		}
	}
	return Logs{"loss": float64(loss.Item())}, nil
}

func (u *userTrainer) Network() nn.Layer             { return u.net }
func (u *userTrainer) Optimizers() []optim.Optimizer { return []optim.Optimizer{u.opt} }

func newUserTrainer(t *testing.T, in int) *userTrainer {
	net := &nn.Dense{Name: "head", Units: 1}
	if _, err := nn.Build(net, []int{in}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	return &userTrainer{net: net, opt: &optim.Adam{Base: optim.Base{LearningRate: 0.01}}, rng: rand.New(rand.NewPCG(3, 4))}
}

// linear returns n samples of y = x·w + 0.5 with 3 features.
func linear(n int) data.Tensors {
	rng := rand.New(rand.NewPCG(7, 7))
	x, y := tensor.RandNormal(rng, 0, 1, n, 3), tensor.Zeros(n, 1)
	for i := 0; i < n; i++ {
		r := x.Data()[3*i : 3*i+3]
		y.Data()[i] = r[0] - 2*r[1] + 0.5*r[2] + 0.5
	}
	return data.Tensors{X: x, Y: y}
}

func loaderOf(t *testing.T, ds data.Tensors, batch int) *data.Loader {
	l, err := data.NewLoader(ds, data.LoaderOptions{BatchSize: batch, Shuffle: true, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestCustomTrainerRunningMeans checks that Fit averages what a step
// returns over the epoch, weighting each batch by its size: batches of
// 4, 4 and 2 returning 1, 2 and 4 give (4 + 8 + 8)/10.
func TestCustomTrainerRunningMeans(t *testing.T) {
	u := newUserTrainer(t, 3)
	u.hook = func(b *data.Batch) Logs { return Logs{"loss": []float64{1, 2, 4}[b.Index], "other": 1} }
	h, err := Fit(context.Background(), u, loaderOf(t, linear(10), 4), FitOptions{Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Epochs {
		if e["loss"] != 2 || e["other"] != 1 {
			t.Errorf("epoch logs %v, want loss 2, other 1", e)
		}
	}
}

// TestCustomTrainerChecks checks that a custom step gets Fit's checks:
// NaN (any value), divergence (losses only, not reported as NaN) and a
// shape panic turned into an error naming the layer.
func TestCustomTrainerChecks(t *testing.T) {
	ds := linear(32)
	t.Run("nan", func(t *testing.T) {
		u := newUserTrainer(t, 3)
		u.hook = func(b *data.Batch) Logs {
			if b.Index == 2 {
				return Logs{"loss": 1, "kl": math.NaN()}
			}
			return nil
		}
		_, err := Fit(context.Background(), u, loaderOf(t, ds, 8), FitOptions{Epochs: 1})
		var nan *NaNError
		if !errors.As(err, &nan) || nan.Key != "kl" || nan.Epoch != 1 || nan.Batch != 2 || !strings.Contains(err.Error(), "kl is NaN at epoch 1, batch 2") {
			t.Errorf("got %v, want a *NaNError for kl at epoch 1, batch 2", err)
		}
	})
	t.Run("divergence", func(t *testing.T) {
		u := newUserTrainer(t, 3)
		u.hook = func(b *data.Batch) Logs { return Logs{"g_loss": 0.5 * math.Pow(1e4, float64(b.Index)), "d_real": 1e9} }
		_, err := Fit(context.Background(), u, loaderOf(t, ds, 8), FitOptions{Epochs: 1})
		var div *DivergenceError
		var nan *NaNError
		if errors.As(err, &nan) || !errors.As(err, &div) || div.Key != "g_loss" || div.Batch != 2 || div.First != 1 {
			t.Errorf("got %v, want a *DivergenceError for g_loss at batch 2 (d_real is no loss)", err)
		}
	})
	t.Run("allow-nan", func(t *testing.T) {
		u := newUserTrainer(t, 3)
		u.hook = func(b *data.Batch) Logs {
			if b.Index == 1 {
				return Logs{"loss": math.Inf(1)}
			}
			return Logs{"loss": 3}
		}
		h, err := Fit(context.Background(), u, loaderOf(t, ds, 8), FitOptions{Epochs: 2, AllowNaN: true})
		if err != nil || len(h.Epochs) != 2 || !math.IsInf(h.Last()["loss"], 1) {
			t.Errorf("got %v, %v: want training to go on, the epoch's mean showing the bad step", h.Last(), err)
		}
		_, err = Fit(context.Background(), u, loaderOf(t, ds, 8), FitOptions{Epochs: 2, AllowNaN: true, Callbacks: []Callback{TerminateOnNaN{}}})
		var nan *NaNError
		if !errors.As(err, &nan) || nan.Epoch != 1 || nan.Batch != 1 {
			t.Errorf("with TerminateOnNaN: got %v, want a stop at epoch 1, batch 1", err)
		}
	})
	t.Run("shape", func(t *testing.T) {
		u := newUserTrainer(t, 5) // built for 5 features, fed 3
		_, err := Fit(context.Background(), u, loaderOf(t, ds, 8), FitOptions{Epochs: 1})
		if err == nil || !strings.Contains(err.Error(), "head") || !strings.Contains(err.Error(), "epoch 1, batch 0") {
			t.Errorf("got %v, want an error naming the layer head and the batch", err)
		}
	})
}

// TestCustomTrainerResumes checks that a custom trainer with only Network
// and Optimizers methods is checkpointed and resumed by Fit: weights and
// logs of an interrupted and resumed run equal those of a straight one.
func TestCustomTrainerResumes(t *testing.T) {
	ds := linear(40)
	a := newUserTrainer(t, 3)
	ha, err := Fit(context.Background(), a, loaderOf(t, ds, 8), FitOptions{Epochs: 2})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.safetensors")
	b := newUserTrainer(t, 3)
	ctx, cancel := context.WithCancel(context.Background())
	_, err = Fit(ctx, b, loaderOf(t, ds, 8), FitOptions{Epochs: 2, CheckpointPath: path, Callbacks: []Callback{&cancelAt{epoch: 2, batch: 1, cancel: cancel}}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	ck, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	c := newUserTrainer(t, 3)
	c.net.Kernel.Value.Fill(5) // everything must come from the checkpoint
	hc, err := Fit(context.Background(), c, loaderOf(t, ds, 8), FitOptions{Epochs: 2, Resume: ck})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a.net.Kernel.Value.Data(), c.net.Kernel.Value.Data()) || c.opt.Iterations() != a.opt.Iterations() {
		t.Error("weights or optimizer differ after resume")
	}
	for i := range ha.Epochs {
		if ha.Epochs[i]["loss"] != hc.Epochs[i]["loss"] {
			t.Errorf("epoch %d loss %v after resume, %v straight", i+1, hc.Epochs[i]["loss"], ha.Epochs[i]["loss"])
		}
	}
}

// TestEarlyStoppingAgreesWithReduceLROnPlateau feeds both callbacks one
// monitored series: with patience 2 and the best value at epoch 2, both
// act at epoch 4 (Keras).
func TestEarlyStoppingAgreesWithReduceLROnPlateau(t *testing.T) {
	opt := &optim.SGD{Base: optim.Base{LearningRate: 1}}
	run := &Run{Trainer: &userTrainer{opt: opt}}
	es := &EarlyStopping{Monitor: "loss", Patience: 2}
	rp := &ReduceLROnPlateau{Monitor: "loss", Patience: 2, Factor: 0.5}
	for _, cb := range []Callback{es, rp} {
		if err := cb.OnTrainBegin(run); err != nil {
			t.Fatal(err)
		}
	}
	reduced := 0
	for i, v := range []float64{3, 2, 2.5, 2.4, 2.3} {
		run.Epoch = i + 1
		if err := rp.OnEpochEnd(run, Logs{"loss": v}); err != nil {
			t.Fatal(err)
		}
		if reduced == 0 && opt.LR() < 1 {
			reduced = run.Epoch
		}
		if err := es.OnEpochEnd(run, Logs{"loss": v}); errors.Is(err, ErrStopTraining) {
			break
		}
	}
	if es.BestEpoch != 2 || es.StoppedEpoch != 4 || reduced != 4 {
		t.Errorf("best %d, stopped %d, reduced at %d: want 2, 4, 4", es.BestEpoch, es.StoppedEpoch, reduced)
	}
	es0 := &EarlyStopping{Monitor: "loss"}
	_ = es0.OnTrainBegin(run)
	_ = es0.OnEpochEnd(run, Logs{"loss": 1})
	if err := es0.OnEpochEnd(run, Logs{"loss": 1}); !errors.Is(err, ErrStopTraining) {
		t.Errorf("patience 0: got %v, want a stop at the first epoch without improvement", err)
	}
}

// TestReduceLROnPlateauScalesSchedule checks the documented cooperation:
// a reduction scales an attached schedule, which keeps its shape, and the
// factor survives a checkpoint.
func TestReduceLROnPlateauScalesSchedule(t *testing.T) {
	sched := optim.CosineDecay{Initial: 0.1, DecaySteps: 100}
	opt := &optim.Adam{Base: optim.Base{Schedule: sched}}
	u := &userTrainer{opt: opt}
	run := &Run{Trainer: u}
	rp := &ReduceLROnPlateau{Monitor: "loss", Patience: 1, Factor: 0.5}
	if err := rp.OnTrainBegin(run); err != nil {
		t.Fatal(err)
	}
	_ = rp.OnEpochEnd(run, Logs{"loss": 1})
	_ = rp.OnEpochEnd(run, Logs{"loss": 1})
	if opt.Schedule == nil || opt.LRScale() != 0.5 || opt.LR() != 0.5*sched.LR(0) {
		t.Fatalf("after a reduction: schedule %v, scale %v, LR %v; want the schedule kept at half", opt.Schedule, opt.LRScale(), opt.LR())
	}
	restored := &optim.Adam{Base: optim.Base{Schedule: sched}}
	f := checkpointOf(t, OptimizerState(opt, "o/"), OptimizerMeta(opt, "o/"))
	if err := LoadOptimizerState(restored, f, "o/"); err != nil {
		t.Fatal(err)
	}
	if restored.Schedule == nil || restored.LR() != opt.LR() {
		t.Errorf("restored LR %v (schedule %v), want %v on the schedule", restored.LR(), restored.Schedule, opt.LR())
	}
}

// TestClassWeightsWeightLossOnly checks Keras's split: class weights
// change the loss, and the metrics only with WeightedMetrics.
func TestClassWeightsWeightLossOnly(t *testing.T) {
	x, y := twoMoons(64, 0.3, 6)
	for _, weighted := range []bool{false, true} {
		net := nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"})
		m := compile(t, net, []int{2}, &optim.SGD{Base: optim.Base{LearningRate: optim.Zero}}, 1) // lr 0: predictions stay
		m.ClassWeights, m.WeightedMetrics = []float32{0, 1}, weighted
		m.Metrics[0].Reset()
		if _, err := m.TrainStep(&data.Batch{X: x, Y: y}); err != nil {
			t.Fatal(err)
		}
		got := m.Metrics[0].Result()
		pred, _ := m.Predict(context.Background(), x, 64)
		var hit, hit1, n1 float64
		for i := 0; i < 64; i++ {
			c := 0
			if pred.Data()[2*i+1] > pred.Data()[2*i] {
				c = 1
			}
			ok := float64(c) == float64(y.Data()[i])
			if ok {
				hit++
			}
			if y.Data()[i] == 1 {
				n1++
				if ok {
					hit1++
				}
			}
		}
		want := hit / 64
		if weighted {
			want = hit1 / n1
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("WeightedMetrics %v: accuracy %v, want %v", weighted, got, want)
		}
	}
}

// TestEvaluateExtraMetrics checks that Evaluate takes metrics the model
// was not compiled with, and leaves the compiled ones as they were.
func TestEvaluateExtraMetrics(t *testing.T) {
	x, y := twoMoons(64, 0.1, 3)
	m := compile(t, nn.NewSequential(&nn.Dense{Units: 2, Activation: "softmax"}), []int{2}, mustOpt(t, "adam", 0.01), 1)
	top := metrics.NewSparseTopKCategoricalAccuracy(2)
	logs, err := m.Evaluate(context.Background(), data.Tensors{X: x, Y: y}, 16, top)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := logs[top.Name()]; !ok || v != 1 || top.Result() != 1 {
		t.Errorf("logs %v: want %s = 1 (top-2 of 2 classes)", logs, top.Name())
	}
	if _, ok := logs["accuracy"]; !ok || len(m.Metrics) != 1 {
		t.Errorf("logs %v, %d compiled metrics: want accuracy and the compiled metrics unchanged", logs, len(m.Metrics))
	}
}

// TestVerbose2OneLinePerEpoch checks Keras's verbose=2.
func TestVerbose2OneLinePerEpoch(t *testing.T) {
	var out bytes.Buffer
	u := newUserTrainer(t, 3)
	if _, err := Fit(context.Background(), u, loaderOf(t, linear(16), 8), FitOptions{Epochs: 3, Verbose: 2, Out: &out}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "Epoch 3/3 - ") || !strings.Contains(lines[2], "loss: ") {
		t.Errorf("verbose 2 printed %q, want one line per epoch", out.String())
	}
}

// TestCSVLoggerCreatesDirectory checks that CSVLogger makes its directory
// and names itself and its file in errors.
func TestCSVLoggerCreatesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "logs", "deep", "history.csv")
	u := newUserTrainer(t, 3)
	if _, err := Fit(context.Background(), u, loaderOf(t, linear(16), 8), FitOptions{Epochs: 2, Callbacks: []Callback{&CSVLogger{Path: path}}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil || strings.Count(string(b), "\n") != 3 {
		t.Errorf("read %q, %v: want a header and two rows", b, err)
	}
	blocked := filepath.Join(dir, "file")
	if err := os.WriteFile(blocked, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = (&CSVLogger{Path: filepath.Join(blocked, "x.csv")}).OnTrainBegin(&Run{})
	if err == nil || !strings.Contains(err.Error(), "CSVLogger") || !strings.Contains(err.Error(), "x.csv") {
		t.Errorf("got %v, want an error naming CSVLogger and the file", err)
	}
}

// checkpointOf writes tensors and meta to a file and reads it back.
func checkpointOf(t *testing.T, ts []checkpoint.Named, meta map[string]string) *checkpoint.File {
	path := filepath.Join(t.TempDir(), "c.safetensors")
	if err := checkpoint.SaveSafetensors(path, ts, meta); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestLoadWeightsUnbuilt checks that loading weights into a network that
// was never built says so, naming the layer, instead of panicking or
// reporting every tensor as unexpected.
func TestLoadWeightsUnbuilt(t *testing.T) {
	src := nn.NewSequential(&nn.Dense{Units: 3, Name: "out"})
	if _, err := nn.Build(src, []int{4}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := SaveWeights(path, src, nil); err != nil {
		t.Fatal(err)
	}
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := nn.NewSequential(&nn.Dense{Units: 3, Name: "out"})
	err = LoadWeights(dst, f, "")
	var ce *nn.ConfigError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "out") || !strings.Contains(err.Error(), "not built") {
		t.Fatalf("LoadWeights into an unbuilt network: got %v, want a *nn.ConfigError naming layer out as not built", err)
	}
	if _, err := nn.Build(dst, []int{4}, rand.New(rand.NewPCG(9, 9))); err != nil {
		t.Fatal(err)
	}
	if err := LoadWeights(dst, f, ""); err != nil {
		t.Fatalf("LoadWeights into the built network: %v", err)
	}
}
