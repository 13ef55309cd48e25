package metrics

import (
	"fmt"
	"math"
	"strings"

	"github.com/strata-dl/strata/tensor"
)

// ConfusionMatrix accumulates a k×k table of (weighted) counts: entry [t][p]
// is how much weight of true class t was predicted as class p (rows = true
// class, columns = predicted class, as in scikit-learn).
//
// Predictions [batch, k] are decoded by argmax; binary predictions [batch]
// or [batch, 1] need k = 2 and are thresholded at 0.5. As a Metric its
// Result is the accuracy (trace / total).
type ConfusionMatrix struct {
	// Labels optionally names the classes in Report; nil means "0", "1", ...
	Labels []string

	k int
	m []float64 // k*k, row-major
}

// NewConfusionMatrix returns an empty k×k matrix. It panics if k < 2.
func NewConfusionMatrix(k int) *ConfusionMatrix {
	if k < 2 {
		panic(fmt.Sprintf("metrics: confusion matrix with %d classes", k))
	}
	return &ConfusionMatrix{k: k, m: make([]float64, k*k)}
}

// Name returns "confusion_matrix".
func (cm *ConfusionMatrix) Name() string { return "confusion_matrix" }

// NumClasses returns k.
func (cm *ConfusionMatrix) NumClasses() int { return cm.k }

// Update adds one batch.
func (cm *ConfusionMatrix) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	const op = "metrics.ConfusionMatrix"
	d := yPred.Data()
	if isBinary(yPred) {
		if cm.k != 2 {
			panic(&tensor.ShapeError{Op: op, Got: yPred.Shape(), Want: []int{yPred.Dim(0), cm.k}, Msg: "binary predictions need 2 classes"})
		}
		batch := yPred.Len()
		checkWeights(op, sampleWeight, batch)
		labels := classLabels(op, yTrue, batch, 2)
		for i, t := range labels {
			p := 0
			if d[i] > 0.5 {
				p = 1
			}
			cm.Add(t, p, weight(sampleWeight, i))
		}
		return
	}
	classes := numClassesOf(op, yPred)
	if classes != cm.k {
		panic(&tensor.ShapeError{Op: op, Got: yPred.Shape(), Want: []int{yPred.Dim(0), cm.k}, Msg: "number of classes differs"})
	}
	batch := yPred.Dim(0)
	checkWeights(op, sampleWeight, batch)
	for i, t := range classLabels(op, yTrue, batch, classes) {
		cm.Add(t, argmax(d[i*classes:(i+1)*classes]), weight(sampleWeight, i))
	}
}

// Add adds weight w to entry [trueClass][predClass]. It panics if a class is
// out of range.
func (cm *ConfusionMatrix) Add(trueClass, predClass int, w float64) {
	if trueClass < 0 || trueClass >= cm.k || predClass < 0 || predClass >= cm.k {
		panic(&tensor.ShapeError{Op: "metrics.ConfusionMatrix.Add", Got: []int{trueClass, predClass}, Want: []int{cm.k, cm.k}, Msg: "class out of range"})
	}
	cm.m[trueClass*cm.k+predClass] += w
}

// At returns entry [trueClass][predClass].
func (cm *ConfusionMatrix) At(trueClass, predClass int) float64 {
	return cm.m[trueClass*cm.k+predClass]
}

// Matrix returns a copy of the table as k rows of k weighted counts.
func (cm *ConfusionMatrix) Matrix() [][]float64 {
	out := make([][]float64, cm.k)
	for t := range out {
		out[t] = append([]float64(nil), cm.m[t*cm.k:(t+1)*cm.k]...)
	}
	return out
}

// Counts returns the table rounded to integers (exact without sample
// weights), ready for plot.Confusion.
func (cm *ConfusionMatrix) Counts() [][]int {
	out := make([][]int, cm.k)
	for t := range out {
		out[t] = make([]int, cm.k)
		for p := range out[t] {
			out[t][p] = int(math.Round(cm.m[t*cm.k+p]))
		}
	}
	return out
}

// Result returns the accuracy, trace / total, or 0 when empty.
func (cm *ConfusionMatrix) Result() float64 {
	var tr, tot float64
	for t := 0; t < cm.k; t++ {
		tr += cm.m[t*cm.k+t]
		for p := 0; p < cm.k; p++ {
			tot += cm.m[t*cm.k+p]
		}
	}
	return ratio(tr, tot)
}

// Reset zeroes the table.
func (cm *ConfusionMatrix) Reset() { clear(cm.m) }

// ClassStats are the per-class figures derived from a confusion matrix.
// A ratio with a zero denominator is 0 (scikit-learn's zero_division=0).
type ClassStats struct {
	Precision float64 // TP / (TP + FP)
	Recall    float64 // TP / (TP + FN)
	F1        float64 // 2·TP / (2·TP + FP + FN), the harmonic mean of the two
	Support   float64 // TP + FN: (weighted) number of samples of the class
	Predicted float64 // TP + FP: (weighted) number of predictions of the class
}

// Class returns the statistics of class c.
func (cm *ConfusionMatrix) Class(c int) ClassStats {
	tp := cm.At(c, c)
	var s ClassStats
	for j := 0; j < cm.k; j++ {
		s.Support += cm.At(c, j)
		s.Predicted += cm.At(j, c)
	}
	s.Precision = ratio(tp, s.Predicted)
	s.Recall = ratio(tp, s.Support)
	s.F1 = ratio(2*tp, s.Support+s.Predicted)
	return s
}

// PerClass returns Class(c) for every class.
func (cm *ConfusionMatrix) PerClass() []ClassStats {
	out := make([]ClassStats, cm.k)
	for c := range out {
		out[c] = cm.Class(c)
	}
	return out
}

// Average selects how per-class precision, recall and F1 are combined into
// one number. The zero value, AverageAuto, means AverageBinary for two
// classes and AverageMacro otherwise.
type Average int

const (
	// AverageAuto is AverageBinary for 2 classes, AverageMacro otherwise.
	AverageAuto Average = iota
	// AverageBinary reports the positive class (class 1) only.
	AverageBinary
	// AverageMacro is the unweighted mean over the classes that occur in
	// the labels or the predictions (scikit-learn's default label set).
	AverageMacro
	// AverageMicro computes the metric from the total TP, FP and FN over
	// all classes; for single-label problems it equals the accuracy.
	AverageMicro
	// AverageWeighted is the mean over classes weighted by their support.
	AverageWeighted
)

// String returns "auto", "binary", "macro", "micro" or "weighted".
func (a Average) String() string {
	switch a {
	case AverageAuto:
		return "auto"
	case AverageBinary:
		return "binary"
	case AverageMacro:
		return "macro"
	case AverageMicro:
		return "micro"
	case AverageWeighted:
		return "weighted"
	}
	return fmt.Sprintf("Average(%d)", int(a))
}

// Averaged combines one per-class statistic (selected by field) with the
// given averaging. field picks Precision, Recall or F1 out of ClassStats.
func (cm *ConfusionMatrix) Averaged(avg Average, field func(ClassStats) float64) float64 {
	if avg == AverageAuto {
		avg = AverageMacro
		if cm.k == 2 {
			avg = AverageBinary
		}
	}
	stats := cm.PerClass()
	switch avg {
	case AverageBinary:
		return field(stats[1])
	case AverageMicro:
		var tp, sup, pred float64
		for c, s := range stats {
			tp += cm.At(c, c)
			sup += s.Support
			pred += s.Predicted
		}
		return field(ClassStats{Precision: ratio(tp, pred), Recall: ratio(tp, sup), F1: ratio(2*tp, sup+pred)})
	case AverageWeighted:
		var sum, sup float64
		for _, s := range stats {
			sum += s.Support * field(s)
			sup += s.Support
		}
		return ratio(sum, sup)
	default: // macro
		var sum, n float64
		for _, s := range stats {
			if s.Support > 0 || s.Predicted > 0 {
				sum += field(s)
				n++
			}
		}
		return ratio(sum, n)
	}
}

// Report formats a classification report like scikit-learn's
// classification_report (two decimals): precision, recall, F1 and support
// for every class, then the accuracy and the macro and weighted averages.
func (cm *ConfusionMatrix) Report() string {
	names := make([]string, cm.k)
	width := len("weighted avg")
	for c := range names {
		names[c] = fmt.Sprint(c)
		if c < len(cm.Labels) && cm.Labels[c] != "" {
			names[c] = cm.Labels[c]
		}
		width = max(width, len(names[c]))
	}
	var total float64
	stats := cm.PerClass()
	for _, s := range stats {
		total += s.Support
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%*s  %9s %9s %9s %9s\n\n", width, "", "precision", "recall", "f1-score", "support")
	row := func(name string, p, r, f, sup float64) {
		fmt.Fprintf(&b, "%*s  %9.2f %9.2f %9.2f %9s\n", width, name, p, r, f, formatSupport(sup))
	}
	for c, s := range stats {
		row(names[c], s.Precision, s.Recall, s.F1, s.Support)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "%*s  %9s %9s %9.2f %9s\n", width, "accuracy", "", "", cm.Result(), formatSupport(total))
	for _, a := range []Average{AverageMacro, AverageWeighted} {
		row(a.String()+" avg",
			cm.Averaged(a, statPrecision), cm.Averaged(a, statRecall), cm.Averaged(a, statF1), total)
	}
	return b.String()
}

func formatSupport(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.2f", v)
}

func statPrecision(s ClassStats) float64 { return s.Precision }
func statRecall(s ClassStats) float64    { return s.Recall }
func statF1(s ClassStats) float64        { return s.F1 }

// ClassOptions configure Precision, Recall and F1.
type ClassOptions struct {
	// NumClasses is the width of the model's output; 0, 1 and 2 mean a
	// binary problem (predictions [batch] or [batch, 1] thresholded at 0.5,
	// or [batch, 2] decoded by argmax).
	NumClasses int
	// Average combines the per-class values; zero means AverageAuto.
	Average Average
	// Name is the logged name; empty means "precision", "recall" or "f1",
	// followed by "_macro", "_micro" or "_weighted" for those averages.
	Name string
}

// classMetric is the confusion-matrix-backed core of Precision, Recall and F1.
type classMetric struct {
	name  string
	avg   Average
	cm    *ConfusionMatrix
	field func(ClassStats) float64
}

func newClassMetric(base string, o ClassOptions, field func(ClassStats) float64) classMetric {
	k := max(o.NumClasses, 2)
	name := o.Name
	if name == "" {
		name = base
		if o.Average != AverageAuto && o.Average != AverageBinary {
			name += "_" + o.Average.String()
		}
	}
	if o.Average == AverageBinary && k != 2 {
		panic(fmt.Sprintf("metrics: %s with binary averaging needs 2 classes, got %d", base, k))
	}
	return classMetric{name: name, avg: o.Average, cm: NewConfusionMatrix(k), field: field}
}

// Name returns the metric's logged name.
func (m *classMetric) Name() string { return m.name }

// Update accumulates one batch into the underlying confusion matrix.
func (m *classMetric) Update(yTrue, yPred *tensor.Tensor, sampleWeight []float32) {
	m.cm.Update(yTrue, yPred, sampleWeight)
}

// Result returns the averaged value.
func (m *classMetric) Result() float64 { return m.cm.Averaged(m.avg, m.field) }

// PerClass returns the value for each class.
func (m *classMetric) PerClass() []float64 {
	out := make([]float64, m.cm.k)
	for c := range out {
		out[c] = m.field(m.cm.Class(c))
	}
	return out
}

// Confusion returns the underlying confusion matrix (not a copy).
func (m *classMetric) Confusion() *ConfusionMatrix { return m.cm }

// Reset clears the counts.
func (m *classMetric) Reset() { m.cm.Reset() }

// Precision is TP / (TP + FP), per class and averaged as ClassOptions say.
type Precision struct{ classMetric }

// NewPrecision returns a Precision. It panics if AverageBinary is asked for
// more than 2 classes.
func NewPrecision(o ClassOptions) *Precision {
	return &Precision{newClassMetric("precision", o, statPrecision)}
}

// Recall is TP / (TP + FN), per class and averaged as ClassOptions say.
type Recall struct{ classMetric }

// NewRecall returns a Recall. It panics if AverageBinary is asked for more
// than 2 classes.
func NewRecall(o ClassOptions) *Recall {
	return &Recall{newClassMetric("recall", o, statRecall)}
}

// F1 is the harmonic mean of precision and recall,
// 2·TP / (2·TP + FP + FN), per class and averaged as ClassOptions say (macro
// and weighted average the per-class F1 scores, as scikit-learn does).
type F1 struct{ classMetric }

// NewF1 returns an F1. It panics if AverageBinary is asked for more than 2
// classes.
func NewF1(o ClassOptions) *F1 {
	return &F1{newClassMetric("f1", o, statF1)}
}
