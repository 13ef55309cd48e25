package train

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
)

// Metered is implemented by trainers whose step updates stateful metrics
// (Model, with its compiled metrics): Fit resets them at the start of each
// epoch, logs their Result after every step next to the running means of
// what the step returns, and keeps their state in checkpoints (for the
// metrics.Resumable ones), so that an epoch resumed in its middle logs
// what an uninterrupted one would. Evaluate resets and reads them the same
// way.
type Metered interface {
	EpochMetrics() []metrics.Metric
}

// Resetter is implemented by trainers that want to know when an epoch of
// training or an evaluation starts (a VAE reseeds its evaluation noise
// there). Fit and Evaluate call ResetMetrics first.
type Resetter interface {
	ResetMetrics()
}

// IsLoss reports whether a log key names a loss, which Fit watches for
// divergence: "loss" and keys ending in "_loss" ("d_loss", "g_loss").
func IsLoss(key string) bool { return key == "loss" || strings.HasSuffix(key, "_loss") }

// Means are the running means over an epoch of the values steps return,
// each weighted by its batch's sample count: Σ nᵦ·vᵦ / Σ nᵦ. They are part
// of a training checkpoint, so that a resumed epoch reports the means of
// all its batches, not only of those after the resume.
type Means struct {
	keys []string
	sum  map[string][2]float64 // key → [Σ n·v, Σ n]
}

// Add folds one step's values, from a batch of n samples, into the means.
func (m *Means) Add(logs Logs, n float64) {
	if m.sum == nil {
		m.sum = map[string][2]float64{}
	}
	for k, v := range logs {
		s, ok := m.sum[k]
		if !ok {
			m.keys = append(m.keys, k)
		}
		m.sum[k] = [2]float64{s[0] + v*n, s[1] + n}
	}
}

// Logs returns the means so far (nil before any Add).
func (m *Means) Logs() Logs {
	if len(m.keys) == 0 {
		return nil
	}
	out := make(Logs, len(m.keys))
	for _, k := range m.keys {
		s := m.sum[k]
		out[k] = 0
		if s[1] != 0 {
			out[k] = s[0] / s[1]
		}
	}
	return out
}

// clone returns a copy that shares nothing with m.
func (m *Means) clone() Means {
	c := Means{keys: append([]string(nil), m.keys...)}
	if m.sum != nil {
		c.sum = make(map[string][2]float64, len(m.sum))
		for k, v := range m.sum {
			c.sum[k] = v
		}
	}
	return c
}

// Reset empties the means.
func (m *Means) Reset() { m.keys, m.sum = nil, nil }

// MarshalJSON writes the sums exactly: {"key": [Σ n·v, Σ n], ...}.
func (m *Means) MarshalJSON() ([]byte, error) {
	if m.sum == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(m.sum)
}

// UnmarshalJSON restores what MarshalJSON wrote.
func (m *Means) UnmarshalJSON(b []byte) error {
	var s map[string][2]float64
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	m.Reset()
	for k := range s {
		m.keys = append(m.keys, k)
	}
	sort.Strings(m.keys)
	if len(s) > 0 {
		m.sum = s
	}
	return nil
}

// DivergenceError reports a loss that stayed finite but grew past
// DivergenceFactor times its first value in the run: training is lost as
// surely as with a NaN, only later.
type DivergenceError struct {
	Epoch, Batch int     // 1-based epoch, 0-based batch
	Key          string  // the log key ("loss", "d_loss")
	Value, First float64 // the value now and at the first step
}

func (e *DivergenceError) Error() string {
	return fmt.Sprintf("%s grew to %v, over %g times its first value %v, at epoch %d, batch %d: training diverged (lower the learning rate)",
		e.Key, e.Value, DivergenceFactor, e.First, e.Epoch, e.Batch)
}

// guard is Fit's check of what a step returns: NaN and infinite values
// and losses that diverge, the same way for every trainer.
type guard struct {
	first map[string]float64 // the scale of each loss: |first value|, at least 1
}

// check returns a *NaNError for a NaN or infinite value (a loss first) and
// a *DivergenceError for a loss past DivergenceFactor times its first
// value.
func (g *guard) check(logs Logs, epoch, batch int) error {
	keys := logs.Keys()
	for _, k := range keys {
		if v := logs[k]; math.IsNaN(v) || math.IsInf(v, 0) {
			return &NaNError{Epoch: epoch, Batch: batch, Key: k, Value: v}
		}
	}
	if g.first == nil {
		g.first = map[string]float64{}
	}
	for _, k := range keys {
		if !IsLoss(k) {
			continue
		}
		v := logs[k]
		first, ok := g.first[k]
		if !ok {
			g.first[k] = math.Max(math.Abs(v), 1)
			continue
		}
		if math.Abs(v) > DivergenceFactor*first {
			return &DivergenceError{Epoch: epoch, Batch: batch, Key: k, Value: v, First: first}
		}
	}
	return nil
}

// runStep calls step on b and turns a shape panic inside it (a layer given
// the wrong shape) into the error it carries, which names the layer; other
// panics propagate.
func runStep(step func(*data.Batch) (Logs, error), b *data.Batch) (logs Logs, err error) {
	defer recoverShape(&err)
	return step(b)
}

// metered returns t's stateful metrics (nil when it has none).
func metered(t any) []metrics.Metric {
	if m, ok := t.(Metered); ok {
		return m.EpochMetrics()
	}
	return nil
}

// resetEpoch starts a new epoch or evaluation for t: its Resetter hook and
// its metrics.
func resetEpoch(t any) {
	if r, ok := t.(Resetter); ok {
		r.ResetMetrics()
	}
	for _, m := range metered(t) {
		m.Reset()
	}
}

// epochLogs returns the running means merged with the results of t's
// stateful metrics.
func epochLogs(means *Means, t any) Logs {
	logs := means.Logs()
	ms := metered(t)
	if logs == nil {
		logs = make(Logs, len(ms))
	}
	for _, m := range ms {
		logs[m.Name()] = m.Result()
	}
	return logs
}

// batchSize returns the number of samples in b (1 when it cannot tell).
func batchSize(b *data.Batch) float64 {
	if b == nil || b.X == nil || b.X.Rank() == 0 {
		return 1
	}
	return float64(b.X.Dim(0))
}

func recoverShape(err *error) {
	if r := recover(); r != nil {
		*err = nn.AsError(r)
	}
}
