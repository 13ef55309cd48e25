package serve

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/zoo"
)

// mnistBody is a request with one 28×28 image of pixels k/255, as a
// client sends it.
func mnistBody() []byte {
	rng := rand.New(rand.NewPCG(1, 1))
	x := make([]float32, 784)
	for i := range x {
		if rng.IntN(5) == 0 {
			x[i] = float32(rng.IntN(256)) / 255
		}
	}
	return []byte(fmt.Sprintf(`{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":%s}]}`, floats(x)))
}

// BenchmarkParseInfer is the per-request cost of decoding and checking a
// single-image request.
func BenchmarkParseInfer(b *testing.B) {
	s, err := New(Options{}, &Model{Name: "m", Net: &nn.Flatten{}, InputShape: []int{28, 28, 1}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := mnistBody()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	st := &reqState{}
	for b.Loop() {
		st.body.Reset()
		st.body.Write(body)
		if _, err := s.parseInfer("", st, s.models["m"]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInferCNN is one single-image request through the handler and
// the seed CNN (no network, no concurrency).
func BenchmarkInferCNN(b *testing.B) {
	net := zoo.NewCNNNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{MaxDelay: -1}, &Model{Name: "cnn", Net: net, InputShape: []int{28, 28, 1}, Classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	body := mnistBody()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest("POST", "/v2/models/cnn/infer", bytes.NewReader(body)))
		if w.Code != 200 {
			b.Fatal(w.Body.String())
		}
	}
}

// BenchmarkServeLoopback is single-image requests from 64 concurrent
// clients over loopback HTTP to the seed CNN (client and server in this
// process).
func BenchmarkServeLoopback(b *testing.B) {
	net := zoo.NewCNNNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		b.Fatal(err)
	}
	_, url, _ := start(b, Options{}, &Model{Name: "cnn", Net: net, InputShape: []int{28, 28, 1}})
	body := mnistBody()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(benchParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(url+"/v2/models/cnn/infer", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

var benchParallelism = 32
