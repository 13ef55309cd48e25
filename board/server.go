package board

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultAddr is the address that Serve listens on when it is given none.
const DefaultAddr = "127.0.0.1:6006"

// Limits on what a request may ask for and on what the server reads.
const (
	maxURLLength   = 2 << 10  // bytes of the request URI
	maxHeaderBytes = 16 << 10 // bytes of the request line and headers
	maxJSONFile    = 4 << 20  // config.json, results.json
	maxSummaryFile = 1 << 20  // summary.txt
	maxLineBytes   = 1 << 20  // one metrics.jsonl line; longer lines are skipped
	maxLinesPage   = 20000    // metrics lines in one scalars answer
	maxPageBytes   = 8 << 20  // bytes of metrics lines in one scalars answer
	maxRuns        = 1000     // runs listed
	maxImages      = 5000     // images listed per run
	maxImageDepth  = 4        // directory levels searched for images
	shutdownGrace  = 5 * time.Second
)

//go:embed static
var staticFiles embed.FS

// Options configures a Server. The zero value means the documented defaults;
// the struct marshals to JSON like the other option structs of Strata.
type Options struct {
	// PollInterval is how often the page asks the server for new data.
	// Zero means 2 s; values below 100 ms are raised to 100 ms.
	PollInterval time.Duration `json:"poll_interval,omitempty"`

	// AnyHost turns off the Host header check that protects a loopback
	// server from DNS rebinding (the Host must then be localhost, a name
	// under .localhost, or an IP address). Serve turns it off by itself when
	// it listens on a non-loopback address.
	AnyHost bool `json:"any_host,omitempty"`

	// Logf receives the URL of the page and the messages of the server.
	// Nil means log.Printf.
	Logf func(format string, args ...any) `json:"-"`

	// Ready, when set, is called by Serve with the URL of the page once the
	// server listens, for example to open a browser or, in tests, to learn the
	// port of the address "127.0.0.1:0".
	Ready func(url string) `json:"-"`
}

func (o Options) pollInterval() time.Duration {
	switch {
	case o.PollInterval == 0:
		return 2 * time.Second
	case o.PollInterval < 100*time.Millisecond:
		return 100 * time.Millisecond
	}
	return o.PollInterval
}

func (o Options) logf(format string, args ...any) {
	if o.Logf != nil {
		o.Logf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// Server is the dashboard of one log directory. It reads the run directories
// on every request, so runs that appear, grow or finish show up without a
// restart. A Server is safe for concurrent use.
type Server struct {
	logdir string
	root   *os.Root
	opts   Options
	h      http.Handler

	mu   sync.Mutex
	runs map[string]*runCache // by run name
}

// New returns a Server for the runs under logdir, which must be an existing
// directory. Close releases the directory.
func New(logdir string, opts Options) (*Server, error) {
	fi, err := os.Stat(logdir)
	if err != nil {
		return nil, fmt.Errorf("board: log directory: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("board: log directory %s is not a directory", logdir)
	}
	root, err := os.OpenRoot(logdir)
	if err != nil {
		return nil, fmt.Errorf("board: log directory: %w", err)
	}
	s := &Server{logdir: logdir, root: root, opts: opts, runs: map[string]*runCache{}}
	s.h = s.routes()
	return s, nil
}

// Close releases the log directory. The handler must not be used afterwards.
func (s *Server) Close() error { return s.root.Close() }

// Handler returns the HTTP handler of the dashboard: the page, its assets, the
// JSON API and the run files (see the package documentation for the routes).
// It enforces the request limits itself, so it can be mounted in another
// server; set that server's timeouts and MaxHeaderBytes as Serve does.
func (s *Server) Handler() http.Handler { return s.h }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	mux.HandleFunc("GET /static/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		if name == "index.html" || !fs.ValidPath(name) {
			httpError(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, name)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /api/runs", s.handleRuns)
	mux.HandleFunc("GET /api/runs/{run}/scalars", s.handleScalars)
	mux.HandleFunc("GET /api/runs/{run}/images", s.handleImages)
	mux.HandleFunc("GET /api/runs/{run}/summary", s.handleSummary)
	mux.HandleFunc("GET /files/{run}/{path...}", s.handleFile)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		httpError(w, http.StatusNotFound, "not found")
	})
	return s.guard(mux)
}

// contentSecurityPolicy allows the page its own scripts, styles, images and
// API calls and nothing else: no inline script, no other origin, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// guard sets the security headers and refuses what the dashboard never needs:
// methods other than GET and HEAD, request bodies, long URLs, foreign Host
// headers and paths with dot segments, backslashes or NUL bytes.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cross-Origin-Resource-Policy", "same-origin")

		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			h.Set("Allow", "GET, HEAD")
			httpError(w, http.StatusMethodNotAllowed, "method not allowed")
		case len(r.RequestURI) > maxURLLength || len(r.URL.RawQuery) > maxURLLength:
			httpError(w, http.StatusRequestURITooLong, "URL too long")
		case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
			// A GET carries no body; one that does is refused unread.
			w.Header().Set("Connection", "close")
			httpError(w, http.StatusRequestEntityTooLarge, "request body not accepted")
		case !s.opts.AnyHost && !localHost(r.Host):
			httpError(w, http.StatusForbidden, "host not allowed")
		case badPath(r.URL.Path):
			httpError(w, http.StatusBadRequest, "bad path")
		default:
			r.Body = http.MaxBytesReader(w, r.Body, 0)
			next.ServeHTTP(w, r)
		}
	})
}

// badPath reports whether the decoded URL path has an empty, "." or ".."
// element, a backslash or a control character. The mux would redirect dot
// segments to a cleaned path; the dashboard refuses them instead.
func badPath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') {
		return true
	}
	for _, c := range []byte(p) {
		if c < 0x20 || c == 0x7f {
			return true
		}
	}
	elems := strings.Split(p[1:], "/")
	for i, e := range elems {
		if e == "." || e == ".." || (e == "" && i != len(elems)-1) {
			return true
		}
	}
	return false
}

// localHost reports whether the Host header names this machine in a way that
// a rebinding DNS name cannot: localhost, a name under .localhost, or an IP
// address. An empty Host (HTTP/1.0) is allowed.
func localHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	return net.ParseIP(host) != nil
}

// newHTTPServer returns the http.Server that Serve runs, with its limits.
func (s *Server) newHTTPServer() *http.Server {
	return &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(logWriter{s.opts}, "", 0),
	}
}

type logWriter struct{ opts Options }

func (w logWriter) Write(p []byte) (int, error) {
	w.opts.logf("board: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Serve serves the dashboard of logdir on addr (DefaultAddr when empty) until
// ctx is cancelled, then shuts down gracefully, giving requests in flight a
// few seconds, and returns nil. It reports the URL of the page through
// opts.Logf and opts.Ready once it listens.
//
// A non-loopback addr exposes every run under logdir to the network without
// authentication; Serve says so through opts.Logf and accepts any Host header
// there. Serve returns an error when it cannot listen or the server fails.
func Serve(ctx context.Context, logdir, addr string, opts Options) error {
	if addr == "" {
		addr = DefaultAddr
	}
	loopback := isLoopbackAddr(addr)
	if !loopback {
		opts.AnyHost = true
	}
	s, err := New(logdir, opts)
	if err != nil {
		return err
	}
	defer s.Close()

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("board: %w", err)
	}
	srv := s.newHTTPServer()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	url := pageURL(ln.Addr())
	opts.logf("strata board: serving %s at %s", logdir, url)
	if !loopback {
		opts.logf("strata board: warning: %s is not a loopback address; anyone who can reach it can read every run under %s", addr, logdir)
	}
	if opts.Ready != nil {
		opts.Ready(url)
	}

	select {
	case err := <-errc:
		return fmt.Errorf("board: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("board: shutdown: %w", err)
	}
	return nil
}

// isLoopbackAddr reports whether addr listens on loopback only: localhost or a
// loopback IP. An empty host (all interfaces) and other names are not.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pageURL returns the URL of the page for the listener address. An
// unspecified address (all interfaces) is shown as localhost.
func pageURL(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(tcp.Port)) + "/"
}
