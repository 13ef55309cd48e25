package onnx

import (
	"fmt"
	"math"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// layer emits the ONNX nodes of one Strata layer at e.cur.
func (e *emitter) layer(l nn.Layer) error {
	switch v := l.(type) {
	case *nn.Dense:
		if v.Kernel == nil {
			return unbuilt(l)
		}
		e.toNHWC()
		k := e.weight(v.Name+".kernel", v.Kernel.Value)
		if e.cur.val.Value.Rank() == 2 {
			in := []string{e.cur.name, k}
			if v.Bias != nil {
				in = append(in, e.weight(v.Name+".bias", v.Bias.Value))
			}
			e.cur.name = e.node("Gemm", in)
		} else {
			e.cur.name = e.node("MatMul", []string{e.cur.name, k})
			if v.Bias != nil {
				e.cur.name = e.node("Add", []string{e.cur.name, e.weight(v.Name+".bias", v.Bias.Value)})
			}
		}
		return e.act(l, v.Activation, 0)
	case *nn.Conv2D:
		if v.Kernel == nil {
			return unbuilt(l)
		}
		w := tensor.Window{KH: v.KernelSize[0], KW: v.KernelSize[1], SH: v.Strides[0], SW: v.Strides[1], DH: v.DilationRate[0], DW: v.DilationRate[1], Padding: v.Padding}
		attrs, err := e.windowAttrs(l, w)
		if err != nil {
			return err
		}
		e.toNCHW()
		in := []string{e.cur.name, e.weight(v.Name+".kernel", tensor.Transpose(v.Kernel.Value, 3, 2, 0, 1))}
		if v.Bias != nil {
			in = append(in, e.weight(v.Name+".bias", v.Bias.Value))
		}
		e.cur.name = e.node("Conv", in, attrs...)
		return e.act(l, v.Activation, 0)
	case *nn.ConvTranspose2D:
		return e.convTranspose(v)
	case *nn.MaxPool2D:
		return e.pool(l, "MaxPool", v.PoolSize, v.Strides, v.Padding)
	case *nn.AveragePool2D:
		return e.pool(l, "AveragePool", v.PoolSize, v.Strides, v.Padding)
	case *nn.GlobalAveragePool2D:
		if e.cur.nchw {
			e.cur.name = e.node("Flatten", []string{e.node("GlobalAveragePool", []string{e.cur.name})}, aInt("axis", 1))
			e.cur.nchw = false
		} else {
			e.cur.name = e.node("ReduceMean", []string{e.cur.name}, aInts("axes", 1, 2), aInt("keepdims", 0))
		}
	case *nn.Flatten:
		e.toNHWC()
		e.cur.name = e.node("Flatten", []string{e.cur.name}, aInt("axis", 1))
	case *nn.Reshape:
		e.toNHWC()
		shape := []int64{0}
		for _, d := range v.Shape {
			shape = append(shape, int64(d))
		}
		e.cur.name = e.node("Reshape", []string{e.cur.name, e.int64s(shape...)})
	case *rowReshape:
		if s := e.cur.val.Shape(); len(s) == 4 {
			e.toNHWC()
			e.cur.name = e.node("Reshape", []string{e.cur.name, e.int64s(0, int64(s[1]), int64(s[2]*s[3]))})
		}
	case *nn.Dropout:
	case *nn.BatchNormalization:
		return e.batchNorm(v)
	case *nn.LayerNormalization:
		if v.Gamma == nil {
			return unbuilt(l)
		}
		e.toNHWC()
		eps := v.Epsilon
		if eps == 0 {
			eps = 1e-3
		}
		e.cur.name = e.node("LayerNormalization", []string{e.cur.name, e.weight(v.Name+".gamma", v.Gamma.Value), e.weight(v.Name+".beta", v.Beta.Value)},
			aInt("axis", -1), aFloat("epsilon", eps))
	case *nn.Activation:
		return e.act(l, v.Fn, v.Alpha)
	case *nn.LeakyReLU:
		a := v.Alpha
		if a == 0 {
			a = 0.3
		}
		e.cur.name = e.node("LeakyRelu", []string{e.cur.name}, aFloat("alpha", a))
	case *nn.Embedding:
		if v.Embeddings == nil {
			return unbuilt(l)
		}
		table := v.Embeddings.Value
		if v.MaskZero { // id 0 looks up a zero row; a recurrent layer after it is refused
			e.masked = true
			table = table.Clone()
			clear(table.Data()[:table.Dim(1)])
		}
		ids := e.node("Cast", []string{e.cur.name}, aInt("to", int64(tInt64)))
		e.cur.name = e.node("Gather", []string{e.weight(v.Name+".embeddings", table), ids}, aInt("axis", 0))
	case *nn.SimpleRNN, *nn.LSTM, *nn.GRU:
		return e.recurrent(l, []nn.Layer{l}, "")
	case *nn.Bidirectional:
		if v.Backward == nil {
			return unbuilt(l)
		}
		return e.recurrent(l, []nn.Layer{v.Layer, v.Backward}, v.MergeMode)
	case *nn.UpSampling2D:
		size := v.Size
		if size == [2]int{} {
			size = [2]int{2, 2}
		}
		if v.Interpolation != "" && v.Interpolation != "nearest" {
			return &ExportError{Layer: layerName(l), Msg: "only nearest interpolation"}
		}
		sc := []float32{1, float32(size[0]), float32(size[1]), 1}
		if e.cur.nchw {
			sc = []float32{1, 1, float32(size[0]), float32(size[1])}
		}
		e.cur.name = e.node("Resize", []string{e.cur.name, "", e.weight("upsampling_scales", tensor.New([]int{4}, sc))},
			aStr("mode", "nearest"), aStr("coordinate_transformation_mode", "asymmetric"), aStr("nearest_mode", "floor"))
	default:
		if ok, err := e.sequenceLayer(l); ok {
			return err
		}
		return &ExportError{Layer: layerName(l), Msg: "no ONNX conversion for this layer type"}
	}
	return nil
}

// act emits a named activation (as Dense, Conv2D and Activation take).
func (e *emitter) act(l nn.Layer, name string, alpha float32) error {
	x := []string{e.cur.name}
	switch name {
	case "", "linear":
	case "relu":
		e.cur.name = e.node("Relu", x)
	case "tanh":
		e.cur.name = e.node("Tanh", x)
	case "sigmoid":
		e.cur.name = e.node("Sigmoid", x)
	case "softplus":
		e.cur.name = e.node("Softplus", x)
	case "elu":
		e.cur.name = e.node("Elu", x, aFloat("alpha", 1))
	case "leaky_relu":
		if alpha == 0 {
			alpha = 0.2
		}
		e.cur.name = e.node("LeakyRelu", x, aFloat("alpha", alpha))
	case "softmax":
		e.toNHWC()
		e.cur.name = e.node("Softmax", []string{e.cur.name}, aInt("axis", -1))
	case "gelu": // exact: ½·x·(1 + erf(x/√2)); Erf is in opset 13+
		c := func(v float32) string { return e.weight("gelu_const", tensor.Scalar(v)) }
		erf := e.node("Erf", []string{e.node("Mul", []string{e.cur.name, c(float32(1 / math.Sqrt2))})})
		e.cur.name = e.node("Mul", []string{e.node("Mul", []string{e.cur.name, c(0.5)}), e.node("Add", []string{erf, c(1)})})
	case "gelu_tanh": // ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
		c := func(v float32) string { return e.weight("gelu_const", tensor.Scalar(v)) }
		x3 := e.node("Mul", []string{e.node("Mul", []string{e.cur.name, e.cur.name}), e.cur.name})
		inner := e.node("Add", []string{e.cur.name, e.node("Mul", []string{x3, c(0.044715)})})
		t := e.node("Tanh", []string{e.node("Mul", []string{inner, c(float32(math.Sqrt(2 / math.Pi)))})})
		e.cur.name = e.node("Mul", []string{e.node("Mul", []string{e.cur.name, c(0.5)}), e.node("Add", []string{t, c(1)})})
	case "silu", "swish": // x·σ(x)
		e.cur.name = e.node("Mul", []string{e.cur.name, e.node("Sigmoid", x)})
	case "hard_sigmoid": // Keras 3: clip(x/6 + ½, 0, 1)
		e.cur.name = e.node("HardSigmoid", x, aFloat("alpha", 1.0/6), aFloat("beta", 0.5))
	default:
		return &ExportError{Layer: layerName(l), Msg: fmt.Sprintf("activation %q has no ONNX form", name)}
	}
	return nil
}

// windowAttrs returns kernel_shape, strides, dilations and explicit pads
// of a convolution or pooling window over the current (NHWC) shape.
func (e *emitter) windowAttrs(l nn.Layer, w tensor.Window) ([]*onnxAttr, error) {
	g, err := tensor.ConvGeometry(e.cur.val.Shape(), w)
	if err != nil {
		return nil, &ExportError{Layer: layerName(l), Msg: err.Error()}
	}
	ekh, ekw := (g.KH-1)*g.DH+1, (g.KW-1)*g.DW+1
	pb := max((g.OH-1)*g.SH+ekh-g.H-g.PadT, 0)
	pr := max((g.OW-1)*g.SW+ekw-g.W-g.PadL, 0)
	return []*onnxAttr{aInts("kernel_shape", g.KH, g.KW), aInts("strides", g.SH, g.SW), aInts("dilations", g.DH, g.DW),
		aInts("pads", g.PadT, g.PadL, pb, pr)}, nil
}

func (e *emitter) pool(l nn.Layer, op string, size, strides [2]int, padding string) error {
	if size == [2]int{} {
		size = [2]int{2, 2}
	}
	if strides == [2]int{} {
		strides = size
	}
	attrs, err := e.windowAttrs(l, tensor.Window{KH: size[0], KW: size[1], SH: strides[0], SW: strides[1], Padding: padding})
	if err != nil {
		return err
	}
	attrs = []*onnxAttr{attrs[0], attrs[1], attrs[3]} // pooling: no dilations before opset 19 (AveragePool)
	e.toNCHW()
	e.cur.name = e.node(op, []string{e.cur.name}, attrs...)
	return nil
}

func (e *emitter) convTranspose(v *nn.ConvTranspose2D) error {
	if v.Kernel == nil {
		return unbuilt(v)
	}
	w := tensor.Window{KH: v.KernelSize[0], KW: v.KernelSize[1], SH: v.Strides[0], SW: v.Strides[1], DH: v.DilationRate[0], DW: v.DilationRate[1], Padding: v.Padding}
	op := v.OutputPadding
	if op == [2]int{} && (v.Padding == "" || v.Padding == "valid") {
		for i := range op {
			s, d := max(v.Strides[i], 1), max(v.DilationRate[i], 1)
			op[i] = max(s-((v.KernelSize[i]-1)*d+1), 0)
		}
	}
	in := e.cur.val.Shape()
	g, err := autograd.ConvTransposeGeometry(in, v.Kernel.Shape(), w, op)
	if err != nil {
		return &ExportError{Layer: layerName(v), Msg: err.Error()}
	}
	ends := [2]int{}
	outPad := [2]int{}
	for i, full := range [2]int{(in[1]-1)*g.SH + (g.KH-1)*g.DH + 1, (in[2]-1)*g.SW + (g.KW-1)*g.DW + 1} {
		begin := []int{g.PadT, g.PadL}[i]
		out := []int{g.H, g.W}[i]
		if d := full - begin - out; d >= 0 {
			ends[i] = d
		} else {
			outPad[i] = -d
		}
	}
	e.toNCHW()
	ins := []string{e.cur.name, e.weight(v.Name+".kernel", tensor.Transpose(v.Kernel.Value, 3, 2, 0, 1))}
	if v.Bias != nil {
		ins = append(ins, e.weight(v.Name+".bias", v.Bias.Value))
	}
	e.cur.name = e.node("ConvTranspose", ins, aInts("kernel_shape", g.KH, g.KW), aInts("strides", g.SH, g.SW),
		aInts("dilations", g.DH, g.DW), aInts("pads", g.PadT, g.PadL, ends[0], ends[1]), aInts("output_padding", outPad[0], outPad[1]))
	return e.act(v, v.Activation, 0)
}

func (e *emitter) batchNorm(v *nn.BatchNormalization) error {
	if v.Gamma == nil {
		return unbuilt(v)
	}
	eps := v.Epsilon
	if eps == 0 {
		eps = 1e-3
	}
	if e.cur.nchw {
		e.cur.name = e.node("BatchNormalization", []string{e.cur.name, e.weight(v.Name+".gamma", v.Gamma.Value), e.weight(v.Name+".beta", v.Beta.Value),
			e.weight(v.Name+".moving_mean", v.MovingMean.Value), e.weight(v.Name+".moving_variance", v.MovingVariance.Value)}, aFloat("epsilon", eps))
		return nil
	}
	// channels last: fold into y = x·scale + shift
	f := v.Gamma.Value.Len()
	sc, sh := tensor.Zeros(f), tensor.Zeros(f)
	for i := range sc.Data() {
		s := v.Gamma.Value.Data()[i] / float32(math.Sqrt(float64(v.MovingVariance.Value.Data()[i]+eps)))
		sc.Data()[i] = s
		sh.Data()[i] = v.Beta.Value.Data()[i] - v.MovingMean.Value.Data()[i]*s
	}
	y := e.node("Mul", []string{e.cur.name, e.weight(v.Name+".scale", sc)})
	e.cur.name = e.node("Add", []string{y, e.weight(v.Name+".shift", sh)})
	return nil
}

// rnnParts reads a recurrent layer's configuration and weights.
type rnnParts struct {
	op           string
	gates        int
	k, r, b      *tensor.Tensor
	act, rec     string
	back, retSeq bool
	units        int
}

func partsOf(l nn.Layer) (rnnParts, error) {
	var p rnnParts
	switch v := l.(type) {
	case *nn.LSTM:
		p = rnnParts{"LSTM", 4, nil, nil, nil, v.Activation, v.RecurrentActivation, v.GoBackwards, v.ReturnSequences, v.Units}
		if v.Kernel != nil {
			p.k, p.r = v.Kernel.Value, v.RecurrentKernel.Value
			if v.Bias != nil {
				p.b = v.Bias.Value
			}
		}
	case *nn.GRU:
		p = rnnParts{"GRU", 3, nil, nil, nil, v.Activation, v.RecurrentActivation, v.GoBackwards, v.ReturnSequences, v.Units}
		if v.Kernel != nil {
			p.k, p.r = v.Kernel.Value, v.RecurrentKernel.Value
			if v.Bias != nil {
				p.b = v.Bias.Value
			}
		}
	case *nn.SimpleRNN:
		p = rnnParts{"RNN", 1, nil, nil, nil, v.Activation, "", v.GoBackwards, v.ReturnSequences, v.Units}
		if v.Kernel != nil {
			p.k, p.r = v.Kernel.Value, v.RecurrentKernel.Value
			if v.Bias != nil {
				p.b = v.Bias.Value
			}
		}
	default:
		return p, &ExportError{Layer: layerName(l), Msg: "Bidirectional wraps a SimpleRNN, LSTM or GRU"}
	}
	if p.k == nil {
		return p, unbuilt(l)
	}
	return p, nil
}

func onnxAct(l nn.Layer, name, def string) (string, error) {
	switch name {
	case "":
		return def, nil
	case "tanh":
		return "Tanh", nil
	case "sigmoid":
		return "Sigmoid", nil
	case "relu":
		return "Relu", nil
	}
	return "", &ExportError{Layer: layerName(l), Msg: fmt.Sprintf("recurrent activation %q has no ONNX form here", name)}
}

// toONNXGates converts a Keras-layout matrix [X, G·u] to ONNX's [G·u, X]
// with ONNX's gate order (LSTM: i, f, c, o → i, o, f, c).
func toONNXGates(m *tensor.Tensor, gates int) *tensor.Tensor {
	t := tensor.Transpose(m, 1, 0)
	if gates != 4 {
		return t
	}
	u := t.Dim(0) / 4
	blk := func(k int) *tensor.Tensor { return tensor.SliceAxis(t, 0, k*u, (k+1)*u) }
	return tensor.Concat(0, blk(0), blk(3), blk(1), blk(2))
}

// recurrent emits SimpleRNN, LSTM or GRU (dirs = one layer) or a
// Bidirectional pair as one ONNX node.
func (e *emitter) recurrent(l nn.Layer, dirs []nn.Layer, merge string) error {
	if e.masked {
		return &ExportError{Layer: layerName(l), Msg: "it skips the steps an Embedding with MaskZero masks, which ONNX's recurrent operators cannot express"}
	}
	var ps []rnnParts
	for _, d := range dirs {
		p, err := partsOf(d)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	p := ps[0]
	if len(ps) == 2 && (ps[1].op != p.op || ps[1].units != p.units) {
		return &ExportError{Layer: layerName(l), Msg: "forward and backward layers differ in type or units"}
	}
	var ws, rs, bs []*tensor.Tensor
	acts := []string{}
	for _, q := range ps {
		ws = append(ws, toONNXGates(q.k, q.gates))
		rs = append(rs, toONNXGates(q.r, q.gates))
		gu := q.gates * q.units
		b := tensor.Zeros(2 * gu)
		if q.b != nil {
			switch q.gates {
			case 3: // [2, 3u]: input and recurrent biases, gate order z, r, h as ONNX
				copy(b.Data(), q.b.Data())
			default:
				copy(b.Data(), toONNXGates(q.b.Reshape(1, gu), q.gates).Data())
			}
		}
		bs = append(bs, b)
		a, err := onnxAct(l, q.act, "Tanh")
		if err != nil {
			return err
		}
		rec, err := onnxAct(l, q.rec, "Sigmoid")
		if err != nil {
			return err
		}
		switch q.gates {
		case 4:
			acts = append(acts, rec, a, a)
		case 3:
			acts = append(acts, rec, a)
		default:
			acts = append(acts, a)
		}
	}
	stack := func(ts []*tensor.Tensor) *tensor.Tensor {
		out := make([]*tensor.Tensor, len(ts))
		for i, t := range ts {
			out[i] = t.Reshape(append([]int{1}, t.Shape()...)...)
		}
		return tensor.Concat(0, out...)
	}
	name := layerName(l)
	e.toNHWC()
	x := e.node("Transpose", []string{e.cur.name}, aInts("perm", 1, 0, 2))
	dir := "forward"
	switch {
	case len(ps) == 2:
		dir = "bidirectional"
	case p.back:
		dir = "reverse"
	}
	attrs := []*onnxAttr{aInt("hidden_size", int64(p.units)), aStr("direction", dir), aStrs("activations", acts...)}
	if p.gates == 3 {
		attrs = append(attrs, aInt("linear_before_reset", 1))
	}
	n := 2
	if p.gates == 4 {
		n = 3
	}
	_ = name
	outs := e.nodeN(p.op, []string{x, e.weight(p.op+".W", stack(ws)), e.weight(p.op+".R", stack(rs)), e.weight(p.op+".B", stack(bs))}, n, attrs...)
	y, yh := outs[0], outs[1]
	if p.retSeq {
		if len(ps) == 1 {
			y = e.node("Squeeze", []string{y, e.int64s(1)})
			if p.back { // Keras orders a backward layer's outputs as processed
				y = e.node("Slice", []string{y, e.int64s(-1), e.int64s(math.MinInt64), e.int64s(0), e.int64s(-1)})
			}
		} else {
			y = e.merge(y, 1, merge)
		}
		e.cur.name = e.node("Transpose", []string{y}, aInts("perm", 1, 0, 2))
		return nil
	}
	if len(ps) == 1 {
		e.cur.name = e.node("Squeeze", []string{yh, e.int64s(0)})
		return nil
	}
	e.cur.name = e.merge(yh, 0, merge)
	return nil
}

// merge combines the two directions on axis of y ([T, 2, B, u] or
// [2, B, u]) as Bidirectional's merge mode says.
func (e *emitter) merge(y string, axis int, mode string) string {
	switch mode {
	case "sum":
		return e.node("ReduceSum", []string{y, e.int64s(int64(axis))}, aInt("keepdims", 0))
	case "ave":
		return e.node("ReduceMean", []string{y}, aInts("axes", axis), aInt("keepdims", 0))
	case "mul":
		return e.node("ReduceProd", []string{y}, aInts("axes", axis), aInt("keepdims", 0))
	}
	if axis == 1 { // [T, 2, B, u] → [T, B, 2u]
		t := e.node("Transpose", []string{y}, aInts("perm", 0, 2, 1, 3))
		return e.node("Reshape", []string{t, e.int64s(0, 0, -1)})
	}
	t := e.node("Transpose", []string{y}, aInts("perm", 1, 0, 2)) // [B, 2, u]
	return e.node("Reshape", []string{t, e.int64s(0, -1)})
}
