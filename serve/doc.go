// Package serve is an inference server for Strata models on the Open
// Inference Protocol v2 (the REST protocol of KServe, Triton, Seldon and
// ONNX Runtime's server), with dynamic batching, limits, Prometheus
// metrics and structured request logs.
//
// A Server holds one or more Models (a network with its input shape,
// datatype, class names and preprocessing; how the network was loaded is
// the caller's business) and answers, under a prefix-free "/v2":
//
//	GET  /v2/health/live               200 while the process runs
//	GET  /v2/health/ready              200 when every model is ready, 503 while draining
//	GET  /v2                           server metadata
//	GET  /v2/models/{name}             model metadata (inputs, outputs, shapes)
//	GET  /v2/models/{name}/ready       200 when the model is ready
//	POST /v2/models/{name}/infer       inference (JSON, or the binary tensor extension)
//
// (and the same under /v2/models/{name}/versions/{version}/...). Mount it
// on a program's own mux:
//
//	srv, err := serve.New(serve.Options{}, &serve.Model{Name: "mnist", Net: net, InputShape: []int{28, 28, 1}})
//	mux.Handle("/v2/", srv)
//	mux.Handle("/metrics", srv.Metrics())
//
// An inference request names one input with its shape [n, InputShape...],
// datatype and data (flat or nested arrays, row-major):
//
//	{"id": "42", "inputs": [{"name": "input", "shape": [1, 28, 28, 1], "datatype": "FP32", "data": [0, 0.5, ...]}]}
//
// and the answer holds the outputs (all by default, or those listed in
// "outputs"): "output", the network's output, or for a classifier
// "probabilities" [n, classes] and "class" [n] (INT64, the arg max). A
// request parameter "top_k": k adds "top_k_labels" [n, k] (BYTES, class
// names) and "top_k_probabilities" [n, k]; an output parameter
// "classification": k asks for Triton's classification extension on that
// output ("score:index:label" strings). Output parameter "binary_data":
// true (or request parameter "binary_data_output": true) returns that
// output in the binary tensor extension; binary inputs are read the same
// way (header Inference-Header-Content-Length, input parameter
// "binary_data_size").
//
// Errors are JSON {"error": "..."}: 400 for a bad request (malformed
// JSON, wrong shape or datatype, unknown input or output), 404 for an
// unknown model or path, 405 for a wrong method, 413 for a body over the
// limit, 401 for a missing or wrong bearer token, 503 when the model's
// queue is full, the request timed out or the server is draining. User
// input never causes a 500.
//
// Dynamic batching: concurrent requests for one model wait in a bounded
// queue; a worker takes the first, gathers more until MaxBatch rows or
// MaxDelay has passed, runs them as one batch through a train.Predictor
// and hands each caller its own rows.
//
// A Server is safe for concurrent use. The API reads no files: models are
// given to New by the program.
package serve
