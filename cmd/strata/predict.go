package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

const predictExamples = `  strata predict --run runs/cnn-20261128-120000 digit.png
  strata predict --run runs/cnn-20261128-120000 --json batch.npy
  strata predict --model-file my-model.safetensors rows.npy
`

func cmdPredict(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("predict", "predict (--run DIR | --model-file FILE) [flags] FILE...", predictExamples, out)
	runDir, model, weights := modelFlags(fs)
	jsonOut := fs.Bool("json", false, "print one JSON object per input")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("give at least one image (PNG/JPEG) or .npy file")
	}
	lm, err := loadModel(*runDir, *model, *weights)
	if err != nil {
		return err
	}
	for _, path := range fs.Args() {
		x, err := loadInput(path, lm.Arch)
		if err != nil {
			return err
		}
		if x, err = lm.modelInput(x); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		probs, err := train.Predict(ctx, lm.Net, x, 256)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if err := data.CheckFinite(probs, path+": the model's output"); err != nil {
			return fmt.Errorf("%w (its inputs are finite: are the model's weights?)", err)
		}
		pred := tensor.ArgMax(probs, -1)
		k := probs.Dim(-1)
		for i := 0; i < probs.Dim(0); i++ {
			row := probs.Data()[i*k : (i+1)*k]
			c := int(pred.Data()[i])
			name := path
			if probs.Dim(0) > 1 {
				name = fmt.Sprintf("%s[%d]", path, i)
			}
			if *jsonOut {
				if err := printJSON(out, map[string]any{"input": name, "class": c, "probability": row[c], "probabilities": row}); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(out, "%s: class %d (p=%.4f)\n", name, c, row[c])
		}
	}
	return nil
}

// loadInput reads an image or .npy array as a batch for a model taking
// arch.InputShape, applying the model's preprocessing to images.
func loadInput(path string, arch architecture) (*tensor.Tensor, error) {
	in := arch.InputShape
	if strings.EqualFold(filepath.Ext(path), ".npy") {
		x, err := checkpoint.LoadNPY(path)
		if err != nil {
			return nil, err
		}
		return data.AsBatch(x, in, path)
	}
	if len(in) != 3 {
		return nil, fmt.Errorf("%s: the model takes inputs of shape %v, not images", path, in)
	}
	img, err := data.LoadImage(path, data.ImageFolderOptions{Height: in[0], Width: in[1], Grayscale: in[2] == 1})
	if err != nil {
		return nil, err
	}
	return img.Reshape(append([]int{1}, in...)...), nil
}
