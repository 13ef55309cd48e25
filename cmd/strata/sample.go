package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/plot"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"

	runs "github.com/strata-dl/strata/run"
)

// maxSampleImages bounds sample --n: a grid of more is not worth looking at,
// and a huge one would only exhaust memory.
const maxSampleImages = 4096

const sampleExamples = `  strata sample --run runs/dcgan-20261128-120000 --n 64 --out grid.png
  strata sample --run runs/vae-20261128-120000 --reconstruct --out recon.png
  strata sample --run runs/vae-20261128-120000 --interpolate --out walk.png
  strata sample --model-file dcgan.safetensors --n 16
`

func cmdSample(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("sample", "sample (--run DIR | --model-file FILE) [--n 64] [--out grid.png] [--seed S] [--reconstruct | --interpolate]", sampleExamples, out)
	runDir := fs.String("run", "", "run directory of a GAN or VAE")
	file := fs.String("model-file", "", "model file of a GAN or VAE (instead of --run)")
	n := fs.Int("n", 64, "number of images")
	outPath := fs.String("out", "samples.png", "output PNG")
	seed := fs.Uint64("seed", 0, "noise seed")
	reconstruct := fs.Bool("reconstruct", false, "VAE: test images beside their reconstructions")
	interpolate := fs.Bool("interpolate", false, "VAE: a walk in latent space between two test images")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := positive("n", *n); err != nil {
		return err
	}
	if *n > maxSampleImages {
		return usagef("--n %d is over the limit of %d images in one grid", *n, maxSampleImages)
	}
	if ext := filepath.Ext(*outPath); !strings.EqualFold(ext, ".png") {
		return usagef("--out %s: sample writes a PNG image; give a name ending in .png", *outPath)
	}
	if *reconstruct && *interpolate {
		return usagef("give --reconstruct or --interpolate, not both")
	}
	model, c, err := loadSampler(*runDir, *file)
	if err != nil {
		return err
	}
	var grid *tensor.Tensor
	cols := 8
	title := fmt.Sprintf("%s samples (seed %d)", c.Model, *seed)
	if *reconstruct || *interpolate {
		vae, ok := model.(*zoo.VAE)
		if !ok {
			return usagef("--reconstruct and --interpolate need a VAE run, %s is a %s", *runDir, c.Model)
		}
		ds, err := runs.LoadTestSet(ctx, c.Data) // only the test images are used
		if err != nil {
			return err
		}
		x := ds.Test.X
		if *reconstruct {
			k := min(*n/2, x.Dim(0))
			xs := x.Slice(0, k)
			rec, err := vae.Reconstruct(xs)
			if err != nil {
				return err
			}
			// rows of 8: originals, then their reconstructions
			var rows []*tensor.Tensor
			for lo := 0; lo < k; lo += 8 {
				hi := min(lo+8, k)
				rows = append(rows, xs.Slice(lo, hi), rec.Slice(lo, hi))
			}
			grid, title = tensor.Concat(0, rows...), "test images (odd rows) and reconstructions (even rows)"
		} else {
			steps := max(*n, 2)
			grid, err = vae.Interpolate(x.Slice(0, 1), x.Slice(1, 2), steps)
			if err != nil {
				return err
			}
			cols, title = min(steps, 10), "latent walk between two test images"
		}
	} else {
		grid = model.Sample(*n, *seed)
	}
	if err := writePNG(*outPath, func(w io.Writer) error {
		return plot.ImageGrid(w, grid, plot.GridOptions{Cols: cols, Lo: 0, Hi: 1, Scale: 2, Title: title})
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %d images to %s\n", grid.Dim(0), *outPath)
	return nil
}

// loadSampler loads the GAN or VAE of a run directory or of a model file
// (whose VAE reconstructs MNIST test images).
func loadSampler(runDir, file string) (generator, *genConfig, error) {
	switch {
	case (runDir == "") == (file == ""):
		return nil, nil, usagef("give --run DIR or --model-file FILE")
	case runDir != "":
		return loadGenerator(runDir)
	}
	m, err := modelfile.Load(file)
	if err != nil {
		return nil, nil, modelLoadError(file, err)
	}
	g, ok := m.Net.(generator)
	if !ok {
		return nil, nil, fmt.Errorf("%s holds a %T model, not a GAN or VAE", file, m.Net)
	}
	return g, &genConfig{Model: m.Meta.Family, Data: "mnist"}, nil
}

// classifierScore runs the classifier net (k classes) over n images and
// returns exp(E_x KL(p(y|x) ‖ p(y))), the entropy of the histogram of
// predicted classes, and the histogram.
func classifierScore(ctx context.Context, net nn.Layer, images func(lo, m int) *tensor.Tensor, n, k int) (score, hHist float64, hist []float64, err error) {
	marginal := make([]float64, k) // Σ_x p(y|x), then p(y)
	hist = make([]float64, k)      // predicted-class counts
	var condEntropy float64        // Σ_x H(p(y|x))
	const chunk = 500
	for lo := 0; lo < n; lo += chunk {
		m := min(chunk, n-lo)
		probs, err := train.Predict(ctx, net, images(lo, m), 250)
		if err != nil {
			return 0, 0, nil, err
		}
		p := probs.Data()
		for i := 0; i < m; i++ {
			row := p[i*k : (i+1)*k]
			best := 0
			for j, v := range row {
				pv := float64(v)
				marginal[j] += pv
				if pv > 0 {
					condEntropy -= pv * math.Log(pv)
				}
				if v > row[best] {
					best = j
				}
			}
			hist[best]++
		}
	}
	total := float64(n)
	var hMarginal float64
	for j := range marginal {
		marginal[j] /= total
		if marginal[j] > 0 {
			hMarginal -= marginal[j] * math.Log(marginal[j])
		}
		if q := hist[j] / total; q > 0 {
			hHist -= q * math.Log(q)
		}
	}
	// E_x KL(p(y|x) ‖ p(y)) = H(p(y)) − E_x H(p(y|x))
	score = math.Exp(hMarginal - condEntropy/total)
	return score, hHist, hist, nil
}

const scoreExamples = `  strata score --run runs/dcgan-20261128-120000 --classifier runs/cnn-20261128-110000 --json
  strata score --images samples.npy --classifier runs/cnn-20261128-110000   # images from elsewhere, [n 28 28 1] or [n 784] in [0, 1]
`

// cmdScore computes the classifier-based score of a generator, or of a set
// of images in a .npy file: the Inception Score formula
// exp(E_x KL(p(y|x) ‖ p(y))) with a CNN trained on MNIST in place of
// Inception (ceiling: the number of classes), and the entropy of the
// histogram of predicted classes (ideal ln 10).
func cmdScore(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("score", "score (--run DIR | --images FILE.npy) --classifier RUN [--n 10000] [--json]", scoreExamples, out)
	runDir := fs.String("run", "", "run directory of a GAN or VAE")
	imagesPath := fs.String("images", "", "a .npy file of images [n 28 28 1] or [n 784] with pixels in [0, 1], scored instead of a run's samples")
	classifier := fs.String("classifier", "", "run directory of an MNIST classifier; the score depends on how confident it is: strata train --model cnn --epochs 10 scores MNIST's test digits 9.91, --epochs 3 9.73")
	n := fs.Int("n", 10000, "number of generated images (with --images: at most that many of the file's)")
	seed := fs.Uint64("seed", 7, "noise seed")
	jsonOut := fs.Bool("json", false, "print one JSON object")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if (*runDir == "") == (*imagesPath == "") || *classifier == "" {
		return usagef("give one of --run DIR and --images FILE.npy, and --classifier RUN")
	}
	if err := positive("n", *n); err != nil {
		return err
	}
	// images(lo, m) returns the m images from the lo-th on, [m, 28, 28, 1].
	var images func(lo, m int) *tensor.Tensor
	res := map[string]any{"classifier": *classifier}
	if *runDir != "" {
		model, c, err := loadGenerator(*runDir)
		if err != nil {
			return err
		}
		images = func(lo, m int) *tensor.Tensor { return model.Sample(m, *seed+uint64(lo)) }
		res["model"], res["run"] = c.Model, *runDir
	} else {
		x, err := loadImages(*imagesPath)
		if err != nil {
			return err
		}
		*n = min(*n, x.Dim(0))
		images = func(lo, m int) *tensor.Tensor { return x.Slice(lo, lo+m) }
		res["images"] = *imagesPath
	}
	lm, err := loadModel(*classifier, "", "")
	if err != nil {
		return err
	}
	if !tensor.EqualShapes(lm.Arch.InputShape, zoo.ImageShape()) {
		return fmt.Errorf("classifier %s takes %v, not 28×28×1 images", *classifier, lm.Arch.InputShape)
	}
	k := lm.Arch.Classes
	score, hHist, hist, err := classifierScore(ctx, lm.Net, images, *n, k)
	if err != nil {
		return err
	}
	res["classifier_score"], res["class_entropy"], res["ideal_class_entropy"] = score, hHist, math.Log(float64(k))
	res["samples"], res["class_histogram"] = *n, hist
	if *jsonOut {
		return printJSON(out, res)
	}
	fmt.Fprintf(out, "%s: classifier score %.3f (ceiling %d), class-histogram entropy %.3f (ideal %.3f) over %d samples, classifier %s\n",
		filepath.Base(*runDir+*imagesPath), score, k, hHist, math.Log(float64(k)), *n, filepath.Base(*classifier))
	return nil
}

// loadImages reads a .npy file of MNIST-sized images, [n, 28, 28, 1],
// [n, 1, 28, 28], [n, 28, 28] or [n, 784], with pixels in [0, 1], as
// [n, 28, 28, 1].
func loadImages(path string) (*tensor.Tensor, error) {
	x, err := checkpoint.LoadNPY(path)
	if err != nil {
		return nil, err
	}
	shape := zoo.ImageShape()
	h, w := shape[0], shape[1]
	ok := false
	for _, want := range [][]int{{h, w, 1}, {1, h, w}, {h, w}, {h * w}} {
		ok = ok || (x.Rank() > 1 && tensor.EqualShapes(x.Shape()[1:], want))
	}
	if !ok || x.Dim(0) == 0 {
		return nil, fmt.Errorf("%s: array of shape %v, want images [n %d %d 1], [n 1 %d %d], [n %d %d] or [n %d] with n > 0",
			path, x.Shape(), h, w, h, w, h, w, h*w)
	}
	for i, v := range x.Data() {
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("%s: image %d has pixel value %g, want pixels in [0, 1]", path, i/(h*w), v)
		}
	}
	return x.Reshape(append([]int{x.Dim(0)}, shape...)...), nil
}
