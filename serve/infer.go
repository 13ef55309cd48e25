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
	"sort"
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

var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func (s *Server) infer(w http.ResponseWriter, r *http.Request, m *served) {
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.Timeout)
	defer cancel()
	// Admission: a model with MaxQueue requests already waiting or being
	// decoded answers 503 before reading the body, so that memory stays
	// under MaxQueue × MaxBodyBytes per model however many clients come.
	if int(m.batcher.arriving.Load())+len(m.batcher.queue) >= s.opts.MaxQueue {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: %v, try again later", m.Name, errQueueFull))
		return
	}
	m.batcher.arriving.Add(1)
	arrived := false
	done := func() {
		if !arrived {
			arrived = true
			m.batcher.arriving.Add(-1)
		}
	}
	defer done()
	buf := bodyPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 1<<20 { // large bodies are not kept
			bodyPool.Put(buf)
		}
	}()
	buf.Reset()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)); err != nil {
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
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: request timed out after %v", m.Name, s.opts.Timeout))
		return
	}
	req, x, err := s.parseInfer(r.Header.Get(binaryHeader), buf.Bytes(), m)
	<-s.decoding
	if err != nil {
		writeHTTPError(w, err)
		return
	}
	outs, err := resolveOutputs(&req, m)
	if err != nil {
		writeHTTPError(w, err)
		return
	}
	n := x.Dim(0)
	j := &job{ctx: ctx, x: x.Data(), n: n, done: make(chan result, 1)}
	err = m.batcher.submit(j)
	done()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("model %q: %v, try again later", m.Name, err))
		return
	}
	var res result
	select {
	case res = <-j.done:
	case <-ctx.Done():
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
		s.log(slog.LevelError, "inference failed", "model", m.Name, "error", res.err.Error())
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("model %q: %v", m.Name, res.err))
		return
	}
	answer := buildOutputs(m, outs, res.y, n)
	writeAnswer(w, m, req.ID, answer)
}

func writeHTTPError(w http.ResponseWriter, err error) {
	var he *httpError
	if errors.As(err, &he) {
		writeError(w, he.code, he.msg)
		return
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// parseInfer decodes and checks a request body into the model's input
// [n, InputShape...], preprocessed.
func (s *Server) parseInfer(headerLen string, body []byte, m *served) (inferRequest, *tensor.Tensor, error) {
	var req inferRequest
	js, bin := body, []byte(nil)
	if headerLen != "" {
		hl, err := strconv.Atoi(headerLen)
		if err != nil || hl < 0 || hl > len(body) {
			return req, nil, badRequest("%s: %q is not a length within the body's %d bytes", binaryHeader, headerLen, len(body))
		}
		js, bin = body[:hl], body[hl:]
	}
	req, err := decodeRequest(js)
	if err != nil {
		return req, nil, badRequest("malformed JSON request: %v", err)
	}
	if len(req.Inputs) != 1 {
		return req, nil, badRequest("model %q takes one input %q, got %d inputs", m.Name, m.InputName, len(req.Inputs))
	}
	in := &req.Inputs[0]
	if in.Name != m.InputName {
		return req, nil, badRequest("unknown input %q: model %q takes %q", in.Name, m.Name, m.InputName)
	}
	if in.Datatype != m.Datatype {
		return req, nil, badRequest("input %q: datatype %q, model %q takes %s", in.Name, in.Datatype, m.Name, m.Datatype)
	}
	want := append([]int{-1}, m.InputShape...)
	if len(in.Shape) != len(want) || in.Shape[0] < 1 || !slices.Equal(in.Shape[1:], m.InputShape) {
		return req, nil, badRequest("input %q: shape %v, model %q takes %v (n ≥ 1 samples)", in.Name, in.Shape, m.Name, want)
	}
	if in.Shape[0] > s.opts.MaxElements/m.per {
		return req, nil, &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("input %q: %v is over the limit of %d elements", in.Name, in.Shape, s.opts.MaxElements)}
	}
	count := in.Shape[0] * m.per
	data, err := readInputData(in, bin, datatypes[in.Datatype], count)
	if err != nil {
		return req, nil, err
	}
	x := tensor.New(in.Shape, data)
	if m.Preprocess != nil {
		if err := m.Preprocess(x); err != nil {
			return req, nil, badRequest("input %q: %v", in.Name, err)
		}
	}
	return req, x, nil
}

// readInputData reads an input's count elements from its JSON data or
// from the binary part of the body.
func readInputData(in *inferInput, bin []byte, dt datatype, count int) ([]float32, error) {
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
		return decodeBinary(make([]float32, 0, count), bin, dt)
	}
	if len(bin) > 0 {
		return nil, badRequest("%d bytes of binary data that no input claims (binary_data_size)", len(bin))
	}
	if len(in.Data) == 0 {
		return nil, badRequest("input %q has no data", in.Name)
	}
	data, err := parseJSONNumbers(make([]float32, 0, count), in.Data, dt)
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
	if len(req.Outputs) == 0 {
		for _, name := range m.outputNames() {
			outs = append(outs, wantOutput{name: name, binary: binAll})
		}
	}
	for _, o := range req.Outputs {
		if !slices.Contains(m.outputNames(), o.Name) {
			return nil, badRequest("unknown output %q: model %q has %v", o.Name, m.Name, m.outputNames())
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
// tensors.
func buildOutputs(m *served, want []wantOutput, y []float32, n int) []outTensor {
	probs := y
	k := len(m.Classes)
	if k > 0 && m.Logits {
		probs = tensor.Softmax(tensor.New([]int{n, k}, slices.Clone(y)), -1).Data()
	}
	var order [][]int // per row, class indices by falling probability
	if k > 0 {
		order = make([][]int, n)
		for i := range n {
			row := probs[i*k : (i+1)*k]
			idx := make([]int, k)
			for c := range idx {
				idx[c] = c
			}
			sort.SliceStable(idx, func(a, b int) bool { return row[idx[a]] > row[idx[b]] })
			order[i] = idx
		}
	}
	var out []outTensor
	for _, w := range want {
		t := outTensor{name: w.name, binary: w.binary}
		switch {
		case w.name == "output":
			t.datatype, t.shape, t.f32 = "FP32", append([]int{n}, m.outShape...), y
		case w.name == "class":
			t.datatype, t.shape = "INT64", []int{n}
			for i := range n {
				t.i64 = append(t.i64, int64(order[i][0]))
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

// writeAnswer writes the JSON answer, with the binary outputs after it
// when any were asked for.
func writeAnswer(w http.ResponseWriter, m *served, id string, outs []outTensor) {
	b := make([]byte, 0, 256)
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
	if bin != nil {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set(binaryHeader, strconv.Itoa(len(b)))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)+len(bin)))
		w.WriteHeader(http.StatusOK)
		w.Write(b)
		w.Write(bin)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
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

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}
