package train

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Logs are the named scalars of a step or an epoch ("loss", "accuracy",
// "val_loss", ...).
type Logs map[string]float64

// Keys returns the names in display order: loss first, then the other
// training values alphabetically, then the validation values in the same
// order.
func (l Logs) Keys() []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	rank := func(k string) int {
		r := 0
		if strings.HasPrefix(k, "val_") {
			r, k = 2, k[4:]
		}
		if k != "loss" {
			r++
		}
		return r
	}
	sort.Slice(keys, func(i, j int) bool {
		ri, rj := rank(keys[i]), rank(keys[j])
		if ri != rj {
			return ri < rj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// String formats the logs as Keras does: "loss: 0.0512 - accuracy: 0.9843".
func (l Logs) String() string {
	var parts []string
	for _, k := range l.Keys() {
		parts = append(parts, fmt.Sprintf("%s: %s", k, fmtValue(l[k])))
	}
	return strings.Join(parts, " - ")
}

func fmtValue(v float64) string {
	a := math.Abs(v)
	if a != 0 && (a < 1e-3 || a >= 1e5) {
		return fmt.Sprintf("%.4e", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// Clone returns a copy.
func (l Logs) Clone() Logs {
	out := make(Logs, len(l))
	for k, v := range l {
		out[k] = v
	}
	return out
}

// History holds the per-epoch logs of a training run (Keras's
// History.history): Epochs[i] are the logs of epoch InitialEpoch+i+1.
type History struct {
	Epochs []Logs
}

// Series returns the values of one log key over the epochs (NaN where an
// epoch lacks it).
func (h *History) Series(key string) []float64 {
	out := make([]float64, len(h.Epochs))
	for i, l := range h.Epochs {
		v, ok := l[key]
		if !ok {
			v = math.NaN()
		}
		out[i] = v
	}
	return out
}

// Last returns the logs of the last epoch (nil when there is none).
func (h *History) Last() Logs {
	if h == nil || len(h.Epochs) == 0 {
		return nil
	}
	return h.Epochs[len(h.Epochs)-1]
}
