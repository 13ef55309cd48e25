package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/explain"
	"github.com/strata-dl/strata/explain/overlay"
	"github.com/strata-dl/strata/tensor"

	runs "github.com/strata-dl/strata/run"
)

const explainExamples = `  strata explain --run runs/cnn-20261128-120000 --method ig digit.png --out explain
  strata explain --run runs/cnn-20261128-120000 --method gradcam --layer conv2 a.png b.png --json
`

func cmdExplain(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("explain", "explain (--run DIR | --model-file FILE) [--method NAME] [flags] IMAGE...", explainExamples, out)
	runDir, model, weights := modelFlags(fs)
	method := fs.String("method", "saliency", "attribution method: "+strings.Join(explain.Names(), ", "))
	class := fs.Int("class", explain.Predicted, "class to explain (-1: the predicted class)")
	layer := fs.String("layer", "", "Grad-CAM layer (default: the last convolution)")
	steps := fs.Int("steps", 0, "Integrated Gradients steps (0: 50)")
	outDir := fs.String("out", "", "output directory (default: DIR/explain of the run, else ./explain)")
	jsonOut := fs.Bool("json", false, "write the raw attributions as .npy and print one JSON object per image")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("give at least one image (PNG/JPEG) or .npy file")
	}
	m, err := explainMethod(*method, *layer, *steps)
	if err != nil {
		return err
	}
	lm, err := loadModel(*runDir, *model, *weights)
	if err != nil {
		return err
	}
	dir, runLock, err := explainDir(*outDir, lm.Dir)
	if err != nil {
		return err
	}
	defer runLock.Close()
	for _, path := range fs.Args() {
		x, err := loadInput(path, lm.Arch)
		if err != nil {
			return err
		}
		xin, err := lm.modelInput(x) // overlays show x
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		a, err := m.Attribute(ctx, lm.Net, xin, *class)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		for i := range a.Classes {
			base := fmt.Sprintf("%s_%s_class%d_p%.3f", stem, *method, a.Classes[i], a.Probs[i])
			if x.Dim(0) > 1 {
				base = fmt.Sprintf("%s-%d_%s_class%d_p%.3f", stem, i, *method, a.Classes[i], a.Probs[i])
			}
			png := filepath.Join(dir, base+".png")
			if err := overlay.Save(png, x, a, i); err != nil {
				return err
			}
			rec := map[string]any{"input": path, "index": i, "method": a.Method, "class": a.Classes[i], "probability": a.Probs[i],
				"predicted": a.Predicted[i], "png": png}
			if a.Layer != "" {
				rec["layer"] = a.Layer
			}
			if a.CompletenessError != nil {
				rec["completeness_error"] = a.CompletenessError[i]
			}
			if *jsonOut {
				npy := filepath.Join(dir, base+".npy")
				if err := checkpoint.SaveNPY(npy, sample(a.Map, i)); err != nil {
					return err
				}
				rec["npy"] = npy
				if err := printJSON(out, rec); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(out, "%s: %s → %s", path, explain.Caption(a, i), png)
			if a.CompletenessError != nil {
				fmt.Fprintf(out, " (completeness error %.2g)", a.CompletenessError[i])
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}

// explainDir creates and returns the output directory: --out, else
// explain/ in the run directory, else ./explain; when it is a run's
// explain/, the run directory is returned locked (close it when done).
func explainDir(outDir, runDir string) (string, *runs.Dir, error) {
	dir := outDir
	if dir == "" {
		dir = "explain"
		if runDir != "" {
			dir = filepath.Join(runDir, "explain")
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, err
	}
	// Writing into a run directory: hold its lock (see package run).
	if parent := filepath.Dir(dir); filepath.Base(dir) == runs.ExplainDir {
		if _, isRun := runs.HoldsRun(parent); isRun {
			d, err := runs.Open(parent, "strata explain")
			return dir, d, err
		}
	}
	return dir, nil, nil
}

// explainMethod returns the attribution method of --method, with the
// Grad-CAM layer and the Integrated Gradients steps set.
func explainMethod(name, layer string, steps int) (explain.Method, error) {
	if steps < 0 {
		return nil, usagef("--steps must not be negative, got %d", steps)
	}
	m, err := explain.New(name)
	if err != nil {
		return nil, usagef("%v", err)
	}
	switch mm := m.(type) { // explain.New returns values
	case explain.GradCAM:
		mm.Layer = layer
		m = mm
	case explain.IntegratedGradients:
		mm.Steps = steps
		m = mm
	}
	return m, nil
}

// sample returns sample i of a batch tensor, without the batch axis.
func sample(t *tensor.Tensor, i int) *tensor.Tensor {
	s := t.Slice(i, i+1)
	return s.Reshape(t.Shape()[1:]...)
}
