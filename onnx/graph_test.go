package onnx

import (
	"strings"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/onnx/onnxpb"
)

// tinyGraph builds a model from "out=Op(in, in); ..." with graph input x
// and output y.
func tinyGraph(spec string) *onnxpb.ModelProto {
	g := &onnxpb.GraphProto{}
	for _, st := range strings.Split(spec, ";") {
		st = strings.TrimSpace(st)
		eq, lp := strings.Index(st, "="), strings.Index(st, "(")
		out, op := st[:eq], st[eq+1:lp]
		var ins []string
		for _, a := range strings.Split(strings.TrimSuffix(st[lp+1:], ")"), ",") {
			ins = append(ins, strings.TrimSpace(a))
		}
		g.Node = append(g.Node, &onnxpb.NodeProto{OpType: &op, Input: ins, Output: []string{out}})
	}
	g.Input = []*onnxpb.ValueInfoProto{valueInfo("x", tFloat, nil)}
	g.Output = []*onnxpb.ValueInfoProto{valueInfo("y", tFloat, nil)}
	return &onnxpb.ModelProto{Graph: g}
}

type autogradVar = autograd.Var

var autogradConst = autograd.Const
