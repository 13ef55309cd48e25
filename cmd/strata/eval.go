package main

import (
	"context"
	"encoding/json"
	"errors"
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
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"

	runs "github.com/strata-dl/strata/run"
)

// loadedModel is a trained classifier rebuilt from a model file.
type loadedModel struct {
	Arch  architecture
	Net   nn.Layer
	Model *modelfile.Model // the file's model and Meta (nil with --model)
	Dir   string           // the run directory, when loaded from one
	Data  string           // the run's --data, when known
}

// loadModel rebuilds a classifier from a run directory or from a model
// file (modelfile.Load: a file of strata train, of modelfile.Save, or of
// an older build). model, when given, names a zoo classifier whose
// weights the file holds, whatever its metadata says.
func loadModel(runDir, model, file string) (*loadedModel, error) {
	lm := &loadedModel{Dir: runDir}
	if runDir != "" {
		if file != "" {
			return nil, usagef("give --run or --model-file, not both")
		}
		var c runConfig
		if err := readJSON(filepath.Join(runDir, "config.json"), &c); err != nil {
			return nil, fmt.Errorf("run %s: %w", runDir, err)
		}
		lm.Data = c.Data
		file = filepath.Join(runDir, "model.safetensors")
	}
	if file == "" {
		return nil, usagef("give --run DIR, or --model-file FILE.safetensors")
	}
	if isONNX(file) {
		if model != "" {
			return nil, usagef("--model does not apply to an ONNX file")
		}
		return lm, lm.loadONNX(file)
	}
	f, err := checkpoint.LoadSafetensors(file)
	if err != nil {
		return nil, err
	}
	if model != "" {
		return lm, lm.loadZoo(f, file, model)
	}
	m, err := modelfile.FromFile(f)
	if errors.Is(err, modelfile.ErrNoArchitecture) {
		return nil, usagef("%s does not name its architecture: give --model", file)
	}
	if err != nil {
		return nil, modelLoadError(file, fmt.Errorf("%s: %w", file, err))
	}
	lm.Net, lm.Model = m.Net, m
	lm.Arch = architecture{Model: m.Meta.Family, Classes: len(m.Meta.Classes), InputShape: m.Meta.InputShape, Preprocessing: m.Meta.Preprocessing}
	if lm.Arch.Model == "" {
		lm.Arch.Model = strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	}
	if lm.Arch.Classes == 0 && len(m.Output) > 0 {
		lm.Arch.Classes = m.Output[len(m.Output)-1]
	}
	return lm, nil
}

// loadZoo builds the zoo classifier model for the file's input shape (else
// MNIST's) and loads the weights of f into it.
func (lm *loadedModel) loadZoo(f *checkpoint.File, file, model string) error {
	if a := f.Metadata["strata.architecture"]; a != "" {
		if err := json.Unmarshal([]byte(a), &lm.Arch); err != nil {
			return fmt.Errorf("%s: bad architecture metadata: %v", file, err)
		}
	}
	lm.Arch.Model = model
	if lm.Arch.Classes == 0 {
		lm.Arch.Classes = 10
	}
	if lm.Arch.InputShape == nil {
		lm.Arch.InputShape = []int{28, 28, 1}
	}
	spec, err := zoo.LookupClassifier(model)
	if err != nil {
		return usagef("%v", err)
	}
	if err := checkArchitecture(file, f, spec.New, lm.Arch.InputShape, lm.Arch.Classes); err != nil {
		return err
	}
	lm.Net = spec.New(lm.Arch.Classes)
	if _, err := nn.Build(lm.Net, lm.Arch.InputShape, rand.New(rand.NewPCG(0, 0))); err != nil {
		return err
	}
	if err := train.LoadWeights(lm.Net, f, ""); err != nil {
		return fmt.Errorf("%s does not hold a %s model: %w", file, model, err)
	}
	return nil
}

// probabilities runs the model on x and returns its class probabilities:
// its output, after a softmax when the model file says that the network
// outputs logits (Meta.Logits).
func (lm *loadedModel) probabilities(ctx context.Context, x *tensor.Tensor) (*tensor.Tensor, error) {
	y, err := train.Predict(ctx, lm.Net, x, 256)
	if err != nil || lm.Model == nil || !lm.Model.Meta.Logits {
		return y, err
	}
	return tensor.Softmax(y, -1), nil
}

// modelInput returns x as the model takes it: x itself, or a copy
// standardized by the model file's standardizer.
func (lm *loadedModel) modelInput(x *tensor.Tensor) (*tensor.Tensor, error) {
	if lm.Model == nil || lm.Model.Meta.Standardizer == nil {
		return x, nil
	}
	c := x.Clone()
	return c, lm.Model.Preprocess(c)
}

const evalExamples = `  strata eval --run runs/cnn-20261128-120000
  strata eval --model-file model.safetensors --data idx:/data/mnist --json
  strata eval --model-file my-model.safetensors --data csv:test.csv
  strata eval --model-file model.onnx --data idx:/data/mnist
`

func cmdEval(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("eval", "eval (--run DIR | --model-file FILE) [flags]", evalExamples, out)
	runDir, model, weights := modelFlags(fs)
	dataSpec := fs.String("data", "", "test data (default: the run's data, else mnist)")
	limitN := fs.Int("limit", 0, "evaluate only the first N test samples (0: all)")
	outDir := fs.String("out", "", "where to write confusion.png and roc.png (default: the run directory; if they cannot be written, the metrics are still printed, then eval exits 1)")
	jsonOut := fs.Bool("json", false, "print the results as one JSON object")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *limitN < 0 {
		return usagef("--limit must be 0 (all) or a number of samples, got %d", *limitN)
	}
	lm, err := loadModel(*runDir, *model, *weights)
	if err != nil {
		return err
	}
	test, err := evalData(ctx, lm, *dataSpec, *limitN)
	if err != nil {
		return err
	}
	xin, err := lm.modelInput(test.X)
	if err != nil {
		return err
	}
	probs, err := lm.probabilities(ctx, xin)
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
	// The metrics are printed whether or not the plots can be written (a
	// read-only run directory): a plot failure is reported after them.
	dir := *outDir
	if dir == "" {
		dir = lm.Dir
	}
	var plotErr error
	if dir != "" {
		if plotErr = writeEvalPlots(dir, lm.Arch.Model, cm, auc); plotErr == nil {
			res["confusion_png"] = filepath.Join(dir, "confusion.png")
			res["roc_png"] = filepath.Join(dir, "roc.png")
		} else {
			res["plots_error"] = plotErr.Error()
		}
	}
	if err := printEval(out, res, *jsonOut, lm.Arch.Model, test.Len(), cm); err != nil {
		return err
	}
	if plotErr != nil {
		return fmt.Errorf("the metrics are printed above, but the plots were not written (give --out DIR to write them elsewhere): %w", plotErr)
	}
	return nil
}

// printEval prints eval's results: one JSON object, or a summary line, the
// per-class report and the confusion matrix.
func printEval(out io.Writer, res map[string]any, jsonOut bool, model string, n int, cm *metrics.ConfusionMatrix) error {
	if jsonOut {
		b, err := json.Marshal(res)
		if err != nil {
			return err
		}
		fmt.Fprintln(out, string(b))
		return nil
	}
	fmt.Fprintf(out, "%s on %d test samples: accuracy %.4f, loss %.4f, macro F1 %.4f, AUC-ROC %.4f\n\n",
		model, n, res["accuracy"], res["loss"], res["macro_f1"], res["auc_roc"])
	fmt.Fprintln(out, cm.Report())
	fmt.Fprintln(out, "Confusion matrix (rows: true class, columns: predicted):")
	for _, row := range cm.Counts() {
		fmt.Fprintln(out, strings.Trim(fmt.Sprint(row), "[]"))
	}
	return nil
}

// evalData loads the test set of the --data spec (default: the run's
// data, else mnist) — only the test files of mnist and idx:DIR, see
// run.LoadTestSet —, keeps its first limitN samples and checks that they
// fit the model.
func evalData(ctx context.Context, lm *loadedModel, spec string, limitN int) (data.Tensors, error) {
	if spec == "" {
		spec = lm.Data
	}
	if spec == "" {
		spec = "mnist"
	}
	ds, err := runs.LoadTestSet(ctx, spec)
	if err != nil {
		return data.Tensors{}, err
	}
	test := limit(ds.Test, limitN)
	if got, want := test.XShape(), lm.Arch.InputShape; fmt.Sprint(got) != fmt.Sprint(want) {
		return data.Tensors{}, fmt.Errorf("test data samples have shape %v but the %s model takes %v", got, lm.Arch.Model, want)
	}
	if ds.Classes > lm.Arch.Classes {
		return data.Tensors{}, fmt.Errorf("test data has %d classes but the model predicts %d", ds.Classes, lm.Arch.Classes)
	}
	return test, nil
}

// writeEvalPlots writes DIR/confusion.png and DIR/roc.png, holding the
// lock of DIR when it is a run directory (see package run).
func writeEvalPlots(dir, model string, cm *metrics.ConfusionMatrix, auc *metrics.AUC) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if _, isRun := runs.HoldsRun(dir); isRun {
		d, err := runs.Open(dir, "strata eval")
		if err != nil {
			return err
		}
		defer d.Close()
	}
	if err := writePNG(filepath.Join(dir, "confusion.png"), func(w io.Writer) error {
		return plot.Confusion(w, cm.Counts(), nil, plot.ConfusionOptions{Title: "Confusion matrix: " + model})
	}); err != nil {
		return err
	}
	var curves []plot.ROCCurve
	for c := range len(cm.Counts()) {
		fpr, tpr, _ := auc.Curve(c)
		curves = append(curves, plot.ROCCurve{Label: fmt.Sprint(c), FPR: fpr, TPR: tpr, AUC: auc.ClassAUC(c)})
	}
	return writePNG(filepath.Join(dir, "roc.png"), func(w io.Writer) error {
		return plot.ROC(w, curves, plot.ROCOptions{Title: fmt.Sprintf("ROC (one-vs-rest), macro AUC %.4f", auc.Result())})
	})
}

func writePNG(path string, draw func(w io.Writer) error) error {
	return checkpoint.WriteFileAtomic(path, draw)
}
