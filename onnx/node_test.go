package onnx

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/strata-dl/strata/onnx/onnxpb"
)

// nodeTestDir is where Debian's libonnx-testdata puts ONNX 1.12's backend
// node tests.
const nodeTestDir = "/usr/share/libonnx-testdata/data/node"

type nodeResult struct {
	name, family string
	status       string // pass, fail, unsupported
	msg          string
}

// runNodeTest runs one node-test folder: model.onnx and
// test_data_set_0/{input,output}_N.pb.
func runNodeTest(dir string) nodeResult {
	r := nodeResult{name: filepath.Base(dir)}
	b, err := os.ReadFile(filepath.Join(dir, "model.onnx"))
	if err != nil {
		return nodeResult{name: r.name, status: "fail", msg: err.Error()}
	}
	mp := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(b, mp); err != nil {
		r.status, r.msg = "fail", err.Error()
		return r
	}
	r.family = family(mp)
	m, err := FromProto(mp)
	if err != nil {
		var ue *UnsupportedError
		if errors.As(err, &ue) {
			r.status, r.msg = "unsupported", err.Error()
		} else {
			r.status, r.msg = "fail", err.Error()
		}
		return r
	}
	ds := filepath.Join(dir, "test_data_set_0")
	inputs := map[string]*value{}
	g := mp.GetGraph()
	var inNames []string
	for _, vi := range g.GetInput() {
		if _, ok := m.consts[vi.GetName()]; !ok {
			inNames = append(inNames, vi.GetName())
		}
	}
	for _, vi := range g.GetInput() {
		if vi.GetType().GetTensorType().GetElemType() == tBFloat {
			r.status, r.msg = "unsupported", "bfloat16 input (stored as uint16 in ONNX 1.12's test data)"
			return r
		}
	}
	for i, name := range inNames {
		v, err := readPB(filepath.Join(ds, fmt.Sprintf("input_%d.pb", i)))
		if err != nil {
			r.status, r.msg = "unsupported", "input: "+err.Error()
			return r
		}
		inputs[name] = v
	}
	outs, err := m.run(inputs, m.Outputs)
	if err != nil {
		if errors.As(err, new(*unsupported)) {
			r.status, r.msg = "unsupported", err.Error()
		} else {
			r.status, r.msg = "fail", err.Error()
		}
		return r
	}
	for i := range m.Outputs {
		want, err := readPB(filepath.Join(ds, fmt.Sprintf("output_%d.pb", i)))
		if err != nil {
			r.status, r.msg = "unsupported", "output: "+err.Error()
			return r
		}
		if msg := compare(outs[i], want); msg != "" {
			r.status, r.msg = "fail", fmt.Sprintf("output %d: %s", i, msg)
			return r
		}
	}
	r.status = "pass"
	return r
}

func family(mp *onnxpb.ModelProto) string {
	nodes := mp.GetGraph().GetNode()
	if len(nodes) == 1 {
		return nodes[0].GetOpType()
	}
	return "(function expansions)"
}

func readPB(path string) (*value, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(b, tp); err != nil {
		return nil, fmt.Errorf("not a tensor (sequence or optional): %v", err)
	}
	return decodeTensor(tp)
}

// compare checks got against want as ONNX's backend tests do (rtol 1e-3,
// atol 1e-7), element type included.
func compare(got, want *value) string {
	gs, ws := got.shape(), want.shape()
	if fmt.Sprint(gs) != fmt.Sprint(ws) {
		return fmt.Sprintf("shape %v, want %v", gs, ws)
	}
	if got.dt != want.dt && !(got.dt == tFloat && isFloat(want.dt)) {
		return fmt.Sprintf("type %s, want %s", dtName(got.dt), dtName(want.dt))
	}
	gd, wd := got.data(), want.data()
	for i := range wd {
		g, w := float64(gd[i]), float64(wd[i])
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if math.Abs(g-w) > 1e-7+1e-3*math.Abs(w) {
			return fmt.Sprintf("element %d is %v, want %v", i, g, w)
		}
	}
	return ""
}

// families groups operators for the README's table.
var families = []struct{ name, ops string }{
	{"Elementwise arithmetic and logic", "Add Sub Mul Div Pow Mod Max Min Sum Mean Neg Abs Reciprocal Sqrt Exp Log Floor Ceil Round Sign Equal Greater Less GreaterOrEqual LessOrEqual And Or Xor Not BitShift Where IsNaN IsInf Clip"},
	{"Trigonometric and special functions", "Sin Cos Tan Asin Acos Atan Sinh Cosh Asinh Acosh Atanh Erf"},
	{"Activations and softmax", "Relu LeakyRelu PRelu Elu Selu Celu Sigmoid HardSigmoid HardSwish Tanh Softplus Softsign ThresholdedRelu Shrink Softmax LogSoftmax Hardmax"},
	{"Convolution, pooling, resizing", "Conv ConvTranspose MaxPool AveragePool GlobalAveragePool GlobalMaxPool LpPool MaxUnpool DepthToSpace SpaceToDepth Resize Upsample GridSample RoiAlign"},
	{"Normalization and dropout", "BatchNormalization InstanceNormalization LayerNormalization MeanVarianceNormalization LRN Dropout"},
	{"Matrix products", "Gemm MatMul Einsum Det"},
	{"Reductions, arg-max, scans, top-k", "ReduceSum ReduceMean ReduceMax ReduceMin ReduceProd ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceSumSquare ArgMax ArgMin CumSum TopK"},
	{"Shape, slicing, indexing", "Reshape Flatten Transpose Squeeze Unsqueeze Concat Split Slice Gather GatherElements GatherND Scatter ScatterElements ScatterND Shape Size Expand Tile Pad Range Trilu EyeLike OneHot NonZero Compress ReverseSequence Identity"},
	{"Constants and casts", "Constant ConstantOfShape Cast CastLike"},
	{"Recurrent", "RNN LSTM GRU"},
	{"Losses", "NegativeLogLikelihoodLoss SoftmaxCrossEntropyLoss"},
	{"Function bodies (the _expanded tests)", "(function-expansions)"},
}

const otherFamily = "Not supported: control flow, sequences, optionals, quantization, strings, random, signal processing, optimizers"

func familyOf(op string) string {
	if op == "(function expansions)" {
		op = "(function-expansions)"
	}
	for _, f := range families {
		for _, o := range strings.Fields(f.ops) {
			if o == op {
				return f.name
			}
		}
	}
	return otherFamily
}

// TestNodeConformance runs ONNX's own node tests: every test of a
// supported operator must pass or be rejected with a documented reason.
func TestNodeConformance(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(nodeTestDir, "*"))
	if len(dirs) == 0 {
		t.Skipf("no ONNX node tests in %s (install Debian's libonnx-testdata)", nodeTestDir)
	}
	type tally struct{ pass, unsup, fail, total int }
	fam := map[string]*tally{}
	var total tally
	var failures []string
	for _, d := range dirs {
		r := runNodeTest(d)
		f := fam[r.family]
		if f == nil {
			f = &tally{}
			fam[r.family] = f
		}
		f.total++
		total.total++
		switch r.status {
		case "pass":
			f.pass++
			total.pass++
		case "unsupported":
			f.unsup++
			total.unsup++
		default:
			f.fail++
			total.fail++
			failures = append(failures, r.name+": "+r.msg)
		}
	}
	var names []string
	for k := range fam {
		names = append(names, k)
	}
	sort.Strings(names)
	var rep strings.Builder
	groups := map[string]*tally{}
	for _, k := range names {
		f := fam[k]
		fmt.Fprintf(&rep, "%s %d/%d\n", k, f.pass, f.total)
		g := groups[familyOf(k)]
		if g == nil {
			g = &tally{}
			groups[familyOf(k)] = g
		}
		g.pass += f.pass
		g.total += f.total
	}
	rep.WriteString("\n| operator family | node tests passing |\n|---|---|\n")
	for _, f := range append(families, struct{ name, ops string }{otherFamily, ""}) {
		if g := groups[f.name]; g != nil {
			fmt.Fprintf(&rep, "| %s | %d / %d |\n", f.name, g.pass, g.total)
		}
	}
	fmt.Fprintf(&rep, "| **total** | **%d / %d** |\n", total.pass, total.total)
	if p := os.Getenv("ONNX_NODE_REPORT"); p != "" {
		os.WriteFile(p, []byte(rep.String()), 0o644)
	}
	t.Logf("ONNX node tests: %d passed, %d unsupported, %d failed of %d", total.pass, total.unsup, total.fail, total.total)
	for _, f := range failures {
		t.Errorf("%s", f)
	}
	if total.pass < 450 {
		t.Errorf("only %d node tests pass, want at least 450", total.pass)
	}
}
