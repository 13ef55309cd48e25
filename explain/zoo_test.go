package explain

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// TestZooCNNNet runs every method on the real CNNNet architecture
// (untrained) on one MNIST-sized image and checks the shapes. CNNNet's
// fields have concrete types, so Grad-CAM records through the
// children-in-order path; both of its conv layers are tried.
func TestZooCNNNet(t *testing.T) {
	net := zoo.NewCNNNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	x := tensor.RandUniform(rand.New(rand.NewPCG(2, 2)), 0, 1, 1, 28, 28, 1)
	ctx := context.Background()
	for _, m := range []Method{
		Saliency{}, Saliency{MaxOverChannels: true}, GradientXInput{}, SmoothGrad{Samples: 8},
		IntegratedGradients{Steps: 16}, Occlusion{}, GradCAM{}, GradCAM{Layer: "conv1"},
	} {
		a, err := m.Attribute(ctx, net, x, Predicted)
		if err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		want := []int{1, 28, 28, 1}
		if !tensor.EqualShapes(a.Map.Shape(), want) {
			t.Errorf("%s: map shape %v, want %v", m.Name(), a.Map.Shape(), want)
		}
		if len(a.Classes) != 1 || a.Classes[0] != a.Predicted[0] || a.Probs[0] <= 0 || a.Probs[0] > 1 {
			t.Errorf("%s: classes %v predicted %v probs %v", m.Name(), a.Classes, a.Predicted, a.Probs)
		}
		if h := DisplayMap(a, 0); !tensor.EqualShapes(h.Shape(), []int{28, 28}) {
			t.Errorf("%s: display map %v", m.Name(), h.Shape())
		}
		if g, ok := m.(GradCAM); ok {
			want := g.Layer
			if want == "" {
				want = "conv2"
			}
			if a.Layer != want {
				t.Errorf("gradcam layer %q, want %q", a.Layer, want)
			}
		}
	}
	// The model is untouched.
	if net.Conv2 == nil || net.Conv1 == nil {
		t.Fatal("CNNNet lost a layer")
	}
}

// TestIntegratedGradientsMNIST is the acceptance check: on a model
// trained on MNIST (SimpleNet on a 6,000-image subset, a few seconds),
// Integrated Gradients is complete within 1 %, and the saliency of the
// trained model differs from that of a randomly initialized one.
func TestIntegratedGradientsMNIST(t *testing.T) {
	if testing.Short() {
		t.Skip("trains on MNIST")
	}
	tr, te, err := data.MNIST()
	if err != nil {
		t.Skipf("MNIST not available: %v", err)
	}
	const n, batch = 6000, 64
	x, y := tr.X.Slice(0, n), tr.Y.Slice(0, n)
	net := zoo.NewSimpleNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	params := nn.Trainable(net)
	for epoch := 0; epoch < 2; epoch++ {
		for lo := 0; lo+batch <= n; lo += batch {
			tape := autograd.NewTape(nil)
			tape.Watch(params...)
			out := net.Forward(&nn.Ctx{Training: true}, autograd.Const(x.Slice(lo, lo+batch)))
			z, _ := out.Logits()
			loss := autograd.Mean(autograd.SoftmaxCrossEntropy(z, y.Slice(lo, lo+batch)), false)
			grads, err := tape.Gradients(loss, params...)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range params {
				p.Value.CopyFrom(tensor.Sub(p.Value, tensor.Scale(grads[i], 0.1)))
			}
			tape.Release()
		}
	}
	tx, ty := te.X.Slice(0, 500), te.Y.Slice(0, 500)
	labels := make([]int, 500)
	for i, v := range ty.Data() {
		labels[i] = int(v)
	}
	acc := accuracy(net, tx, labels)
	t.Logf("test accuracy on 500 images: %.3f", acc)
	if acc < 0.85 {
		t.Fatalf("MNIST model reached only %.3f", acc)
	}
	imgs := tx.Slice(0, 8)
	a, err := IntegratedGradients{}.Attribute(context.Background(), net, imgs, Predicted)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("completeness errors (50 Gauss–Legendre steps, logit): %.2g", a.CompletenessError)
	if e := a.MaxCompletenessError(); e > 0.01 {
		t.Errorf("completeness error %.4f, want ≤ 1%%", e)
	}
	random := zoo.NewSimpleNet(10)
	if _, err := nn.Build(random, []int{28, 28, 1}, rand.New(rand.NewPCG(7, 7))); err != nil {
		t.Fatal(err)
	}
	if rho := randomizationRho(t, Saliency{}, net, random, imgs); rho > 0.5 {
		t.Errorf("saliency: trained and randomized maps correlate (ρ = %.3f)", rho)
	}
}
