package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

func constVar(t *tensor.Tensor) *autograd.Var { return autograd.Const(t) }

func cmdSummary(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("summary", "summary --model NAME", "  strata summary --model cnn\n", out)
	model := fs.String("model", "cnn", "model name: a classifier ("+strings.Join(zoo.ClassifierNames(), ", ")+") or gpt")
	classes := fs.Int("classes", 10, "number of classes")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *model == "gpt" { // the default strata train --model gpt, for a vocabulary of 100 characters
		g, err := zoo.NewGPT(zoo.GPTOptions{Vocab: 100})
		if err != nil {
			return err
		}
		s, err := nn.Summary(g, []int{g.Options.Context})
		fmt.Fprint(out, s)
		return err
	}
	spec, err := zoo.LookupClassifier(*model)
	if err != nil {
		return usagef("%v", err)
	}
	if err := positive("classes", *classes); err != nil {
		return err
	}
	if err := checkModelMemory(ctx, "this summary", spec.New, spec.Input, *classes); err != nil {
		return err
	}
	s, err := nn.Summary(spec.New(*classes), spec.Input)
	if err != nil {
		return err
	}
	fmt.Fprint(out, s)
	return nil
}

func cmdInspect(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("inspect", "inspect FILE.safetensors", "  strata inspect runs/cnn-20261128-120000/model.safetensors\n", out)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("give exactly one .safetensors file")
	}
	f, err := checkpoint.LoadSafetensors(fs.Arg(0))
	if err != nil {
		return err
	}
	total := 0
	fmt.Fprintf(out, "%-40s %-20s %s\n", "tensor", "shape", "values")
	for _, n := range f.Names {
		t := f.Tensors[n]
		total += t.Len()
		fmt.Fprintf(out, "%-40s %-20s %d\n", n, fmt.Sprint(t.Shape()), t.Len())
	}
	fmt.Fprintf(out, "%d tensors, %d values\n", len(f.Names), total)
	if len(f.Metadata) > 0 {
		fmt.Fprintln(out, "\nmetadata:")
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := f.Metadata[k]
			if len(v) > 200 {
				v = v[:200] + "…"
			}
			fmt.Fprintf(out, "  %s: %s\n", k, v)
		}
	}
	return nil
}
