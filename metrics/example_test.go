package metrics_test

import (
	"fmt"

	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/tensor"
)

func ExampleNewSparseCategoricalAccuracy() {
	m := metrics.NewSparseCategoricalAccuracy()
	// Two batches of [batch, classes] predictions with sparse labels.
	m.Update(tensor.New([]int{2}, []float32{0, 2}),
		tensor.New([]int{2, 3}, []float32{0.7, 0.2, 0.1, 0.5, 0.3, 0.2}), nil)
	m.Update(tensor.New([]int{1}, []float32{1}),
		tensor.New([]int{1, 3}, []float32{0.1, 0.8, 0.1}), nil)
	fmt.Printf("%s = %.4f\n", m.Name(), m.Result())
	m.Reset()
	fmt.Printf("after reset = %.4f\n", m.Result())
	// Output:
	// sparse_categorical_accuracy = 0.6667
	// after reset = 0.0000
}

func ExampleNewF1() {
	yTrue := tensor.New([]int{6}, []float32{0, 1, 2, 0, 1, 2})
	yPred := tensor.New([]int{6, 3}, []float32{
		1, 0, 0,
		0, 0, 1,
		0, 1, 0,
		1, 0, 0,
		1, 0, 0,
		0, 1, 0,
	})
	for _, avg := range []metrics.Average{metrics.AverageMacro, metrics.AverageMicro, metrics.AverageWeighted} {
		f1 := metrics.NewF1(metrics.ClassOptions{NumClasses: 3, Average: avg})
		f1.Update(yTrue, yPred, nil)
		fmt.Printf("%-11s %.4f\n", f1.Name(), f1.Result())
	}
	// Output:
	// f1_macro    0.2667
	// f1_micro    0.3333
	// f1_weighted 0.2667
}

func ExampleROCAUC() {
	labels := []float32{0, 0, 1, 1}
	scores := []float32{0.1, 0.4, 0.35, 0.8}
	fmt.Printf("AUC = %.2f\n", metrics.ROCAUC(labels, scores, nil))
	fpr, tpr, thr := metrics.ROCCurve(labels, scores, nil)
	for i := range fpr {
		fmt.Printf("threshold %4.2f: fpr %.1f tpr %.1f\n", thr[i], fpr[i], tpr[i])
	}
	// Output:
	// AUC = 0.75
	// threshold +Inf: fpr 0.0 tpr 0.0
	// threshold 0.80: fpr 0.0 tpr 0.5
	// threshold 0.40: fpr 0.5 tpr 0.5
	// threshold 0.35: fpr 0.5 tpr 1.0
	// threshold 0.10: fpr 1.0 tpr 1.0
}

func ExampleConfusionMatrix_Report() {
	cm := metrics.NewConfusionMatrix(3)
	cm.Labels = []string{"cat", "dog", "bird"}
	yTrue := tensor.New([]int{5}, []float32{0, 1, 2, 2, 2})
	yPred := tensor.New([]int{5, 3}, []float32{
		0.8, 0.1, 0.1,
		0.6, 0.3, 0.1,
		0.1, 0.1, 0.8,
		0.2, 0.2, 0.6,
		0.1, 0.5, 0.4,
	})
	cm.Update(yTrue, yPred, nil)
	fmt.Println(cm.Counts())
	fmt.Print(cm.Report())
	// Output:
	// [[1 0 0] [1 0 0] [0 1 2]]
	//               precision    recall  f1-score   support
	//
	//          cat       0.50      1.00      0.67         1
	//          dog       0.00      0.00      0.00         1
	//         bird       1.00      0.67      0.80         3
	//
	//     accuracy                           0.60         5
	//    macro avg       0.50      0.56      0.49         5
	// weighted avg       0.70      0.60      0.61         5
}

func ExampleByName() {
	for _, name := range []string{"accuracy", "top5", "f1_macro", "auc", "mse"} {
		m, err := metrics.ByName(name, 10)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(m.Name())
	}
	// Output:
	// accuracy
	// top_k_categorical_accuracy
	// f1_macro
	// auc
	// error: metrics: unknown metric "mse"
}

// A Resumable metric's state is a few numbers that a training checkpoint
// keeps, so that a resumed epoch reports what an uninterrupted one would.
func ExampleResumable() {
	acc := metrics.NewAccuracy()
	acc.Update(tensor.New([]int{4}, []float32{0, 1, 1, 0}), tensor.New([]int{4, 2}, []float32{.9, .1, .2, .8, .6, .4, .7, .3}), nil)
	state := acc.State()
	resumed := metrics.NewAccuracy()
	if err := resumed.SetState(state); err != nil {
		panic(err)
	}
	fmt.Println(state, resumed.Result())
	// Output: [3 4] 0.75
}
