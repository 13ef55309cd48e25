package train

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
)

// Callback hooks into Fit. Embed Base to implement only the hooks you
// need. A hook that returns ErrStopTraining (or calls Run.StopTraining)
// ends training cleanly; any other error ends it with that error.
type Callback interface {
	OnTrainBegin(r *Run) error
	OnEpochBegin(r *Run) error
	OnBatchEnd(r *Run, logs Logs) error
	OnEpochEnd(r *Run, logs Logs) error
	OnTrainEnd(r *Run) error
}

// Base implements every Callback hook as a no-op.
type Base struct{}

func (Base) OnTrainBegin(*Run) error     { return nil }
func (Base) OnEpochBegin(*Run) error     { return nil }
func (Base) OnBatchEnd(*Run, Logs) error { return nil }
func (Base) OnEpochEnd(*Run, Logs) error { return nil }
func (Base) OnTrainEnd(*Run) error       { return nil }

// monitor tracks the best value of a logged quantity.
type monitor struct {
	key      string
	maximize bool
	minDelta float64
	best     float64
	seen     bool
}

func newMonitor(key, mode string, minDelta float64) (monitor, error) {
	if key == "" {
		key = "val_loss"
	}
	m := monitor{key: key, minDelta: math.Abs(minDelta)}
	switch mode {
	case "", "auto":
		m.maximize = containsAny(key, "acc", "auc", "f1", "precision", "recall")
	case "min":
	case "max":
		m.maximize = true
	default:
		return m, fmt.Errorf("train: mode %q must be auto, min or max", mode)
	}
	return m, nil
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		for i := 0; i+len(sub) <= len(s); i++ {
			if s[i:i+len(sub)] == sub {
				return true
			}
		}
	}
	return false
}

// improved reports whether v beats the best value so far (and records it).
func (m *monitor) improved(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	better := !m.seen
	if m.seen {
		if m.maximize {
			better = v > m.best+m.minDelta
		} else {
			better = v < m.best-m.minDelta
		}
	}
	if better {
		m.best, m.seen = v, true
	}
	return better
}

func (m *monitor) value(logs Logs) (float64, error) {
	v, ok := logs[m.key]
	if !ok {
		return 0, fmt.Errorf("train: monitored quantity %q is not logged (have %v)", m.key, logs.Keys())
	}
	return v, nil
}

// EarlyStopping stops training when Monitor (default "val_loss") has not
// improved by more than MinDelta for Patience epochs: with Patience 2 and
// the best value at epoch 5, training stops after epoch 7 (as Keras, and
// as ReduceLROnPlateau counts; Patience 0 stops at the first epoch
// without improvement). Mode is "auto"
// (maximize accuracies, AUC, F1; minimize the rest), "min" or "max". With
// RestoreBestWeights the network's weights are reset to those of the best
// epoch when training stops.
type EarlyStopping struct {
	Base
	Monitor            string
	Mode               string
	Patience           int
	MinDelta           float64
	RestoreBestWeights bool

	// StoppedEpoch is the epoch at which training stopped (0 if it did not).
	StoppedEpoch int
	// BestEpoch is the epoch with the best monitored value.
	BestEpoch int

	m    monitor
	wait int
	best []*tensor.Tensor
}

func (e *EarlyStopping) OnTrainBegin(*Run) error {
	m, err := newMonitor(e.Monitor, e.Mode, e.MinDelta)
	e.m, e.wait, e.best, e.StoppedEpoch, e.BestEpoch = m, 0, nil, 0, 0
	return err
}

func (e *EarlyStopping) OnEpochEnd(r *Run, logs Logs) error {
	v, err := e.m.value(logs)
	if err != nil {
		return err
	}
	if e.m.improved(v) {
		e.wait, e.BestEpoch = 0, r.Epoch
		if e.RestoreBestWeights {
			e.best = snapshot(r.Network(), e.best)
		}
		return nil
	}
	e.wait++
	if e.wait >= e.Patience {
		e.StoppedEpoch = r.Epoch
		if e.RestoreBestWeights && e.best != nil {
			restore(r.Network(), e.best)
		}
		return ErrStopTraining
	}
	return nil
}

// snapshot copies every weight of net (into dst when it fits).
func snapshot(net nn.Layer, dst []*tensor.Tensor) []*tensor.Tensor {
	if net == nil {
		return nil
	}
	ws := nn.AllWeights(net)
	if len(dst) != len(ws) {
		dst = make([]*tensor.Tensor, len(ws))
	}
	for i, w := range ws {
		if dst[i] == nil || dst[i].Len() != w.Var.Value.Len() {
			dst[i] = w.Var.Value.Clone()
		} else {
			dst[i].CopyFrom(w.Var.Value)
		}
	}
	return dst
}

func restore(net nn.Layer, src []*tensor.Tensor) {
	for i, w := range nn.AllWeights(net) {
		w.Var.Value.CopyFrom(src[i])
	}
}

// ModelCheckpoint saves the network's weights (safetensors, see
// SaveWeights) to Path after each epoch, or only when Monitor improved with
// SaveBestOnly. Metadata, when set, is stored in the file's header.
type ModelCheckpoint struct {
	Base
	Path         string
	Monitor      string
	Mode         string
	SaveBestOnly bool
	Metadata     map[string]string

	m monitor
}

func (c *ModelCheckpoint) OnTrainBegin(*Run) error {
	m, err := newMonitor(c.Monitor, c.Mode, 0)
	c.m = m
	return err
}

func (c *ModelCheckpoint) OnEpochEnd(r *Run, logs Logs) error {
	net := r.Network()
	if net == nil {
		return fmt.Errorf("train: ModelCheckpoint needs a trainer with one network")
	}
	if c.SaveBestOnly {
		v, err := c.m.value(logs)
		if err != nil {
			return err
		}
		if !c.m.improved(v) {
			return nil
		}
	}
	return SaveWeights(c.Path, net, c.Metadata)
}

// ReduceLROnPlateau multiplies the learning rate by Factor (default 0.1)
// when Monitor (default "val_loss") has not improved for Patience epochs
// (default 10), waiting Cooldown epochs after each reduction; a reduction
// never takes the rate below MinLR. It counts epochs as EarlyStopping
// does.
//
// With a schedule attached to the optimizer (optim.Schedule), the schedule
// stays: the reduction scales it (optim.Base.ScaleLR), so it keeps its
// shape, Factor times lower, and later values may fall below MinLR as the
// schedule decays. Without one, the constant rate is lowered. Optimizers
// that are not optim.Scaled get a constant rate (Optimizer.SetLR). The
// factor is kept in training checkpoints.
type ReduceLROnPlateau struct {
	Base
	Monitor  string
	Mode     string
	Factor   float64
	Patience int
	MinDelta float64
	Cooldown int
	MinLR    float64

	m        monitor
	wait     int
	cooldown int
}

func (c *ReduceLROnPlateau) OnTrainBegin(*Run) error {
	if c.Factor == 0 {
		c.Factor = 0.1
	}
	if c.Factor >= 1 || c.Factor < 0 {
		return fmt.Errorf("train: ReduceLROnPlateau factor %v must be in (0, 1)", c.Factor)
	}
	if c.Patience == 0 {
		c.Patience = 10
	}
	m, err := newMonitor(c.Monitor, c.Mode, c.MinDelta)
	c.m, c.wait, c.cooldown = m, 0, 0
	return err
}

func (c *ReduceLROnPlateau) OnEpochEnd(r *Run, logs Logs) error {
	v, err := c.m.value(logs)
	if err != nil {
		return err
	}
	if c.cooldown > 0 {
		c.cooldown--
		c.wait = 0
	}
	if c.m.improved(v) {
		c.wait = 0
		return nil
	}
	if c.cooldown > 0 {
		return nil
	}
	c.wait++
	if c.wait >= c.Patience {
		for _, o := range r.Optimizers() {
			lr := o.LR()
			target := math.Max(lr*c.Factor, c.MinLR)
			if !(target < lr) {
				continue
			}
			if s, ok := o.(optim.Scaled); ok {
				s.ScaleLR(target / lr)
			} else {
				o.SetLR(target)
			}
		}
		c.cooldown, c.wait = c.Cooldown, 0
	}
	return nil
}

// LearningRateScheduler sets the learning rate at the start of each epoch
// to Schedule(epoch, current) (epoch is 1-based).
type LearningRateScheduler struct {
	Base
	Schedule func(epoch int, lr float64) float64
}

func (c *LearningRateScheduler) OnEpochBegin(r *Run) error {
	for _, o := range r.Optimizers() {
		o.SetLR(c.Schedule(r.Epoch, o.LR()))
	}
	return nil
}

// TerminateOnNaN stops training with a *NaNError when the epoch's running
// loss becomes NaN or infinite even though FitOptions.AllowNaN is set.
type TerminateOnNaN struct{ Base }

func (TerminateOnNaN) OnBatchEnd(r *Run, logs Logs) error {
	if v := logs["loss"]; math.IsNaN(v) || math.IsInf(v, 0) {
		return &NaNError{Epoch: r.Epoch, Batch: r.Batch, Value: v}
	}
	return nil
}

// CSVLogger writes one row per epoch (epoch, then the logs in display
// order) to Path, appending to an existing file when Append is set. It
// creates Path's directory; its errors name it and the file.
type CSVLogger struct {
	Base
	Path   string
	Append bool

	f    *os.File
	w    *csv.Writer
	keys []string
}

func (c *CSVLogger) OnTrainBegin(*Run) error {
	if c.Path == "" {
		return errors.New("train: CSVLogger has no Path")
	}
	flag := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if c.Append {
		flag = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	if err := os.MkdirAll(filepath.Dir(c.Path), 0o755); err != nil {
		return fmt.Errorf("train: CSVLogger %s: %w", c.Path, err)
	}
	f, err := os.OpenFile(c.Path, flag, 0o644)
	if err != nil {
		return fmt.Errorf("train: CSVLogger: %w", err)
	}
	c.f, c.w, c.keys = f, csv.NewWriter(f), nil
	return nil
}

func (c *CSVLogger) OnEpochEnd(r *Run, logs Logs) error {
	if c.w == nil {
		return errors.New("train: CSVLogger: OnEpochEnd before OnTrainBegin")
	}
	if c.keys == nil {
		c.keys = logs.Keys()
		if err := c.w.Write(append([]string{"epoch"}, c.keys...)); err != nil {
			return fmt.Errorf("train: CSVLogger %s: %w", c.Path, err)
		}
	}
	row := []string{strconv.Itoa(r.Epoch)}
	for _, k := range c.keys {
		row = append(row, strconv.FormatFloat(logs[k], 'g', -1, 64))
	}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("train: CSVLogger %s: %w", c.Path, err)
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("train: CSVLogger %s: %w", c.Path, err)
	}
	return nil
}

func (c *CSVLogger) OnTrainEnd(*Run) error {
	if c.f == nil {
		return nil
	}
	c.w.Flush()
	err := c.f.Close()
	c.f = nil
	if err != nil {
		return fmt.Errorf("train: CSVLogger %s: %w", c.Path, err)
	}
	return nil
}

// JSONLogger appends one JSON object per epoch to Path (a run's
// metrics.jsonl): {"epoch": 3, "loss": ..., "val_loss": ..., "time_s": ...}.
// Each line is written with one write call, so a reader never sees a
// torn line except at the very end of a file being written.
type JSONLogger struct {
	Base
	Path string

	start time.Time
}

func (j *JSONLogger) OnEpochBegin(*Run) error {
	j.start = time.Now()
	return nil
}

func (j *JSONLogger) OnEpochEnd(r *Run, logs Logs) error {
	obj := map[string]any{"epoch": r.Epoch, "time_s": math.Round(time.Since(j.start).Seconds()*1000) / 1000}
	for k, v := range logs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			obj[k] = nil // JSON has no NaN
			continue
		}
		obj[k] = v
	}
	line, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(j.Path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
