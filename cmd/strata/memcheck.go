package main

import (
	"context"
	"fmt"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/internal/memplan"
	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// checkModelMemory refuses, in one line, to build newModel(classes) when its
// weights alone need more memory than the process may use (the machine, or
// --max-memory); the estimate comes from two tiny builds (see
// memplan.ClassifierParams), so nothing large is allocated to find out.
func checkModelMemory(ctx context.Context, what string, newModel func(int) nn.Layer, input []int, classes int) error {
	if classes < 2 {
		return nil // the command's own check reports it
	}
	p, err := memplan.ClassifierParams(newModel, input, classes)
	if err != nil {
		return nil // building reports it, with the layer
	}
	return sysmem.Check(sysmem.FromContext(ctx), what,
		sysmem.Need{What: fmt.Sprintf("%d parameters at %d classes", p, classes), Bytes: uint64(p) * 4})
}

// maxInputValues bounds the values of one input sample that model metadata
// may claim (16.7 million, a 2364×2364×3 image) before a model is built for
// it: a claimed 100000×100000 input would allocate its first layer first.
const maxInputValues = 1 << 24

// checkArchitecture checks what a model file's metadata claims (classes,
// input shape) before the model is built from it: every dimension positive,
// the input and class count bounded, and the parameter count it implies
// not far above the values the file holds, so that edited metadata is
// refused in one line instead of allocating a model of its size.
func checkArchitecture(path string, f *checkpoint.File, newModel func(int) nn.Layer, input []int, classes int) error {
	for _, d := range input {
		if d <= 0 {
			return fmt.Errorf("%s: its metadata gives input shape %v, with a dimension of %d", path, input, d)
		}
	}
	if n := tensor.Numel(input); n > maxInputValues || n <= 0 {
		return fmt.Errorf("%s: its metadata gives input shape %v, more than %d values per sample", path, input, maxInputValues)
	}
	if classes < 2 || classes > data.MaxClasses {
		return fmt.Errorf("%s: its metadata gives %d classes; a classifier has 2 to %d", path, classes, data.MaxClasses)
	}
	p, err := memplan.ClassifierParams(newModel, input, classes)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var held int64
	for _, n := range f.Names {
		held += int64(f.Tensors[n].Len())
	}
	// A model near the file's size is built and the weights matched by name
	// (whose error lists the differences); one far larger is refused here.
	if p > 2*held+1<<20 {
		return fmt.Errorf("%s: its metadata describes a model of %d parameters (%d classes, input %v) but the file holds %d values",
			path, p, classes, input, held)
	}
	return nil
}
