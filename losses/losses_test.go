package losses

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/tensor"
)

func tt(shape []int, v ...float32) *tensor.Tensor { return tensor.New(shape, v) }

// TestKerasExamples checks the standalone-usage examples of the Keras /
// tf.keras documentation of each loss: the default reduction, sample
// weights, Sum and None (the documentation prints 3 or 4 digits).
func TestKerasExamples(t *testing.T) {
	probs := tt([]int{2, 2}, 0.6, 0.4, 0.4, 0.6)
	bin := tt([]int{2, 2}, 0, 1, 0, 0)
	catPred := tt([]int{2, 3}, 0.05, 0.95, 0, 0.1, 0.8, 0.1)
	catTrue := tt([]int{2, 3}, 0, 1, 0, 0, 0, 1)
	cases := []struct {
		name         string
		mk           func(Reduction) Loss
		yPred, yTrue *tensor.Tensor
		weights      *tensor.Tensor
		mean, wmean  float64
		sum          float64
		none         []float64
	}{
		{"mse", func(r Reduction) Loss { return MSE{Reduction: r} },
			tt([]int{2, 2}, 1, 1, 1, 0), bin, tt([]int{2}, 0.7, 0.3), 0.5, 0.25, 1.0, []float64{0.5, 0.5}},
		{"mae", func(r Reduction) Loss { return MAE{Reduction: r} },
			tt([]int{2, 2}, 1, 1, 1, 0), bin, tt([]int{2}, 0.7, 0.3), 0.5, 0.25, 1.0, []float64{0.5, 0.5}},
		{"huber", func(r Reduction) Loss { return Huber{Reduction: r} },
			probs, bin, tt([]int{2}, 1, 0), 0.155, 0.09, 0.31, []float64{0.18, 0.13}},
		{"bce", func(r Reduction) Loss { return BinaryCrossentropy{Reduction: r} },
			probs, bin, tt([]int{2}, 1, 0), 0.815, 0.458, 1.630, []float64{0.916, 0.714}},
		{"bce_logits", func(r Reduction) Loss { return BinaryCrossentropy{FromLogits: true, Reduction: r} },
			tt([]int{2, 2}, -18.6, 0.51, 2.94, -12.8), bin, tt([]int{2}, 1, 0), 0.865, 0.235 / 2, 1.730, []float64{0.235, 1.496}}, // weighted: derived
		{"cce", func(r Reduction) Loss { return CategoricalCrossentropy{Reduction: r} },
			catPred, catTrue, tt([]int{2}, 0.3, 0.7), 1.177, 0.814, 2.354, []float64{0.0513, 2.303}},
		{"scce", func(r Reduction) Loss { return SparseCategoricalCrossentropy{Reduction: r} },
			catPred, tt([]int{2}, 1, 2), tt([]int{2}, 0.3, 0.7), 1.177, 0.814, 2.354, []float64{0.0513, 2.303}},
		{"kld", func(r Reduction) Loss { return KLDivergence{Reduction: r} },
			probs, bin, tt([]int{2}, 0.8, 0.2), 0.458, 0.366, 0.916, []float64{0.916, -3.08e-06}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := autograd.Const(c.yPred)
			near := func(what string, got float32, want float64) {
				t.Helper()
				if math.Abs(float64(got)-want) > 1.5e-3*math.Max(1, math.Abs(want)) && math.Abs(float64(got)-want) > 1e-8 {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			near("mean", c.mk(SumOverBatchSize).Compute(p, c.yTrue, nil).Item(), c.mean)
			near("weighted", c.mk(SumOverBatchSize).Compute(p, c.yTrue, c.weights).Item(), c.wmean)
			near("sum", c.mk(Sum).Compute(p, c.yTrue, nil).Item(), c.sum)
			none := c.mk(None).Compute(p, c.yTrue, nil)
			if !tensor.EqualShapes(none.Shape(), []int{2}) {
				t.Fatalf("None gives shape %v, want [2]", none.Shape())
			}
			for i, w := range c.none {
				near(fmt.Sprintf("none[%d]", i), none.Value.Data()[i], w)
			}
		})
	}
}

// TestHandComputed checks values worked out by hand.
func TestHandComputed(t *testing.T) {
	cases := []struct {
		name         string
		loss         Loss
		yPred, yTrue *tensor.Tensor
		want         float64
	}{
		// x = 0.5, 3 with δ = 2: ½·0.25 = 0.125 and 2·(3 − 1) = 4 → mean 2.0625.
		{"huber_delta", Huber{Delta: 2}, tt([]int{1, 2}, 0.5, 3), tt([]int{1, 2}, 0, 0), 2.0625},
		// [batch] and [batch, 1] targets match: ((1)² + (2)²)/2.
		{"mse_rank", MSE{}, tt([]int{2, 1}, 1, 2), tt([]int{2}, 0, 0), 2.5},
		{"mse_rank_batch1", MSE{}, tt([]int{1}, 2), tt([]int{1, 1}, 0), 4},
		// Sequences [batch=1, time=2, 2]: per-time means 1 and 3, averaged.
		{"mae_seq", MAE{}, tt([]int{1, 2, 2}, 1, 1, 3, 3), tt([]int{1, 2, 2}, 0, 0, 0, 0), 2},
		// Smoothing 0.2 over 2 classes: y = [0.1, 0.9]; −(0.1·ln .5 + 0.9·ln .5) = ln 2.
		{"cce_smooth", CategoricalCrossentropy{LabelSmoothing: 0.2}, tt([]int{1, 2}, 0.5, 0.5), tt([]int{1, 2}, 0, 1), math.Ln2},
		// Smoothing 0.5 toward ½: y = 0.75; −(0.75·ln 0.8 + 0.25·ln 0.2).
		{"bce_smooth", BinaryCrossentropy{LabelSmoothing: 0.5}, tt([]int{1, 1}, 0.8), tt([]int{1, 1}, 1), -(0.75*math.Log(0.8) + 0.25*math.Log(0.2))},
		// Unnormalized probabilities are rescaled as Keras does: [1, 3] → [.25, .75].
		{"cce_rescale", CategoricalCrossentropy{}, tt([]int{1, 2}, 1, 3), tt([]int{1, 2}, 0, 1), -math.Log(0.75)},
		// A confident wrong answer is clipped at ε: −ln(1e-7).
		{"bce_clip", BinaryCrossentropy{}, tt([]int{1, 1}, 0), tt([]int{1, 1}, 1), -math.Log(1e-7)},
		// Sequence labels [batch=1, time=2]: −(ln .5 + ln .25)/2.
		{"scce_seq", SparseCategoricalCrossentropy{}, tt([]int{1, 2, 2}, 0.5, 0.5, 0.75, 0.25), tt([]int{1, 2}, 0, 1), -(math.Log(0.5) + math.Log(0.25)) / 2},
		{"scce_col", SparseCategoricalCrossentropy{}, tt([]int{2, 2}, 0.5, 0.5, 0.75, 0.25), tt([]int{2, 1}, 0, 1), -(math.Log(0.5) + math.Log(0.25)) / 2},
	}
	for _, c := range cases {
		got := c.loss.Compute(autograd.Const(c.yPred), c.yTrue, nil).Item()
		if math.Abs(float64(got)-c.want) > 1e-5*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// probs returns rows of a random distribution over k classes, every entry
// at least 0.05 (away from the clipping).
func probs(rng *rand.Rand, b, k int) *tensor.Tensor {
	return tensor.Softmax(tensor.RandUniform(rng, -1, 1, b, k), 1)
}

func oneHot(labels []int, k int) *tensor.Tensor { return tensor.OneHot(labels, k) }

func labelT(labels ...int) *tensor.Tensor {
	t := tensor.Zeros(len(labels))
	for i, l := range labels {
		t.Data()[i] = float32(l)
	}
	return t
}

// TestGradients checks every loss, on every path and reduction, against
// finite differences.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const b, k = 4, 3
	labels := []int{0, 2, 1, 2}
	w := tt([]int{b}, 0.5, 1, 2, 0.25)
	reg := tensor.RandNormal(rng, 0, 1, b, k)
	// keep |yPred − yTrue| away from 0 (|x|) and from δ = 1 (Huber's kink)
	regPred := reg.Clone()
	for i, v := range regPred.Data() {
		regPred.Data()[i] = v + []float32{0.3, -0.4, 1.5, -2}[i%4]
	}
	binTrue := tensor.RandUniform(rng, 0, 1, b, k)
	binPred := tensor.RandUniform(rng, 0.1, 0.9, b, k)
	seqTrue := labelT(0, 1, 2, 0, 1, 2, 2, 0)
	cases := []struct {
		name  string
		loss  Loss
		wrap  func(x *autograd.Var) *autograd.Var // applied to the input before the loss
		input *tensor.Tensor
		yTrue *tensor.Tensor
	}{
		{"mse", MSE{}, nil, regPred, reg},
		{"mae", MAE{}, nil, regPred, reg},
		{"huber", Huber{}, nil, regPred, reg},
		{"huber_delta", Huber{Delta: 0.2}, nil, regPred, reg},
		{"bce_probs", BinaryCrossentropy{LabelSmoothing: 0.1}, nil, binPred, binTrue},
		{"bce_logits", BinaryCrossentropy{FromLogits: true}, nil, tensor.RandNormal(rng, 0, 2, b, k), binTrue},
		{"bce_sigmoid", BinaryCrossentropy{}, autograd.Sigmoid, tensor.RandNormal(rng, 0, 2, b, k), binTrue},
		{"cce_probs", CategoricalCrossentropy{LabelSmoothing: 0.1}, nil, probs(rng, b, k), oneHot(labels, k)},
		{"cce_logits", CategoricalCrossentropy{FromLogits: true}, nil, tensor.RandNormal(rng, 0, 2, b, k), probs(rng, b, k)},
		{"cce_softmax", CategoricalCrossentropy{LabelSmoothing: 0.2}, softmax, tensor.RandNormal(rng, 0, 2, b, k), oneHot(labels, k)},
		{"scce_probs", SparseCategoricalCrossentropy{}, nil, probs(rng, b, k), labelT(labels...)},
		{"scce_logits", SparseCategoricalCrossentropy{FromLogits: true}, nil, tensor.RandNormal(rng, 0, 2, b, k), labelT(labels...)},
		{"scce_softmax", SparseCategoricalCrossentropy{}, softmax, tensor.RandNormal(rng, 0, 2, b, k), labelT(labels...)},
		{"scce_seq_logits", SparseCategoricalCrossentropy{FromLogits: true}, nil, tensor.RandNormal(rng, 0, 2, b, 2, k), seqTrue},
		{"kld", KLDivergence{}, nil, probs(rng, b, k), probs(rng, b, k)},
	}
	for _, c := range cases {
		for _, red := range []Reduction{SumOverBatchSize, Sum, None} {
			for _, weights := range []*tensor.Tensor{nil, w} {
				loss := withReduction(c.loss, red)
				f := func(xs []*autograd.Var) *autograd.Var {
					x := xs[0]
					if c.wrap != nil {
						x = c.wrap(x)
					}
					return loss.Compute(x, c.yTrue, weights)
				}
				if err := autograd.CheckGradients(f, []*tensor.Tensor{c.input}, autograd.CheckOptions{Eps: 1e-3, Tol: 1e-2}); err != nil {
					t.Errorf("%s/%v/weighted=%v: %v", c.name, red, weights != nil, err)
				}
			}
		}
	}
}

func softmax(x *autograd.Var) *autograd.Var { return autograd.Softmax(x, -1) }

// withReduction returns l with its Reduction set to r.
func withReduction(l Loss, r Reduction) Loss {
	switch l := l.(type) {
	case MSE:
		l.Reduction = r
		return l
	case MAE:
		l.Reduction = r
		return l
	case Huber:
		l.Reduction = r
		return l
	case BinaryCrossentropy:
		l.Reduction = r
		return l
	case CategoricalCrossentropy:
		l.Reduction = r
		return l
	case SparseCategoricalCrossentropy:
		l.Reduction = r
		return l
	case KLDivergence:
		l.Reduction = r
		return l
	}
	panic("unknown loss")
}

// valueAndGrad returns f's scalar value at x and its gradient.
func valueAndGrad(t *testing.T, x *tensor.Tensor, f func(*autograd.Var) *autograd.Var) (float64, []float32) {
	t.Helper()
	p := autograd.NewParam("x", x.Clone())
	tape := autograd.NewTape(nil)
	defer tape.Release()
	tape.Watch(p)
	y := f(p)
	g, err := tape.Gradients(y, p)
	if err != nil {
		t.Fatal(err)
	}
	return float64(y.Item()), append([]float32(nil), g[0].Data()...)
}

func sameValueAndGrad(t *testing.T, what string, x *tensor.Tensor, tol float64, f, ref func(*autograd.Var) *autograd.Var) {
	t.Helper()
	v1, g1 := valueAndGrad(t, x, f)
	v2, g2 := valueAndGrad(t, x, ref)
	if math.Abs(v1-v2) > tol*math.Max(1, math.Abs(v2)) {
		t.Errorf("%s: value %v, reference %v", what, v1, v2)
	}
	for i := range g1 {
		if math.Abs(float64(g1[i]-g2[i])) > tol {
			t.Errorf("%s: gradient[%d] %v, reference %v", what, i, g1[i], g2[i])
			return
		}
	}
}

// TestFusedMatchesComposed checks the fused logits paths against the same
// loss composed from primitive ops, in value and gradient.
func TestFusedMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const b, k = 5, 4
	z := tensor.RandNormal(rng, 0, 2, b, k)
	labels := []int{3, 0, 1, 1, 2}
	y := oneHot(labels, k)
	sy := labelT(labels...)
	w := tt([]int{b}, 1, 0.5, 2, 0, 1)

	// −Σ_k y_k log softmax(z)_k, averaged with weights, from primitives.
	composedCCE := func(z *autograd.Var) *autograd.Var {
		ce := autograd.Neg(autograd.Sum(autograd.Mul(autograd.Const(y), autograd.LogSoftmax(z, -1)), false, 1))
		return autograd.Scale(autograd.Sum(autograd.Mul(ce, autograd.Const(w)), false), 1/float32(b))
	}
	composedSCCE := func(z *autograd.Var) *autograd.Var {
		idx := make([]int, b)
		for i, l := range labels {
			idx[i] = i*k + l
		}
		picked := autograd.Gather(autograd.Reshape(autograd.LogSoftmax(z, -1), b*k, 1), idx)
		ce := autograd.Neg(autograd.Reshape(picked, b))
		return autograd.Scale(autograd.Sum(autograd.Mul(ce, autograd.Const(w)), false), 1/float32(b))
	}
	cce := CategoricalCrossentropy{FromLogits: true}
	scce := SparseCategoricalCrossentropy{FromLogits: true}
	probPath := func(x *autograd.Var) *autograd.Var { return autograd.Scale(autograd.Softmax(x, -1), 1) } // hides the logits
	sameValueAndGrad(t, "cce logits", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return cce.Compute(z, y, w) }, composedCCE)
	sameValueAndGrad(t, "cce softmax", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return CategoricalCrossentropy{}.Compute(softmax(z), y, w) }, composedCCE)
	sameValueAndGrad(t, "cce probabilities", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return CategoricalCrossentropy{}.Compute(probPath(z), y, w) }, composedCCE)
	sameValueAndGrad(t, "scce logits", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return scce.Compute(z, sy, w) }, composedSCCE)
	sameValueAndGrad(t, "scce softmax", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return SparseCategoricalCrossentropy{}.Compute(softmax(z), sy, w) }, composedSCCE)
	sameValueAndGrad(t, "scce probabilities", z, 1e-5,
		func(z *autograd.Var) *autograd.Var {
			return SparseCategoricalCrossentropy{}.Compute(probPath(z), sy, w)
		}, composedSCCE)

	// Binary: −(y log σ(z) + (1 − y) log(1 − σ(z))), from primitives.
	by := tensor.RandUniform(rng, 0, 1, b, k)
	composedBCE := func(z *autograd.Var) *autograd.Var {
		s := autograd.Sigmoid(z)
		notY := tensor.AddScalar(tensor.Neg(by), 1)
		e := autograd.Add(autograd.Mul(autograd.Const(by), autograd.Log(s)),
			autograd.Mul(autograd.Const(notY), autograd.Log(autograd.AddScalar(autograd.Neg(s), 1))))
		return autograd.Neg(autograd.Mean(e, false))
	}
	sameValueAndGrad(t, "bce logits", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return BinaryCrossentropy{FromLogits: true}.Compute(z, by, nil) }, composedBCE)
	sameValueAndGrad(t, "bce sigmoid", z, 1e-5,
		func(z *autograd.Var) *autograd.Var { return BinaryCrossentropy{}.Compute(autograd.Sigmoid(z), by, nil) }, composedBCE)
	sameValueAndGrad(t, "bce probabilities", z, 1e-5,
		func(z *autograd.Var) *autograd.Var {
			return BinaryCrossentropy{}.Compute(autograd.Scale(autograd.Sigmoid(z), 1), by, nil)
		}, composedBCE)
}

// TestLogitsPathIsStable shows why the fused path matters: a softmax that
// saturates in float32 loses the loss to clipping, the logits do not.
func TestLogitsPathIsStable(t *testing.T) {
	z := tt([]int{1, 3}, 0, 120, -50) // softmax = [e^−120, 1, e^−170]: 0 in float32
	y := labelT(0)
	want := 120.0 // −log softmax(z)_0 = logsumexp(z) − z_0
	v, g := valueAndGrad(t, z, func(z *autograd.Var) *autograd.Var {
		return SparseCategoricalCrossentropy{}.Compute(softmax(z), y, nil)
	})
	if math.Abs(v-want) > 1e-4 {
		t.Errorf("loss through the softmax = %v, want %v", v, want)
	}
	if math.Abs(float64(g[0])+1) > 1e-6 || math.Abs(float64(g[1])-1) > 1e-6 {
		t.Errorf("gradient %v, want [-1 1 0]", g)
	}
	clipped, _ := valueAndGrad(t, z, func(z *autograd.Var) *autograd.Var {
		return SparseCategoricalCrossentropy{}.Compute(autograd.Scale(softmax(z), 1), y, nil)
	})
	if math.Abs(clipped+math.Log(1e-7)) > 1e-3 {
		t.Errorf("clipped probabilities give %v, want −ln 1e-7", clipped)
	}
	bz := tt([]int{1, 1}, -200)
	v, _ = valueAndGrad(t, bz, func(z *autograd.Var) *autograd.Var {
		return BinaryCrossentropy{}.Compute(autograd.Sigmoid(z), tt([]int{1, 1}, 1), nil)
	})
	if math.Abs(v-200) > 1e-3 {
		t.Errorf("binary loss through the sigmoid = %v, want 200", v)
	}
}

// mustShapeError runs f and returns the *tensor.ShapeError it panics with.
func mustShapeError(t *testing.T, what string, f func()) *tensor.ShapeError {
	t.Helper()
	var se *tensor.ShapeError
	func() {
		defer func() {
			r := recover()
			err, ok := r.(error)
			if !ok || !errors.As(err, &se) {
				t.Errorf("%s: panic %v, want a *tensor.ShapeError", what, r)
			}
		}()
		f()
	}()
	return se
}

func TestInvalidInputsPanic(t *testing.T) {
	p := autograd.Const(tt([]int{2, 3}, 0.2, 0.3, 0.5, 0.1, 0.1, 0.8))
	for _, l := range []struct {
		name   string
		labels *tensor.Tensor
	}{{"too large", labelT(1, 3)}, {"negative", labelT(-1, 0)}, {"fractional", tt([]int{2}, 0, 1.5)}} {
		for _, logits := range []bool{false, true} {
			se := mustShapeError(t, l.name, func() {
				SparseCategoricalCrossentropy{FromLogits: logits}.Compute(p, l.labels, nil)
			})
			if se != nil && se.Op != "SparseCategoricalCrossentropy" {
				t.Errorf("%s: error from op %q: %v", l.name, se.Op, se)
			}
		}
	}
	se := mustShapeError(t, "label message", func() { SparseCategoricalCrossentropy{}.Compute(p, labelT(0, 7), nil) })
	if want := "tensor: SparseCategoricalCrossentropy: label 7 of sample 1 is not a class index in [0, 3): got [7], want [3]"; se != nil && se.Error() != want {
		t.Errorf("message %q, want %q", se.Error(), want)
	}
	mustShapeError(t, "label count", func() { SparseCategoricalCrossentropy{}.Compute(p, labelT(0, 1, 2), nil) })
	mustShapeError(t, "target shape", func() { MSE{}.Compute(p, tensor.Zeros(3, 2), nil) })
	mustShapeError(t, "weights", func() { MSE{}.Compute(p, tensor.Zeros(2, 3), tensor.Ones(3)) })
	mustShapeError(t, "rank-1 cce", func() { CategoricalCrossentropy{}.Compute(autograd.Const(tensor.Ones(3)), tensor.Ones(3), nil) })
	mustShapeError(t, "scalar", func() { MAE{}.Compute(autograd.Const(tensor.Scalar(1)), tensor.Scalar(1), nil) })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("negative Huber delta did not panic")
			}
		}()
		Huber{Delta: -1}.Compute(p, tensor.Zeros(2, 3), nil)
	}()
}

func TestByName(t *testing.T) {
	for _, name := range []string{"mse", "mae", "huber", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy", "kl_divergence"} {
		l, err := ByName(name)
		if err != nil {
			t.Fatal(err)
		}
		if l.Name() != name {
			t.Errorf("ByName(%q).Name() = %q", name, l.Name())
		}
	}
	if l, err := ByName("Mean_Squared_Error"); err != nil || l.Name() != "mse" {
		t.Errorf("alias: %v, %v", l, err)
	}
	if _, err := ByName("hinge"); err == nil {
		t.Error("ByName(hinge) gave no error")
	}
}

func TestReductionJSON(t *testing.T) {
	b, err := json.Marshal(CategoricalCrossentropy{LabelSmoothing: 0.1, Reduction: Sum})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"from_logits":false,"label_smoothing":0.1,"reduction":"sum"}`; string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	var l CategoricalCrossentropy
	if err := json.Unmarshal([]byte(`{"reduction":"none"}`), &l); err != nil || l.Reduction != None {
		t.Errorf("unmarshal: %v, %v", l.Reduction, err)
	}
	if err := json.Unmarshal([]byte(`{"reduction":"max"}`), &l); err == nil {
		t.Error("unknown reduction accepted")
	}
}

// TestTapeBuffers checks that a loss on a tape takes its scratch tensors
// from the tape's pool and that repeated steps reach a steady state.
func TestTapeBuffers(t *testing.T) {
	pool := autograd.NewPool()
	rng := rand.New(rand.NewPCG(1, 1))
	x := autograd.NewParam("x", tensor.RandNormal(rng, 0, 1, 8, 10))
	y := tensor.OneHot([]int{1, 2, 3, 4, 5, 6, 7, 8}, 10)
	step := func() {
		tape := autograd.NewTape(pool)
		tape.Watch(x)
		loss := CategoricalCrossentropy{LabelSmoothing: 0.1}.Compute(autograd.Softmax(x, -1), y, nil)
		if _, err := tape.Gradients(loss, x); err != nil {
			t.Fatal(err)
		}
		tape.Release()
	}
	step()
	if a := testing.AllocsPerRun(20, step); a > 40 {
		t.Errorf("%v allocations per step", a)
	}
}
