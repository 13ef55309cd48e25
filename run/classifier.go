package run

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/internal/memplan"
	"github.com/strata-dl/strata/internal/sysmem"
	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// ClassifierConfig is a classifier run's config.json: everything needed to
// repeat it. The fields set by the user are those before Threads; the rest
// are filled in by TrainClassifier.
type ClassifierConfig struct {
	Version         string    `json:"version"`
	Args            []string  `json:"args"`
	Model           string    `json:"model"`
	Data            string    `json:"data"`
	DataSource      string    `json:"data_source"`
	DataSHA256      string    `json:"data_sha256"`
	Epochs          int       `json:"epochs"`
	BatchSize       int       `json:"batch_size"`
	Optimizer       string    `json:"optimizer"`
	LR              float64   `json:"lr"`
	LRSchedule      string    `json:"lr_schedule"`
	Seed            uint64    `json:"seed"`
	ValidationSplit float64   `json:"validation_split"`
	EarlyStopping   int       `json:"early_stopping"`
	Threads         int       `json:"threads"`
	Ranks           int       `json:"ranks"` // MPI ranks training data-parallel (1: one process)
	TrainLimit      int       `json:"train_limit,omitempty"`
	TestLimit       int       `json:"test_limit,omitempty"`
	InputShape      []int     `json:"input_shape"`
	Classes         int       `json:"classes"`
	Preprocessing   string    `json:"preprocessing"`
	OptimizerConfig any       `json:"optimizer_config,omitempty"`
	Created         time.Time `json:"created"`
}

// ClassifierArchitecture is stored in a classifier's model.safetensors
// metadata ("strata.architecture") so that the weights file alone
// rebuilds the model.
type ClassifierArchitecture struct {
	Model         string `json:"model"`
	Classes       int    `json:"classes"`
	InputShape    []int  `json:"input_shape"`
	Preprocessing string `json:"preprocessing"`
}

// Validate checks the user's settings, naming the flag at fault.
func (c *ClassifierConfig) Validate() error {
	if err := checkLoop(c.Epochs, c.BatchSize, c.LR); err != nil {
		return err
	}
	if c.ValidationSplit < 0 || c.ValidationSplit >= 1 || c.ValidationSplit != c.ValidationSplit {
		return configf("--validation-split must be in [0, 1), got %v", c.ValidationSplit)
	}
	if c.EarlyStopping < 0 || c.TrainLimit < 0 || c.TestLimit < 0 {
		return configf("--early-stopping, --train-limit and --test-limit must not be negative")
	}
	return CheckSchedule(c.LRSchedule)
}

// Schedules are the values of --lr-schedule.
const Schedules = "constant or cosine"

// CheckSchedule returns a *ConfigError unless name is a --lr-schedule
// value ("" is a run from before the flag existed: constant).
func CheckSchedule(name string) error {
	switch name {
	case "constant", "", "cosine":
		return nil
	}
	return configf("unknown --lr-schedule %q (want %s)", name, Schedules)
}

// setSchedule attaches the named schedule to opt for a run of steps
// optimizer steps from its current rate (optim.ScheduleByName). The
// schedule follows the optimizer's step counter, so a resumed run
// continues it where it stopped; resuming with another Epochs recomputes
// it for the new length.
func setSchedule(opt optim.Optimizer, name string, steps int) error {
	if err := CheckSchedule(name); err != nil {
		return err
	}
	s, err := optim.ScheduleByName(name, opt.LR(), steps)
	if err != nil {
		return err
	}
	if s != nil {
		opt.SetSchedule(s)
	}
	return nil
}

// TrainClassifier trains a zoo classifier (c.Model) on a data source
// (c.Data, see LoadDataset) into a run directory and evaluates it on the
// test set: config.json, summary.txt, metrics.jsonl, state.safetensors,
// model.safetensors, history.png, results.json. version is recorded in
// config.json.
func TrainClassifier(ctx context.Context, c ClassifierConfig, version string, o Options) (*Result, error) {
	s, err := begin(o)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	spec, err := zoo.LookupClassifier(c.Model)
	if err != nil {
		return nil, configf("%v", err)
	}
	opt, err := optim.ByName(c.Optimizer, c.LR)
	if err != nil {
		return nil, configf("%v", err)
	}
	ds, err := LoadDatasetContext(ctx, c.Data)
	if err != nil {
		return nil, err
	}
	if s.ckpt != nil && c.DataSHA256 != "" && ds.SHA256 != c.DataSHA256 {
		return nil, fmt.Errorf("cannot resume: the data %s has changed since the run started (sha256 %s, config.json records %s)", c.Data, ds.SHA256, c.DataSHA256)
	}
	if r, ok := s.alreadyFinished(c.Epochs); ok {
		return r, nil
	}
	ds.Limit(c.TrainLimit, c.TestLimit)
	c.DataSource, c.DataSHA256, c.Classes = ds.Source, ds.SHA256, ds.Classes
	c.InputShape, c.Preprocessing = ds.Train.XShape(), "x/255"
	if strings.HasPrefix(ds.Spec, "csv:") {
		c.Preprocessing = "none"
	}
	c.Threads, c.Version, c.Created, c.Args = runtime.GOMAXPROCS(0), version, time.Now().UTC(), s.args()
	c.Ranks = s.ranks()
	c.OptimizerConfig = opt.Config()
	if err := checkClassifierMemory(ctx, spec.New, c.InputShape, c.Classes, min(c.BatchSize, ds.Train.Len())); err != nil {
		return nil, err
	}
	net := spec.New(c.Classes)
	if _, err := nn.Build(net, c.InputShape, rand.New(rand.NewPCG(c.Seed, 1))); err != nil {
		return nil, fmt.Errorf("model %s does not fit data of shape %v: %w", c.Model, c.InputShape, err)
	}
	model, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	if err != nil {
		return nil, err
	}
	model.SetSeed(c.Seed)
	return s.trainClassifier(ctx, &c, ds, model)
}

// trainClassifier writes the run's start, trains, evaluates and writes
// the model and results.
func (s *session) trainClassifier(ctx context.Context, c *ClassifierConfig, ds *Dataset, model *train.Model) (*Result, error) {
	if err := s.create(c.Model); err != nil {
		return nil, err
	}
	summary, err := nn.Summary(model.Net, c.InputShape)
	if err != nil {
		return nil, err
	}
	if err := s.writeStart(c, summary); err != nil {
		return nil, err
	}
	trainDS, val, err := validationSplit(ds.Train, c.ValidationSplit)
	if err != nil {
		return nil, err
	}
	loader, err := data.NewLoader(trainDS, data.LoaderOptions{BatchSize: c.BatchSize, Shuffle: true, Seed: c.Seed, Prefetch: true})
	if err != nil {
		return nil, err
	}
	if err := setSchedule(model.Optimizer, c.LRSchedule, c.Epochs*loader.Len()); err != nil {
		return nil, err
	}
	var callbacks []train.Callback
	if c.EarlyStopping > 0 {
		monitor := "val_loss"
		if val == nil {
			monitor = "loss"
		}
		callbacks = append(callbacks, &train.EarlyStopping{Monitor: monitor, Patience: c.EarlyStopping, RestoreBestWeights: true})
	}
	if s.ckpt == nil {
		fmt.Fprint(s.progress, summary)
	}
	hist, elapsed, stop, err := s.fit(ctx, model, loader, train.FitOptions{Epochs: c.Epochs, Validation: val, Callbacks: callbacks})
	if stop != nil || err != nil {
		return stop, err
	}
	test, err := model.Evaluate(ctx, ds.Test, 256)
	if err != nil {
		if ctx.Err() != nil { // interrupted after the last epoch's checkpoint
			return s.interrupted(hist), nil
		}
		return nil, fmt.Errorf("evaluating on the test set: %w", err)
	}
	arch, _ := json.Marshal(ClassifierArchitecture{Model: c.Model, Classes: c.Classes, InputShape: c.InputShape, Preprocessing: c.Preprocessing})
	meta := modelfile.Meta{Family: c.Model, InputShape: c.InputShape, Classes: ds.ClassNames, Preprocessing: c.Preprocessing}
	if meta.Classes == nil {
		meta.Classes = numbered(c.Classes)
	}
	if err := saveModel(s.dir.File(ModelFile), model.Net, meta, arch); err != nil {
		return nil, err
	}
	if err := s.dir.WriteHistoryPlot(hist, c.Model); err != nil {
		return nil, err
	}
	perSec := float64(s.epochsRun(hist)*trainDS.Len()) / elapsed.Seconds()
	result := map[string]any{
		"run_dir": s.dir.Path, "model": c.Model, "epochs": len(hist.Epochs),
		"test_accuracy": test["accuracy"], "test_loss": test["loss"],
		"train_samples_per_sec": perSec, "train_seconds": elapsed.Seconds(),
		"seed": c.Seed, "threads": c.Threads, "ranks": c.Ranks,
	}
	if err := s.dir.WriteResults(result, hist); err != nil {
		return nil, err
	}
	msg := fmt.Sprintf("test accuracy %.4f, test loss %.4f, %d epochs in %s (%.0f samples/s); run directory %s",
		test["accuracy"], test["loss"], len(hist.Epochs), elapsed.Round(time.Second), perSec, s.dir.Path)
	return &Result{Dir: s.dir.Path, Summary: result, Message: msg, History: hist}, nil
}

// validationSplit holds out the last fraction of ds for validation (none
// for 0).
func validationSplit(ds data.Tensors, fraction float64) (data.Tensors, *data.Loader, error) {
	if fraction <= 0 {
		return ds, nil, nil
	}
	tr, v, err := data.Split(ds, fraction)
	if err != nil {
		return ds, nil, err
	}
	val, err := data.NewLoader(v, data.LoaderOptions{BatchSize: 256})
	return tr, val, err
}

// numbered returns the class names "0", "1", ..., of k numbered classes.
func numbered(k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

// checkClassifierMemory refuses, before the model is built, a classifier
// whose weights, gradients and Adam state (two slots; an upper bound for
// the other optimizers) and the input batch exceed what the process may
// use. The parameter count comes from two tiny builds
// (memplan.ClassifierParams), so a 10-million-class output layer is never
// allocated to find out.
func checkClassifierMemory(ctx context.Context, newModel func(int) nn.Layer, input []int, classes, batch int) error {
	if classes < 2 {
		return nil // the data's check reports it
	}
	p, err := memplan.ClassifierParams(newModel, input, classes)
	if err != nil {
		return nil // building reports it, naming the layer
	}
	per := int64(1)
	for _, d := range input {
		per *= int64(d)
	}
	needs := append(memplan.Training(p, 2), memplan.Activations(batch, per+int64(classes)))
	return sysmem.Check(sysmem.FromContext(ctx), fmt.Sprintf("this model (%d classes)", classes), needs...)
}
