package metrics

import (
	"math"
	"slices"

	"github.com/strata-dl/strata/tensor"
)

// AUC is the exact area under the ROC curve, computed from all stored
// scores at Result time (it keeps every score, which suits evaluation sets;
// Keras' streaming AUC approximates with 200 thresholds instead).
//
// Binary problems (numClasses ≤ 2) take yPred [batch] or [batch, 1]
// probabilities of the positive class, or [batch, 2] (column 1 is used).
// Multi-class problems take yPred [batch, k] and report the one-vs-rest
// macro average: the mean over classes of the AUC of "class c against the
// rest" ranked by column c, over the classes that have both positive and
// negative samples (scikit-learn's roc_auc_score(multi_class="ovr")).
//
// Ties between a positive and a negative score count one half (the
// Mann-Whitney U statistic):
//
//	AUC = Σᵢ∈pos Σⱼ∈neg wᵢwⱼ·([sᵢ > sⱼ] + ½[sᵢ = sⱼ]) / (Σpos w · Σneg w)
//
// Result returns 0 while the AUC is undefined (no positive or no negative
// sample yet), like Keras; ROCAUC returns NaN instead.
type AUC struct {
	k       int
	labels  []int32
	scores  []float32 // n*cols
	cols    int       // 1 for binary, k otherwise
	weights []float32
}

// NewAUC returns an AUC for a model with numClasses outputs (0, 1 or 2 mean
// binary).
func NewAUC(numClasses int) *AUC {
	k := max(numClasses, 2)
	cols := k
	if k == 2 {
		cols = 1
	}
	return &AUC{k: k, cols: cols}
}

// Name returns "auc".
func (m *AUC) Name() string { return "auc" }

// Update stores the batch's labels, scores and weights.
func (m *AUC) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	const op = "metrics.AUC"
	d := yPred.Data()
	var batch int
	switch {
	case m.k == 2 && isBinary(yPred):
		batch = yPred.Len()
		m.scores = append(m.scores, d...)
	case m.k == 2 && yPred.Rank() == 2 && yPred.Dim(1) == 2:
		batch = yPred.Dim(0)
		for i := 0; i < batch; i++ {
			m.scores = append(m.scores, d[2*i+1])
		}
	default:
		if c := numClassesOf(op, yPred); c != m.k {
			panic(&tensor.ShapeError{Op: op, Got: yPred.Shape(), Want: []int{yPred.Dim(0), m.k}, Msg: "number of classes differs"})
		}
		batch = yPred.Dim(0)
		m.scores = append(m.scores, d...)
	}
	checkWeights(op, sampleWeight, batch)
	for _, c := range classLabels(op, yTrue, batch, m.k) {
		m.labels = append(m.labels, int32(c))
	}
	for i := 0; i < batch; i++ {
		m.weights = append(m.weights, float32(weight(sampleWeight, i)))
	}
}

// classView returns 0/1 labels and scores for "class c against the rest".
func (m *AUC) classView(c int) (labels, scores []float32) {
	n := len(m.labels)
	labels = make([]float32, n)
	scores = make([]float32, n)
	for i, l := range m.labels {
		if int(l) == c {
			labels[i] = 1
		}
		switch {
		case m.cols > 1:
			scores[i] = m.scores[i*m.cols+c]
		case c == 1:
			scores[i] = m.scores[i]
		default:
			scores[i] = 1 - m.scores[i]
		}
	}
	return labels, scores
}

// Result returns the AUC (binary) or the one-vs-rest macro AUC, or 0 when
// undefined.
func (m *AUC) Result() float64 {
	if m.k == 2 {
		l, s := m.classView(1)
		return zeroNaN(ROCAUC(l, s, m.weights))
	}
	var sum float64
	var n int
	for c := 0; c < m.k; c++ {
		l, s := m.classView(c)
		if a := ROCAUC(l, s, m.weights); !math.IsNaN(a) {
			sum += a
			n++
		}
	}
	return ratio(sum, float64(n))
}

// ClassAUC returns the one-vs-rest AUC of class c (for binary problems,
// class 1 is the usual AUC), or NaN when undefined.
func (m *AUC) ClassAUC(c int) float64 {
	l, s := m.classView(c)
	return ROCAUC(l, s, m.weights)
}

// Curve returns the ROC curve of class c against the rest (for binary
// problems, c = 1 is the usual curve); see ROCCurve.
func (m *AUC) Curve(c int) (fpr, tpr, thresholds []float64) {
	l, s := m.classView(c)
	return ROCCurve(l, s, m.weights)
}

// Reset drops the stored scores.
func (m *AUC) Reset() {
	m.labels, m.scores, m.weights = m.labels[:0], m.scores[:0], m.weights[:0]
}

func zeroNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

// rocGroup is one distinct score with the positive and negative weight at it.
type rocGroup struct {
	score    float64
	pos, neg float64
}

// rocGroups sorts by descending score and merges ties. NaN scores are
// dropped. Labels above 0.5 are positive; weights may be nil.
func rocGroups(labels, scores, weights []float32) (groups []rocGroup, pos, neg float64) {
	if len(labels) != len(scores) || (weights != nil && len(weights) != len(scores)) {
		panic(&tensor.ShapeError{Op: "metrics.ROCCurve", Got: []int{len(labels), len(scores), len(weights)}, Msg: "labels, scores and weights differ in length"})
	}
	idx := make([]int, 0, len(scores))
	for i, s := range scores {
		if !math.IsNaN(float64(s)) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return 0
	})
	for _, i := range idx {
		w := weight(weights, i)
		s := float64(scores[i])
		if len(groups) == 0 || groups[len(groups)-1].score != s {
			groups = append(groups, rocGroup{score: s})
		}
		g := &groups[len(groups)-1]
		if labels[i] > 0.5 {
			g.pos += w
			pos += w
		} else {
			g.neg += w
			neg += w
		}
	}
	return groups, pos, neg
}

// ROCAUC returns the exact area under the ROC curve of scores against 0/1
// labels (above 0.5 is positive), with ties counting one half and optional
// per-sample weights (nil for none). It returns NaN when there is no
// positive or no negative sample. NaN scores are ignored. It panics if the
// slices differ in length.
func ROCAUC(labels, scores, weights []float32) float64 {
	groups, pos, neg := rocGroups(labels, scores, weights)
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	// Sweep thresholds from high to low; each group moves the curve by
	// (neg/N, pos/P), and the trapezoid under that step is
	// neg·(tpBefore + pos/2) — the tie term of Mann-Whitney.
	var area, tp float64
	for _, g := range groups {
		area += g.neg * (tp + g.pos/2)
		tp += g.pos
	}
	return area / (pos * neg)
}

// ROCCurve returns the points of the ROC curve of scores against 0/1 labels
// (above 0.5 is positive; weights may be nil), one per distinct score from
// the highest down, preceded by (0, 0) at threshold +Inf as scikit-learn's
// roc_curve(drop_intermediate=False) does: point i is the false and true
// positive rate of predicting "positive" when score ≥ thresholds[i]. With no
// positive (negative) sample, tpr (fpr) is all zero.
func ROCCurve(labels, scores, weights []float32) (fpr, tpr, thresholds []float64) {
	groups, pos, neg := rocGroups(labels, scores, weights)
	fpr = append(make([]float64, 0, len(groups)+1), 0)
	tpr = append(make([]float64, 0, len(groups)+1), 0)
	thresholds = append(make([]float64, 0, len(groups)+1), math.Inf(1))
	var tp, fp float64
	for _, g := range groups {
		tp += g.pos
		fp += g.neg
		fpr = append(fpr, ratio(fp, neg))
		tpr = append(tpr, ratio(tp, pos))
		thresholds = append(thresholds, g.score)
	}
	return fpr, tpr, thresholds
}
