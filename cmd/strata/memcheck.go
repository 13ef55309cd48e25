package main

import (
	"context"
	"fmt"

	"github.com/strata-dl/strata/internal/memplan"
	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/nn"
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
