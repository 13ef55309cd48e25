package train

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// Stateful is a Trainer that saves and restores its complete state
// (weights, optimizer slots, random sources) itself. Most trainers need
// not: Fit checkpoints a WithParts trainer from the parts it declares, and
// any other trainer from its Network and Optimizers (see PartsOf).
type Stateful interface {
	State() ([]checkpoint.Named, map[string]string, error)
	LoadState(f *checkpoint.File) error
}

// Parts are the pieces of a trainer's state that a checkpoint holds, each
// under the name prefix (or metadata key) that is its map key. SaveParts
// and LoadParts save and restore them, so that a resumed run produces
// bit-identical results at the same thread count.
type Parts struct {
	// Networks' weights, trainable and not, saved as prefix + dotted path
	// ("model/" → "model/dense.kernel").
	Networks map[string]nn.Layer
	// Optimizers' slots, saved as prefix + state name, and their learning
	// rate as metadata prefix + "lr" ("optimizer/").
	Optimizers map[string]optim.Optimizer
	// Averages of weights, saved as prefix + path ("ema/").
	Averages map[string]*Average
	// RNGs are random sources, saved in the metadata ("rng.model").
	RNGs map[string]*rand.PCG
	// Counters are integers, saved in the metadata ("gan.steps").
	Counters map[string]*int
}

// WithParts is implemented by trainers that declare their state as Parts
// (the zoo's GAN and VAE trainers): Fit then saves and restores it.
type WithParts interface {
	Parts() Parts
}

// PartsOf returns what a checkpoint of t holds when t is not Stateful: the
// parts a WithParts trainer declares, else its Network under "model/" and
// its Optimizers under "optimizer/" (one) or "optimizer_1/",
// "optimizer_2/", ... (several), so that a custom trainer with
// Network and Optimizers methods is checkpointed with no code of its own.
// ok is false when t declares nothing to save.
func PartsOf(t Trainer) (p Parts, ok bool) {
	if w, ok := t.(WithParts); ok {
		return w.Parts(), true
	}
	if n, ok := t.(Networked); ok && n.Network() != nil {
		p.Networks = map[string]nn.Layer{"model/": n.Network()}
	}
	if o, ok := t.(WithOptimizers); ok {
		opts := o.Optimizers()
		p.Optimizers = map[string]optim.Optimizer{}
		for i, opt := range opts {
			key := "optimizer/"
			if len(opts) > 1 {
				key = fmt.Sprintf("optimizer_%d/", i+1)
			}
			p.Optimizers[key] = opt
		}
	}
	return p, p.Networks != nil
}

// SaveParts returns the tensors and metadata of p for a checkpoint.
func SaveParts(p Parts) ([]checkpoint.Named, map[string]string, error) {
	var out []checkpoint.Named
	meta := map[string]string{}
	for _, k := range sortedKeys(p.Networks) {
		out = append(out, WeightTensors(p.Networks[k], k)...)
	}
	for _, k := range sortedKeys(p.Optimizers) {
		out = append(out, OptimizerState(p.Optimizers[k], k)...)
		for mk, v := range OptimizerMeta(p.Optimizers[k], k) {
			meta[mk] = v
		}
	}
	for _, k := range sortedKeys(p.Averages) {
		out = p.Averages[k].State(k, out, meta)
	}
	for _, k := range sortedKeys(p.RNGs) {
		s, err := MarshalRNG(p.RNGs[k])
		if err != nil {
			return nil, nil, err
		}
		meta[k] = s
	}
	for _, k := range sortedKeys(p.Counters) {
		meta[k] = strconv.Itoa(*p.Counters[k])
	}
	return out, meta, nil
}

// LoadParts restores p from a checkpoint written with SaveParts. The error
// names the part that does not match.
func LoadParts(p Parts, f *checkpoint.File) error {
	for _, k := range sortedKeys(p.Networks) {
		if err := LoadWeights(p.Networks[k], f, k); err != nil {
			return fmt.Errorf("weights %s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(p.Optimizers) {
		if err := LoadOptimizerState(p.Optimizers[k], f, k); err != nil {
			return fmt.Errorf("optimizer state %s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(p.Averages) {
		if err := p.Averages[k].LoadState(f, k); err != nil {
			return fmt.Errorf("average %s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(p.RNGs) {
		if err := loadRNG(p.RNGs[k], f.Metadata[k]); err != nil {
			return fmt.Errorf("%s: %w", k, err)
		}
	}
	for _, k := range sortedKeys(p.Counters) {
		v, err := strconv.Atoi(f.Metadata[k])
		if err != nil || v < 0 {
			return fmt.Errorf("bad %s %q in checkpoint", k, f.Metadata[k])
		}
		*p.Counters[k] = v
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// trainerState returns t's state through Stateful, else its Parts.
func trainerState(t Trainer) ([]checkpoint.Named, map[string]string, error) {
	if s, ok := t.(Stateful); ok {
		return s.State()
	}
	p, ok := PartsOf(t)
	if !ok {
		return nil, nil, errors.New("train: this trainer cannot be checkpointed (it has no Network, Parts or State method)")
	}
	return SaveParts(p)
}

// Checkpoint is a training checkpoint: the trainer's state plus where the
// loop stands (the next epoch and batch to run), the history so far and,
// for a checkpoint inside an epoch, the epoch's running means and metric
// states, so that the resumed epoch logs what an uninterrupted one would.
type Checkpoint struct {
	File    *checkpoint.File
	Epoch   int // 1-based epoch to run next
	Batch   int // 0-based batch within Epoch to run next
	Steps   int
	History *History
	// Means are the running means of the epoch's steps so far (empty at an
	// epoch boundary).
	Means Means
	// Metrics are the states of the trainer's Resumable metrics by name.
	Metrics map[string][]float64
}

// Restore loads the trainer's state from the checkpoint: through Stateful,
// else its Parts (see PartsOf), then the state of its metrics.
func (c *Checkpoint) Restore(t Trainer) error {
	if s, ok := t.(Stateful); ok {
		if err := s.LoadState(c.File); err != nil {
			return err
		}
	} else if p, ok := PartsOf(t); ok {
		if err := LoadParts(p, c.File); err != nil {
			return err
		}
	} else {
		return errors.New("train: this trainer cannot be resumed (it has no Network, Parts or State method)")
	}
	return c.restoreMetrics(t)
}

// restoreMetrics sets t's Resumable metrics to the checkpoint's states.
func (c *Checkpoint) restoreMetrics(t Trainer) error {
	for _, m := range metered(t) {
		st, ok := c.Metrics[m.Name()]
		r, resumable := m.(metrics.Resumable)
		if !ok || !resumable {
			continue
		}
		if err := r.SetState(st); err != nil {
			return err
		}
	}
	return nil
}

// SaveCheckpoint atomically writes t's state and the loop position (next
// epoch and batch to run) to path as safetensors, with the running means
// of the epoch (nil at an epoch boundary) and the state of t's Resumable
// metrics.
func SaveCheckpoint(path string, t Trainer, epoch, batch int, run *Run) error {
	tensors, meta, err := trainerState(t)
	if err != nil {
		return err
	}
	hist, err := json.Marshal(run.History.Epochs)
	if err != nil {
		return err
	}
	all := map[string]string{
		"format":       "strata.training_state.v1",
		"loop.epoch":   strconv.Itoa(epoch),
		"loop.batch":   strconv.Itoa(batch),
		"loop.steps":   strconv.Itoa(run.Steps),
		"loop.history": string(hist),
		RanksKey:       strconv.Itoa(run.ranks()),
	}
	if batch > 0 {
		means, err := json.Marshal(&run.means)
		if err != nil {
			return err
		}
		all["loop.means"] = string(means)
		st := map[string][]float64{}
		for _, m := range metered(t) {
			if r, ok := m.(metrics.Resumable); ok {
				st[m.Name()] = r.State()
			}
		}
		if b, err := json.Marshal(st); err != nil {
			return err
		} else if len(st) > 0 {
			all["loop.metrics"] = string(b)
		}
	}
	for k, v := range meta {
		all[k] = v
	}
	return checkpoint.SaveSafetensors(path, tensors, all)
}

// LoadCheckpoint reads a training checkpoint written by SaveCheckpoint.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	f, err := checkpoint.LoadSafetensors(path)
	if err != nil {
		return nil, err
	}
	if f.Metadata["format"] != "strata.training_state.v1" {
		return nil, fmt.Errorf("%s: not a strata training checkpoint (metadata format %q)", path, f.Metadata["format"])
	}
	c := &Checkpoint{File: f, History: &History{}}
	for _, p := range []struct {
		key string
		dst *int
	}{{"loop.epoch", &c.Epoch}, {"loop.batch", &c.Batch}, {"loop.steps", &c.Steps}} {
		if *p.dst, err = strconv.Atoi(f.Metadata[p.key]); err != nil {
			return nil, fmt.Errorf("%s: bad %s in metadata: %v", path, p.key, err)
		}
	}
	if err := json.Unmarshal([]byte(f.Metadata["loop.history"]), &c.History.Epochs); err != nil {
		return nil, fmt.Errorf("%s: bad history in metadata: %v", path, err)
	}
	if s, ok := f.Metadata["loop.means"]; ok {
		if err := json.Unmarshal([]byte(s), &c.Means); err != nil {
			return nil, fmt.Errorf("%s: bad loop.means in metadata: %v", path, err)
		}
	}
	if s, ok := f.Metadata["loop.metrics"]; ok {
		if err := json.Unmarshal([]byte(s), &c.Metrics); err != nil {
			return nil, fmt.Errorf("%s: bad loop.metrics in metadata: %v", path, err)
		}
	}
	// The position must be one a run can reach: the loader checks the batch
	// against the epoch's length when the run resumes.
	if c.Epoch < 1 || c.Batch < 0 || c.Steps < 0 {
		return nil, fmt.Errorf("%s: loop position epoch %d, batch %d, step %d is not one a run reaches (edited or damaged metadata)",
			path, c.Epoch, c.Batch, c.Steps)
	}
	return c, nil
}

// SaveWeights atomically writes every weight of net (trainable and not) to
// path as safetensors under its dotted path, with meta in the header
// (conventionally the architecture as JSON, so the file rebuilds the
// model).
func SaveWeights(path string, net nn.Layer, meta map[string]string) error {
	return checkpoint.SaveSafetensors(path, WeightTensors(net, ""), meta)
}

// WeightTensors returns net's weights named prefix + dotted path.
func WeightTensors(net nn.Layer, prefix string) []checkpoint.Named {
	var out []checkpoint.Named
	for _, w := range nn.AllWeights(net) {
		out = append(out, checkpoint.Named{Name: prefix + w.Path, Tensor: w.Var.Value})
	}
	return out
}

// LoadWeights copies the tensors of f named prefix + dotted path into
// net's weights. Names and shapes must match exactly; the error lists
// every missing, unexpected and mis-shaped tensor. An unbuilt network (one
// that owns no weight yet) is a *nn.ConfigError naming its first unbuilt
// layer (see nn.CheckBuilt): build it with its input shape first.
func LoadWeights(net nn.Layer, f *checkpoint.File, prefix string) error {
	if err := nn.CheckBuilt(net); err != nil {
		return err
	}
	return checkpoint.Assign(WeightTensors(net, ""), prefixed(f, prefix))
}

// prefixed returns the tensors of f whose names start with prefix, with
// the prefix removed.
func prefixed(f *checkpoint.File, prefix string) *checkpoint.File {
	out := &checkpoint.File{Tensors: map[string]*tensor.Tensor{}, Metadata: f.Metadata}
	for _, n := range f.Names {
		if rest, ok := strings.CutPrefix(n, prefix); ok {
			out.Names = append(out.Names, rest)
			out.Tensors[rest] = f.Tensors[n]
		}
	}
	return out
}

// OptimizerState converts an optimizer's state to checkpoint tensors named
// prefix + state name.
func OptimizerState(o optim.Optimizer, prefix string) []checkpoint.Named {
	var out []checkpoint.Named
	for _, s := range o.State() {
		out = append(out, checkpoint.Named{Name: prefix + s.Name, Tensor: s.Tensor})
	}
	return out
}

// OptimizerMeta returns the metadata that completes an optimizer's saved
// state: its current learning rate, exact (a callback may have changed
// it), and the factor ReduceLROnPlateau set on an optim.Scaled one.
func OptimizerMeta(o optim.Optimizer, prefix string) map[string]string {
	m := map[string]string{prefix + "lr": strconv.FormatFloat(o.LR(), 'g', -1, 64)}
	if s, ok := o.(optim.Scaled); ok && s.LRScale() != 1 {
		m[prefix+"lr_scale"] = strconv.FormatFloat(s.LRScale(), 'g', -1, 64)
	}
	return m
}

// LoadOptimizerState restores an optimizer from the tensors of f named
// prefix + state name, and its learning rate when a callback had changed
// it away from what the optimizer's own schedule gives.
func LoadOptimizerState(o optim.Optimizer, f *checkpoint.File, prefix string) error {
	p := prefixed(f, prefix)
	var st []optim.NamedTensor
	for _, n := range p.Names {
		st = append(st, optim.NamedTensor{Name: n, Tensor: p.Tensors[n]})
	}
	if err := o.LoadState(st); err != nil {
		return err
	}
	if s, ok := f.Metadata[prefix+"lr_scale"]; ok {
		v, err := strconv.ParseFloat(s, 64)
		sc, scaled := o.(optim.Scaled)
		if err != nil || !(v > 0) || !scaled {
			return fmt.Errorf("bad learning-rate factor %q in checkpoint metadata", s)
		}
		sc.SetLRScale(v)
	}
	if s, ok := f.Metadata[prefix+"lr"]; ok {
		lr, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("bad learning rate %q in checkpoint metadata", s)
		}
		if lr != o.LR() {
			o.SetLR(lr)
		}
	}
	return nil
}

// MarshalRNG encodes a PCG source's state as hex (for checkpoint metadata).
func MarshalRNG(src *rand.PCG) (string, error) {
	b, err := src.MarshalBinary()
	return hex.EncodeToString(b), err
}

func loadRNG(src *rand.PCG, s string) error {
	b, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("bad random state in checkpoint: %v", err)
	}
	if err := src.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("bad random state in checkpoint: %v", err)
	}
	return nil
}

// UnmarshalRNG restores a PCG source from MarshalRNG's encoding.
func UnmarshalRNG(src *rand.PCG, s string) error { return loadRNG(src, s) }
