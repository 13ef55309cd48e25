package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
)

// classifier returns a built Flatten → Dense(3, softmax) on [2, 2, 1].
func classifier(t testing.TB) *Model {
	net := &nn.Sequential{Layers: []nn.Layer{&nn.Flatten{}, &nn.Dense{Units: 3, Activation: "softmax"}}}
	if _, err := nn.Build(net, []int{2, 2, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	return &Model{Name: "digits", Net: net, InputShape: []int{2, 2, 1}, Classes: []string{"zero", "one", "two"}}
}

// tokens returns a built Embedding → Flatten → Dense(2) over 3 INT32 ids.
func tokens(t testing.TB) *Model {
	net := &nn.Sequential{Layers: []nn.Layer{&nn.Embedding{InputDim: 10, OutputDim: 2}, &nn.Flatten{}, &nn.Dense{Units: 2}}}
	if _, err := nn.Build(net, []int{3}, rand.New(rand.NewPCG(3, 4))); err != nil {
		t.Fatal(err)
	}
	return &Model{Name: "tokens", Net: net, InputShape: []int{3}, Datatype: "INT32"}
}

// gate is a layer that, once armed, blocks each forward pass until
// release is closed.
type gate struct {
	armed   atomic.Bool
	entered chan struct{}
	release chan struct{}
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}, 1000), release: make(chan struct{})}
}

func (g *gate) Forward(c *nn.Ctx, x *autograd.Var) *autograd.Var {
	if g.armed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return x
}

// gated returns a model over g with input [2].
func gated(g *gate) *Model { return &Model{Name: "slow", Net: g, InputShape: []int{2}} }

// gatedClassifier is classifier with a gate in front.
func gatedClassifier(t testing.TB, g *gate) *Model {
	m := classifier(t)
	m.Net = &nn.Sequential{Layers: []nn.Layer{g, m.Net}}
	return m
}

// start runs a server for models on a real listener on 127.0.0.1 and
// returns its base URL; the server stops with the test.
func start(t testing.TB, o Options, models ...*Model) (*Server, string, *http.Server) {
	t.Helper()
	s, err := New(o, models...)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := s.HTTPServer(ln.Addr().String())
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
		s.Close()
	})
	return s, "http://" + ln.Addr().String(), hs
}

// call sends a request and returns the status and body.
func call(t testing.TB, method, url string, body any, header ...string) (int, []byte, http.Header) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = bytes.NewReader([]byte(b))
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out, resp.Header
}

// answer is a decoded inference answer.
type answer struct {
	ModelName    string `json:"model_name"`
	ModelVersion string `json:"model_version"`
	ID           string `json:"id"`
	Outputs      []struct {
		Name       string          `json:"name"`
		Datatype   string          `json:"datatype"`
		Shape      []int           `json:"shape"`
		Data       json.RawMessage `json:"data"`
		Parameters map[string]any  `json:"parameters"`
	} `json:"outputs"`
	Error string `json:"error"`
}

func decode(t testing.TB, b []byte) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("answer %s: %v", b, err)
	}
	return a
}
