package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx/onnxpb"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/zoo"
)

// ExportOpset is the ONNX operator set that Export writes: 17, the newest
// that Debian's python3-onnx 1.12 checks.
const ExportOpset = 17

// ExportOptions configures Export. The zero value names the input "input"
// and the output "output".
type ExportOptions struct {
	InputName, OutputName string
	// Meta is written to the model's metadata_props (for example
	// "classes": "0,1,...", "preprocessing": "x/255"). Export adds
	// "strata.input_layout" ("NHWC" for image models).
	Meta map[string]string
	// NoVerify skips the check that runs the exported graph (through
	// this package's import) and Strata's Forward on the same random
	// input and compares them.
	NoVerify bool
}

// ExportError names the layer that cannot be exported and why.
type ExportError struct {
	Layer string // the layer's name or Go type
	Msg   string
}

func (e *ExportError) Error() string { return fmt.Sprintf("onnx export: layer %s: %s", e.Layer, e.Msg) }

// Export converts a built Strata model for per-sample input shape in (the
// shape given to nn.Build, without the batch axis) into an ONNX model of
// opset 17 whose input is the same data Strata takes ([batch, in...],
// NHWC for images, with a dynamic batch dimension) and whose output is the
// model's output.
//
// Supported: nn.Sequential, models that list their layers through
// nn.Chained (zoo.ViT, zoo.GPT) and the zoo's models (SimpleNet, CNNNet,
// LeNet, the recurrent classifiers, the GAN and DCGAN generators, a VAE's
// decoder, CharLM), and struct models whose Forward applies their layers
// in field order; the layers Dense, Conv2D (strides, padding, dilation),
// ConvTranspose2D, MaxPool2D, AveragePool2D, GlobalAveragePool2D, Flatten,
// Reshape, Dropout (the identity), BatchNormalization and
// LayerNormalization (inference), Activation and LeakyReLU (every
// activation), Embedding, SimpleRNN, LSTM and GRU (ONNX's RNN, LSTM and
// GRU with the gate orders and bias layouts converted; GRU with
// linear_before_reset = 1), Bidirectional, UpSampling2D (nearest),
// Conv1D (causal padding too), GlobalAveragePooling1D,
// GlobalMaxPooling1D/2D, PositionEmbedding and SinusoidalPositionEncoding
// (a constant table sliced to the sequence length and added),
// MultiHeadAttention as self-attention (MatMul, Softmax; causal: a
// constant −1e9 triangle sliced to the sequence length and added to the
// scores) and TransformerBlock (LayerNormalization, attention, residual
// Adds, the feed-forward network; exact GELU through Erf, the tanh form
// through Tanh, SiLU as x·Sigmoid(x)). Cross-attention, an attention-mask
// input, a key/value cache and returned scores do not export: a
// MultiHeadAttention built for other key or value widths is an
// *ExportError, and one whose model calls it so fails the check below
// with an *ExportError naming it.
// Convolutions and pooling run on NCHW in ONNX: Export inserts transposes
// at the boundaries of each run of NCHW layers and none inside it.
//
// A layer that cannot be exported is an *ExportError naming it. Unless
// opts.NoVerify, the exported graph is run (through this package's
// importer) on a random input and compared with Strata's Forward; a model
// whose Forward is not its layers in order fails this check.
func Export(net nn.Layer, in []int, opts ExportOptions) (*onnxpb.ModelProto, error) {
	if opts.InputName == "" {
		opts.InputName = "input"
	}
	if opts.OutputName == "" {
		opts.OutputName = "output"
	}
	layers, err := flatten(net, len(in)+1)
	if err != nil {
		return nil, err
	}
	e := &emitter{g: &onnxpb.GraphProto{Name: strp(fmt.Sprintf("%T", net))}, names: map[string]int{}}
	x := sampleInput(layers, in, 2)
	e.cur = state{name: opts.InputName, val: autograd.Const(x)}
	inShape := append([]int{-1}, in...)
	e.g.Input = []*onnxpb.ValueInfoProto{valueInfo(opts.InputName, tFloat, inShape)}
	if err := e.layers(layers); err != nil {
		return nil, err
	}
	e.toNHWC()
	out := e.node("Identity", []string{e.cur.name})
	e.rename(out, opts.OutputName)
	outShape := append([]int{-1}, e.cur.val.Shape()[1:]...)
	e.g.Output = []*onnxpb.ValueInfoProto{valueInfo(opts.OutputName, tFloat, outShape)}
	mp := &onnxpb.ModelProto{
		IrVersion:       int64p(8),
		ProducerName:    strp("strata"),
		ProducerVersion: strp("0"),
		Graph:           e.g,
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: strp(""), Version: int64p(ExportOpset)}},
	}
	meta := map[string]string{"strata.input_layout": "NHWC"}
	if len(in) != 3 {
		meta["strata.input_layout"] = "as Strata"
	}
	for k, v := range opts.Meta {
		meta[k] = v
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: strp(k), Value: strp(meta[k])})
	}
	if !opts.NoVerify {
		if err := verify(mp, net, x); err != nil {
			return nil, blameAttention(layers, err)
		}
	}
	return mp, nil
}

// Save exports net (see Export) to an .onnx file.
func Save(path string, net nn.Layer, in []int, opts ExportOptions) error {
	mp, err := Export(net, in, opts)
	if err != nil {
		return err
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// verify runs the exported graph and Strata's Forward on x.
func verify(mp *onnxpb.ModelProto, net nn.Layer, x *tensor.Tensor) (err error) {
	m, err := FromProto(proto.Clone(mp).(*onnxpb.ModelProto))
	if err != nil {
		return fmt.Errorf("onnx export: the exported graph does not import: %w", err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("onnx export: running %T: %v", net, r)
		}
	}()
	want := net.Forward(&nn.Ctx{}, autograd.Const(x)).Value
	got, err := m.Run(map[string]*tensor.Tensor{m.Inputs[0].Name: x})
	if err != nil {
		return fmt.Errorf("onnx export: the exported graph does not run: %w", err)
	}
	g := got[m.Outputs[0].Name]
	if !tensor.SameShape(g, want) {
		return fmt.Errorf("onnx export: %T: the exported graph gives shape %v, Forward %v: a model whose Forward is not its layers in order cannot be exported", net, g.Shape(), want.Shape())
	}
	for i, w := range want.Data() {
		if d := math.Abs(float64(g.Data()[i] - w)); d > 1e-4*math.Max(1, math.Abs(float64(w))) || d != d {
			return fmt.Errorf("onnx export: %T: the exported graph gives %v at %d where Forward gives %v: a model whose Forward is not its layers in order cannot be exported", net, g.Data()[i], i, w)
		}
	}
	return nil
}

// blameAttention turns a failed check of a model with a bare
// MultiHeadAttention into an *ExportError naming it: Export writes
// self-attention (its Forward), so a model that calls Attend with another
// key or value, a mask or a cache, or uses its scores, is the likely cause.
func blameAttention(layers []nn.Layer, err error) error {
	for _, l := range layers {
		if _, ok := l.(*nn.MultiHeadAttention); ok {
			return &ExportError{Layer: layerName(l), Msg: fmt.Sprintf("only self-attention as its Forward computes it exports (no cross-attention, attention-mask input, cache or returned scores), and the exported graph does not match the model: %v", err)}
		}
	}
	return err
}

// sampleInput draws a random batch for the input shape: token ids for a
// model that starts with an Embedding, values in [0, 1) otherwise.
func sampleInput(layers []nn.Layer, in []int, batch int) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(7, 7))
	x := tensor.RandUniform(rng, 0, 1, append([]int{batch}, in...)...)
	if len(layers) > 0 {
		if emb, ok := layers[0].(*nn.Embedding); ok && emb.Embeddings != nil {
			for i := range x.Data() {
				x.Data()[i] = float32(rng.IntN(emb.Embeddings.Value.Dim(0)))
			}
		}
	}
	return x
}

// flatten lists the layers a model applies in order.
func flatten(l nn.Layer, rank int) ([]nn.Layer, error) {
	switch m := l.(type) {
	case *nn.Sequential:
		var out []nn.Layer
		for _, c := range m.Layers {
			ls, err := flatten(c, rank)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
		}
		return out, nil
	case *zoo.SimpleNet:
		var out []nn.Layer
		if rank > 2 {
			out = append(out, &nn.Flatten{Name: "flatten"})
		}
		return append(out, m.Dense1, m.Dense2, m.Dense3), nil
	case *zoo.RowRNN:
		return []nn.Layer{&rowReshape{}, m.RNN, m.Dense}, nil
	case *zoo.GAN:
		return flatten(m.Generator, rank)
	case *zoo.VAE:
		return flatten(m.Decoder, rank)
	case *zoo.CharLM:
		out := []nn.Layer{m.Embedding}
		out = append(out, m.Cells...)
		return append(out, m.Dense), nil
	case nn.Chained:
		var out []nn.Layer
		for _, c := range m.Chain() {
			ls, err := flatten(c, rank)
			if err != nil {
				return nil, err
			}
			out = append(out, ls...)
		}
		return out, nil
	case *nn.Dense, *nn.Conv2D, *nn.ConvTranspose2D, *nn.MaxPool2D, *nn.AveragePool2D, *nn.GlobalAveragePool2D,
		*nn.Flatten, *nn.Reshape, *nn.Dropout, *nn.BatchNormalization, *nn.LayerNormalization, *nn.Activation,
		*nn.LeakyReLU, *nn.Embedding, *nn.SimpleRNN, *nn.LSTM, *nn.GRU, *nn.Bidirectional, *nn.UpSampling2D,
		*nn.TransformerBlock, *nn.MultiHeadAttention, *nn.PositionEmbedding, *nn.SinusoidalPositionEncoding,
		*nn.GlobalAveragePooling1D, *nn.GlobalMaxPooling1D, *nn.GlobalMaxPooling2D, *nn.Conv1D:
		return []nn.Layer{l}, nil
	}
	ch := nn.Children(l)
	if len(ch) == 0 {
		return nil, &ExportError{Layer: layerName(l), Msg: "no ONNX conversion for this layer type"}
	}
	var out []nn.Layer
	for _, c := range ch {
		ls, err := flatten(c.Layer, rank)
		if err != nil {
			return nil, err
		}
		out = append(out, ls...)
	}
	return out, nil
}

// rowReshape is the zoo.RowRNN's view of an image [b, h, w, c] as a
// sequence [b, h, w·c] (a sequence passes unchanged).
type rowReshape struct{}

func (rowReshape) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if s := x.Shape(); len(s) == 4 {
		return autograd.Reshape(x, s[0], s[1], s[2]*s[3])
	}
	return x
}

// state is the tensor being built: its graph name, a sample value with
// Strata's (NHWC) shape, and whether the graph holds it as NCHW.
type state struct {
	name string
	val  *autograd.Var
	nchw bool
}

type emitter struct {
	masked bool // an Embedding with MaskZero came before
	g      *onnxpb.GraphProto
	cur    state
	names  map[string]int
	n      int
}

func strp(s string) *string   { return &s }
func int64p(i int64) *int64   { return &i }
func int32p(i int32) *int32   { return &i }
func f32p(f float32) *float32 { return &f }

func aInt(name string, v int64) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_INT
	return &onnxpb.AttributeProto{Name: &name, Type: &t, I: &v}
}

func aFloat(name string, v float32) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_FLOAT
	return &onnxpb.AttributeProto{Name: &name, Type: &t, F: &v}
}

func aInts(name string, v ...int) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_INTS
	a := &onnxpb.AttributeProto{Name: &name, Type: &t}
	for _, x := range v {
		a.Ints = append(a.Ints, int64(x))
	}
	return a
}

func aStr(name, v string) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_STRING
	return &onnxpb.AttributeProto{Name: &name, Type: &t, S: []byte(v)}
}

func aStrs(name string, v ...string) *onnxpb.AttributeProto {
	t := onnxpb.AttributeProto_STRINGS
	a := &onnxpb.AttributeProto{Name: &name, Type: &t}
	for _, s := range v {
		a.Strings = append(a.Strings, []byte(s))
	}
	return a
}

// fresh returns a new unique tensor name.
func (e *emitter) fresh(base string) string {
	e.n++
	return fmt.Sprintf("%s_%d", base, e.n)
}

// nodeN adds a node with n outputs and returns their names.
func (e *emitter) nodeN(op string, in []string, n int, attrs ...*onnxpb.AttributeProto) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = e.fresh(op)
	}
	e.g.Node = append(e.g.Node, &onnxpb.NodeProto{OpType: strp(op), Name: strp(e.fresh("n_" + op)), Input: in, Output: outs, Attribute: attrs})
	return outs
}

func (e *emitter) node(op string, in []string, attrs ...*onnxpb.AttributeProto) string {
	return e.nodeN(op, in, 1, attrs...)[0]
}

// rename gives the last node's output the name want.
func (e *emitter) rename(old, want string) {
	nd := e.g.Node[len(e.g.Node)-1]
	for i, o := range nd.Output {
		if o == old {
			nd.Output[i] = want
		}
	}
	e.cur.name = want
}

// weight adds t as an initializer and returns its name.
func (e *emitter) weight(name string, t *tensor.Tensor) string {
	if name == "" {
		name = "w"
	}
	if k := e.names[name]; k > 0 {
		e.names[name]++
		name = fmt.Sprintf("%s_%d", name, k)
	} else {
		e.names[name] = 1
	}
	e.g.Initializer = append(e.g.Initializer, encodeTensor(name, t, tFloat))
	return name
}

func (e *emitter) int64s(vals ...int64) string {
	name := e.fresh("const")
	e.g.Initializer = append(e.g.Initializer, int64Tensor(name, vals...))
	return name
}

func (e *emitter) toNHWC() {
	if e.cur.nchw {
		e.cur.name = e.node("Transpose", []string{e.cur.name}, aInts("perm", 0, 2, 3, 1))
		e.cur.nchw = false
	}
}

func (e *emitter) toNCHW() {
	if !e.cur.nchw && e.cur.val.Value.Rank() == 4 {
		e.cur.name = e.node("Transpose", []string{e.cur.name}, aInts("perm", 0, 3, 1, 2))
		e.cur.nchw = true
	}
}

// layers emits each layer and advances the sample value through it.
func (e *emitter) layers(ls []nn.Layer) error {
	for _, l := range ls {
		if err := e.layer(l); err != nil {
			return err
		}
		var err error
		e.cur.val, err = forward(l, e.cur.val)
		if err != nil {
			return err
		}
	}
	return nil
}

func forward(l nn.Layer, x *autograd.Var) (y *autograd.Var, err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(error); ok {
				err = fmt.Errorf("onnx export: %w", e)
				return
			}
			panic(r)
		}
	}()
	return l.Forward(&nn.Ctx{}, x), nil
}

// layerName names l in export errors: its Name field (every nn layer has
// one) and its type, or the type alone.
func layerName(l nn.Layer) string {
	v := reflect.ValueOf(l)
	for v.Kind() == reflect.Pointer && !v.IsNil() {
		v = v.Elem()
	}
	if v.Kind() == reflect.Struct {
		if f := v.FieldByName("Name"); f.IsValid() && f.Kind() == reflect.String && f.String() != "" {
			return fmt.Sprintf("%q (%T)", f.String(), l)
		}
	}
	return fmt.Sprintf("%T", l)
}

func unbuilt(l nn.Layer) error {
	return &ExportError{Layer: layerName(l), Msg: "not built (call nn.Build first)"}
}
