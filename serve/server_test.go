package serve

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

func TestEndpoints(t *testing.T) {
	_, url, _ := start(t, Options{}, classifier(t), tokens(t))
	for _, tc := range []struct {
		method, path string
		code         int
		want         string // a substring of the body
	}{
		{"GET", "/v2/health/live", 200, ""},
		{"GET", "/v2/health/ready", 200, ""},
		{"GET", "/v2", 200, `"extensions":["binary_tensor_data","classification"]`},
		{"GET", "/v2", 200, `"models":["digits","tokens"]`},
		{"GET", "/v2/models/digits", 200, `"inputs":[{"name":"input","datatype":"FP32","shape":[-1,2,2,1]}]`},
		{"GET", "/v2/models/digits", 200, `{"name":"class","datatype":"INT64","shape":[-1]}`},
		{"GET", "/v2/models/tokens", 200, `"outputs":[{"name":"output","datatype":"FP32","shape":[-1,2]}]`},
		{"GET", "/v2/models/tokens", 200, `"datatype":"INT32","shape":[-1,3]`},
		{"GET", "/v2/models/digits/ready", 200, ""},
		{"GET", "/v2/models/digits/versions/1", 200, `"versions":["1"]`},
		{"GET", "/v2/models/digits/versions/1/ready", 200, ""},
		{"GET", "/v2/models/nope", 404, `{"error":"unknown model \"nope\" (models: digits, tokens)"}`},
		{"GET", "/v2/models/nope/ready", 404, `unknown model`},
		{"POST", "/v2/models/nope/infer", 404, `unknown model`},
		{"GET", "/v2/models/digits/versions/2", 404, `no version \"2\"`},
		{"GET", "/v2/nothing", 404, `{"error":"no endpoint /v2/nothing"}`},
		{"GET", "/v2/models/digits/infer", 405, `use POST`},
		{"POST", "/v2/health/live", 405, `use GET`},
		{"DELETE", "/v2/models/digits", 405, `use GET`},
	} {
		code, body, h := call(t, tc.method, url+tc.path, nil)
		if code != tc.code || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, code, body, tc.code, tc.want)
		}
		if code >= 400 && h.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: error with content type %q", tc.method, tc.path, h.Get("Content-Type"))
		}
	}
}

func TestInfer(t *testing.T) {
	m := classifier(t)
	_, url, _ := start(t, Options{}, m, tokens(t))
	x := []float32{0.1, 0.2, 0.3, 0.4, 1, 0, -1, 0.5}
	want, err := train.Predict(context.Background(), m.Net, tensor.New([]int{2, 2, 2, 1}, x), 2)
	if err != nil {
		t.Fatal(err)
	}
	flat := fmt.Sprintf(`{"id":"req-7","inputs":[{"name":"input","shape":[2,2,2,1],"datatype":"FP32","data":%s}]}`, floats(x))
	nested := `{"id":"req-7","inputs":[{"name":"input","shape":[2,2,2,1],"datatype":"FP32","data":[[[[0.1],[0.2]],[[0.3],[0.4]]],[[[1],[0]],[[-1],[0.5]]]]}]}`
	for name, body := range map[string]string{"flat": flat, "nested": nested} {
		code, b, _ := call(t, "POST", url+"/v2/models/digits/infer", body)
		a := decode(t, b)
		if code != 200 || a.ID != "req-7" || a.ModelName != "digits" || a.ModelVersion != "1" || len(a.Outputs) != 2 {
			t.Fatalf("%s: %d %s", name, code, b)
		}
		var probs []float32
		var class []int64
		json.Unmarshal(a.Outputs[0].Data, &probs)
		json.Unmarshal(a.Outputs[1].Data, &class)
		if a.Outputs[0].Name != "probabilities" || fmt.Sprint(a.Outputs[0].Shape) != "[2 3]" || !close32(probs, want.Data()) {
			t.Errorf("%s: probabilities %v %v, want %v", name, a.Outputs[0].Shape, probs, want.Data())
		}
		am := tensor.ArgMax(want, -1).Data()
		if a.Outputs[1].Name != "class" || len(class) != 2 || class[0] != int64(am[0]) || class[1] != int64(am[1]) {
			t.Errorf("%s: class %v, want %v", name, class, am)
		}
	}
	// Outputs selection, top-k and Triton's classification extension.
	sel := strings.Replace(flat, `"inputs"`, `"parameters":{"top_k":2},"outputs":[{"name":"class"},{"name":"probabilities","parameters":{"classification":1}}],"inputs"`, 1)
	code, b, _ := call(t, "POST", url+"/v2/models/digits/infer", sel)
	a := decode(t, b)
	if code != 200 || len(a.Outputs) != 4 {
		t.Fatalf("selection: %d %s", code, b)
	}
	names := []string{a.Outputs[0].Name, a.Outputs[1].Name, a.Outputs[2].Name, a.Outputs[3].Name}
	if fmt.Sprint(names) != "[class probabilities top_k_labels top_k_probabilities]" {
		t.Errorf("outputs %v", names)
	}
	var labels, cls []string
	json.Unmarshal(a.Outputs[2].Data, &labels)
	json.Unmarshal(a.Outputs[1].Data, &cls)
	top := m.Classes[int(tensor.ArgMax(want, -1).Data()[0])]
	if len(labels) != 4 || labels[0] != top || labels[0] == labels[1] || len(cls) != 2 || !strings.HasSuffix(cls[0], ":"+top) {
		t.Errorf("top-k labels %v, classification %v, want first %s", labels, cls, top)
	}
	// Integer token ids.
	code, b, _ = call(t, "POST", url+"/v2/models/tokens/infer", `{"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","data":[1,9,0]}]}`)
	if a := decode(t, b); code != 200 || a.ID != "" || a.Outputs[0].Name != "output" || fmt.Sprint(a.Outputs[0].Shape) != "[1 2]" {
		t.Errorf("tokens: %d %s", code, b)
	}
}

func TestInferErrors(t *testing.T) {
	_, url, _ := start(t, Options{MaxBodyBytes: 4096, MaxElements: 40}, classifier(t), tokens(t))
	in := func(s string) string { return `{"inputs":[` + s + `]}` }
	good := `{"name":"input","shape":[1,2,2,1],"datatype":"FP32","data":[1,2,3,4]}`
	for _, tc := range []struct {
		name, model, body string
		code              int
		want              string
	}{
		{"malformed", "digits", `{"inputs":[`, 400, "malformed JSON"},
		{"not an object", "digits", `[1]`, 400, "malformed JSON"},
		{"no inputs", "digits", `{}`, 400, "takes one input"},
		{"two inputs", "digits", in(good + "," + good), 400, "got 2 inputs"},
		{"unknown input", "digits", in(strings.Replace(good, `"input"`, `"pixels"`, 1)), 400, `unknown input "pixels"`},
		{"datatype", "digits", in(strings.Replace(good, "FP32", "INT64", 1)), 400, `datatype "INT64", model "digits" takes FP32`},
		{"shape", "digits", in(strings.Replace(good, "[1,2,2,1]", "[1,4]", 1)), 400, "takes [-1 2 2 1]"},
		{"zero batch", "digits", in(strings.Replace(good, "[1,2,2,1]", "[0,2,2,1]", 1)), 400, "n ≥ 1"},
		{"count", "digits", in(strings.Replace(good, "[1,2,3,4]", "[1,2,3]", 1)), 400, "3 values for shape [1 2 2 1] (want 4)"},
		{"not numbers", "digits", in(strings.Replace(good, "[1,2,3,4]", `["a",2,3,4]`, 1)), 400, "unexpected"},
		{"no data", "digits", in(`{"name":"input","shape":[1,2,2,1],"datatype":"FP32"}`), 400, "has no data"},
		{"unknown output", "digits", `{"outputs":[{"name":"logits"}],"inputs":[` + good + `]}`, 400, `unknown output "logits"`},
		{"bad top_k", "digits", `{"parameters":{"top_k":"x"},"inputs":[` + good + `]}`, 400, "top_k"},
		{"top_k on regression", "tokens", `{"parameters":{"top_k":1},"inputs":[{"name":"input","shape":[1,3],"datatype":"INT32","data":[1,2,3]}]}`, 400, "top_k"},
		{"fraction in INT32", "tokens", in(`{"name":"input","shape":[1,3],"datatype":"INT32","data":[1,2.5,3]}`), 400, "not a INT32 value"},
		{"id not a string", "digits", `{"id":7,"inputs":[` + good + `]}`, 400, "malformed JSON"},
		{"elements", "digits", in(strings.Replace(good, "[1,2,2,1]", "[11,2,2,1]", 1)), 413, "over the limit of 40 elements"},
		{"body", "digits", in(strings.Replace(good, "[1,2,3,4]", "["+strings.Repeat("1,", 3000)+"1]", 1)), 413, "over 4096 bytes"},
	} {
		code, b, _ := call(t, "POST", url+"/v2/models/"+tc.model+"/infer", tc.body)
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || code != tc.code || !strings.Contains(e.Error, tc.want) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, b, tc.code, tc.want)
		}
	}
}

func TestBinaryTensors(t *testing.T) {
	m := classifier(t)
	_, url, _ := start(t, Options{}, m)
	x := []float32{0.5, -0.5, 2, 0}
	want, _ := train.Predict(context.Background(), m.Net, tensor.New([]int{1, 2, 2, 1}, x), 1)
	header := []byte(`{"inputs":[{"name":"input","shape":[1,2,2,1],"datatype":"FP32","parameters":{"binary_data_size":16}}],` +
		`"outputs":[{"name":"probabilities","parameters":{"binary_data":true}},{"name":"class"}]}`)
	body := append([]byte{}, header...)
	for _, v := range x {
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(v))
	}
	code, b, h := call(t, "POST", url+"/v2/models/digits/infer", body, binaryHeader, fmt.Sprint(len(header)))
	var hl int
	fmt.Sscan(h.Get(binaryHeader), &hl)
	if code != 200 || hl <= 0 || hl > len(b) || h.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("%d %q header %q", code, b, h.Get(binaryHeader))
	}
	a := decode(t, b[:hl])
	bin := b[hl:]
	if a.Outputs[0].Parameters["binary_data_size"] != 12.0 || len(bin) != 12 || a.Outputs[1].Data == nil {
		t.Fatalf("answer %s + %d bytes", b[:hl], len(bin))
	}
	var got []float32
	for k := 0; k < 12; k += 4 {
		got = append(got, math.Float32frombits(binary.LittleEndian.Uint32(bin[k:])))
	}
	if !close32(got, want.Data()) {
		t.Errorf("binary probabilities %v, want %v", got, want.Data())
	}
	for name, hdr := range map[string]string{"too long": "9999", "negative": "-1", "not a number": "x"} {
		if code, b, _ := call(t, "POST", url+"/v2/models/digits/infer", body, binaryHeader, hdr); code != 400 || !strings.Contains(string(b), binaryHeader) {
			t.Errorf("header %s: %d %s", name, code, b)
		}
	}
	short := body[:len(body)-4]
	if code, b, _ := call(t, "POST", url+"/v2/models/digits/infer", short, binaryHeader, fmt.Sprint(len(header))); code != 400 || !strings.Contains(string(b), "12 bytes follow") {
		t.Errorf("short binary: %d %s", code, b)
	}
}

// TestBatchingConcurrent sends distinct inputs from many clients at once
// and checks that each gets its own rows back, and that batches formed:
// the first batch is held until the other clients' requests are queued.
func TestBatchingConcurrent(t *testing.T) {
	g := newGate()
	m := gatedClassifier(t, g)
	s, url, _ := start(t, Options{MaxBatch: 16}, m)
	ref := m.Net.(*nn.Sequential).Layers[1] // the network without its gate
	g.armed.Store(true)
	go func() {
		q := s.models["digits"].batcher.queue
		for start := time.Now(); len(q) < 31 && time.Since(start) < 10*time.Second; {
			time.Sleep(time.Millisecond)
		}
		close(g.release)
	}()
	const clients, each = 32, 4
	var wg sync.WaitGroup
	samples := 0
	for c := range clients {
		for r := range each {
			samples += 1 + (c+r)%3
		}
	}
	for c := range clients {
		wg.Go(func() {
			for r := range each {
				n := 1 + (c+r)%3
				x := make([]float32, n*4)
				for i := range x {
					x[i] = float32(c*100+r*10+i) / 100
				}
				want, _ := train.Predict(context.Background(), ref, tensor.New([]int{n, 2, 2, 1}, x), n)
				body := fmt.Sprintf(`{"id":"%d-%d","outputs":[{"name":"probabilities"}],"inputs":[{"name":"input","shape":[%d,2,2,1],"datatype":"FP32","data":%s}]}`, c, r, n, floats(x))
				code, b, _ := call(t, "POST", url+"/v2/models/digits/infer", body)
				a := decode(t, b)
				var got []float32
				json.Unmarshal(a.Outputs[0].Data, &got)
				if code != 200 || a.ID != fmt.Sprintf("%d-%d", c, r) || !close32(got, want.Data()) {
					t.Errorf("client %d request %d: %d %s, want %v", c, r, code, b, want.Data())
				}
			}
		})
	}
	wg.Wait()
	_, metrics, _ := call(t, "GET", url+"/metrics", nil)
	var count, sum float64
	for _, line := range strings.Split(string(metrics), "\n") {
		fmt.Sscanf(line, `strata_serve_batch_size_count{model="digits"} %g`, &count)
		fmt.Sscanf(line, `strata_serve_batch_size_sum{model="digits"} %g`, &sum)
	}
	if int(sum) != samples || count >= clients*each {
		t.Errorf("%g samples in %g batches: want %d samples in fewer than %d batches", sum, count, samples, clients*each)
	}
}

func TestOverloadAndTimeout(t *testing.T) {
	g := newGate()
	_, url, _ := start(t, Options{MaxQueue: 1, MaxBatch: 1, Timeout: 2 * time.Second}, gated(g))
	g.armed.Store(true)
	body := `{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1,2]}]}`
	codes := make(chan int, 3)
	go func() { c, _, _ := call(t, "POST", url+"/v2/models/slow/infer", body); codes <- c }()
	<-g.entered // the worker is busy with the first
	go func() { c, _, _ := call(t, "POST", url+"/v2/models/slow/infer", body); codes <- c }()
	time.Sleep(50 * time.Millisecond) // the second waits in the queue
	t0 := time.Now()
	code, b, h := call(t, "POST", url+"/v2/models/slow/infer", body)
	if code != 503 || !strings.Contains(string(b), "queue full") || h.Get("Retry-After") == "" || time.Since(t0) > time.Second {
		t.Errorf("overload: %d %s after %v", code, b, time.Since(t0))
	}
	// The two accepted requests time out while the worker stays blocked.
	for range 2 {
		if c := <-codes; c != 503 {
			t.Errorf("timed-out request: %d, want 503", c)
		}
	}
	close(g.release)
}

func TestShutdownDrains(t *testing.T) {
	g := newGate()
	s, url, hs := start(t, Options{}, gated(g))
	g.armed.Store(true)
	done := make(chan string, 1)
	go func() {
		code, b, _ := call(t, "POST", url+"/v2/models/slow/infer", `{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[3,4]}]}`)
		done <- fmt.Sprint(code, " ", string(b))
	}()
	<-g.entered
	s.SetDraining()
	if code, _, _ := call(t, "GET", url+"/v2/health/ready", nil); code != 503 {
		t.Errorf("ready while draining: %d", code)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- hs.Shutdown(context.Background()) }()
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Shutdown returned %v before the in-flight request finished", err)
	default:
	}
	close(g.release)
	if got := <-done; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, "[3,4]") {
		t.Errorf("in-flight request: %s", got)
	}
	if err := <-stopped; err != nil {
		t.Error(err)
	}
	s.Close()
}

func TestToken(t *testing.T) {
	_, url, _ := start(t, Options{Token: "s3cret"}, classifier(t))
	for _, tc := range []struct {
		path, auth string
		code       int
	}{
		{"/v2/health/live", "", 200},
		{"/v2/health/ready", "", 200},
		{"/v2", "", 401},
		{"/v2/models/digits", "Bearer wrong", 401},
		{"/v2/models/digits", "s3cret", 401},
		{"/v2/models/digits", "Bearer s3cret", 200},
		{"/metrics", "", 401},
		{"/metrics", "Bearer s3cret", 200},
	} {
		code, b, h := call(t, "GET", url+tc.path, nil, "Authorization", tc.auth)
		if code != tc.code {
			t.Errorf("%s with %q: %d %s, want %d", tc.path, tc.auth, code, b, tc.code)
		}
		if code == 401 && (!strings.Contains(string(b), `"error":"missing or wrong bearer token"`) || h.Get("WWW-Authenticate") == "") {
			t.Errorf("%s: 401 answer %s", tc.path, b)
		}
	}
}

func TestMetricsAndLogs(t *testing.T) {
	var logs syncBuffer
	_, url, _ := start(t, Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil))}, classifier(t))
	call(t, "POST", url+"/v2/models/digits/infer", `{"inputs":[{"name":"input","shape":[1,2,2,1],"datatype":"FP32","data":[1,2,3,4]}]}`)
	call(t, "POST", url+"/v2/models/digits/infer", `{`)
	call(t, "GET", url+"/v2/models/nope", nil)
	_, m, _ := call(t, "GET", url+"/metrics", nil)
	for _, want := range []string{
		`strata_serve_requests_total{code="200",model="digits"} 1`,
		`strata_serve_requests_total{code="400",model="digits"} 1`,
		`strata_serve_requests_total{code="404",model=""} 1`,
		`strata_serve_request_duration_seconds_count{model="digits"} 2`,
		`strata_serve_batch_size_count{model="digits"} 1`,
		`strata_serve_queue_length{model="digits"} 0`,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	l := logs.String()
	if !strings.Contains(l, `"msg":"request","method":"POST","path":"/v2/models/digits/infer","model":"digits","status":400`) {
		t.Errorf("logs:\n%s", l)
	}
}

func TestNewErrors(t *testing.T) {
	m := classifier(t)
	for _, tc := range []struct {
		name string
		edit func(*Model)
		want string
	}{
		{"name", func(m *Model) { m.Name = "../x" }, "model name"},
		{"shape", func(m *Model) { m.InputShape = []int{0} }, "positive"},
		{"datatype", func(m *Model) { m.Datatype = "BYTES" }, "datatype"},
		{"classes", func(m *Model) { m.Classes = []string{"a"} }, "1 class names"},
		{"does not run", func(m *Model) { m.InputShape = []int{5} }, "does not run"},
	} {
		c := *m
		tc.edit(&c)
		if s, err := New(Options{}, &c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.want)
			if s != nil {
				s.Close()
			}
		}
	}
	if _, err := New(Options{}, m, m); err == nil || !strings.Contains(err.Error(), "two models") {
		t.Errorf("duplicate: %v", err)
	}
}

func floats(x []float32) string { return string(appendJSONFloats(nil, x)) }

func close32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
