package train

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// Average keeps an exponential moving average of a network's weights —
// trainable ones and the others, such as batch-normalization statistics —
// in a second network of the same architecture (Polyak averaging, as
// Keras optimizers' use_ema; the averaged generator of GAN training,
// Yazıcı et al. 2019, https://arxiv.org/abs/1806.04498). The average is
// the network to evaluate, sample from and ship: it smooths out the noise
// of the last steps of training. A nil *Average averages nothing: its
// methods do nothing, so a trainer can hold one whether or not it averages.
type Average struct {
	decay     float32
	shadow    nn.Layer
	live, avg []*tensor.Tensor
	updates   int
}

// NewAverage starts an average of live's weights with the given decay in
// (0, 1) (e.g. 0.999) held in shadow, a built network of the same
// architecture, into which it copies live's weights (the average before the
// first Update). It returns an error
// for a decay out of range or networks whose weights differ in number or
// shape.
func NewAverage(live, shadow nn.Layer, decay float32) (*Average, error) {
	if !(decay > 0 && decay < 1) {
		return nil, fmt.Errorf("train: average decay %v must be in (0, 1)", decay)
	}
	lw, sw := nn.AllWeights(live), nn.AllWeights(shadow)
	if len(lw) != len(sw) || len(lw) == 0 {
		return nil, errors.New("train: the averaged network must be built with the architecture of the trained one")
	}
	a := &Average{decay: decay, shadow: shadow}
	for i := range lw {
		l, s := lw[i].Var.Value, sw[i].Var.Value
		if lw[i].Path != sw[i].Path || !tensor.SameShape(l, s) {
			return nil, fmt.Errorf("train: averaged weight %s %v does not match %s %v", sw[i].Path, s.Shape(), lw[i].Path, l.Shape())
		}
		copy(s.Data(), l.Data())
		a.live, a.avg = append(a.live, l), append(a.avg, s)
	}
	return a, nil
}

// Update folds the trained network's current weights w into the average,
// after an optimizer step. It is the bias-corrected moving average (as
// Adam's moments): with decay β and u updates so far, this one included,
//
//	avg_u = Σ_{i≤u} (1 − β)·β^(u−i)·w_i / (1 − β^u)
//	      = d·avg_{u−1} + (1 − d)·w_u,   d = 1 − (1 − β)/(1 − β^u)
//
// so the first update takes w as it is, the weights before training carry
// no weight, and later ones average over about the last 1/(1 − β) steps.
func (a *Average) Update() {
	if a == nil {
		return
	}
	a.updates++
	b := float64(a.decay)
	d := float32(1 - (1-b)/(1-math.Pow(b, float64(a.updates))))
	for i, w := range a.live {
		avg := a.avg[i].Data()
		for j, v := range w.Data()[:len(avg)] {
			avg[j] = d*avg[j] + (1-d)*v
		}
	}
}

// Network returns the network that holds the average.
func (a *Average) Network() nn.Layer { return a.shadow }

// State appends the averaged weights, named prefix + path, to out and
// records the update count in meta as prefix + "updates", for a training
// checkpoint.
func (a *Average) State(prefix string, out []checkpoint.Named, meta map[string]string) []checkpoint.Named {
	if a == nil {
		return out
	}
	meta[prefix+"updates"] = strconv.Itoa(a.updates)
	return append(out, WeightTensors(a.shadow, prefix)...)
}

// LoadState restores what State saved: the averaged weights and the
// update count.
func (a *Average) LoadState(f *checkpoint.File, prefix string) error {
	if a == nil {
		return nil
	}
	if err := LoadWeights(a.shadow, f, prefix); err != nil {
		return fmt.Errorf("averaged weights: %w", err)
	}
	u, err := strconv.Atoi(f.Metadata[prefix+"updates"])
	if err != nil || u < 0 {
		return fmt.Errorf("bad %supdates %q in checkpoint", prefix, f.Metadata[prefix+"updates"])
	}
	a.updates = u
	return nil
}
