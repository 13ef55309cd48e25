package explain

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// The test task: 8×8 grayscale images with faint noise everywhere and one
// bright quadrant; the class is the quadrant (0 top-left, 1 top-right,
// 2 bottom-left, 3 bottom-right). Only the bright quadrant carries
// information, so a faithful attribution puts its mass there.

const side = 8

// quadrantData returns n images [n, 8, 8, 1] and their classes.
func quadrantData(rng *rand.Rand, n int) (*tensor.Tensor, []int) {
	x := tensor.RandUniform(rng, 0, 0.2, n, side, side, 1)
	labels := make([]int, n)
	d := x.Data()
	for i := range labels {
		q := rng.IntN(4)
		labels[i] = q
		r0, c0 := (q/2)*side/2, (q%2)*side/2
		for r := r0; r < r0+side/2; r++ {
			for c := c0; c < c0+side/2; c++ {
				d[i*side*side+r*side+c] += 0.6 + 0.2*float32(rng.Float64())
			}
		}
	}
	return x, labels
}

// quadrantMass returns the sum of |m| over each quadrant of one [8, 8] map.
func quadrantMass(m *tensor.Tensor) [4]float64 {
	var out [4]float64
	d := m.Data()
	for r := 0; r < side; r++ {
		for c := 0; c < side; c++ {
			out[(r/(side/2))*2+c/(side/2)] += math.Abs(float64(d[r*side+c]))
		}
	}
	return out
}

// quadNet is a small CNN: conv 8 3×3 same relu → max-pool 2 → flatten →
// dense 4 softmax.
func quadNet(seed uint64) *nn.Sequential {
	net := nn.NewSequential(
		&nn.Conv2D{Name: "conv", Filters: 8, KernelSize: [2]int{3, 3}, Padding: "same", Activation: "relu"},
		&nn.MaxPool2D{Name: "pool"},
		&nn.Flatten{Name: "flatten"},
		&nn.Dense{Name: "dense", Units: 4, Activation: "softmax"},
	)
	if _, err := nn.Build(net, []int{side, side, 1}, rand.New(rand.NewPCG(seed, 7))); err != nil {
		panic(err)
	}
	return net
}

// train runs full-batch gradient descent on the softmax cross-entropy,
// written out by hand: tape, gradients, p ← p − lr·g.
func train(t testing.TB, net nn.Layer, x *tensor.Tensor, labels []int, steps int, lr float32) {
	params := nn.Trainable(net)
	y := tensor.Zeros(len(labels))
	for i, l := range labels {
		y.Data()[i] = float32(l)
	}
	for step := 0; step < steps; step++ {
		tape := autograd.NewTape(nil)
		tape.Watch(params...)
		out := net.Forward(&nn.Ctx{Training: true}, autograd.Const(x))
		z, _ := out.Logits()
		loss := autograd.Mean(autograd.SoftmaxCrossEntropy(z, y), false)
		grads, err := tape.Gradients(loss, params...)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range params {
			p.Value.CopyFrom(tensor.Sub(p.Value, tensor.Scale(grads[i], lr)))
		}
		tape.Release()
	}
}

func accuracy(net nn.Layer, x *tensor.Tensor, labels []int) float64 {
	pred := tensor.ArgMax(net.Forward(&nn.Ctx{}, autograd.Const(x)).Value, 1).Data()
	ok := 0
	for i, l := range labels {
		if int(pred[i]) == l {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}

var (
	trainedOnce sync.Once
	trainedNet  *nn.Sequential
	testX       *tensor.Tensor
	testY       []int
)

// trained returns the quadrant CNN trained to high accuracy (once per test
// binary) and a held-out batch with one image of each class first.
func trained(t *testing.T) (*nn.Sequential, *tensor.Tensor, []int) {
	t.Helper()
	trainedOnce.Do(func() {
		rng := rand.New(rand.NewPCG(1, 2))
		x, y := quadrantData(rng, 256)
		net := quadNet(3)
		train(t, net, x, y, 150, 0.5)
		testX, testY = quadrantData(rng, 64)
		trainedNet = net
	})
	if trainedNet == nil {
		t.Fatal("training failed in an earlier test")
	}
	if acc := accuracy(trainedNet, testX, testY); acc < 0.95 {
		t.Fatalf("quadrant model reached only %.3f held-out accuracy", acc)
	}
	return trainedNet, testX, testY
}

// oneOfEach returns the first test image of each class, [4, 8, 8, 1].
func oneOfEach(x *tensor.Tensor, y []int) *tensor.Tensor {
	parts := make([]*tensor.Tensor, 4)
	for i, l := range y {
		if parts[l] == nil {
			parts[l] = sample(x, i)
		}
	}
	return tensor.Concat(0, parts...)
}

func TestTrainedModelAccuracy(t *testing.T) {
	net, x, y := trained(t)
	t.Logf("held-out accuracy %.3f", accuracy(net, x, y))
}

// TestAttributionsFindTheQuadrant checks that every input attribution
// method puts more mass on the bright quadrant than on any other. (Grad-CAM
// is tested on the bar task: it averages gradients over space, which
// assumes the head treats positions alike, and this model's dense head
// gives each quadrant its own weights.)
func TestAttributionsFindTheQuadrant(t *testing.T) {
	net, x, y := trained(t)
	imgs := oneOfEach(x, y)
	ctx := context.Background()
	for _, m := range []Method{
		Saliency{}, Saliency{Target: Probability}, GradientXInput{}, SmoothGrad{Samples: 16, Seed: 1},
		IntegratedGradients{Steps: 32}, Occlusion{Window: [2]int{2, 2}},
	} {
		a, err := m.Attribute(ctx, net, imgs, Predicted)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		for q := 0; q < 4; q++ {
			if a.Classes[q] != q {
				t.Fatalf("%s: image %d predicted as %d", m.Name(), q, a.Classes[q])
			}
			heat := DisplayMap(a, q)
			if m.Name() == "occlusion" {
				heat = tensor.Relu(heat) // evidence for the class
			}
			mass := quadrantMass(heat)
			for o := 0; o < 4; o++ {
				if o != q && mass[q] <= mass[o] {
					t.Errorf("%s (%s): class %d has mass %.4g in its quadrant but %.4g in quadrant %d (all %.3g)", m.Name(), a.Target, q, mass[q], mass[o], o, mass)
				}
			}
		}
	}
}

func TestIntegratedGradientsCompleteness(t *testing.T) {
	net, x, y := trained(t)
	imgs := oneOfEach(x, y)
	a, err := IntegratedGradients{Steps: 64}.Attribute(context.Background(), net, imgs, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range a.CompletenessError {
		if e > 0.01 {
			t.Errorf("sample %d: completeness error %.4f (delta %.4g), want ≤ 1%%", i, e, a.Delta[i])
		}
	}
	t.Logf("logit completeness errors %.2g", a.CompletenessError)
	// A black baseline given explicitly, a wrong class, chunked batches and
	// the probability as target: still complete, the explained class is kept.
	ig := IntegratedGradients{Baseline: tensor.Zeros(1, side, side, 1), Steps: 64, BatchSize: 10, Target: Probability}
	b, err := ig.Attribute(context.Background(), net, imgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	if b.Classes[0] != 2 || b.Predicted[0] != 0 {
		t.Fatalf("classes %v predicted %v", b.Classes, b.Predicted)
	}
	if e := b.MaxCompletenessError(); e > 0.01 {
		t.Errorf("probability target: completeness error %.4f", e)
	}
	// Too few steps with a crude rule must show in the reported error.
	c, err := IntegratedGradients{Steps: 2, Rule: "riemann_left"}.Attribute(context.Background(), net, imgs, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxCompletenessError() < 0.05 {
		t.Errorf("2 left Riemann steps report completeness error %.4f; expected a visible error", c.MaxCompletenessError())
	}
}

// TestSanityCheckRandomization is Adebayo et al. (2018)'s model
// randomization test: the saliency of the trained model must differ
// clearly from that of the same architecture with random weights.
func TestSanityCheckRandomization(t *testing.T) {
	net, x, y := trained(t)
	imgs := oneOfEach(x, y)
	random := quadNet(99)
	for _, m := range []Method{Saliency{}, SmoothGrad{Samples: 16}} {
		if rho := randomizationRho(t, m, net, random, imgs); rho > 0.5 {
			t.Errorf("%s: trained and randomized attributions correlate (ρ = %.3f); the method does not depend on the weights", m.Name(), rho)
		}
	}
	// Gradient × input and Integrated Gradients multiply by the input, so
	// part of their map is the image itself whatever the weights (Adebayo
	// et al. report the same), and covering the brightest pixels moves the
	// output of any model, so occlusion follows the image too. Logged, not
	// asserted.
	for _, m := range []Method{GradientXInput{}, IntegratedGradients{}, Occlusion{Window: [2]int{2, 2}}} {
		randomizationRho(t, m, net, random, imgs)
	}
	bars, bx, _ := trainedBars(t)
	if rho := randomizationRho(t, GradCAM{}, bars, barNet(99), bx.Slice(0, 8)); rho > 0.5 {
		t.Errorf("gradcam: trained and randomized maps correlate (ρ = %.3f)", rho)
	}
}

// randomizationRho returns the mean Spearman rank correlation between the
// Heatmaps (Σ|a| per pixel) of the trained and the randomized model.
func randomizationRho(t *testing.T, m Method, trained, random nn.Layer, x *tensor.Tensor) float64 {
	t.Helper()
	ctx := context.Background()
	at, err := m.Attribute(ctx, trained, x, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	// Explain the same classes in both models.
	ar, err := explainClasses(m, random, x, at.Classes)
	if err != nil {
		t.Fatal(err)
	}
	n := x.Dim(0)
	mean := 0.0
	for i := 0; i < n; i++ {
		mean += spearman(Heatmap(sample(at.Map, i)).Data(), Heatmap(sample(ar.Map, i)).Data()) / float64(n)
	}
	t.Logf("%s: mean Spearman ρ(trained, random) = %.3f", m.Name(), mean)
	return mean
}

// explainClasses runs m sample by sample with the given classes.
func explainClasses(m Method, net nn.Layer, x *tensor.Tensor, classes []int) (*Attribution, error) {
	parts := make([]*tensor.Tensor, len(classes))
	for i, c := range classes {
		a, err := m.Attribute(context.Background(), net, sample(x, i), c)
		if err != nil {
			return nil, err
		}
		parts[i] = a.Map
	}
	return &Attribution{Map: tensor.Concat(0, parts...)}, nil
}

// The bar task for Grad-CAM: 10×10 noise images with one bright bar of
// length 4, horizontal (class 0) or vertical (class 1), anywhere. A conv
// layer, global average pooling and a dense head — the setting class
// activation maps were made for — learn it; the map should sit on the bar.

const barSide = 10

// barData returns n images [n, 10, 10, 1], their classes and each bar's
// top-left corner.
func barData(rng *rand.Rand, n int) (*tensor.Tensor, []int, [][2]int) {
	x := tensor.RandUniform(rng, 0, 0.2, n, barSide, barSide, 1)
	labels := make([]int, n)
	corners := make([][2]int, n)
	d := x.Data()
	for i := range labels {
		vertical := rng.IntN(2)
		h, w := 1, 4
		if vertical == 1 {
			h, w = 4, 1
		}
		r0, c0 := rng.IntN(barSide-h+1), rng.IntN(barSide-w+1)
		labels[i], corners[i] = vertical, [2]int{r0, c0}
		for r := r0; r < r0+h; r++ {
			for c := c0; c < c0+w; c++ {
				d[i*barSide*barSide+r*barSide+c] += 0.7
			}
		}
	}
	return x, labels, corners
}

func barNet(seed uint64) *nn.Sequential {
	net := nn.NewSequential(
		&nn.Conv2D{Name: "conv", Filters: 8, KernelSize: [2]int{3, 3}, Padding: "same", Activation: "relu"},
		&nn.GlobalAveragePool2D{Name: "gap"},
		&nn.Dense{Name: "dense", Units: 2, Activation: "softmax"},
	)
	if _, err := nn.Build(net, []int{barSide, barSide, 1}, rand.New(rand.NewPCG(seed, 11))); err != nil {
		panic(err)
	}
	return net
}

var (
	barsOnce    sync.Once
	barsNet     *nn.Sequential
	barsX       *tensor.Tensor
	barsY       []int
	barsCorners [][2]int
)

func trainedBars(t *testing.T) (*nn.Sequential, *tensor.Tensor, [][2]int) {
	t.Helper()
	barsOnce.Do(func() {
		rng := rand.New(rand.NewPCG(8, 9))
		x, y, _ := barData(rng, 256)
		net := barNet(4)
		train(t, net, x, y, 300, 0.5)
		barsX, barsY, barsCorners = barData(rng, 64)
		barsNet = net
	})
	if barsNet == nil {
		t.Fatal("training failed in an earlier test")
	}
	if acc := accuracy(barsNet, barsX, barsY); acc < 0.95 {
		t.Fatalf("bar model reached only %.3f held-out accuracy", acc)
	}
	return barsNet, barsX, barsCorners
}

// TestGradCAMLocalizes checks that Grad-CAM puts most of its mass on the
// bar (dilated by one pixel) though the bar covers a small part of the
// image.
func TestGradCAMLocalizes(t *testing.T) {
	net, x, corners := trainedBars(t)
	a, err := GradCAM{}.Attribute(context.Background(), net, x, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	if a.Layer != "conv" {
		t.Fatalf("default layer %q, want the last Conv2D", a.Layer)
	}
	inside, area := 0.0, 0.0
	for i, c := range corners {
		h, w := 1, 4
		if a.Classes[i] == 1 {
			h, w = 4, 1
		}
		m := sample(a.Map, i).Data()
		total, in := 0.0, 0.0
		for r := 0; r < barSide; r++ {
			for q := 0; q < barSide; q++ {
				v := float64(m[r*barSide+q])
				total += v
				if r >= c[0]-1 && r <= c[0]+h && q >= c[1]-1 && q <= c[1]+w {
					in += v
					area += 1 / float64(barSide*barSide*len(corners))
				}
			}
		}
		inside += in / total / float64(len(corners))
	}
	t.Logf("Grad-CAM mass on the bar: %.2f (area %.2f)", inside, area)
	if inside < 2*area || inside < 0.5 {
		t.Errorf("Grad-CAM puts %.2f of its mass on the bar, which covers %.2f of the image", inside, area)
	}
}

// spearman returns the rank correlation of a and b (average ranks on ties).
func spearman(a, b []float32) float64 {
	ra, rb := ranks(a), ranks(b)
	n := float64(len(a))
	var ma, mb float64
	for i := range ra {
		ma += ra[i] / n
		mb += rb[i] / n
	}
	var sab, saa, sbb float64
	for i := range ra {
		da, db := ra[i]-ma, rb[i]-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	if saa == 0 || sbb == 0 {
		return 0
	}
	return sab / math.Sqrt(saa*sbb)
}

func ranks(v []float32) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return v[idx[i]] < v[idx[j]] })
	r := make([]float64, len(v))
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && v[idx[j+1]] == v[idx[i]] {
			j++
		}
		for k := i; k <= j; k++ {
			r[idx[k]] = float64(i+j) / 2
		}
		i = j + 1
	}
	return r
}

func TestSpearman(t *testing.T) {
	a := []float32{1, 2, 3, 4, 5}
	if r := spearman(a, []float32{10, 20, 30, 40, 50}); math.Abs(r-1) > 1e-12 {
		t.Errorf("monotone: %v", r)
	}
	if r := spearman(a, []float32{5, 4, 3, 2, 1}); math.Abs(r+1) > 1e-12 {
		t.Errorf("reversed: %v", r)
	}
	if r := spearman([]float32{1, 1, 2}, []float32{1, 1, 2}); math.Abs(r-1) > 1e-12 {
		t.Errorf("ties: %v", r)
	}
}

// TestSaliencyFiniteDifferences checks the gradient methods against
// central differences of the explained score, for both targets and a
// class that is not the predicted one.
func TestSaliencyFiniteDifferences(t *testing.T) {
	net, x, _ := trained(t)
	x0 := sample(x, 0)
	for _, target := range []Target{Logit, Probability} {
		s, err := start(context.Background(), "test", net, x0, 1, target)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Saliency{Target: target}.Attribute(context.Background(), net, x0, 1)
		if err != nil {
			t.Fatal(err)
		}
		gi, err := GradientXInput{Target: target}.Attribute(context.Background(), net, x0, 1)
		if err != nil {
			t.Fatal(err)
		}
		const eps = 1e-2
		for _, p := range []int{0, 9, 27, 36, 63} {
			plus, minus := x0.Clone(), x0.Clone()
			plus.Data()[p] += eps
			minus.Data()[p] -= eps
			fd := (float64(s.scores(plus, []int{1}).Item()) - float64(s.scores(minus, []int{1}).Item())) / (2 * eps)
			got := float64(a.Map.Data()[p])
			if math.Abs(got-fd) > 2e-3+0.05*math.Abs(fd) {
				t.Errorf("%s pixel %d: gradient %.5g, finite difference %.5g", target, p, got, fd)
			}
			if want := got * float64(x0.Data()[p]); math.Abs(float64(gi.Map.Data()[p])-want) > 1e-6 {
				t.Errorf("%s pixel %d: gradient × input %.5g, want %.5g", target, p, gi.Map.Data()[p], want)
			}
		}
	}
}

func TestSaliencyDisplayOptions(t *testing.T) {
	net, x, _ := trained(t)
	x2 := x.Slice(0, 2)
	ctx := context.Background()
	raw, err := Saliency{}.Attribute(ctx, net, x2, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := Saliency{Abs: true}.Attribute(ctx, net, x2, Predicted)
	mx, _ := Saliency{MaxOverChannels: true}.Attribute(ctx, net, x2, Predicted)
	if !tensor.EqualShapes(mx.Map.Shape(), []int{2, side, side, 1}) {
		t.Fatalf("max over channels: shape %v", mx.Map.Shape())
	}
	for i, v := range raw.Map.Data() {
		if w := float32(math.Abs(float64(v))); abs.Map.Data()[i] != w || mx.Map.Data()[i] != w {
			t.Fatalf("element %d: raw %v abs %v max %v", i, v, abs.Map.Data()[i], mx.Map.Data()[i])
		}
	}
}

func TestSmoothGradDeterministic(t *testing.T) {
	net, x, _ := trained(t)
	x2 := x.Slice(0, 2)
	ctx := context.Background()
	a, err := SmoothGrad{Samples: 8, Seed: 42}.Attribute(ctx, net, x2, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SmoothGrad{Samples: 8, Seed: 42}.Attribute(ctx, net, x2, Predicted)
	c, _ := SmoothGrad{Samples: 8, Seed: 43}.Attribute(ctx, net, x2, Predicted)
	same, differ := true, false
	for i, v := range a.Map.Data() {
		same = same && v == b.Map.Data()[i]
		differ = differ || v != c.Map.Data()[i]
	}
	if !same {
		t.Error("SmoothGrad with the same seed gave different maps")
	}
	if !differ {
		t.Error("SmoothGrad with another seed gave the same map")
	}
	if !tensor.SameShape(a.Map, x2) {
		t.Errorf("shape %v, want %v", a.Map.Shape(), x2.Shape())
	}
}

func TestGradCAMShapeAndRange(t *testing.T) {
	net, x, y := trained(t)
	imgs := oneOfEach(x, y)
	a, err := GradCAM{Layer: "conv"}.Attribute(context.Background(), net, imgs, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	if !tensor.EqualShapes(a.Map.Shape(), []int{4, side, side, 1}) || a.Layer != "conv" {
		t.Fatalf("shape %v layer %q", a.Map.Shape(), a.Layer)
	}
	nonzero := 0
	for i := 0; i < 4; i++ {
		m := sample(a.Map, i)
		lo, hi := tensor.Min(m, false).Item(), tensor.Max(m, false).Item()
		if hi > 0 {
			nonzero++
		}
		// A map is scaled to reach 1, unless no location has positive
		// evidence (ReLU of an all-negative sum), when it is all 0.
		if lo < 0 || (hi != 0 && math.Abs(float64(hi)-1) > 1e-6) {
			t.Errorf("sample %d: range [%v, %v], want [0, 1] reaching 1", i, lo, hi)
		}
	}
	if nonzero == 0 {
		t.Error("every map is zero")
	}
	// The model is restored.
	if _, ok := net.Layers[0].(*nn.Conv2D); !ok {
		t.Fatalf("layer 0 is %T after Grad-CAM", net.Layers[0])
	}
}

// structNet is a struct model whose conv field has interface type, so
// GradCAM can swap it; its Forward does not follow field order.
type structNet struct {
	Head nn.Layer
	Conv nn.Layer
	Pool *nn.MaxPool2D
}

func (m *structNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	x = m.Pool.Forward(c, m.Conv.Forward(c, x))
	return m.Head.Forward(c, autograd.Flatten(x))
}

// fixedNet has concrete fields used out of field order: GradCAM cannot
// hook it and must say so.
type fixedNet struct {
	Dense *nn.Dense
	Conv  *nn.Conv2D
}

func (m *fixedNet) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	return m.Dense.Forward(c, autograd.Flatten(m.Conv.Forward(c, x)))
}

func TestGradCAMHooks(t *testing.T) {
	ctx := context.Background()
	x, _ := quadrantData(rand.New(rand.NewPCG(5, 5)), 2)
	conv := &nn.Conv2D{Filters: 4, KernelSize: [2]int{3, 3}, Activation: "relu"}
	sn := &structNet{Head: &nn.Dense{Units: 3, Activation: "softmax"}, Conv: conv, Pool: &nn.MaxPool2D{}}
	build := func(l nn.Layer) { // a lazy build without a random source is an error
		if _, err := nn.Build(l, x.Shape()[1:], rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
	}
	build(sn)
	a, err := GradCAM{}.Attribute(ctx, sn, x, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Layer != "conv" || !tensor.EqualShapes(a.Map.Shape(), []int{2, side, side, 1}) || sn.Conv != nn.Layer(conv) {
		t.Fatalf("layer %q shape %v, conv restored: %v", a.Layer, a.Map.Shape(), sn.Conv == nn.Layer(conv))
	}
	fn := &fixedNet{Dense: &nn.Dense{Units: 3}, Conv: &nn.Conv2D{Filters: 2, KernelSize: [2]int{3, 3}}}
	build(fn)
	if _, err := (GradCAM{}).Attribute(ctx, fn, x, 0); err == nil {
		t.Fatal("hooking a concrete field of a model that is not a chain: no error")
	} else {
		t.Log(err)
	}
	// A nested Sequential inside a Sequential, found by dotted path.
	inner := nn.NewSequential(&nn.Conv2D{Name: "c1", Filters: 2, KernelSize: [2]int{3, 3}, Activation: "relu"})
	outer := &nn.Sequential{Layers: []nn.Layer{&nn.Sequential{Name: "features", Layers: inner.Layers}, &nn.Flatten{}, &nn.Dense{Units: 2}}}
	build(outer)
	b, err := GradCAM{Layer: "features.c1"}.Attribute(ctx, outer, x, 1)
	if err != nil {
		t.Fatal(err)
	}
	if b.Layer != "features.c1" {
		t.Fatalf("layer %q", b.Layer)
	}
	// Errors: an unknown layer, a layer without a spatial output.
	if _, err := (GradCAM{Layer: "nope"}).Attribute(ctx, outer, x, 1); err == nil {
		t.Error("unknown layer: no error")
	}
	if _, err := (GradCAM{Layer: "flatten"}).Attribute(ctx, outer, x, 1); err == nil {
		t.Error("flatten layer: no error")
	}
}

func TestErrors(t *testing.T) {
	net, x, _ := trained(t)
	ctx := context.Background()
	x1 := x.Slice(0, 1)
	if _, err := (Saliency{}).Attribute(ctx, net, x1, 4); err == nil {
		t.Error("class 4 of 4: no error")
	}
	if _, err := (Saliency{}).Attribute(ctx, net, tensor.Zeros(1, 5, 5, 2), 0); err == nil {
		t.Error("wrong input channels: no error")
	} else {
		t.Log(err)
	}
	if _, err := (Occlusion{}).Attribute(ctx, net, tensor.Zeros(1, 64), 0); !errors.Is(err, errNoRank4) {
		t.Errorf("occlusion on a flat input: %v", err)
	}
	if _, err := (Occlusion{Window: [2]int{9, 9}}).Attribute(ctx, net, x1, 0); err == nil {
		t.Error("window larger than the image: no error")
	}
	if _, err := (IntegratedGradients{Baseline: tensor.Zeros(3)}).Attribute(ctx, net, x1, 0); err == nil {
		t.Error("baseline of the wrong shape: no error")
	}
	if _, err := (IntegratedGradients{Rule: "simpson"}).Attribute(ctx, net, x1, 0); err == nil {
		t.Error("unknown rule: no error")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := (SmoothGrad{}).Attribute(cctx, net, x1, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if _, err := New("lime"); err == nil {
		t.Error("unknown method: no error")
	}
	for _, n := range Names() {
		m, err := New(n)
		if err != nil || m.Name() != n {
			t.Errorf("New(%q) = %v, %v", n, m, err)
		}
	}
}

func TestQuadrature(t *testing.T) {
	for _, rule := range []string{"", "riemann_middle", "riemann_trapezoid", "riemann_left", "riemann_right"} {
		for _, n := range []int{2, 3, 7, 50} {
			a, w, err := Quadrature(rule, n)
			if err != nil {
				t.Fatal(err)
			}
			sum, lin := 0.0, 0.0
			for k := range a {
				if a[k] < 0 || a[k] > 1 {
					t.Fatalf("%s n=%d: point %v outside [0, 1]", rule, n, a[k])
				}
				sum += w[k]
				lin += w[k] * a[k]
			}
			if math.Abs(sum-1) > 1e-12 {
				t.Errorf("%s n=%d: weights sum to %v", rule, n, sum)
			}
			if rule != "riemann_left" && rule != "riemann_right" && math.Abs(lin-0.5) > 1e-12 {
				t.Errorf("%s n=%d: ∫α = %v", rule, n, lin)
			}
		}
	}
	// Gauss–Legendre with n points integrates α^(2n−1) exactly.
	for _, n := range []int{1, 2, 5, 20} {
		a, w, _ := Quadrature("gausslegendre", n)
		got := 0.0
		for k := range a {
			got += w[k] * math.Pow(a[k], float64(2*n-1))
		}
		if want := 1 / float64(2*n); math.Abs(got-want) > 1e-12 {
			t.Errorf("n=%d: ∫α^%d = %v, want %v", n, 2*n-1, got, want)
		}
	}
	if _, _, err := Quadrature("riemann_trapezoid", 1); err == nil {
		t.Error("trapezoid with 1 point: no error")
	}
	if _, _, err := Quadrature("", 0); err == nil {
		t.Error("0 points: no error")
	}
}

func TestResizeBilinear(t *testing.T) {
	// Upsampling keeps constants constant and preserves a linear ramp's
	// ends' order; 2× of [0, 1] gives OpenCV's [0, 0.25, 0.75, 1].
	m := tensor.New([]int{1, 1, 2}, []float32{0, 1})
	got := resizeBilinear(m, 1, 4).Data()
	want := []float32{0, 0.25, 0.75, 1}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	c := resizeBilinear(tensor.Full(3, 2, 3, 5), 7, 11)
	if !tensor.EqualShapes(c.Shape(), []int{2, 7, 11}) {
		t.Fatalf("shape %v", c.Shape())
	}
	for _, v := range c.Data() {
		if math.Abs(float64(v)-3) > 1e-5 {
			t.Fatalf("constant map resized to %v", v)
		}
	}
}

func TestWindowMasks(t *testing.T) {
	m := windowMasks(5, 5, [2]int{2, 2}, [2]int{2, 2}) // starts 0, 2, 3 on each axis
	if m.Dim(0) != 9 {
		t.Fatalf("%d windows, want 9", m.Dim(0))
	}
	cover := tensor.Sum(m, false, 0).Data()
	for p, c := range cover {
		if c < 1 {
			t.Fatalf("pixel %d not covered", p)
		}
	}
	if s := tensor.Sum(m, false).Item(); s != 9*4 {
		t.Fatalf("mask total %v", s)
	}
}

func TestHeatmap(t *testing.T) {
	a := tensor.New([]int{1, 1, 2, 2}, []float32{1, -3, -2, 0.5})
	check := func(name string, got *tensor.Tensor, want []float32) {
		t.Helper()
		if !tensor.EqualShapes(got.Shape(), []int{1, 2}) {
			t.Fatalf("%s: shape %v", name, got.Shape())
		}
		for i := range want {
			if got.Data()[i] != want[i] {
				t.Fatalf("%s: %v, want %v", name, got.Data(), want)
			}
		}
	}
	check("Heatmap", Heatmap(a), []float32{4, 2.5})
	check("MaxAbs", HeatmapOf(a, MaxAbs), []float32{3, 2})
	check("Sum", HeatmapOf(a.Reshape(1, 2, 2), Sum), []float32{-2, -1.5})
	defer func() {
		if _, ok := recover().(*tensor.ShapeError); !ok {
			t.Error("a batch of 2: no shape panic")
		}
	}()
	Heatmap(tensor.Zeros(2, 2, 2, 1))
}

func TestTargetText(t *testing.T) {
	for _, tg := range []Target{Logit, Probability} {
		b, err := tg.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Target
		if err := back.UnmarshalText(b); err != nil || back != tg {
			t.Fatalf("%v → %s → %v, %v", tg, b, back, err)
		}
	}
	var bad Target
	if err := bad.UnmarshalText([]byte("energy")); err == nil {
		t.Error("unknown target: no error")
	}
}

// Step counts that would run for hours are refused with the limit named.
func TestStepLimits(t *testing.T) {
	net, x := limitNet(t)
	for _, m := range []Method{IntegratedGradients{Steps: 100_000_000}, SmoothGrad{Samples: MaxSteps + 1}} {
		_, err := m.Attribute(context.Background(), net, x, Predicted)
		if err == nil || !strings.Contains(err.Error(), "over the limit of 10000") {
			t.Errorf("%s: got %v", m.Name(), err)
		}
	}
	if _, _, err := Quadrature("riemann_left", MaxSteps+1); err == nil {
		t.Error("Quadrature accepted too many points")
	}
}

func limitNet(t *testing.T) (nn.Layer, *tensor.Tensor) {
	x, _ := quadrantData(rand.New(rand.NewPCG(1, 2)), 1)
	return quadNet(3), x
}

// TestIntegratedGradientsChunkedEqualsWhole runs the path whole, in chunks
// of 7 rows and of 1 row: the attributions and deltas must be identical,
// since memory per pass, not the result, is what the chunk size changes.
func TestIntegratedGradientsChunkedEqualsWhole(t *testing.T) {
	net, x, y := trained(t)
	imgs := oneOfEach(x, y).Slice(0, 3)
	var ref *Attribution
	for _, bs := range []int{66, 7, 1} {
		a, err := IntegratedGradients{Steps: 64, BatchSize: bs}.Attribute(context.Background(), net, imgs, Predicted)
		if err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = a
			continue
		}
		for j, v := range a.Map.Data() {
			if v != ref.Map.Data()[j] {
				t.Fatalf("batch size %d: attribution %d is %v, whole path gives %v", bs, j, v, ref.Map.Data()[j])
			}
		}
		for j, d := range a.Delta {
			if d != ref.Delta[j] {
				t.Fatalf("batch size %d: delta %d is %v, whole path gives %v", bs, j, d, ref.Delta[j])
			}
		}
	}
	if got := igChunk(0, 10002, 224*224*3); got*224*224*3 > MaxPathValues || got < 1 {
		t.Errorf("default chunk of a 224×224×3 path: %d rows, over %d values", got, MaxPathValues)
	}
}
