package serve

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the server's Prometheus collectors.
type metrics struct {
	requests  *prometheus.CounterVec   // by model and code
	latency   *prometheus.HistogramVec // by model
	batchSize *prometheus.HistogramVec // by model
	batchTime *prometheus.HistogramVec // by model
	// ok caches, per model, the collectors of a 200 answer (looked up
	// once, not per request); filled before the server answers.
	ok map[string]okMetrics
}

type okMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_serve_requests_total",
			Help: "HTTP requests answered, by model (empty for other endpoints) and status code.",
		}, []string{"model", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_serve_request_duration_seconds",
			Help:    "Time from a request's arrival to its answer, by model.",
			Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16), // 0.2 ms .. 6.5 s
		}, []string{"model"}),
		batchSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_serve_batch_size",
			Help:    "Samples per batch run through the network, by model.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 10), // 1 .. 512
		}, []string{"model"}),
		batchTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "strata_serve_batch_duration_seconds",
			Help:    "Time to run one batch through the network, by model.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"model"}),
	}
}

// register adds the collectors and one queue-length gauge per model.
func (m *metrics) register(reg prometheus.Registerer, s *Server) error {
	cs := []prometheus.Collector{m.requests, m.latency, m.batchSize, m.batchTime}
	m.ok = map[string]okMetrics{}
	for _, name := range s.names {
		m.ok[name] = okMetrics{m.requests.WithLabelValues(name, "200"), m.latency.WithLabelValues(name)}
		b := s.models[name].batcher
		cs = append(cs, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "strata_serve_queue_length",
			Help:        "Requests waiting for a batch, by model.",
			ConstLabels: prometheus.Labels{"model": name},
		}, func() float64 { return float64(len(b.queue)) }))
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *metrics) request(model string, code int, d time.Duration) {
	if o, ok := m.ok[model]; ok && code == http.StatusOK {
		o.requests.Inc()
		o.latency.Observe(d.Seconds())
		return
	}
	m.requests.WithLabelValues(model, strconv.Itoa(code)).Inc()
	if model != "" {
		m.latency.WithLabelValues(model).Observe(d.Seconds())
	}
}

func (m *metrics) observeBatch(model string) func(int, time.Duration) {
	size, dur := m.batchSize.WithLabelValues(model), m.batchTime.WithLabelValues(model)
	return func(rows int, d time.Duration) {
		size.Observe(float64(rows))
		dur.Observe(d.Seconds())
	}
}

// Metrics serves the server's metrics in the Prometheus text format (the
// registry given in Options, or the server's own). It is protected by the
// bearer token like the other endpoints.
func (s *Server) Metrics() http.Handler {
	var h http.Handler = http.NotFoundHandler()
	if s.gatherer != nil {
		h = promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{})
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Token != "" && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="strata"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}
