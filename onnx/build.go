package onnx

import (
	"github.com/strata-dl/strata/onnx/onnxpb"
)

// valueInfo describes a tensor of element type dt and shape (-1: the
// dynamic batch dimension "batch"; nil shape: unknown).
func valueInfo(name string, dt int32, shape []int) *onnxpb.ValueInfoProto {
	tt := &onnxpb.TypeProto_Tensor{ElemType: &dt}
	if shape != nil {
		sp := &onnxpb.TensorShapeProto{}
		for _, d := range shape {
			dim := &onnxpb.TensorShapeProto_Dimension{}
			if d < 0 {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "batch"}
			} else {
				dim.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			}
			sp.Dim = append(sp.Dim, dim)
		}
		tt.Shape = sp
	}
	return &onnxpb.ValueInfoProto{Name: &name, Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: tt}}}
}

type onnxAttr = onnxpb.AttributeProto
