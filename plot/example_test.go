package plot_test

import (
	"bytes"
	"fmt"
	"image/png"

	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/tensor"
)

func ExampleHistory() {
	h := map[string][]float64{
		"loss":         {0.92, 0.41, 0.28, 0.22},
		"val_loss":     {0.55, 0.35, 0.30, 0.31},
		"accuracy":     {0.71, 0.88, 0.92, 0.94},
		"val_accuracy": {0.84, 0.90, 0.91, 0.91},
	}
	var b bytes.Buffer
	if err := plot.History(&b, h, plot.HistoryOptions{Title: "mlp on mnist"}); err != nil {
		fmt.Println(err)
		return
	}
	cfg, _ := png.DecodeConfig(&b)
	fmt.Printf("%dx%d\n", cfg.Width, cfg.Height) // two 560×400 panels and a title
	// Output: 1120x440
}

func ExampleROC() {
	auc := metrics.NewAUC(2)
	auc.Update(tensor.New([]int{6}, []float32{0, 0, 1, 1, 0, 1}),
		tensor.New([]int{6}, []float32{0.1, 0.4, 0.35, 0.8, 0.2, 0.9}), nil)
	fpr, tpr, _ := auc.Curve(1)
	var b bytes.Buffer
	err := plot.ROC(&b, []plot.ROCCurve{{Label: "model", FPR: fpr, TPR: tpr, AUC: auc.Result()}}, plot.ROCOptions{})
	fmt.Printf("AUC %.3f, err %v\n", auc.Result(), err)
	// Output: AUC 0.889, err <nil>
}

func ExampleConfusion() {
	cm := metrics.NewConfusionMatrix(3)
	cm.Update(tensor.New([]int{4}, []float32{0, 1, 2, 2}),
		tensor.New([]int{4, 3}, []float32{0.8, 0.1, 0.1, 0.2, 0.7, 0.1, 0.1, 0.6, 0.3, 0.1, 0.1, 0.8}), nil)
	var b bytes.Buffer
	err := plot.Confusion(&b, cm.Counts(), []string{"cat", "dog", "bird"}, plot.ConfusionOptions{})
	fmt.Println(cm.Counts(), err)
	// Output: [[1 0 0] [0 1 0] [0 1 1]] <nil>
}
