package optim

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

// scalarRun applies opt to a scalar parameter starting at 1 with the given
// gradients and returns the parameter after each step.
func scalarRun(t *testing.T, opt Optimizer, gs []float32) []float64 {
	t.Helper()
	p := autograd.NewParam("w", tensor.New([]int{1}, []float32{1}))
	var out []float64
	for _, g := range gs {
		if err := opt.Step([]*autograd.Var{p}, []*tensor.Tensor{tensor.New([]int{1}, []float32{g})}); err != nil {
			t.Fatal(err)
		}
		out = append(out, float64(p.Value.Item()))
	}
	return out
}

// TestFirstSteps checks the first three updates of a scalar parameter
// (p0 = 1) against values computed by hand in float64 from each doc
// comment's rule. For example Adam, lr 0.1, g1 = 0.5:
// m = 0.1·0.5 = 0.05, v = 0.001·0.25 = 2.5e-4,
// α = 0.1·√0.001/0.1 = 0.0316228, p = 1 − α·0.05/(√2.5e-4 + 1e-7) = 0.9000006.
func TestFirstSteps(t *testing.T) {
	gs := []float32{0.5, -1, 2}
	amsGs := []float32{2, 0.1, -0.1} // v shrinks after the first step
	cases := []struct {
		name string
		opt  Optimizer
		gs   []float32
		want []float64
	}{
		{"sgd", &SGD{Base: Base{LearningRate: 0.1}}, gs, []float64{0.95, 1.05, 0.85}},
		{"sgd_momentum", &SGD{Base: Base{LearningRate: 0.1}, Momentum: 0.9}, gs, []float64{0.95, 1.005, 0.8545}},
		{"sgd_nesterov", &SGD{Base: Base{LearningRate: 0.1}, Momentum: 0.9, Nesterov: true}, gs, []float64{0.905, 1.0545, 0.71905}},
		{"adam", &Adam{Base: Base{LearningRate: 0.1}}, gs, []float64{0.9000006324515321, 0.9366108815953381, 0.894645377681933}},
		{"adam_beta1_zero", &Adam{Base: Base{LearningRate: 0.1}, Beta1: Zero}, gs, []float64{0.9000006324515321, 1.0264724022210439, 0.8753408200212727}},
		{"adam_b2_0.5", &Adam{Base: Base{LearningRate: 0.1}, Beta2: 0.5}, amsGs, []float64{0.9000000070710673, 0.8136131731300986, 0.7356045652965401}},
		{"amsgrad_b2_0.5", &Adam{Base: Base{LearningRate: 0.1}, Beta2: 0.5, AMSGrad: true}, amsGs, []float64{0.9000000070710673, 0.8387627678316145, 0.7994670177429559}},
		{"adamw", &AdamW{Base: Base{LearningRate: 0.1}}, gs, []float64{0.8996006324515321, 0.9358510413423575, 0.8935111970124154}},
		{"rmsprop", &RMSprop{Base: Base{LearningRate: 0.01}}, gs, []float64{0.9683772866436797, 0.9969487035533079, 0.9689499662118934}},
		{"rmsprop_centered", &RMSprop{Base: Base{LearningRate: 0.01}, Centered: true}, gs, []float64{0.9666667407404939, 0.9955975977398521, 0.9669559358280357}},
		{"rmsprop_momentum", &RMSprop{Base: Base{LearningRate: 0.01}, Momentum: 0.5}, gs, []float64{0.9683772866436797, 0.9811373468751476, 0.9595186396494672}},
		{"adagrad", &Adagrad{Base: Base{LearningRate: 0.1}}, gs, []float64{0.9154845866007779, 1.0015508799955246, 0.915083340570209}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := scalarRun(t, c.opt, c.gs)
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-6 {
					t.Errorf("step %d: p = %.9f, want %.9f", i+1, got[i], c.want[i])
				}
			}
			if c.opt.Iterations() != len(c.gs) {
				t.Errorf("Iterations = %d, want %d", c.opt.Iterations(), len(c.gs))
			}
		})
	}
}

// leastSquares is a convex problem: minimize mean((A·w − b)²) over w.
type leastSquares struct {
	a, b *tensor.Tensor
}

func newLeastSquares(seed uint64) leastSquares {
	rng := rand.New(rand.NewPCG(seed, 1))
	a := tensor.RandNormal(rng, 0, 1, 32, 6)
	x := tensor.RandNormal(rng, 0, 1, 6, 1)
	return leastSquares{a: a, b: tensor.MatMul(a, x)}
}

func (ls leastSquares) loss(w *autograd.Var) *autograd.Var {
	r := autograd.Sub(autograd.MatMul(autograd.Const(ls.a), w, false, false), autograd.Const(ls.b))
	return autograd.Mean(autograd.Square(r), false)
}

// run takes steps with opt from w = 0 and returns the first and last loss.
func (ls leastSquares) run(t *testing.T, opt Optimizer, steps int) (first, last float64) {
	t.Helper()
	w := autograd.NewParam("w", tensor.Zeros(6, 1))
	b := autograd.NewParam("b", tensor.Zeros(1)) // a useless bias: its gradient is tiny but present
	pool := autograd.NewPool()
	for i := 0; i <= steps; i++ {
		tape := autograd.NewTape(pool)
		tape.Watch(w, b)
		loss := autograd.Add(ls.loss(w), autograd.Scale(autograd.Square(b), 1e-3))
		l := float64(loss.Item())
		if i == 0 {
			first = l
		}
		last = l
		if i < steps {
			grads, err := tape.Gradients(loss, w, b)
			if err != nil {
				t.Fatal(err)
			}
			if err := opt.Step([]*autograd.Var{w, b}, grads); err != nil {
				t.Fatal(err)
			}
		}
		tape.Release()
	}
	return first, last
}

func allOptimizers() []Optimizer {
	return []Optimizer{
		&SGD{Base: Base{LearningRate: 0.05}},
		&SGD{Base: Base{LearningRate: 0.02}, Momentum: 0.9},
		&SGD{Base: Base{LearningRate: 0.02}, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4},
		&Adam{Base: Base{LearningRate: 0.05}},
		&Adam{Base: Base{LearningRate: 0.05}, AMSGrad: true},
		&AdamW{Base: Base{LearningRate: 0.05}},
		&RMSprop{Base: Base{LearningRate: 0.01}},
		&RMSprop{Base: Base{LearningRate: 0.005}, Centered: true, Momentum: 0.5},
		&Adagrad{Base: Base{LearningRate: 0.5}},
		&Adam{Base: Base{LearningRate: 0.05, GlobalClipNorm: 1, Schedule: Warmup{Steps: 5, Then: CosineDecay{Initial: 0.05, DecaySteps: 500}}}},
	}
}

func TestConvexConvergence(t *testing.T) {
	ls := newLeastSquares(7)
	for i, opt := range allOptimizers() {
		t.Run(fmt.Sprintf("%d_%s", i, opt.Name()), func(t *testing.T) {
			first, last := ls.run(t, opt, 300)
			if !(last < first*0.01) {
				t.Errorf("loss went from %g to %g in 300 steps, want below 1%%", first, last)
			}
		})
	}
}

// TestStateRoundTrip saves the state after some steps, continues, then
// restores the saved state (and parameters) into a fresh optimizer and
// checks that the same steps give bit-identical parameters and state.
func TestStateRoundTrip(t *testing.T) {
	fresh := []func() Optimizer{
		func() Optimizer { return &SGD{Momentum: 0.9, Nesterov: true} },
		func() Optimizer { return &Adam{AMSGrad: true} },
		func() Optimizer { return &AdamW{} },
		func() Optimizer { return &RMSprop{Centered: true, Momentum: 0.3} },
		func() Optimizer { return &Adagrad{} },
		func() Optimizer {
			return &Adam{Base: Base{Schedule: ExponentialDecay{Initial: 0.01, DecaySteps: 3, Rate: 0.5}}}
		},
	}
	for _, mk := range fresh {
		a := mk()
		t.Run(a.Name(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 3))
			params := []*autograd.Var{
				autograd.NewParam("dense1.kernel", tensor.RandNormal(rng, 0, 1, 5, 3)),
				autograd.NewParam("dense1.bias", tensor.RandNormal(rng, 0, 1, 3)),
			}
			var grads [][]*tensor.Tensor
			for range 10 {
				grads = append(grads, []*tensor.Tensor{tensor.RandNormal(rng, 0, 1, 5, 3), tensor.RandNormal(rng, 0, 1, 3)})
			}
			step := func(o Optimizer, ps []*autograd.Var, i int) {
				g := []*tensor.Tensor{grads[i][0].Clone(), grads[i][1].Clone()}
				if err := o.Step(ps, g); err != nil {
					t.Fatal(err)
				}
			}
			for i := range 5 {
				step(a, params, i)
			}
			var saved []NamedTensor
			for _, nt := range a.State() {
				saved = append(saved, NamedTensor{nt.Name, nt.Tensor.Clone()})
			}
			savedParams := []*autograd.Var{
				autograd.NewParam("dense1.kernel", params[0].Value.Clone()),
				autograd.NewParam("dense1.bias", params[1].Value.Clone()),
			}
			lr5 := a.LR()
			for i := 5; i < 10; i++ {
				step(a, params, i)
			}

			b := mk()
			if err := b.LoadState(saved); err != nil {
				t.Fatal(err)
			}
			if b.Iterations() != 5 || b.LR() != lr5 {
				t.Errorf("restored: Iterations %d, LR %v; want 5, %v", b.Iterations(), b.LR(), lr5)
			}
			for i := 5; i < 10; i++ {
				step(b, savedParams, i)
			}
			for i := range params {
				sameBits(t, params[i].Name(), params[i].Value, savedParams[i].Value)
			}
			sa, sb := a.State(), b.State()
			if len(sa) != len(sb) {
				t.Fatalf("state has %d tensors after resuming, %d without", len(sb), len(sa))
			}
			for i := range sa {
				if sa[i].Name != sb[i].Name {
					t.Fatalf("state %d is %q after resuming, %q without", i, sb[i].Name, sa[i].Name)
				}
				sameBits(t, sa[i].Name, sa[i].Tensor, sb[i].Tensor)
			}
		})
	}
}

func sameBits(t *testing.T, name string, a, b *tensor.Tensor) {
	t.Helper()
	if !tensor.SameShape(a, b) {
		t.Fatalf("%s: shapes %v and %v", name, a.Shape(), b.Shape())
	}
	for i := range a.Data() {
		if math.Float32bits(a.Data()[i]) != math.Float32bits(b.Data()[i]) {
			t.Fatalf("%s[%d]: %v resumed, %v uninterrupted", name, i, b.Data()[i], a.Data()[i])
		}
	}
}

func TestStateNames(t *testing.T) {
	p := autograd.NewParam("dense1.kernel", tensor.Ones(2, 2))
	opt := &Adam{AMSGrad: true}
	if st := opt.State(); len(st) != 1 || st[0].Name != "adam.step" || st[0].Tensor.Item() != 0 {
		t.Fatalf("state before the first step: %v", st)
	}
	if err := opt.Step([]*autograd.Var{p}, []*tensor.Tensor{tensor.Ones(2, 2)}); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, nt := range opt.State() {
		names = append(names, nt.Name)
	}
	want := "adam.step adam.m.dense1.kernel adam.v.dense1.kernel adam.vhat.dense1.kernel"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("state names %q, want %q", got, want)
	}
}

func TestLoadStateErrors(t *testing.T) {
	one := tensor.New([]int{1}, []float32{3})
	cases := map[string][]NamedTensor{
		"no step":        {{"adam.m.w", tensor.Zeros(2)}},
		"foreign":        {{"adam.step", one}, {"sgd.momentum.w", tensor.Zeros(2)}},
		"unknown buffer": {{"adam.step", one}, {"adam.q.w", tensor.Zeros(2)}},
		"no param name":  {{"adam.step", one}, {"adam.m", tensor.Zeros(2)}},
		"shapes differ":  {{"adam.step", one}, {"adam.m.w", tensor.Zeros(2)}, {"adam.v.w", tensor.Zeros(3)}},
		"duplicate":      {{"adam.step", one}, {"adam.m.w", tensor.Zeros(2)}, {"adam.m.w", tensor.Zeros(2)}},
		"bad step":       {{"adam.step", tensor.New([]int{1}, []float32{1.5})}},
		"nil tensor":     {{"adam.step", nil}},
	}
	for name, st := range cases {
		opt := &Adam{}
		if err := opt.LoadState(st); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A loaded state whose shape does not fit the parameter is reported
	// by Step.
	opt := &Adam{}
	if err := opt.LoadState([]NamedTensor{{"adam.step", one}, {"adam.m.w", tensor.Zeros(3)}, {"adam.v.w", tensor.Zeros(3)}}); err != nil {
		t.Fatal(err)
	}
	p := autograd.NewParam("w", tensor.Zeros(2))
	if err := opt.Step([]*autograd.Var{p}, []*tensor.Tensor{tensor.Zeros(2)}); err == nil || !strings.Contains(err.Error(), `"w"`) {
		t.Errorf("Step with mis-shaped loaded state: err = %v", err)
	}
}

func TestStepErrors(t *testing.T) {
	w := autograd.NewParam("w", tensor.Ones(2))
	g := tensor.Ones(2)
	cases := []struct {
		name   string
		opt    Optimizer
		params []*autograd.Var
		grads  []*tensor.Tensor
	}{
		{"length", &Adam{}, []*autograd.Var{w}, nil},
		{"grad shape", &Adam{}, []*autograd.Var{w}, []*tensor.Tensor{tensor.Ones(3)}},
		{"no name", &Adam{}, []*autograd.Var{autograd.NewParam("", tensor.Ones(2))}, []*tensor.Tensor{g}},
		{"duplicate", &Adam{}, []*autograd.Var{w, autograd.NewParam("w", tensor.Ones(2))}, []*tensor.Tensor{g, g}},
		{"beta1", &Adam{Beta1: 1}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"beta2", &AdamW{Beta2: -3}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"lr", &SGD{Base: Base{LearningRate: -1e-3}}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"momentum", &SGD{Momentum: 1.5}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"rho", &RMSprop{Rho: 1}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"accumulator", &Adagrad{InitialAccumulator: -2}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"clipnorm", &Adam{Base: Base{ClipNorm: -1}}, []*autograd.Var{w}, []*tensor.Tensor{g}},
		{"schedule", &Adam{Base: Base{Schedule: Constant(math.NaN())}}, []*autograd.Var{w}, []*tensor.Tensor{g}},
	}
	for _, c := range cases {
		before := w.Value.Clone()
		if err := c.opt.Step(c.params, c.grads); err == nil {
			t.Errorf("%s: no error", c.name)
		} else if !strings.HasPrefix(err.Error(), "optim: ") {
			t.Errorf("%s: error %q lacks the package prefix", c.name, err)
		}
		sameBits(t, c.name, before, w.Value)
		if c.opt.Iterations() != 0 {
			t.Errorf("%s: a failed Step counted", c.name)
		}
	}
}

func TestNilGradientSkips(t *testing.T) {
	a := autograd.NewParam("a", tensor.Ones(2))
	b := autograd.NewParam("b", tensor.Ones(2))
	opt := &Adam{Base: Base{LearningRate: 0.1}}
	if err := opt.Step([]*autograd.Var{a, b}, []*tensor.Tensor{tensor.Ones(2), nil}); err != nil {
		t.Fatal(err)
	}
	if b.Value.At(0) != 1 || a.Value.At(0) == 1 {
		t.Errorf("a = %v, b = %v: want only a updated", a.Value, b.Value)
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		name string
		s    Schedule
		step int
		want float64
	}{
		{"constant", Constant(0.3), 1000, 0.3},
		{"step/0", StepDecay{Initial: 1, DropEvery: 10, Factor: 0.5}, 0, 1},
		{"step/9", StepDecay{Initial: 1, DropEvery: 10, Factor: 0.5}, 9, 1},
		{"step/10", StepDecay{Initial: 1, DropEvery: 10, Factor: 0.5}, 10, 0.5},
		{"step/35", StepDecay{Initial: 1, DropEvery: 10, Factor: 0.5}, 35, 0.125},
		{"step/default factor", StepDecay{Initial: 1, DropEvery: 10}, 20, 0.01},
		{"step/never", StepDecay{Initial: 2}, 500, 2},
		{"exp/0", ExponentialDecay{Initial: 0.1, DecaySteps: 100, Rate: 0.5}, 0, 0.1},
		{"exp/50", ExponentialDecay{Initial: 0.1, DecaySteps: 100, Rate: 0.5}, 50, 0.1 * math.Sqrt(0.5)},
		{"exp/200", ExponentialDecay{Initial: 0.1, DecaySteps: 100, Rate: 0.5}, 200, 0.025},
		{"exp/staircase/150", ExponentialDecay{Initial: 0.1, DecaySteps: 100, Rate: 0.5, Staircase: true}, 150, 0.05},
		{"cos/0", CosineDecay{Initial: 1, DecaySteps: 100}, 0, 1},
		{"cos/50", CosineDecay{Initial: 1, DecaySteps: 100}, 50, 0.5},
		{"cos/100", CosineDecay{Initial: 1, DecaySteps: 100}, 100, 0},
		{"cos/alpha/50", CosineDecay{Initial: 1, DecaySteps: 100, Alpha: 0.2}, 50, 0.6},
		{"cos/alpha/after", CosineDecay{Initial: 1, DecaySteps: 100, Alpha: 0.2}, 1000, 0.2},
		{"cos/25", CosineDecay{Initial: 2, DecaySteps: 100}, 25, 1 + math.Sqrt(0.5)},
		{"warmup/0", Warmup{Steps: 4, Then: Constant(0.8)}, 0, 0.2},
		{"warmup/2", Warmup{Steps: 4, Then: Constant(0.8)}, 2, 0.6},
		{"warmup/3", Warmup{Steps: 4, Then: Constant(0.8)}, 3, 0.8},
		{"warmup/then", Warmup{Steps: 10, Then: CosineDecay{Initial: 1, DecaySteps: 100}}, 60, 0.5},
		{"warmup/none", Warmup{Then: Constant(0.8)}, 0, 0.8},
	}
	for _, c := range cases {
		if got := c.s.LR(c.step); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: LR(%d) = %v, want %v", c.name, c.step, got, c.want)
		}
	}
}

func TestScheduleDrivesOptimizer(t *testing.T) {
	opt := &SGD{Base: Base{Schedule: StepDecay{Initial: 1, DropEvery: 2, Factor: 0.5}}}
	p := autograd.NewParam("p", tensor.Zeros(1))
	var lrs []float64
	for range 5 {
		lrs = append(lrs, opt.LR())
		before := p.Value.Item()
		if err := opt.Step([]*autograd.Var{p}, []*tensor.Tensor{tensor.Ones(1)}); err != nil {
			t.Fatal(err)
		}
		if used := float64(before - p.Value.Item()); used != lrs[len(lrs)-1] {
			t.Errorf("step %d moved by %v, LR() said %v", len(lrs)-1, used, lrs[len(lrs)-1])
		}
	}
	if fmt.Sprint(lrs) != "[1 1 0.5 0.5 0.25]" {
		t.Errorf("learning rates %v", lrs)
	}
	opt.SetLR(0.125)
	if opt.Schedule != nil || opt.LR() != 0.125 {
		t.Errorf("after SetLR: schedule %v, LR %v", opt.Schedule, opt.LR())
	}
	opt.SetLR(0)
	if opt.LR() != 0 {
		t.Errorf("SetLR(0) gives LR %v, want 0", opt.LR())
	}
}

// TestSetSchedule checks that every optimizer takes a schedule through the
// interface (evaluated at its step counter) and drops it again on nil.
func TestSetSchedule(t *testing.T) {
	for _, name := range []string{"sgd", "adam", "adamw", "rmsprop", "adagrad"} {
		opt, err := ByName(name, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		opt.SetSchedule(CosineDecay{Initial: 0.2, DecaySteps: 2})
		p := autograd.NewParam("p", tensor.Zeros(1))
		if got := opt.LR(); got != 0.2 {
			t.Errorf("%s: LR with the schedule at step 0 = %v, want 0.2", name, got)
		}
		if err := opt.Step([]*autograd.Var{p}, []*tensor.Tensor{tensor.Ones(1)}); err != nil {
			t.Fatal(err)
		}
		if got := opt.LR(); math.Abs(got-0.1) > 1e-12 {
			t.Errorf("%s: LR at step 1 = %v, want 0.1 (half way down the cosine)", name, got)
		}
		opt.SetSchedule(nil)
		if got := opt.LR(); got != 0.5 {
			t.Errorf("%s: LR after SetSchedule(nil) = %v, want the learning rate 0.5", name, got)
		}
	}
}

func TestClipping(t *testing.T) {
	mk := func() []*tensor.Tensor {
		return []*tensor.Tensor{tensor.New([]int{2}, []float32{3, -4}), nil, tensor.New([]int{1}, []float32{-12})}
	}
	g := mk()
	ClipByValue(g, 3.5)
	if fmt.Sprint(g[0].Data(), g[2].Data()) != "[3 -3.5] [-3.5]" {
		t.Errorf("ClipByValue: %v %v", g[0].Data(), g[2].Data())
	}
	g = mk()
	ClipByNorm(g, 2.5) // ‖g0‖ = 5, ‖g2‖ = 12
	if fmt.Sprint(g[0].Data(), g[2].Data()) != "[1.5 -2] [-2.5]" {
		t.Errorf("ClipByNorm: %v %v", g[0].Data(), g[2].Data())
	}
	g = mk()
	if n := ClipByGlobalNorm(g, 6.5); n != 13 { // √(9 + 16 + 144)
		t.Errorf("ClipByGlobalNorm returned %v, want 13", n)
	}
	if fmt.Sprint(g[0].Data(), g[2].Data()) != "[1.5 -2] [-6]" {
		t.Errorf("ClipByGlobalNorm: %v %v", g[0].Data(), g[2].Data())
	}
	g = mk()
	if n := ClipByGlobalNorm(g, 100); n != 13 || g[2].Data()[0] != -12 {
		t.Errorf("ClipByGlobalNorm under the limit changed the gradients: %v", g[2].Data())
	}
	// As optimizer options: plain SGD with lr 1 moves by the clipped gradient.
	for _, c := range []struct {
		opt  *SGD
		want string
	}{
		{&SGD{Base: Base{LearningRate: 1, ClipValue: 3.5}}, "[-3 3.5] [3.5]"},
		{&SGD{Base: Base{LearningRate: 1, ClipNorm: 2.5}}, "[-1.5 2] [2.5]"},
		{&SGD{Base: Base{LearningRate: 1, GlobalClipNorm: 6.5}}, "[-1.5 2] [6]"},
	} {
		ps := []*autograd.Var{autograd.NewParam("a", tensor.Zeros(2)), autograd.NewParam("b", tensor.Zeros(3)), autograd.NewParam("c", tensor.Zeros(1))}
		if err := c.opt.Step(ps, mk()); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(ps[0].Value.Data(), ps[2].Value.Data()); got != c.want {
			t.Errorf("%+v: params %s, want %s", *c.opt, got, c.want)
		}
	}
}

func TestByNameAndConfig(t *testing.T) {
	for _, name := range []string{"sgd", "adam", "adamw", "rmsprop", "Adagrad"} {
		opt, err := ByName(name, 0)
		if err != nil {
			t.Fatal(err)
		}
		if opt.Name() != strings.ToLower(name) {
			t.Errorf("ByName(%q).Name() = %q", name, opt.Name())
		}
		cfg := opt.Config()
		if cfg["name"] != opt.Name() || cfg["learning_rate"] != opt.LR() {
			t.Errorf("%s: config %v, LR %v", name, cfg, opt.LR())
		}
		if _, err := json.Marshal(cfg); err != nil {
			t.Errorf("%s: config does not marshal: %v", name, err)
		}
	}
	if opt, _ := ByName("adam", 0.01); opt.LR() != 0.01 {
		t.Errorf("ByName(adam, 0.01).LR() = %v", opt.LR())
	}
	if opt, _ := ByName("sgd", 0); opt.LR() != 0.01 {
		t.Errorf("default SGD learning rate %v, want 0.01", opt.LR())
	}
	if _, err := ByName("lamb", 0); err == nil {
		t.Error("ByName(lamb) gave no error")
	}
	if _, err := ByName("adam", -1); err == nil {
		t.Error("ByName with a negative learning rate gave no error")
	}
	cfg := (&AdamW{Base: Base{Schedule: Warmup{Steps: 3, Then: Constant(0.1)}}, Beta1: Zero}).Config()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"amsgrad":false,"beta_1":0,"beta_2":0.999,"clipnorm":0,"clipvalue":0,"epsilon":1e-7,"global_clipnorm":0,"learning_rate":0.001,"name":"adamw","schedule":{"name":"warmup","steps":3,"then":{"name":"constant","value":0.1}},"weight_decay":0.004}`
	if string(b) != want {
		t.Errorf("AdamW config\n got %s\nwant %s", b, want)
	}
}

// TestStepAllocs checks that a steady-state Step allocates nothing, for
// every optimizer, with clipping and a schedule.
func TestStepAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	params, grads := benchParams(rng)
	opts := append(allOptimizers(), &Adam{Base: Base{ClipValue: 1, ClipNorm: 10, GlobalClipNorm: 5}})
	for _, opt := range opts {
		if err := opt.Step(params, grads); err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(10, func() {
			if err := opt.Step(params, grads); err != nil {
				t.Fatal(err)
			}
		}); a != 0 {
			t.Errorf("%s %+v: %v allocations per steady-state Step", opt.Name(), opt, a)
		}
	}
}

// benchParams returns four parameter tensors of MLP-like sizes that add
// up to 225,034 weights, and gradients for them.
func benchParams(rng *rand.Rand) ([]*autograd.Var, []*tensor.Tensor) {
	shapes := map[string][]int{"dense1.kernel": {784, 256}, "dense1.bias": {256}, "dense2.kernel": {256, 94}, "out.bias": {10}}
	var params []*autograd.Var
	var grads []*tensor.Tensor
	for _, name := range []string{"dense1.kernel", "dense1.bias", "dense2.kernel", "out.bias"} {
		params = append(params, autograd.NewParam(name, tensor.RandNormal(rng, 0, 0.05, shapes[name]...)))
		grads = append(grads, tensor.RandNormal(rng, 0, 0.01, shapes[name]...))
	}
	return params, grads
}

func BenchmarkAdamStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	params, grads := benchParams(rng)
	n := 0
	for _, p := range params {
		n += p.Value.Len()
	}
	if n != 225034 {
		b.Fatalf("%d parameters, want 225034", n)
	}
	opt := &Adam{}
	if err := opt.Step(params, grads); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(n) * 4 * 7) // read p, g, m, v; write p, m, v
	for b.Loop() {
		if err := opt.Step(params, grads); err != nil {
			b.Fatal(err)
		}
	}
}

func TestByNameHelpers(t *testing.T) {
	for _, name := range ScheduleNames {
		s, err := ScheduleByName(name, 0.1, 100)
		if err != nil || (name != "constant") != (s != nil) {
			t.Errorf("%s: %v, %v", name, s, err)
		}
	}
	for _, bad := range []struct {
		name  string
		lr    float64
		steps int
	}{{"cosine", 0.1, 0}, {"cosinus", 0.1, 10}, {"cosine", math.NaN(), 10}} {
		if _, err := ScheduleByName(bad.name, bad.lr, bad.steps); err == nil {
			t.Errorf("ScheduleByName(%q, %v, %d): no error", bad.name, bad.lr, bad.steps)
		}
	}
	for _, o := range allOptimizers() {
		for i, kind := range ClipNames {
			if err := SetClip(o, kind, float64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		c := o.Config()
		if c["clipvalue"] != 1.0 || c["clipnorm"] != 2.0 || c["global_clipnorm"] != 3.0 {
			t.Errorf("%s: config %v after SetClip", o.Name(), c)
		}
		if SetClip(o, "max", 1) == nil || SetClip(o, "norm", -1) == nil {
			t.Errorf("%s: no error for a bad clipping", o.Name())
		}
	}
}

func TestScaleLR(t *testing.T) {
	o := &SGD{Base: Base{Schedule: Constant(0.4)}}
	o.ScaleLR(0.5)
	o.ScaleLR(0.5)
	if o.LR() != 0.1 || o.LRScale() != 0.25 || o.Schedule == nil {
		t.Errorf("LR %v, scale %v", o.LR(), o.LRScale())
	}
	o.SetLR(0.3)
	if o.LR() != 0.3 || o.LRScale() != 1 {
		t.Errorf("after SetLR: LR %v, scale %v", o.LR(), o.LRScale())
	}
}
