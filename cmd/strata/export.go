package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/onnx"
)

const exportExamples = `  strata export --run runs/cnn-20261128-120000 --out cnn.onnx
  strata export --model-file model.safetensors --format onnx --out model.onnx
`

// cmdExport writes a trained classifier as an ONNX model (opset 17) that
// takes the same NHWC input as Strata, with a dynamic batch dimension and
// the class names and preprocessing in its metadata.
func cmdExport(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("export", "export (--run DIR | --model-file FILE) --out model.onnx", exportExamples, out)
	runDir, model, weights := modelFlags(fs)
	format := fs.String("format", "onnx", "output format (onnx)")
	outPath := fs.String("out", "", "file to write (required)")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *format != "onnx" {
		return usagef("unknown --format %q (want onnx)", *format)
	}
	if *outPath == "" {
		return usagef("give --out FILE.onnx")
	}
	if isONNX(*weights) {
		return usagef("%s is already an ONNX file", *weights)
	}
	lm, err := loadModel(*runDir, *model, *weights)
	if err != nil {
		return err
	}
	classes := make([]string, lm.Arch.Classes)
	for i := range classes {
		classes[i] = strconv.Itoa(i)
	}
	if lm.Model != nil && len(lm.Model.Meta.Classes) > 0 {
		classes = lm.Model.Meta.Classes
	}
	meta := map[string]string{
		"strata.model":  lm.Arch.Model,
		"classes":       strings.Join(classes, ","),
		"preprocessing": preprocessingNote(lm.Arch.Preprocessing),
	}
	if err := onnx.Save(*outPath, lm.Net, lm.Arch.InputShape, onnx.ExportOptions{Meta: meta}); err != nil {
		return err
	}
	fmt.Fprintf(out, "wrote %s (ONNX opset %d, input [batch %s] as Strata takes it, %d classes)\n", *outPath, onnx.ExportOpset, shapeString(lm.Arch.InputShape), len(classes))
	return nil
}

func preprocessingNote(p string) string {
	if p == "" {
		return "pixels scaled to [0, 1] (x/255)"
	}
	return p
}

func shapeString(s []int) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, " ")
}
