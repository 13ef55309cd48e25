package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// loadedModel is a trained classifier rebuilt from its weights file.
type loadedModel struct {
	Arch architecture
	Net  nn.Layer
	Dir  string // the run directory, when loaded from one
	Data string // the run's --data, when known
}

// loadModel rebuilds a classifier from a run directory or from a weights
// file (whose metadata names the architecture; model overrides it).
func loadModel(runDir, model, weights string) (*loadedModel, error) {
	lm := &loadedModel{Dir: runDir}
	if runDir != "" {
		if weights != "" {
			return nil, usagef("give --run or --weights, not both")
		}
		var c runConfig
		if err := readJSON(filepath.Join(runDir, "config.json"), &c); err != nil {
			return nil, fmt.Errorf("run %s: %w", runDir, err)
		}
		lm.Data = c.Data
		weights = filepath.Join(runDir, "model.safetensors")
	}
	if weights == "" {
		return nil, usagef("give --run DIR, or --weights FILE.safetensors")
	}
	f, err := checkpoint.LoadSafetensors(weights)
	if err != nil {
		return nil, err
	}
	if a := f.Metadata["strata.architecture"]; a != "" {
		if err := json.Unmarshal([]byte(a), &lm.Arch); err != nil {
			return nil, fmt.Errorf("%s: bad architecture metadata: %v", weights, err)
		}
	}
	if model != "" {
		lm.Arch.Model = model
	}
	if lm.Arch.Model == "" {
		return nil, usagef("%s does not name its architecture: give --model", weights)
	}
	if lm.Arch.Classes == 0 {
		lm.Arch.Classes = 10
	}
	if lm.Arch.InputShape == nil {
		lm.Arch.InputShape = []int{28, 28, 1}
	}
	spec, err := zoo.LookupClassifier(lm.Arch.Model)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if err := checkArchitecture(weights, f, spec.New, lm.Arch.InputShape, lm.Arch.Classes); err != nil {
		return nil, err
	}
	lm.Net = spec.New(lm.Arch.Classes)
	if _, err := nn.Build(lm.Net, lm.Arch.InputShape, rand.New(rand.NewPCG(0, 0))); err != nil {
		return nil, err
	}
	if err := train.LoadWeights(lm.Net, f, ""); err != nil {
		return nil, fmt.Errorf("%s does not hold a %s model: %w", weights, lm.Arch.Model, err)
	}
	return lm, nil
}

const evalExamples = `  strata eval --run runs/cnn-20261128-120000
  strata eval --model cnn --weights model.safetensors --data idx:/data/mnist --json
`

func cmdEval(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("eval", "eval (--run DIR | [--model NAME] --weights FILE) [flags]", evalExamples, out)
	runDir := fs.String("run", "", "run directory written by strata train")
	model := fs.String("model", "", "model name (default: from the weights' metadata)")
	weights := fs.String("weights", "", "weights file (.safetensors)")
	dataSpec := fs.String("data", "", "test data (default: the run's data, else mnist)")
	limitN := fs.Int("limit", 0, "evaluate only the first N test samples (0: all)")
	outDir := fs.String("out", "", "where to write confusion.png and roc.png (default: the run directory)")
	jsonOut := fs.Bool("json", false, "print the results as one JSON object")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *limitN < 0 {
		return usagef("--limit must be 0 (all) or a number of samples, got %d", *limitN)
	}
	lm, err := loadModel(*runDir, *model, *weights)
	if err != nil {
		return err
	}
	spec := *dataSpec
	if spec == "" {
		spec = lm.Data
	}
	if spec == "" {
		spec = "mnist"
	}
	ds, err := loadDataset(spec)
	if err != nil {
		return err
	}
	test := limit(ds.Test, *limitN)
	if got, want := test.XShape(), lm.Arch.InputShape; fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("test data samples have shape %v but the %s model takes %v", got, lm.Arch.Model, want)
	}
	if ds.Classes > lm.Arch.Classes {
		return fmt.Errorf("test data has %d classes but the model predicts %d", ds.Classes, lm.Arch.Classes)
	}
	probs, err := train.Predict(ctx, lm.Net, test.X, 256)
	if err != nil {
		return err
	}
	if err := data.CheckFinite(probs, "the model's output on the test set"); err != nil {
		return fmt.Errorf("%w: its weights hold NaN or infinite values, or overflow on this data", err)
	}
	k := lm.Arch.Classes
	cm := metrics.NewConfusionMatrix(k)
	auc := metrics.NewAUC(k)
	acc := metrics.NewAccuracy()
	for _, m := range []metrics.Metric{cm, auc, acc} {
		m.Update(test.Y, probs, nil)
	}
	loss := losses.SparseCategoricalCrossentropy{}.Compute(constVar(probs), test.Y, nil).Item()
	per := cm.PerClass()
	classes := make([]map[string]float64, k)
	for i, s := range per {
		classes[i] = map[string]float64{"precision": s.Precision, "recall": s.Recall, "f1": s.F1, "support": s.Support}
	}
	res := map[string]any{
		"accuracy":         acc.Result(),
		"loss":             loss,
		"macro_f1":         cm.Averaged(metrics.AverageMacro, func(s metrics.ClassStats) float64 { return s.F1 }),
		"auc_roc":          auc.Result(),
		"confusion_matrix": cm.Counts(),
		"per_class":        classes,
		"samples":          test.Len(),
	}
	dir := *outDir
	if dir == "" {
		dir = lm.Dir
	}
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := writePNG(filepath.Join(dir, "confusion.png"), func(w io.Writer) error {
			return plot.Confusion(w, cm.Counts(), nil, plot.ConfusionOptions{Title: "Confusion matrix: " + lm.Arch.Model})
		}); err != nil {
			return err
		}
		var curves []plot.ROCCurve
		for c := 0; c < k; c++ {
			fpr, tpr, _ := auc.Curve(c)
			curves = append(curves, plot.ROCCurve{Label: fmt.Sprint(c), FPR: fpr, TPR: tpr, AUC: auc.ClassAUC(c)})
		}
		if err := writePNG(filepath.Join(dir, "roc.png"), func(w io.Writer) error {
			return plot.ROC(w, curves, plot.ROCOptions{Title: fmt.Sprintf("ROC (one-vs-rest), macro AUC %.4f", auc.Result())})
		}); err != nil {
			return err
		}
		res["confusion_png"] = filepath.Join(dir, "confusion.png")
		res["roc_png"] = filepath.Join(dir, "roc.png")
	}
	if *jsonOut {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(b))
		return nil
	}
	fmt.Fprintf(out, "%s on %d test samples: accuracy %.4f, loss %.4f, macro F1 %.4f, AUC-ROC %.4f\n\n",
		lm.Arch.Model, test.Len(), acc.Result(), loss, res["macro_f1"], auc.Result())
	fmt.Fprintln(out, cm.Report())
	fmt.Fprintln(out, "Confusion matrix (rows: true class, columns: predicted):")
	for _, row := range cm.Counts() {
		fmt.Fprintln(out, strings.Trim(fmt.Sprint(row), "[]"))
	}
	return nil
}

func writePNG(path string, draw func(w io.Writer) error) error {
	return checkpoint.WriteFileAtomic(path, draw)
}
