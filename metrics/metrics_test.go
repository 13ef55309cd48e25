package metrics

import (
	"errors"
	"math"
	"testing"

	"github.com/strata-dl/strata/tensor"
)

func vec(v ...float32) *tensor.Tensor { return tensor.New([]int{len(v)}, v) }

func mat(rows, cols int, v ...float32) *tensor.Tensor { return tensor.New([]int{rows, cols}, v) }

// oneHot turns class indices into a [n, k] one-hot tensor.
func oneHot(k int, labels ...int) *tensor.Tensor {
	t := tensor.Zeros(len(labels), k)
	for i, c := range labels {
		t.Set(1, i, c)
	}
	return t
}

// predsFor returns [n, k] scores whose argmax is the given class.
func predsFor(k int, classes ...int) *tensor.Tensor {
	t := tensor.Full(0.1, len(classes), k)
	for i, c := range classes {
		t.Set(0.7, i, c)
	}
	return t
}

func sparse(labels ...int) *tensor.Tensor {
	v := make([]float32, len(labels))
	for i, c := range labels {
		v[i] = float32(c)
	}
	return vec(v...)
}

func near(t *testing.T, name string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9 && !(math.IsNaN(got) && math.IsNaN(want)) {
		t.Errorf("%s = %.12g, want %.12g", name, got, want)
	}
}

// mustShapePanic fails unless f panics with a *tensor.ShapeError.
func mustShapePanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		err, ok := r.(error)
		var se *tensor.ShapeError
		if !ok || !errors.As(err, &se) {
			t.Errorf("%s: panic %v, want *tensor.ShapeError", name, r)
		}
	}()
	f()
}

func TestMean(t *testing.T) {
	m := NewMean("loss")
	near(t, "empty", m.Result(), 0)
	m.UpdateValue(1, 2) // batch of 2 with mean loss 1
	m.UpdateValue(4, 1)
	near(t, "UpdateValue", m.Result(), 2)
	m.Reset()
	near(t, "after Reset", m.Result(), 0)
	m.Update(nil, mat(2, 2, 1, 1, 3, 3), []float32{3, 1})
	near(t, "weighted Update", m.Result(), (3*2*1+1*2*3)/8.0)
	if m.Name() != "loss" {
		t.Errorf("Name = %q", m.Name())
	}
}

func TestBinaryAccuracy(t *testing.T) {
	m := NewBinaryAccuracy(0.5)
	m.Update(vec(1, 0, 1, 0), vec(0.9, 0.2, 0.4, 0.6), nil)
	near(t, "acc", m.Result(), 0.5)
	m.Update(mat(2, 1, 1, 1), mat(2, 1, 0.7, 0.8), nil) // [batch, 1] layout
	near(t, "acc after 2 batches", m.Result(), 4.0/6)
	m.Reset()
	m.Update(vec(1, 0), vec(0.9, 0.9), []float32{3, 1})
	near(t, "weighted", m.Result(), 0.75)
	logits := NewBinaryAccuracy(0)
	logits.Update(vec(1, 0, 1), vec(2.5, -1, -0.1), nil)
	near(t, "threshold 0", logits.Result(), 2.0/3)
	mustShapePanic(t, "label length", func() { m.Update(vec(1, 0), vec(0.9, 0.2, 0.1), nil) })
	mustShapePanic(t, "weight length", func() { m.Update(vec(1, 0), vec(0.9, 0.2), []float32{1}) })
}

func TestCategoricalAccuracy(t *testing.T) {
	pred := mat(4, 3,
		0.8, 0.1, 0.1, // 0
		0.2, 0.5, 0.3, // 1
		0.3, 0.3, 0.4, // 2
		0.5, 0.5, 0.0) // tie: argmax is the first, 0
	truth := []int{0, 2, 2, 1}
	for _, m := range []*CategoricalAccuracy{NewCategoricalAccuracy(), NewSparseCategoricalAccuracy()} {
		m.Update(sparse(truth...), pred, nil)
		near(t, m.Name()+" sparse labels", m.Result(), 0.5)
		m.Reset()
		m.Update(oneHot(3, truth...), pred, nil)
		near(t, m.Name()+" one-hot labels", m.Result(), 0.5)
		m.Reset()
		m.Update(mat(4, 1, 0, 2, 2, 1), pred, []float32{1, 0, 0, 1})
		near(t, m.Name()+" weighted", m.Result(), 0.5)
	}
	acc := NewAccuracy()
	acc.Update(oneHot(3, truth...), pred, nil)
	acc.Update(vec(1, 0), vec(0.9, 0.1), nil) // binary batch
	near(t, "accuracy", acc.Result(), 4.0/6)
	mustShapePanic(t, "label out of range", func() { acc.Update(sparse(0, 3, 1, 1), pred, nil) })
	mustShapePanic(t, "class count", func() { acc.Update(oneHot(4, truth...), pred, nil) })
}

func TestTopKAccuracy(t *testing.T) {
	pred := mat(4, 4,
		0.4, 0.3, 0.2, 0.1,
		0.4, 0.3, 0.2, 0.1,
		0.4, 0.3, 0.2, 0.1,
		0.4, 0.2, 0.2, 0.2) // class 3 ties the 2nd score: counts as in the top 2
	m := NewTopKCategoricalAccuracy(2)
	m.Update(sparse(0, 1, 2, 3), pred, nil)
	near(t, "top2", m.Result(), 0.75)
	m.Reset()
	m.Update(oneHot(4, 0, 1, 2, 3), pred, []float32{0, 0, 1, 1})
	near(t, "top2 weighted", m.Result(), 0.5)
	s := NewSparseTopKCategoricalAccuracy(3)
	s.Update(sparse(2, 3, 2, 3), pred, nil)
	near(t, "top3", s.Result(), 0.75)
}

// sklearnTrue/Pred is the example of scikit-learn's f1_score and
// precision_score documentation, whose values are quoted there.
var (
	sklearnTrue = []int{0, 1, 2, 0, 1, 2}
	sklearnPred = []int{0, 2, 1, 0, 0, 1}
)

func TestPrecisionRecallF1SklearnExample(t *testing.T) {
	// scikit-learn: precision macro 0.2222, micro 0.3333, weighted 0.2222;
	// recall 0.3333 for all three; f1 macro 0.2667, micro 0.3333,
	// weighted 0.2667; f1 per class [0.8, 0, 0].
	want := map[string]float64{
		"precision_macro": 2.0 / 9, "precision_micro": 1.0 / 3, "precision_weighted": 2.0 / 9,
		"recall_macro": 1.0 / 3, "recall_micro": 1.0 / 3, "recall_weighted": 1.0 / 3,
		"f1_macro": 4.0 / 15, "f1_micro": 1.0 / 3, "f1_weighted": 4.0 / 15,
	}
	for name, w := range want {
		m, err := ByName(name, 3)
		if err != nil {
			t.Fatal(err)
		}
		m.Update(sparse(sklearnTrue...), predsFor(3, sklearnPred...), nil)
		near(t, name, m.Result(), w)
		if m.Name() != name {
			t.Errorf("Name = %q, want %q", m.Name(), name)
		}
	}
	f := NewF1(ClassOptions{NumClasses: 3})
	f.Update(oneHot(3, sklearnTrue...), predsFor(3, sklearnPred...), nil)
	for c, w := range []float64{0.8, 0, 0} {
		near(t, "f1 per class", f.PerClass()[c], w)
	}
	near(t, "f1 auto = macro", f.Result(), 4.0/15)
}

func TestPrecisionRecallF1Unbalanced(t *testing.T) {
	// Hand-computed. Confusion (rows true): [2 1 0; 0 1 1; 0 0 1].
	// precision = [1, 1/2, 1/2], recall = [2/3, 1/2, 1], f1 = [4/5, 1/2, 2/3],
	// support = [3, 2, 1].
	yTrue := sparse(0, 0, 0, 1, 1, 2)
	yPred := predsFor(3, 0, 0, 1, 1, 2, 2)
	cases := []struct {
		avg                Average
		precision, rec, f1 float64
	}{
		{AverageMacro, 2.0 / 3, (2.0/3 + 0.5 + 1) / 3, (0.8 + 0.5 + 2.0/3) / 3},
		{AverageWeighted, (3*1 + 2*0.5 + 0.5) / 6, 4.0 / 6, (3*0.8 + 2*0.5 + 2.0/3) / 6},
		{AverageMicro, 4.0 / 6, 4.0 / 6, 4.0 / 6},
	}
	for _, c := range cases {
		o := ClassOptions{NumClasses: 3, Average: c.avg}
		p, r, f := NewPrecision(o), NewRecall(o), NewF1(o)
		for _, m := range []Metric{p, r, f} {
			m.Update(yTrue, yPred, nil)
		}
		near(t, "precision "+c.avg.String(), p.Result(), c.precision)
		near(t, "recall "+c.avg.String(), r.Result(), c.rec)
		near(t, "f1 "+c.avg.String(), f.Result(), c.f1)
	}
}

func TestBinaryPrecisionRecall(t *testing.T) {
	// TP = 2, FN = 1, FP = 2, TN = 1.
	yTrue := vec(1, 1, 0, 0, 1, 0)
	yPred := vec(0.9, 0.4, 0.6, 0.7, 0.8, 0.2)
	p, r, f := NewPrecision(ClassOptions{}), NewRecall(ClassOptions{}), NewF1(ClassOptions{})
	for _, m := range []Metric{p, r, f} {
		m.Update(yTrue, yPred, nil)
	}
	near(t, "precision", p.Result(), 0.5)
	near(t, "recall", r.Result(), 2.0/3)
	near(t, "f1", f.Result(), 4.0/7)
	// The same problem as [batch, 2] probabilities.
	two := tensor.Zeros(6, 2)
	for i, v := range yPred.Data() {
		two.Set(1-v, i, 0)
		two.Set(v, i, 1)
	}
	p2 := NewPrecision(ClassOptions{NumClasses: 2})
	p2.Update(yTrue, two, nil)
	near(t, "precision [batch, 2]", p2.Result(), 0.5)
	p.Reset()
	near(t, "precision after Reset", p.Result(), 0)
}

func TestSampleWeightsEqualRepetition(t *testing.T) {
	// A sample of weight 2 counts like the sample repeated twice.
	yTrue := []int{0, 1, 2, 2, 1}
	w := []float32{2, 1, 3, 1, 2}
	var repTrue []int
	for i, n := range w {
		for j := 0; j < int(n); j++ {
			repTrue = append(repTrue, yTrue[i])
		}
	}
	scores := mat(5, 3,
		0.7, 0.2, 0.1,
		0.1, 0.3, 0.6,
		0.2, 0.2, 0.6,
		0.3, 0.5, 0.2,
		0.2, 0.5, 0.3)
	var repScores []float32
	for i, n := range w {
		for j := 0; j < int(n); j++ {
			repScores = append(repScores, scores.Data()[3*i:3*i+3]...)
		}
	}
	for _, name := range []string{"accuracy", "precision_weighted", "recall_macro", "f1_macro", "f1_weighted", "auc", "top2"} {
		a, _ := ByName(name, 3)
		b, _ := ByName(name, 3)
		a.Update(sparse(yTrue...), scores, w)
		b.Update(sparse(repTrue...), mat(len(repTrue), 3, repScores...), nil)
		near(t, name+" weighted vs repeated", a.Result(), b.Result())
	}
}

func TestConfusionMatrixReport(t *testing.T) {
	// scikit-learn's classification_report documentation example.
	cm := NewConfusionMatrix(3)
	cm.Labels = []string{"class 0", "class 1", "class 2"}
	cm.Update(sparse(0, 1, 2, 2, 2), predsFor(3, 0, 0, 2, 2, 1), nil)
	want := `              precision    recall  f1-score   support

     class 0       0.50      1.00      0.67         1
     class 1       0.00      0.00      0.00         1
     class 2       1.00      0.67      0.80         3

    accuracy                           0.60         5
   macro avg       0.50      0.56      0.49         5
weighted avg       0.70      0.60      0.61         5
`
	if got := cm.Report(); got != want {
		t.Errorf("Report:\n%s\nwant:\n%s", got, want)
	}
	wantCounts := [][]int{{1, 0, 0}, {1, 0, 0}, {0, 1, 2}}
	for i, row := range cm.Counts() {
		for j, v := range row {
			if v != wantCounts[i][j] {
				t.Errorf("Counts[%d][%d] = %d, want %d", i, j, v, wantCounts[i][j])
			}
		}
	}
	s := cm.Class(2)
	if s.Support != 3 || s.Predicted != 2 {
		t.Errorf("Class(2) = %+v", s)
	}
	near(t, "accuracy", cm.Result(), 0.6)
	cm.Reset()
	near(t, "empty accuracy", cm.Result(), 0)
	mustShapePanic(t, "wrong width", func() { cm.Update(sparse(0), mat(1, 2, 0.3, 0.7), nil) })
}

// mannWhitney is the reference AUC: the probability that a random positive
// outscores a random negative, ties counting one half.
func mannWhitney(labels, scores, w []float32) float64 {
	var num, den float64
	for i := range labels {
		for j := range labels {
			if labels[i] != 1 || labels[j] != 0 {
				continue
			}
			wij := float64(w[i]) * float64(w[j])
			den += wij
			switch {
			case scores[i] > scores[j]:
				num += wij
			case scores[i] == scores[j]:
				num += wij / 2
			}
		}
	}
	return num / den
}

func TestROCAUC(t *testing.T) {
	ones := func(n int) []float32 {
		w := make([]float32, n)
		for i := range w {
			w[i] = 1
		}
		return w
	}
	labels := []float32{0, 0, 1, 1, 0, 1, 1, 0}
	tied := []float32{0.1, 0.4, 0.4, 0.8, 0.8, 0.8, 0.3, 0.1}
	weights := []float32{1, 2, 0.5, 1, 3, 1, 2, 1}
	cases := []struct {
		name   string
		scores []float32
		w      []float32
		want   float64
	}{
		{"perfect", []float32{0.1, 0.2, 0.7, 0.8, 0.3, 0.9, 0.6, 0.0}, nil, 1},
		{"reversed", []float32{0.9, 0.8, 0.2, 0.1, 0.7, 0.3, 0.4, 0.95}, nil, 0},
		{"all tied", []float32{0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5}, nil, 0.5},
		{"ties", tied, nil, mannWhitney(labels, tied, ones(8))},
		{"ties weighted", tied, weights, mannWhitney(labels, tied, weights)},
	}
	for _, c := range cases {
		near(t, c.name, ROCAUC(labels, c.scores, c.w), c.want)
		m := NewAUC(1)
		m.Update(vec(labels...), vec(c.scores...), c.w)
		near(t, c.name+" metric", m.Result(), c.want)
	}
	// The hand-checked value of the tie example: positives {0.4, 0.8, 0.8,
	// 0.3} against negatives {0.1, 0.4, 0.8, 0.1}: 2.5 + 3.5 + 3.5 + 2 = 11.5 of 16.
	near(t, "ties by hand", ROCAUC(labels, tied, nil), 11.5/16)
	near(t, "single class", ROCAUC([]float32{1, 1}, []float32{0.2, 0.3}, nil), math.NaN())
	m := NewAUC(2)
	m.Update(vec(1, 1), vec(0.2, 0.3), nil)
	near(t, "single class metric", m.Result(), 0)
}

func TestROCCurve(t *testing.T) {
	fpr, tpr, thr := ROCCurve([]float32{0, 0, 1, 1}, []float32{0.1, 0.4, 0.35, 0.8}, nil)
	// scikit-learn roc_curve(drop_intermediate=False) on its docstring example.
	wantF := []float64{0, 0, 0.5, 0.5, 1}
	wantT := []float64{0, 0.5, 0.5, 1, 1}
	wantThr := []float64{math.Inf(1), 0.8, 0.4, 0.35, 0.1}
	if len(fpr) != 5 || len(tpr) != 5 || len(thr) != 5 {
		t.Fatalf("len = %d, %d, %d", len(fpr), len(tpr), len(thr))
	}
	for i := range wantF {
		near(t, "fpr", fpr[i], wantF[i])
		near(t, "tpr", tpr[i], wantT[i])
		if math.Abs(thr[i]-wantThr[i]) > 1e-6 && !math.IsInf(wantThr[i], 1) {
			t.Errorf("threshold %d = %v, want %v", i, thr[i], wantThr[i])
		}
	}
	if !math.IsInf(thr[0], 1) {
		t.Errorf("first threshold = %v, want +Inf", thr[0])
	}
}

func TestMultiClassAUC(t *testing.T) {
	labels := []int{0, 1, 2, 2, 1, 0, 1}
	scores := mat(7, 3,
		0.6, 0.3, 0.1,
		0.2, 0.5, 0.3,
		0.1, 0.2, 0.7,
		0.3, 0.4, 0.3,
		0.5, 0.4, 0.1,
		0.4, 0.4, 0.2,
		0.1, 0.8, 0.1)
	m := NewAUC(3)
	m.Update(sparse(labels[:4]...), tensor.New([]int{4, 3}, scores.Data()[:12]), nil)
	m.Update(oneHot(3, labels[4:]...), tensor.New([]int{3, 3}, scores.Data()[12:]), nil)
	var sum float64
	for c := 0; c < 3; c++ {
		l := make([]float32, 7)
		s := make([]float32, 7)
		w := make([]float32, 7)
		for i, y := range labels {
			if y == c {
				l[i] = 1
			}
			s[i] = scores.At(i, c)
			w[i] = 1
		}
		want := mannWhitney(l, s, w)
		near(t, "class AUC", m.ClassAUC(c), want)
		sum += want
	}
	near(t, "macro OvR AUC", m.Result(), sum/3)
	fpr, tpr, _ := m.Curve(2)
	if fpr[len(fpr)-1] != 1 || tpr[len(tpr)-1] != 1 {
		t.Errorf("curve does not end at (1, 1): %v %v", fpr, tpr)
	}
	m.Reset()
	near(t, "after Reset", m.Result(), 0)
}

func TestByName(t *testing.T) {
	names := map[string]string{
		"accuracy":                          "accuracy",
		"acc":                               "accuracy",
		"binary_accuracy":                   "binary_accuracy",
		"categorical_accuracy":              "categorical_accuracy",
		"sparse_categorical_accuracy":       "sparse_categorical_accuracy",
		"top_k":                             "top_k_categorical_accuracy",
		"top5":                              "top_k_categorical_accuracy",
		"top_3":                             "top_k_categorical_accuracy",
		"sparse_top_k_categorical_accuracy": "sparse_top_k_categorical_accuracy",
		"precision":                         "precision",
		"Recall":                            "recall",
		"f1":                                "f1",
		"f1_weighted":                       "f1_weighted",
		"auc":                               "auc",
		"confusion_matrix":                  "confusion_matrix",
	}
	for in, want := range names {
		m, err := ByName(in, 10)
		if err != nil {
			t.Errorf("ByName(%q): %v", in, err)
			continue
		}
		if m.Name() != want {
			t.Errorf("ByName(%q).Name() = %q, want %q", in, m.Name(), want)
		}
	}
	if m, _ := ByName("top5", 10); m.(*CategoricalAccuracy).K() != 5 {
		t.Error("top5: k != 5")
	}
	for _, bad := range []string{"", "accuracyy", "top0", "topx", "f1_median", "f1_binary"} {
		if _, err := ByName(bad, 10); err == nil {
			t.Errorf("ByName(%q): no error", bad)
		}
	}
}
