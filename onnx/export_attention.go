package onnx

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// This file emits the sequence layers of Transformers: pre-LN blocks,
// self-attention, position encodings, 1-D convolution and pooling. They
// act on [B, T, d] and keep e.cur channels last.

// maskNeg is added to the scores a causal mask hides: exp of it is 0 in
// float32, and unlike −∞ it cannot make a NaN.
const maskNeg = -1e9

// sequenceLayer emits l if it is one of this file's layers.
func (e *emitter) sequenceLayer(l nn.Layer) (bool, error) {
	switch v := l.(type) {
	case *nn.TransformerBlock:
		return true, e.transformerBlock(v)
	case *nn.MultiHeadAttention:
		return true, e.selfAttention(v)
	case *nn.PositionEmbedding:
		if v.Embeddings == nil {
			return true, unbuilt(l)
		}
		e.addPositions(v.Name+".embeddings", v.Embeddings.Value)
	case *nn.SinusoidalPositionEncoding:
		s := e.cur.val.Shape()
		e.addPositions(v.Name+".encoding", nn.SinusoidalTable(s[1], s[2], v.MaxWavelength))
	case *nn.GlobalAveragePooling1D:
		e.cur.name = e.node("ReduceMean", []string{e.cur.name}, aInts("axes", 1), aInt("keepdims", 0))
	case *nn.GlobalMaxPooling1D:
		e.cur.name = e.node("ReduceMax", []string{e.cur.name}, aInts("axes", 1), aInt("keepdims", 0))
	case *nn.GlobalMaxPooling2D:
		if e.cur.nchw {
			e.cur.name = e.node("Flatten", []string{e.node("GlobalMaxPool", []string{e.cur.name})}, aInt("axis", 1))
			e.cur.nchw = false
		} else {
			e.cur.name = e.node("ReduceMax", []string{e.cur.name}, aInts("axes", 1, 2), aInt("keepdims", 0))
		}
	case *nn.Conv1D:
		return true, e.conv1D(v)
	default:
		return false, nil
	}
	return true, nil
}

// seqLen returns the graph's sequence length T of e.cur [B, T, …] as a
// one-element int64 tensor.
func (e *emitter) seqLen() string {
	return e.node("Slice", []string{e.node("Shape", []string{e.cur.name}), e.int64s(1), e.int64s(2), e.int64s(0)})
}

// addPositions adds table[:T] ([maxT, d]) to e.cur [B, T, d].
func (e *emitter) addPositions(name string, table *tensor.Tensor) {
	p := e.node("Slice", []string{e.weight(name, table), e.int64s(0), e.seqLen(), e.int64s(0)})
	e.cur.name = e.node("Add", []string{e.cur.name, p})
}

// transformerBlock emits x + MHA(LN₁(x)), then h + FF₂(act(FF₁(LN₂(h)))).
func (e *emitter) transformerBlock(v *nn.TransformerBlock) error {
	if v.Norm1 == nil {
		return unbuilt(v)
	}
	e.toNHWC()
	x := e.cur.name
	for _, sub := range []nn.Layer{v.Norm1, v.Attention} {
		if err := e.layer(sub); err != nil {
			return err
		}
	}
	h := e.node("Add", []string{x, e.cur.name})
	e.cur.name = h
	for _, sub := range []nn.Layer{v.Norm2, v.FF1, v.FF2} { // the sample value's rank (3) holds through them
		if err := e.layer(sub); err != nil {
			return err
		}
	}
	e.cur.name = e.node("Add", []string{h, e.cur.name})
	return nil
}

// selfAttention emits MultiHeadAttention.Forward (query = key = value =
// e.cur [B, T, d]) with MatMul, Softmax and a constant causal mask:
//
//	Q_h = x·Wq_h + bq_h;  P_h = softmax(Q_h·K_hᵀ/√KeyDim + M[:T, :T]);  y = Σ_h P_h·V_h·Wo_h + bo
func (e *emitter) selfAttention(v *nn.MultiHeadAttention) error {
	if v.QueryKernel == nil {
		return unbuilt(v)
	}
	qk, kk, vk, ok := v.QueryKernel.Value, v.KeyKernel.Value, v.ValueKernel.Value, v.OutputKernel.Value
	d := e.cur.val.Shape()[len(e.cur.val.Shape())-1]
	if e.cur.val.Value.Rank() != 3 || qk.Dim(0) != d || kk.Dim(0) != d || vk.Dim(0) != d {
		return &ExportError{Layer: layerName(v), Msg: fmt.Sprintf("only self-attention of [batch, time, %d] exports (query = key = value, as Forward): this layer takes query %d, key %d, value %d features on input %v — cross-attention, an attention-mask input and returned scores have no ONNX form here",
			d, qk.Dim(0), kk.Dim(0), vk.Dim(0), e.cur.val.Shape())}
	}
	h, kd, vd, od := qk.Dim(1), qk.Dim(2), vk.Dim(2), ok.Dim(2)
	e.toNHWC()
	x := e.cur.name
	heads := func(part string, w, b *tensor.Tensor, size int, perm ...int) string {
		y := e.node("MatMul", []string{x, e.weight(v.Name+"."+part+".kernel", w.Reshape(d, h*size))})
		if b != nil {
			y = e.node("Add", []string{y, e.weight(v.Name+"."+part+".bias", b.Reshape(h*size))})
		}
		y = e.node("Reshape", []string{y, e.int64s(0, 0, int64(h), int64(size))})
		return e.node("Transpose", []string{y}, aInts("perm", perm...))
	}
	var qb, kb, vb, obias *tensor.Tensor
	if v.QueryBias != nil {
		qb, kb, vb = v.QueryBias.Value, v.KeyBias.Value, v.ValueBias.Value
	}
	if v.OutputBias != nil {
		obias = v.OutputBias.Value
	}
	// scale Q by 1/√KeyDim through its kernel and bias: one multiply fewer
	scale := float32(1 / math.Sqrt(float64(kd)))
	q := heads("query", scaled(qk, scale), scaled(qb, scale), kd, 0, 2, 1, 3) // [B, H, T, kd]
	k := heads("key", kk, kb, kd, 0, 2, 3, 1)                                 // [B, H, kd, T]
	val := heads("value", vk, vb, vd, 0, 2, 1, 3)                             // [B, H, T, vd]
	s := e.node("MatMul", []string{q, k})                                     // [B, H, T, T]
	if v.Causal {
		T := e.cur.val.Shape()[1]
		m := tensor.Zeros(T, T)
		for i := range T {
			for j := i + 1; j < T; j++ {
				m.Data()[i*T+j] = maskNeg
			}
		}
		t := e.seqLen()
		tt := e.node("Concat", []string{t, t}, aInt("axis", 0))
		mask := e.node("Slice", []string{e.weight(v.Name+".causal_mask", m), e.int64s(0, 0), tt, e.int64s(0, 1)})
		s = e.node("Add", []string{s, mask})
	}
	p := e.node("Softmax", []string{s}, aInt("axis", -1))
	o := e.node("Transpose", []string{e.node("MatMul", []string{p, val})}, aInts("perm", 0, 2, 1, 3)) // [B, T, H, vd]
	o = e.node("Reshape", []string{o, e.int64s(0, 0, int64(h*vd))})
	e.cur.name = e.node("MatMul", []string{o, e.weight(v.Name+".attention_output.kernel", ok.Reshape(h*vd, od))})
	if obias != nil {
		e.cur.name = e.node("Add", []string{e.cur.name, e.weight(v.Name+".attention_output.bias", obias)})
	}
	return nil
}

// scaled returns s·t (nil for nil).
func scaled(t *tensor.Tensor, s float32) *tensor.Tensor {
	if t == nil {
		return nil
	}
	out := t.Clone()
	for i := range out.Data() {
		out.Data()[i] *= s
	}
	return out
}

// conv1D emits Conv1D as ONNX's 1-D Conv on [B, C, T].
func (e *emitter) conv1D(v *nn.Conv1D) error {
	if v.Kernel == nil {
		return unbuilt(v)
	}
	s := e.cur.val.Shape()
	if len(s) != 3 {
		return &ExportError{Layer: layerName(v), Msg: fmt.Sprintf("input %v is not [batch, time, channels]", s)}
	}
	st, r := max(v.Strides, 1), max(v.DilationRate, 1)
	w := tensor.Window{KH: 1, KW: v.KernelSize, SH: 1, SW: st, DH: 1, DW: r, Padding: v.Padding}
	if v.Padding == "causal" {
		left := (v.KernelSize - 1) * r
		out := (s[1] + st - 1) / st
		w.Padding, w.Pads = "explicit", [4]int{0, 0, left, max(0, (out-1)*st+1-s[1])}
	}
	g, err := tensor.ConvGeometry([]int{s[0], 1, s[1], s[2]}, w)
	if err != nil {
		return &ExportError{Layer: layerName(v), Msg: err.Error()}
	}
	ekw := (g.KW-1)*g.DW + 1
	pr := max((g.OW-1)*g.SW+ekw-g.W-g.PadL, 0)
	e.toNHWC()
	x := e.node("Transpose", []string{e.cur.name}, aInts("perm", 0, 2, 1))
	in := []string{x, e.weight(v.Name+".kernel", tensor.Transpose(v.Kernel.Value, 2, 1, 0))}
	if v.Bias != nil {
		in = append(in, e.weight(v.Name+".bias", v.Bias.Value))
	}
	y := e.node("Conv", in, aInts("kernel_shape", g.KW), aInts("strides", g.SW), aInts("dilations", g.DW), aInts("pads", g.PadL, pr))
	e.cur.name = e.node("Transpose", []string{y}, aInts("perm", 0, 2, 1))
	return e.act(v, v.Activation, 0)
}
