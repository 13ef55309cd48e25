package train

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/strata-dl/strata/checkpoint"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// Stateful is a Trainer whose complete state (weights, optimizer slots,
// random sources) can be saved and restored, so that a resumed run
// produces bit-identical results at the same thread count.
type Stateful interface {
	State() ([]checkpoint.Named, map[string]string, error)
	LoadState(f *checkpoint.File) error
}

// Checkpoint is a training checkpoint: the trainer's state plus where the
// loop stands (the next epoch and batch to run) and the history so far.
type Checkpoint struct {
	File    *checkpoint.File
	Epoch   int // 1-based epoch to run next
	Batch   int // 0-based batch within Epoch to run next
	Steps   int
	History *History
}

// Restore loads the trainer's state from the checkpoint.
func (c *Checkpoint) Restore(t Trainer) error {
	s, ok := t.(Stateful)
	if !ok {
		return errors.New("train: this trainer cannot be resumed (it does not implement Stateful)")
	}
	return s.LoadState(c.File)
}

// SaveCheckpoint atomically writes t's state and the loop position (next
// epoch and batch to run) to path as safetensors.
func SaveCheckpoint(path string, t Trainer, epoch, batch int, run *Run) error {
	s, ok := t.(Stateful)
	if !ok {
		return errors.New("train: this trainer cannot be checkpointed (it does not implement Stateful)")
	}
	tensors, meta, err := s.State()
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
// every missing, unexpected and mis-shaped tensor.
func LoadWeights(net nn.Layer, f *checkpoint.File, prefix string) error {
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
// state: its current learning rate, exact (a callback may have changed it).
func OptimizerMeta(o optim.Optimizer, prefix string) map[string]string {
	return map[string]string{prefix + "lr": strconv.FormatFloat(o.LR(), 'g', -1, 64)}
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
