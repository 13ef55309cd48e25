package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func TestSplit(t *testing.T) {
	ds := seqData(10)
	train, val, err := Split(ds, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	// Keras: split_at = floor(10 · 0.75) = 7; validation is the tail.
	if train.Len() != 7 || val.Len() != 3 {
		t.Fatalf("split %d/%d, want 7/3", train.Len(), val.Len())
	}
	if val.Y.Data()[0] != 7 || train.Y.Data()[6] != 6 {
		t.Errorf("validation starts at %v", val.Y.Data()[0])
	}
	if &val.X.Data()[0] != &ds.X.Data()[7*6] {
		t.Error("split copied the data")
	}
	for _, f := range []float64{0, 1, -0.1, math.NaN(), 1e-17} {
		if _, _, err := Split(ds, f); err == nil {
			t.Errorf("fraction %v accepted", f)
		}
	}
}

func TestCheckLabels(t *testing.T) {
	if err := CheckLabels(tensor.New([]int{3}, []float32{0, 2, 1}), 3); err != nil {
		t.Error(err)
	}
	if err := CheckLabels(tensor.New([]int{3, 1}, []float32{0, 2, 1}), 3); err != nil {
		t.Error(err)
	}
	for _, c := range []struct {
		y    []float32
		want string
	}{
		{[]float32{0, 3, 1}, "label 1 is 3, want an integer in [0, 3)"},
		{[]float32{-1, 0, 9}, "label 0 is -1, want an integer in [0, 3) (and 1 more)"},
		{[]float32{0, 1.5, 1}, "label 1 is 1.5"},
		{[]float32{float32(math.NaN()), 0, 1}, "label 0 is NaN"},
	} {
		err := CheckLabels(tensor.New([]int{3}, c.y), 3)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.y, err, c.want)
		}
	}
	if err := CheckLabels(tensor.Zeros(2, 2), 3); err == nil {
		t.Error("[2, 2] labels accepted")
	}
}

func TestClassWeights(t *testing.T) {
	y := tensor.New([]int{6}, []float32{0, 0, 0, 0, 1, 2})
	w, err := ClassWeights(y, 3, "balanced")
	if err != nil {
		t.Fatal(err)
	}
	// sklearn.utils.class_weight.compute_class_weight("balanced", classes=[0,1,2], y=y)
	want := []float32{0.5, 2, 2}
	for i := range want {
		if math.Abs(float64(w[i]-want[i])) > 1e-6 {
			t.Errorf("weights %v, want %v", w, want)
		}
	}
	if w, _ := ClassWeights(y, 3, ""); w[0] != 1 || w[2] != 1 {
		t.Errorf("uniform weights %v", w)
	}
	if _, err := ClassWeights(y, 4, "balanced"); err == nil || !strings.Contains(err.Error(), "class 3 has no samples") {
		t.Errorf("empty class: %v", err)
	}
	if _, err := ClassWeights(y, 3, "inverse"); err == nil {
		t.Error("unknown mode accepted")
	}
	if _, err := ClassWeights(y, 2, "balanced"); err == nil {
		t.Error("label out of range accepted")
	}
}

func TestStandardizer(t *testing.T) {
	x := tensor.New([]int{4, 2}, []float32{1, 5, 2, 5, 3, 5, 4, 5})
	s, err := FitStandardizer(x)
	if err != nil {
		t.Fatal(err)
	}
	if s.Mean[0] != 2.5 || s.Mean[1] != 5 || math.Abs(float64(s.Std[0])-math.Sqrt(1.25)) > 1e-6 || s.Std[1] != 1 {
		t.Errorf("mean %v std %v", s.Mean, s.Std)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back Standardizer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Mean[0] != s.Mean[0] || back.Std[0] != s.Std[0] {
		t.Errorf("JSON round trip: %s -> %+v", b, back)
	}
	test := x.Clone()
	if err := back.Apply(test); err != nil {
		t.Fatal(err)
	}
	var sum, sq float64
	for i := 0; i < 4; i++ {
		v := float64(test.Data()[2*i])
		sum += v
		sq += v * v
	}
	if math.Abs(sum) > 1e-5 || math.Abs(sq/4-1) > 1e-5 || test.Data()[1] != 0 {
		t.Errorf("standardized %v", test.Data())
	}
	if err := back.Invert(test); err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Data() {
		if math.Abs(float64(test.Data()[i]-v)) > 1e-5 {
			t.Errorf("Invert: %v, want %v", test.Data(), x.Data())
			break
		}
	}

	// NHWC images: one statistic per channel.
	img := tensor.Zeros(2, 2, 2, 3)
	for i := range img.Data() {
		img.Data()[i] = float32(i % 3)
	}
	s, _ = FitStandardizer(img)
	if len(s.Mean) != 3 || s.Mean[2] != 2 {
		t.Errorf("per-channel mean %v", s.Mean)
	}
	if err := s.Apply(tensor.Zeros(2, 4)); err == nil || !strings.Contains(err.Error(), "want [..., 3]") {
		t.Errorf("wrong feature count: %v", err)
	}
	if _, err := FitStandardizer(tensor.New([]int{2, 1}, []float32{1, float32(math.Inf(1))})); err == nil {
		t.Error("Inf accepted")
	}
	if _, err := FitStandardizer(tensor.Zeros(3)); err == nil {
		t.Error("rank-1 x accepted")
	}
}

func TestRescale(t *testing.T) {
	x := tensor.New([]int{3}, []float32{0, 255, 51})
	Rescale(x, 1.0/255, 0)
	if x.Data()[0] != 0 || x.Data()[1] != 1 || math.Abs(float64(x.Data()[2])-0.2) > 1e-7 {
		t.Errorf("rescaled %v", x.Data())
	}
}

func ExampleSplit() {
	x := tensor.Arange(0, 10, 1).Reshape(10, 1)
	train, val, _ := Split(Tensors{X: x}, 0.2)
	fmt.Println(train.Len(), val.Len(), val.X.Data())
	// Output: 8 2 [8 9]
}
