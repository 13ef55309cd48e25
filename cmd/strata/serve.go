package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-dl/strata/modelfile"
	runs "github.com/strata-dl/strata/run"
	"github.com/strata-dl/strata/serve"
)

const serveExamples = `  strata serve --model mnist=runs/cnn-20261128-120000
  strata serve --model cnn=model.safetensors --model lenet=runs/lenet-20261128-130000   # modelfile.Save's files too
  strata serve --model mnist=runs/cnn --addr 0.0.0.0:8080 --token-file /run/secrets/strata-token
  curl -s localhost:8080/v2/models/mnist
`

// serveConfig is the command line of strata serve.
type serveConfig struct {
	models    multiFlag
	addr      string
	tokenFile string
	drain     time.Duration
	quiet     bool
	pprof     string
	opts      serve.Options
}

func cmdServe(ctx context.Context, args []string, out io.Writer) error {
	c, err := parseServe(args, out)
	if err != nil {
		return err
	}
	var models []*serve.Model
	for _, spec := range c.models {
		name, path, ok := strings.Cut(spec, "=")
		if !ok || name == "" || path == "" {
			return usagef("--model %q: want NAME=PATH", spec)
		}
		m, err := loadServeModel(name, path)
		if err != nil {
			return fmt.Errorf("model %s: %w", name, err)
		}
		models = append(models, m)
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if !c.quiet {
		c.opts.Logger = logger
	}
	if c.tokenFile != "" {
		b, err := os.ReadFile(c.tokenFile)
		if err != nil {
			return fmt.Errorf("--token-file: %w", err)
		}
		if c.opts.Token = strings.TrimSpace(string(b)); c.opts.Token == "" {
			return usagef("--token-file %s is empty", c.tokenFile)
		}
	}
	srv, err := serve.New(c.opts, models...)
	if err != nil {
		return err
	}
	defer srv.Close()
	return listenAndServe(ctx, srv, c, logger, out)
}

func parseServe(args []string, out io.Writer) (*serveConfig, error) {
	fs := newFlags("serve", "serve --model NAME=PATH [--model NAME=PATH ...] [flags]", serveExamples, out)
	c := &serveConfig{}
	fs.Var(&c.models, "model", "NAME=PATH: serve the run directory or model file PATH as NAME (repeatable)")
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (loopback unless you say otherwise)")
	fs.StringVar(&c.tokenFile, "token-file", "", "file holding a bearer token that every request but the health checks must send")
	fs.DurationVar(&c.drain, "drain-timeout", 30*time.Second, "on SIGTERM, how long in-flight requests may take to finish")
	fs.BoolVar(&c.quiet, "quiet", false, "no request logs on stderr")
	fs.StringVar(&c.pprof, "pprof", "", "also serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060 (for profiling the server under load)")
	fs.IntVar(&c.opts.MaxBatch, "max-batch", 32, "most samples run as one batch")
	fs.DurationVar(&c.opts.MaxDelay, "max-delay", 500*time.Microsecond, "how long a part-full batch waits for requests still being decoded (0: never)")
	fs.IntVar(&c.opts.MaxQueue, "max-queue", 256, "most requests waiting per model (decoding or queued); more are answered 503 at once")
	fs.IntVar(&c.opts.Workers, "workers", 1, "batches of one model computed at once")
	fs.DurationVar(&c.opts.Timeout, "timeout", 30*time.Second, "per-request time limit (also the server's read timeout)")
	fs.Int64Var(&c.opts.MaxBodyBytes, "max-body", 32<<20, "largest request body in bytes")
	fs.IntVar(&c.opts.MaxElements, "max-elements", 1<<23, "largest input of one request in elements")
	if err := parse(fs, args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q (models are given with --model NAME=PATH)", fs.Arg(0))
	}
	if len(c.models) == 0 {
		return nil, usagef("give at least one --model NAME=PATH")
	}
	for _, n := range []struct {
		name string
		v    int64
	}{{"max-batch", int64(c.opts.MaxBatch)}, {"max-queue", int64(c.opts.MaxQueue)}, {"workers", int64(c.opts.Workers)},
		{"max-body", c.opts.MaxBodyBytes}, {"max-elements", int64(c.opts.MaxElements)}, {"timeout", int64(c.opts.Timeout)}} {
		if n.v <= 0 {
			return nil, usagef("--%s must be positive", n.name)
		}
	}
	if c.opts.MaxDelay == 0 {
		c.opts.MaxDelay = -1 // the flag's 0 means no wait; the library's zero means its default
	}
	return c, nil
}

// listenAndServe serves until ctx ends (SIGINT, SIGTERM), then stops
// accepting, lets in-flight requests finish and returns nil.
func listenAndServe(ctx context.Context, srv *serve.Server, c *serveConfig, logger *slog.Logger, out io.Writer) error {
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	if !isLoopback(ln.Addr()) && c.opts.Token == "" {
		logger.Warn("listening beyond this machine without authentication: anyone who reaches " + ln.Addr().String() + " can run the models (give --token-file)")
	}
	hs := srv.HTTPServer(ln.Addr().String())
	if c.pprof != "" {
		if err := servePprof(c.pprof, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "strata serve: listening on http://%s (models: %s)\n", ln.Addr(), strings.Join(c.models, ", "))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing in-flight requests", "drain_timeout", c.drain.String())
	srv.SetDraining()
	dctx, cancel := context.WithTimeout(context.Background(), c.drain)
	defer cancel()
	if err := hs.Shutdown(dctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(out, "strata serve: stopped")
	return nil
}

func isLoopback(a net.Addr) bool {
	t, ok := a.(*net.TCPAddr)
	return ok && t.IP.IsLoopback()
}

// loadServeModel loads a run directory, a model file (modelfile.Load:
// strata train's, modelfile.Save's or an older build's) or an ONNX file
// (loadServeONNX) as a served
// model: its input shape, class names and standardizer come from the
// file's Meta; a text model (with a vocabulary) takes INT64 token ids.
func loadServeModel(name, path string) (*serve.Model, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		path = filepath.Join(path, runs.ModelFile)
	}
	if isONNX(path) {
		return loadServeONNX(name, path)
	}
	mf, err := modelfile.Load(path)
	if err != nil {
		return nil, err
	}
	m, err := serve.FromModelFile(name, mf)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// servePprof serves net/http/pprof's handlers on addr until the process
// ends (a separate listener: the profiler is never on the API's address).
func servePprof(addr string, logger *slog.Logger) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("--pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.Serve(ln, mux); err != nil {
			logger.Error("pprof listener stopped", "error", err.Error())
		}
	}()
	return nil
}
