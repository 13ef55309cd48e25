package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"github.com/strata-dl/strata/tensor"
)

// binaryHeader is the binary tensor extension's header: the length of the
// JSON part of a body whose binary tensors follow it.
const binaryHeader = "Inference-Header-Content-Length"

// inferRequest is the body of POST .../infer.
type inferRequest struct {
	ID         string            `json:"id"`
	Parameters map[string]any    `json:"parameters"`
	Inputs     []inferInput      `json:"inputs"`
	Outputs    []requestedOutput `json:"outputs"`
}

type inferInput struct {
	Name       string          `json:"name"`
	Shape      []int           `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters map[string]any  `json:"parameters"`
	Data       json.RawMessage `json:"data"`
}

type requestedOutput struct {
	Name       string         `json:"name"`
	Parameters map[string]any `json:"parameters"`
}

// outTensor is one output of an answer.
type outTensor struct {
	name, datatype string
	shape          []int
	f32            []float32
	i64            []int64
	str            []string
	binary         bool
}

// httpError is an error with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// reqState is one request's reusable memory: its body, the decoded
// request, its input values, its answer and its place in the batch queue.
// Pooled, so that in steady state a request allocates only a few small
// objects (net/http's own, the id and input name).
type reqState struct {
	body bytes.Buffer
	req  inferRequest
	x    []float32
	out  []byte
	job  job
}

var statePool = sync.Pool{New: func() any { return &reqState{job: job{done: make(chan result, 1)}} }}

// putState returns st to the pool, unless it grew large (one big request
// should not pin its memory).
func putState(st *reqState) {
	if st.body.Cap() > 1<<20 || cap(st.x) > 1<<18 || cap(st.out) > 1<<20 {
		return
	}
	st.job.ctx, st.job.x = nil, nil
	statePool.Put(st)
}

func (s *Server) infer(w http.ResponseWriter, r *http.Request, m *served) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	// Admission: a model with MaxQueue requests already being read,
	// decoded or queued answers 503 before reading the body (see
	// Options.MaxQueue for the memory this bounds).
	if !m.batcher.admit(s.opts.MaxQueue) {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: %v, try again later", m.Name, errQueueFull))
		return
	}
	arrived := false
	done := func() {
		if !arrived {
			arrived = true
			m.batcher.arriving.Add(-1)
		}
	}
	defer done()
	st := statePool.Get().(*reqState)
	st.body.Reset()
	if _, err := st.body.ReadFrom(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)); err != nil {
		putState(st)
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", mb.Limit))
			return
		}
		writeError(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	// At most GOMAXPROCS requests are decoded at once: the others wait
	// parked, not runnable, so that a batch's parallel kernels are not
	// queued behind dozens of decoding goroutines.
	select {
	case s.decoding <- struct{}{}:
	case <-ctx.Done():
		putState(st)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: request timed out after %v", m.Name, s.opts.Timeout))
		return
	}
	n, err := s.parseInfer(r.Header.Get(binaryHeader), st, m)
	<-s.decoding
	var outs []wantOutput
	if err == nil {
		outs, err = resolveOutputs(&st.req, m)
	}
	if err != nil {
		putState(st)
		writeHTTPError(w, err)
		return
	}
	j := &st.job
	j.ctx, j.x, j.n = ctx, st.x, n
	err = m.batcher.submit(j)
	done()
	if err != nil {
		putState(st)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: %v, try again later", m.Name, err))
		return
	}
	var res result
	select {
	case res = <-j.done:
	case <-ctx.Done():
		// The job may still be in a batch: st is not reused.
		res.err = ctx.Err()
	}
	switch {
	case res.err == nil:
	case errors.Is(res.err, context.DeadlineExceeded):
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: request timed out after %v", m.Name, s.opts.Timeout))
		return
	case errors.Is(res.err, context.Canceled):
		w.WriteHeader(499) // the client has gone; nobody reads this
		return
	default:
		putState(st)
		s.log(slog.LevelError, "inference failed", "model", m.Name, "error", res.err.Error())
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("model %q: %v", m.Name, res.err))
		return
	}
	var answer [4]outTensor
	st.out = writeAnswer(w, m, st.req.ID, buildOutputs(m, outs, res.y, n, answer[:0]), st.out[:0])
	putState(st)
}

func writeHTTPError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// parseInfer decodes and checks the request body in st into st.req and
// the model's input [n, InputShape...] in st.x, preprocessed, and returns
// n.
func (s *Server) parseInfer(headerLen string, st *reqState, m *served) (int, error) {
	body := st.body.Bytes()
	js, bin := body, []byte(nil)
	if headerLen != "" {
		hl, err := strconv.Atoi(headerLen)
		if err != nil || hl < 0 || hl > len(body) {
			return 0, badRequest("%s: %q is not a length within the body's %d bytes", binaryHeader, headerLen, len(body))
		}
		js, bin = body[:hl], body[hl:]
	}
	req := &st.req
	if err := decodeRequestInto(req, js); err != nil {
		return 0, badRequest("malformed JSON request: %v", err)
	}
	if len(req.Inputs) != 1 {
		return 0, badRequest("model %q takes one input %q, got %d inputs", m.Name, m.InputName, len(req.Inputs))
	}
	in := &req.Inputs[0]
	if in.Name != m.InputName {
		return 0, badRequest("unknown input %q: model %q takes %q", in.Name, m.Name, m.InputName)
	}
	if in.Datatype != m.Datatype {
		return 0, badRequest("input %q: datatype %q, model %q takes %s", in.Name, in.Datatype, m.Name, m.Datatype)
	}
	if len(in.Shape) != len(m.InputShape)+1 || in.Shape[0] < 1 || !slices.Equal(in.Shape[1:], m.InputShape) {
		return 0, badRequest("input %q: shape %v, model %q takes %v (n ≥ 1 samples)", in.Name, in.Shape, m.Name, append([]int{-1}, m.InputShape...))
	}
	if in.Shape[0] > s.opts.MaxElements/m.per {
		return 0, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("input %q: %v is over the limit of %d elements", in.Name, in.Shape, s.opts.MaxElements)}
	}
	count := in.Shape[0] * m.per
	data, err := readInputData(in, bin, datatypes[in.Datatype], count, st.x[:0])
	if err != nil {
		return 0, err
	}
	st.x = data
	if m.Preprocess != nil {
		if err := m.Preprocess(tensor.New(in.Shape, data)); err != nil {
			return 0, badRequest("input %q: %v", in.Name, err)
		}
	}
	return in.Shape[0], nil
}

// readInputData reads an input's count elements from its JSON data or
// from the binary part of the body;
// dst (appended to) holds them.
func readInputData(in *inferInput, bin []byte, dt datatype, count int, dst []float32) ([]float32, error) {
	size, hasBinary, err := intParam(in.Parameters, "binary_data_size")
	if err != nil {
		return nil, badRequest("input %q: %v", in.Name, err)
	}
	if hasBinary {
		if len(in.Data) > 0 {
			return nil, badRequest("input %q has both data and binary_data_size", in.Name)
		}
		if size != count*dt.size {
			return nil, badRequest("input %q: binary_data_size %d, want %d (%d %s elements)", in.Name, size, count*dt.size, count, dt.name)
		}
		if size != len(bin) {
			return nil, badRequest("input %q: binary_data_size %d, but %d bytes follow the JSON header", in.Name, size, len(bin))
		}
		return decodeBinary(slices.Grow(dst, count), bin, dt)
	}
	if len(bin) > 0 {
		return nil, badRequest("%d bytes of binary data that no input claims (binary_data_size)", len(bin))
	}
	if len(in.Data) == 0 {
		return nil, badRequest("input %q has no data", in.Name)
	}
	data, err := parseJSONNumbers(slices.Grow(dst, count), in.Data, dt)
	if err != nil {
		return nil, badRequest("input %q: %v", in.Name, err)
	}
	if len(data) != count {
		return nil, badRequest("input %q: %d values for shape %v (want %d)", in.Name, len(data), in.Shape, count)
	}
	return data, nil
}

// intParam reads an integer parameter.
func intParam(p map[string]any, key string) (int, bool, error) {
	v, ok := p[key]
	if !ok {
		return 0, false, nil
	}
	f, isNum := v.(float64)
	if !isNum || f != math.Trunc(f) || f < 0 || f > math.MaxInt32 {
		return 0, true, fmt.Errorf("parameter %s: %v is not a non-negative integer", key, v)
	}
	return int(f), true, nil
}

// boolParam reads a boolean parameter.
func boolParam(p map[string]any, key string) (bool, error) {
	v, ok := p[key]
	if !ok {
		return false, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("parameter %s: %v is not true or false", key, v)
	}
	return b, nil
}

// wantOutput is a checked output request.
type wantOutput struct {
	name           string
	classification int // Triton's classification extension: top k as strings
	binary         bool
}

// resolveOutputs checks the requested outputs (all by default) and the
// top_k parameter.
func resolveOutputs(req *inferRequest, m *served) ([]wantOutput, error) {
	binAll, err := boolParam(req.Parameters, "binary_data_output")
	if err != nil {
		return nil, badRequest("%v", err)
	}
	var outs []wantOutput
	if len(req.Outputs) == 0 && len(req.Parameters) == 0 {
		return m.defaultOuts, nil // shared: never appended to
	}
	if len(req.Outputs) == 0 {
		for _, name := range m.outNames {
			outs = append(outs, wantOutput{name: name, binary: binAll})
		}
	}
	for _, o := range req.Outputs {
		if !slices.Contains(m.outNames, o.Name) {
			return nil, badRequest("unknown output %q: model %q has %v", o.Name, m.Name, m.outNames)
		}
		w := wantOutput{name: o.Name, binary: binAll}
		b, err := boolParam(o.Parameters, "binary_data")
		if err != nil {
			return nil, badRequest("output %q: %v", o.Name, err)
		}
		w.binary = w.binary || b
		k, has, err := intParam(o.Parameters, "classification")
		if err != nil || (has && (k < 1 || o.Name != "probabilities")) {
			return nil, badRequest("output %q: classification wants a positive integer on a classifier's probabilities (%v)", o.Name, err)
		}
		w.classification = min(k, len(m.Classes))
		outs = append(outs, w)
	}
	k, has, err := intParam(req.Parameters, "top_k")
	if err != nil || (has && (k < 1 || len(m.Classes) == 0)) {
		return nil, badRequest("parameter top_k wants a positive integer on a classifier (%v)", err)
	}
	if has {
		k = min(k, len(m.Classes))
		outs = append(outs, wantOutput{name: "top_k_labels", classification: k, binary: binAll},
			wantOutput{name: "top_k_probabilities", classification: k, binary: binAll})
	}
	return outs, nil
}

// buildOutputs turns the network's rows y [n, outPer] into the answer's
// tensors, appended to out.
func buildOutputs(m *served, want []wantOutput, y []float32, n int, out []outTensor) []outTensor {
	probs := y
	k := len(m.Classes)
	if k > 0 && m.Logits {
		probs = tensor.Softmax(tensor.New([]int{n, k}, slices.Clone(y)), -1).Data()
	}
	var order [][]int // per row, class indices by falling probability (for top k only)
	for _, w := range want {
		if w.classification > 0 && order == nil {
			order = classOrder(probs, n, k)
		}
	}
	for _, w := range want {
		t := outTensor{name: w.name, binary: w.binary}
		switch {
		case w.name == "output":
			t.datatype, t.shape, t.f32 = "FP32", append([]int{n}, m.outShape...), y
		case w.name == "class":
			t.datatype, t.shape = "INT64", []int{n}
			t.i64 = make([]int64, n)
			for i := range n {
				t.i64[i] = int64(argmax(probs[i*k : (i+1)*k]))
			}
		case w.name == "probabilities" && w.classification > 0:
			t.datatype, t.shape = "BYTES", []int{n, w.classification}
			for i := range n {
				for _, c := range order[i][:w.classification] {
					t.str = append(t.str, fmt.Sprintf("%g:%d:%s", probs[i*k+c], c, m.Classes[c]))
				}
			}
		case w.name == "probabilities":
			t.datatype, t.shape, t.f32 = "FP32", []int{n, k}, probs
		case w.name == "top_k_labels":
			t.datatype, t.shape = "BYTES", []int{n, w.classification}
			for i := range n {
				for _, c := range order[i][:w.classification] {
					t.str = append(t.str, m.Classes[c])
				}
			}
		case w.name == "top_k_probabilities":
			t.datatype, t.shape = "FP32", []int{n, w.classification}
			for i := range n {
				for _, c := range order[i][:w.classification] {
					t.f32 = append(t.f32, probs[i*k+c])
				}
			}
		}
		out = append(out, t)
	}
	return out
}

// classOrder is, per row of probs [n, k], the class indices by falling
// probability (ties: the lower index first).
func classOrder(probs []float32, n, k int) [][]int {
	order := make([][]int, n)
	for i := range n {
		row := probs[i*k : (i+1)*k]
		idx := make([]int, k)
		for c := range idx {
			idx[c] = c
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case row[a] > row[b]:
				return -1
			case row[a] < row[b]:
				return 1
			}
			return 0
		})
		order[i] = idx
	}
	return order
}

// argmax is the index of row's largest value (the first of equal ones),
// the first of classOrder's row.
func argmax(row []float32) int {
	best := 0
	for c, v := range row {
		if v > row[best] {
			best = c
		}
	}
	return best
}

var (
	contentJSON   = []string{"application/json"}
	contentBinary = []string{"application/octet-stream"}
)

// writeAnswer writes the JSON answer, with the binary outputs after it
// when any were asked for, built in b (returned for reuse).
func writeAnswer(w http.ResponseWriter, m *served, id string, outs []outTensor, b []byte) []byte {
	b = append(b, `{"model_name":`...)
	b = appendJSONString(b, m.Name)
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, m.Version)
	if id != "" {
		b = append(b, `,"id":`...)
		b = appendJSONString(b, id)
	}
	b = append(b, `,"outputs":[`...)
	var bin []byte
	for i, t := range outs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, t.name)
		b = append(b, `,"datatype":"`...)
		b = append(b, t.datatype...)
		b = append(b, `","shape":[`...)
		for d, v := range t.shape {
			if d > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, int64(v), 10)
		}
		b = append(b, ']')
		if t.binary {
			before := len(bin)
			bin = t.appendBinary(bin)
			b = append(b, `,"parameters":{"binary_data_size":`...)
			b = strconv.AppendInt(b, int64(len(bin)-before), 10)
			b = append(b, `}}`...)
			continue
		}
		b = append(b, `,"data":`...)
		b = t.appendJSON(b)
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	h := w.Header()
	if bin != nil {
		h["Content-Type"] = contentBinary
		h.Set(binaryHeader, strconv.Itoa(len(b)))
		h["Content-Length"] = []string{strconv.Itoa(len(b) + len(bin))}
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		w.Write(bin)
		return b
	}
	h["Content-Type"] = contentJSON
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return b
}

func (t *outTensor) appendJSON(b []byte) []byte {
	switch {
	case t.datatype == "FP32":
		return appendJSONFloats(b, t.f32)
	case t.datatype == "INT64":
		b = append(b, '[')
		for i, v := range t.i64 {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendInt(b, v, 10)
		}
		return append(b, ']')
	default:
		b = append(b, '[')
		for i, v := range t.str {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, v)
		}
		return append(b, ']')
	}
}

// appendBinary writes the tensor in the binary extension's layout:
// little-endian elements, BYTES as a 4-byte length and the bytes.
func (t *outTensor) appendBinary(b []byte) []byte {
	switch t.datatype {
	case "FP32":
		for _, v := range t.f32 {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	case "INT64":
		for _, v := range t.i64 {
			b = binary.LittleEndian.AppendUint64(b, uint64(v))
		}
	default:
		for _, v := range t.str {
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
	}
	if b == nil {
		b = []byte{}
	}
	return b
}

// appendJSONString writes s as encoding/json writes it: at once when it
// is plain printable ASCII, through json.Marshal otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
