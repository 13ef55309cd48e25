package onnx

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/onnx/onnxpb"
	"github.com/strata-dl/strata/tensor"
)

// MaxFileSize bounds the size of a model file that Load reads (2 GiB, the
// protobuf limit).
const MaxFileSize = 2 << 30

// IO describes a graph input or output: its name, ONNX element type and
// shape (-1 for a dynamic dimension; nil when the file does not say).
type IO struct {
	Name  string
	Type  string
	Shape []int
}

// Model is an ONNX graph imported as an nn.Layer. Its float initializers
// are the model's weights (trainable: nn.Trainable and train.Fit see and
// update them), and Forward runs the graph over Strata's autograd ops, so
// an imported model runs at Strata's speed and can be fine-tuned.
//
// Layout: a graph whose first input is an image batch [N, C, H, W] (as
// PyTorch exports them) is fed Strata's NHWC data [N, H, W, C] by Forward,
// which recognises it by the channel count; convolutions, pooling and
// normalization then run on NHWC data internally and the graph's
// transposes are folded away where possible.
//
// Gradients flow through the ops Strata differentiates (see Gradients in
// the package doc); other ops treat their inputs as constants.
//
// Inference is safe for concurrent use (one train.Predictor or tape per
// goroutine); training it (Fit updates its weights) is not, as for any
// layer.
type Model struct {
	Inputs, Outputs []IO
	// Meta holds the model's metadata_props (class names, preprocessing).
	Meta     map[string]string
	Producer string
	Opset    int64

	proto  *onnxpb.ModelProto
	nodes  []*node
	consts map[string]*value // initializers (params are in here as tracked-capable Vars)
	params []nn.Weight
	inNCHW bool // first input is [N, C, H, W] with a fixed C
}

// node is one graph node with its attributes by name.
type node struct {
	op      string
	name    string
	in, out []string
	attrs   map[string]*onnxpb.AttributeProto
	fn      opFunc
	fuse    fusion
}

func (n *node) String() string {
	if n.name != "" {
		return fmt.Sprintf("node %q (%s)", n.name, n.op)
	}
	return fmt.Sprintf("%s node with outputs %v", n.op, n.out)
}

// UnsupportedError lists every node type of a graph that import cannot
// run, with the reason for each (an unknown operator or a documented
// attribute it rejects).
type UnsupportedError struct {
	Ops map[string]string // op type → reason
}

func (e *UnsupportedError) Error() string {
	keys := make([]string, 0, len(e.Ops))
	for k := range e.Ops {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k
		if r := e.Ops[k]; r != "" {
			parts[i] += " (" + r + ")"
		}
	}
	return "onnx: unsupported node types: " + strings.Join(parts, ", ")
}

// Load reads an ONNX model file; see Decode.
func Load(path string) (*Model, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("onnx: %s is %d bytes, more than the %d that protobuf allows", path, fi.Size(), MaxFileSize)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Decode parses a serialized ModelProto and prepares its graph: it checks
// that every tensor's data matches its shape, that every node input is
// produced (by an input, an initializer or an earlier node), that the graph
// has no cycle, and that every node type is supported (an
// *UnsupportedError lists all that are not). Memory is bounded by the
// input size: no tensor larger than the file is allocated.
func Decode(b []byte) (*Model, error) {
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		return nil, fmt.Errorf("onnx: not a valid model file: %w", err)
	}
	return FromProto(mp)
}

// FromProto prepares a parsed ModelProto; see Decode.
func FromProto(mp *onnxpb.ModelProto) (*Model, error) {
	g := mp.GetGraph()
	if g == nil {
		return nil, errors.New("onnx: the model has no graph")
	}
	m := &Model{proto: mp, Meta: map[string]string{}, Producer: mp.GetProducerName(), consts: map[string]*value{}}
	for _, o := range mp.GetOpsetImport() {
		if o.GetDomain() == "" || o.GetDomain() == "ai.onnx" {
			m.Opset = o.GetVersion()
		}
	}
	for _, p := range mp.GetMetadataProps() {
		m.Meta[p.GetKey()] = p.GetValue()
	}
	for _, t := range g.GetInitializer() {
		v, err := decodeTensor(t)
		if err != nil {
			return nil, fmt.Errorf("onnx: initializer: %w", err)
		}
		m.consts[t.GetName()] = v
	}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, errors.New("onnx: sparse initializers are not supported")
	}
	for _, vi := range g.GetInput() {
		if _, ok := m.consts[vi.GetName()]; ok {
			continue // an initializer listed as input (IR < 4): a weight
		}
		m.Inputs = append(m.Inputs, ioOf(vi))
	}
	for _, vi := range g.GetOutput() {
		m.Outputs = append(m.Outputs, ioOf(vi))
	}
	if len(m.Outputs) == 0 {
		return nil, errors.New("onnx: the graph has no output")
	}
	if err := m.prepare(g.GetNode()); err != nil {
		return nil, err
	}
	outs := map[string]bool{}
	for _, o := range m.Outputs {
		outs[o.Name] = true
	}
	m.optimize(outs)
	m.makeParams()
	if len(m.Inputs) > 0 {
		s := m.Inputs[0].Shape
		m.inNCHW = len(s) == 4 && s[1] > 0 && m.Meta["strata.input_layout"] != "NHWC"
	}
	return m, nil
}

func ioOf(vi *onnxpb.ValueInfoProto) IO {
	io := IO{Name: vi.GetName()}
	if tt := vi.GetType().GetTensorType(); tt != nil {
		io.Type = dtName(tt.GetElemType())
		if sh := tt.GetShape(); sh != nil {
			io.Shape = make([]int, len(sh.GetDim()))
			for i, d := range sh.GetDim() {
				io.Shape[i] = -1
				if dv, ok := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue); ok && dv.DimValue >= 0 && dv.DimValue <= MaxElements {
					io.Shape[i] = int(dv.DimValue)
				}
			}
		}
	}
	return io
}

// prepare resolves each node's op, checks its inputs and sorts the nodes
// topologically (Kahn's algorithm), so that cycles and dangling inputs
// are errors here rather than at run time.
func (m *Model) prepare(pbs []*onnxpb.NodeProto) error {
	unsupported := map[string]string{}
	producer := map[string]int{}
	nodes := make([]*node, len(pbs))
	for i, p := range pbs {
		n := &node{op: p.GetOpType(), name: p.GetName(), in: p.GetInput(), out: p.GetOutput(), attrs: map[string]*onnxpb.AttributeProto{}}
		for _, a := range p.GetAttribute() {
			n.attrs[a.GetName()] = a
		}
		if d := p.GetDomain(); d != "" && d != "ai.onnx" {
			unsupported[d+"."+n.op] = "operator domain " + d
		} else if spec, ok := ops[n.op]; !ok {
			unsupported[n.op] = ""
		} else if reason := spec.check(n); reason != "" {
			if _, seen := unsupported[n.op]; !seen {
				unsupported[n.op] = reason
			}
		} else {
			n.fn = spec.run
		}
		for _, o := range n.out {
			if o == "" {
				continue
			}
			if j, dup := producer[o]; dup {
				return fmt.Errorf("onnx: %s and %s both produce %q", nodes[j], n, o)
			}
			producer[o] = i
		}
		nodes[i] = n
	}
	known := map[string]bool{"": true}
	for k := range m.consts {
		known[k] = true
	}
	for _, in := range m.Inputs {
		known[in.Name] = true
	}
	// Kahn: a node is ready when all its inputs are known.
	waiting := make([]int, len(nodes))
	users := map[string][]int{}
	var ready []int
	for i, n := range nodes {
		for _, in := range n.in {
			if known[in] {
				continue
			}
			if _, ok := producer[in]; !ok {
				return fmt.Errorf("onnx: %s: input %q is not a graph input, an initializer or any node's output", n, in)
			}
			waiting[i]++
			users[in] = append(users[in], i)
		}
		if waiting[i] == 0 {
			ready = append(ready, i)
		}
	}
	order := make([]*node, 0, len(nodes))
	for len(ready) > 0 {
		i := ready[0]
		ready = ready[1:]
		order = append(order, nodes[i])
		for _, o := range nodes[i].out {
			for _, u := range users[o] {
				if waiting[u]--; waiting[u] == 0 {
					ready = append(ready, u)
				}
			}
		}
	}
	if len(order) != len(nodes) {
		for i, w := range waiting {
			if w > 0 {
				return fmt.Errorf("onnx: the graph has a cycle through %s", nodes[i])
			}
		}
	}
	for _, o := range m.Outputs {
		if _, ok := producer[o.Name]; !ok && !known[o.Name] {
			return fmt.Errorf("onnx: graph output %q is produced by no node", o.Name)
		}
	}
	if len(unsupported) > 0 {
		return &UnsupportedError{Ops: unsupported}
	}
	m.nodes = order
	return nil
}

// makeParams turns the float initializers into named parameters.
func (m *Model) makeParams() {
	names := make([]string, 0, len(m.consts))
	for k, v := range m.consts {
		if v.dt == tFloat && v.v.Value.Len() > 1 {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	stats := map[string]bool{} // BatchNormalization's running statistics
	for _, n := range m.nodes {
		if n.op == "BatchNormalization" {
			for _, in := range n.in[min(3, len(n.in)):] {
				stats[in] = true
			}
		}
	}
	for _, n := range m.nodes {
		if n.op != "BatchNormalization" {
			for _, in := range n.in {
				delete(stats, in)
			}
		} else {
			for _, in := range n.in[:min(3, len(n.in))] {
				delete(stats, in)
			}
		}
	}
	for _, k := range names {
		v := m.consts[k]
		v.v = autograd.NewParam(k, v.v.Value)
		m.params = append(m.params, nn.Weight{Name: k, Var: v.v, Trainable: !stats[k]})
	}
}

// Weights returns the model's float initializers of more than one element,
// named as in the file: trainable, except BatchNormalization's running
// statistics.
func (m *Model) Weights() []nn.Weight { return m.params }

// Forward runs the graph on x as its first input and returns its first
// output. Image batches [N, H, W, C] are fed to NCHW graphs as described on
// Model. A graph error panics with a *tensor.ShapeError naming the node
// (nn.Build and train.Fit turn it into an error).
func (m *Model) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if len(m.Inputs) == 0 {
		panic(&tensor.ShapeError{Op: "onnx", Msg: "the graph has no input"})
	}
	in := &value{v: x, dt: tFloat}
	if m.inNCHW && x.Value.Rank() == 4 {
		s, decl := x.Shape(), m.Inputs[0].Shape
		exact := true // x already has the declared NCHW shape
		for i := 1; i < 4; i++ {
			exact = exact && (decl[i] < 0 || decl[i] == s[i])
		}
		if !exact && s[3] == decl[1] {
			in.nhwc = true
		}
	}
	outs, err := m.run(map[string]*value{m.Inputs[0].Name: in}, m.Outputs[:1])
	if err != nil {
		panic(&tensor.ShapeError{Op: "onnx graph", Msg: strings.TrimPrefix(err.Error(), "onnx: ")})
	}
	return outs[0].v
}

// Run runs the graph on the named inputs (tensors in the graph's own
// layout) and returns every graph output by name. Integer and boolean
// inputs and outputs are held as float32.
func (m *Model) Run(inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	vals := map[string]*value{}
	for _, io := range m.Inputs {
		t, ok := inputs[io.Name]
		if !ok {
			return nil, fmt.Errorf("onnx: missing input %q", io.Name)
		}
		dt := tFloat
		if id, ok := onnxpb.TensorProto_DataType_value[io.Type]; ok {
			dt = id
		}
		vals[io.Name] = &value{v: autograd.Const(t), dt: dt}
	}
	outs, err := m.run(vals, m.Outputs)
	if err != nil {
		return nil, err
	}
	res := map[string]*tensor.Tensor{}
	for i, o := range m.Outputs {
		res[o.Name] = outs[i].v.Value
	}
	return res, nil
}

// run evaluates the nodes in order; a panic inside an op becomes an error
// naming the node.
func (m *Model) run(inputs map[string]*value, want []IO) (outs []*value, err error) {
	env := make(map[string]*value, len(m.consts)+len(m.nodes))
	for k, v := range m.consts {
		env[k] = v
	}
	for k, v := range inputs {
		env[k] = v
	}
	var cur *node
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(error)
			if !ok {
				panic(r)
			}
			var se *tensor.ShapeError
			var ne *nn.ShapeError
			if !errors.As(e, &se) && !errors.As(e, &ne) && !errors.As(e, new(*opError)) && !errors.As(e, new(*unsupported)) {
				panic(r)
			}
			err = fmt.Errorf("onnx: %s: %w", cur, e)
		}
	}()
	args := make([]*value, 0, 8)
	for _, n := range m.nodes {
		cur = n
		args = args[:0]
		for _, in := range n.in {
			if in == "" {
				args = append(args, nil)
				continue
			}
			v, ok := env[in]
			if !ok {
				return nil, fmt.Errorf("onnx: %s: input %q was not given", n, in)
			}
			args = append(args, v)
		}
		if n.fuse.skip { // absorbed by the node before it
			if len(args) > 0 && args[0] != nil && len(n.out) > 0 {
				env[n.out[0]] = args[0]
			}
			continue
		}
		res := n.fn(&opCtx{m: m, n: n}, args)
		for i, o := range n.out {
			if o != "" && i < len(res) {
				env[o] = res[i]
			}
		}
	}
	for _, o := range want {
		v, ok := env[o.Name]
		if !ok {
			return nil, fmt.Errorf("onnx: graph output %q was not computed", o.Name)
		}
		outs = append(outs, logical(v))
	}
	return outs, nil
}

// Save writes the model with its current weights (after fine-tuning, say)
// as an ONNX file: the original graph with its float initializers
// replaced, in ONNX's layout.
func (m *Model) Save(path string) error {
	mp := proto.Clone(m.proto).(*onnxpb.ModelProto)
	for _, t := range mp.GetGraph().GetInitializer() {
		v := m.consts[t.GetName()]
		if v == nil || v.dt != tFloat {
			continue
		}
		nt := encodeTensor(t.GetName(), storedTensor(v), tFloat)
		t.FloatData, t.RawData = nil, nt.RawData
	}
	b, err := proto.Marshal(mp)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// InputShape returns the shape of one sample of the first input as Forward
// takes it (without the batch axis): an NCHW image graph's [C, H, W] is
// [H, W, C]; -1 marks a dynamic dimension, nil an input without a shape.
func (m *Model) InputShape() []int {
	if len(m.Inputs) == 0 || len(m.Inputs[0].Shape) == 0 {
		return nil
	}
	s := m.Inputs[0].Shape
	if m.inNCHW {
		return []int{s[2], s[3], s[1]}
	}
	return append([]int(nil), s[1:]...)
}

// OutputOp returns the operator type of the node that computes the first
// graph output, looking through Identity and Dropout ("Softmax" for a
// classifier that outputs probabilities), or "" when it is an input or
// initializer.
func (m *Model) OutputOp() string {
	if len(m.Outputs) == 0 {
		return ""
	}
	producer := map[string]*node{}
	for _, n := range m.nodes {
		for _, o := range n.out {
			producer[o] = n
		}
	}
	name := m.Outputs[0].Name
	for range len(m.nodes) + 1 { // look through Identity and Dropout
		n := producer[name]
		if n == nil {
			return ""
		}
		if (n.op != "Identity" && n.op != "Dropout") || len(n.in) == 0 {
			return n.op
		}
		name = n.in[0]
	}
	return ""
}
