package serve_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/serve"
)

// A program mounts the server on its own mux, next to its other routes.
func Example() {
	net := &nn.Sequential{Layers: []nn.Layer{&nn.Flatten{}, &nn.Dense{Units: 2, Activation: "softmax"}}}
	if _, err := nn.Build(net, []int{2, 2, 1}, rand.New(rand.NewPCG(1, 2))); err != nil {
		panic(err)
	}
	srv, err := serve.New(serve.Options{}, &serve.Model{
		Name: "toy", Net: net, InputShape: []int{2, 2, 1}, Classes: []string{"cat", "dog"},
	})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	mux := http.NewServeMux()
	mux.Handle("/v2/", srv)
	mux.Handle("/metrics", srv.Metrics())
	ts := httptest.NewServer(mux) // or srv.HTTPServer(addr) with its timeouts
	defer ts.Close()

	body := `{"id": "1", "parameters": {"top_k": 1}, "outputs": [{"name": "class"}],
	          "inputs": [{"name": "input", "shape": [1, 2, 2, 1], "datatype": "FP32", "data": [[[1], [0]], [[0], [1]]]}]}`
	resp, err := http.Post(ts.URL+"/v2/models/toy/infer", "application/json", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode)
	fmt.Println(strings.Split(string(answer), `,{"name":"top_k_probabilities"`)[0])
	// Output:
	// 200
	// {"model_name":"toy","model_version":"1","id":"1","outputs":[{"name":"class","datatype":"INT64","shape":[1],"data":[0]},{"name":"top_k_labels","datatype":"BYTES","shape":[1,1],"data":["cat"]}
}
