package serve

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// Options are the server's limits and batching. Zero values mean the
// documented defaults.
type Options struct {
	// MaxBatch is the most samples run as one batch [32: on the seed CNN
	// with 64 clients, 16, 32 and 64 cost the same server CPU per image
	// within the noise of the project's machine, and 16 gave the least
	// throughput; see BENCHMARKS.md]. A request with more samples runs
	// alone, in chunks of MaxBatch.
	MaxBatch int
	// MaxDelay is how long a worker waits for more requests after the
	// first of a batch [500µs]; negative: never wait (run whatever is
	// queued).
	MaxDelay time.Duration
	// MaxQueue is the most requests per model being read, decoded or
	// queued for a batch [256]; more are answered 503 at once, before
	// their body is read. Requests in the batches being computed are not
	// counted, so per model at most MaxQueue + Workers × (MaxBatch+1)
	// requests hold memory at once, each at most MaxBodyBytes of body
	// plus its decoded input (at most MaxElements values).
	MaxQueue int
	// Workers is the number of batches of one model computed at once [1];
	// each batch already uses every core through the kernels' pool.
	Workers int
	// MaxBodyBytes limits a request body [32 MiB]; more is answered 413.
	MaxBodyBytes int64
	// MaxElements limits the elements of a request's input [1<<23].
	MaxElements int
	// Timeout bounds a request from arrival to answer [30s]; a request
	// still waiting then is answered 503.
	Timeout time.Duration
	// Token, if not empty, is the bearer token every request except the
	// health checks must carry (Authorization: Bearer TOKEN).
	Token string
	// Logger receives one record per request (nil: none).
	Logger *slog.Logger
	// Registerer receives the metrics (nil: a registry of the server's
	// own, served by Metrics).
	Registerer prometheus.Registerer
}

func (o *Options) defaults() error {
	if o.MaxBatch < 0 || o.MaxQueue < 0 || o.Workers < 0 || o.MaxBodyBytes < 0 || o.MaxElements < 0 || o.Timeout < 0 {
		return fmt.Errorf("serve: negative limit in options %+v", *o)
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.MaxBatch, 32)
	def(&o.MaxQueue, 256)
	def(&o.Workers, 1)
	def(&o.MaxElements, 1<<23)
	if o.MaxDelay == 0 {
		o.MaxDelay = 500 * time.Microsecond
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 32 << 20
	}
	if o.Timeout == 0 {
		o.Timeout = 30 * time.Second
	}
	return nil
}

// Server answers the Open Inference Protocol for a set of models. It is
// an http.Handler for the paths under /v2; Metrics serves /metrics.
type Server struct {
	opts     Options
	models   map[string]*served
	names    []string
	mux      *http.ServeMux
	metrics  *metrics
	gatherer prometheus.Gatherer
	draining atomic.Bool
	decoding chan struct{} // semaphore: requests being read and decoded
}

// served is a model with its batcher.
type served struct {
	*Model
	outShape    []int // per sample
	per         int
	batcher     *batcher
	outNames    []string     // Model.outputNames
	defaultOuts []wantOutput // the outputs of a request that names none and has no parameters
}

// New checks the models, runs each once on a zero input to learn its
// output shape, and starts their batching workers. Call Close to stop
// them.
func New(opts Options, models ...*Model) (*Server, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	if len(models) == 0 {
		return nil, errors.New("serve: no models")
	}
	s := &Server{opts: opts, models: map[string]*served{}, decoding: make(chan struct{}, runtime.GOMAXPROCS(0))}
	reg := opts.Registerer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, s.gatherer = r, r
	} else if g, ok := reg.(prometheus.Gatherer); ok {
		s.gatherer = g
	}
	s.metrics = newMetrics()
	for _, m := range models {
		if err := m.check(); err != nil {
			s.Close()
			return nil, err
		}
		if _, dup := s.models[m.Name]; dup {
			s.Close()
			return nil, fmt.Errorf("serve: two models named %q", m.Name)
		}
		sm, err := s.start(m)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.models[m.Name] = sm
		s.names = append(s.names, m.Name)
	}
	sort.Strings(s.names)
	if err := s.metrics.register(reg, s); err != nil {
		s.Close()
		return nil, err
	}
	s.routes()
	return s, nil
}

// start probes m's output shape and starts its batcher.
func (s *Server) start(m *Model) (*served, error) {
	per := tensor.Numel(m.InputShape)
	y, err := train.Predict(context.Background(), m.Net, tensor.Zeros(append([]int{1}, m.InputShape...)...), 1)
	if err != nil {
		return nil, fmt.Errorf("serve: model %q does not run on an input of shape %v: %w", m.Name, append([]int{1}, m.InputShape...), err)
	}
	out := y.Shape()[1:]
	if len(m.Classes) > 0 && (len(out) != 1 || out[0] != len(m.Classes)) {
		return nil, fmt.Errorf("serve: model %q has %d class names but its output per sample is %v", m.Name, len(m.Classes), out)
	}
	sm := &served{Model: m, outShape: out, per: per, outNames: m.outputNames()}
	for _, name := range sm.outNames {
		sm.defaultOuts = append(sm.defaultOuts, wantOutput{name: name})
	}
	sm.batcher = newBatcher(m, per, tensor.Numel(out), s.opts, s.metrics.observeBatch(m.Name))
	return sm, nil
}

// Close stops the batching workers after the queued requests are done.
// Stop the HTTP server first (http.Server.Shutdown) so that no request
// arrives afterwards; those that do are answered 503.
func (s *Server) Close() {
	s.draining.Store(true)
	for _, m := range s.models {
		m.batcher.close()
	}
}

// SetDraining marks the server not ready (GET /v2/health/ready answers
// 503) while it keeps answering requests, so that a load balancer stops
// sending new ones before shutdown.
func (s *Server) SetDraining() { s.draining.Store(true) }

// HTTPServer returns an http.Server for addr with this handler under
// /v2, the metrics at /metrics, and read, write and idle timeouts
// derived from the request timeout.
func (s *Server) HTTPServer(addr string) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("/", s)
	mux.Handle("/metrics", s.Metrics())
	return &http.Server{
		Addr:              addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.opts.Timeout,
		WriteTimeout:      s.opts.Timeout + 5*time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// ServeHTTP answers the protocol's requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w, code: http.StatusOK}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log(slog.LevelError, "panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeError(rec, http.StatusInternalServerError, "internal error")
			}
		}
		model := rec.model
		s.metrics.request(model, rec.code, time.Since(start))
		if s.opts.Logger == nil {
			return // (the arguments below cost allocations even unlogged)
		}
		s.log(slog.LevelInfo, "request", "method", r.Method, "path", r.URL.Path, "model", model,
			"status", rec.code, "bytes", rec.bytes, "ms", float64(time.Since(start).Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	if s.opts.Token != "" && !strings.HasPrefix(r.URL.Path, "/v2/health/") && !s.authorized(r) {
		rec.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
		writeError(rec, http.StatusUnauthorized, "missing or wrong bearer token")
		return
	}
	s.mux.ServeHTTP(rec, r)
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.opts.Token)) == 1
}

func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.opts.Logger != nil {
		s.opts.Logger.Log(context.Background(), level, msg, args...)
	}
}

func (s *Server) routes() {
	mux := http.NewServeMux()
	get := func(path string, h http.HandlerFunc) {
		mux.HandleFunc("GET "+path, h)
		mux.HandleFunc(path, methodNotAllowed("GET"))
	}
	get("/v2/health/live", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	get("/v2/health/ready", s.ready)
	get("/v2", s.serverMetadata)
	get("/v2/{$}", s.serverMetadata) // where a mux with only "/v2/" redirects GET /v2
	for _, p := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		get(p, s.withModel(s.modelMetadata))
		get(p+"/ready", s.withModel(s.modelReady))
		mux.HandleFunc("POST "+p+"/infer", s.withModel(s.infer))
		mux.HandleFunc(p+"/infer", methodNotAllowed("POST"))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no endpoint %s", r.URL.Path))
	})
	s.mux = mux
}

func methodNotAllowed(allow string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, allow))
	}
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeError(w, http.StatusServiceUnavailable, errClosed.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"name":       "strata",
		"version":    version(),
		"extensions": []string{"binary_tensor_data", "classification"},
		"models":     s.names,
	})
}

// withModel resolves {name} (and {version}) or answers 404.
func (s *Server) withModel(h func(http.ResponseWriter, *http.Request, *served)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		m, ok := s.models[name]
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown model %q (models: %s)", name, strings.Join(s.names, ", ")))
			return
		}
		if v := r.PathValue("version"); v != "" && v != m.Version {
			writeError(w, http.StatusNotFound, fmt.Sprintf("model %q has no version %q (versions: %s)", name, v, m.Version))
			return
		}
		if rec, ok := w.(*recorder); ok {
			rec.model = name
		}
		h(w, r, m)
	}
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request, m *served) {
	writeJSON(w, http.StatusOK, m.metadata(m.outShape))
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request, m *served) {
	s.ready(w, r)
}

// version is the module version of the running binary.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// recorder notes what a handler answered, for logs and metrics.
type recorder struct {
	http.ResponseWriter
	code  int
	bytes int
	wrote bool
	model string
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.code, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// drain reads what is left of a body so the connection can be reused.
func drain(r io.Reader) { io.Copy(io.Discard, io.LimitReader(r, 1<<20)) }
