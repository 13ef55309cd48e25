package board

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/strata-dl/strata/losses"
	"github.com/strata-dl/strata/metrics"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/optim"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
)

// realTrainingRun trains a small MLP on a synthetic two-class problem for n
// epochs with the train package, logging to dir exactly as strata train
// does (config.json, summary.txt, metrics.jsonl through train.JSONLogger).
// A pause after each epoch lets the page watch the curve grow.
func realTrainingRun(ctx context.Context, dir string, n int, pause time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.RandNormal(rng, 0, 1, 512, 4)
	y := tensor.Zeros(512)
	for i := range y.Data() {
		if x.Data()[4*i]+x.Data()[4*i+1] > 0 {
			y.Data()[i] = 1
		}
	}
	net := nn.NewSequential(&nn.Dense{Units: 16, Activation: "relu"}, &nn.Dense{Units: 2, Activation: "softmax"})
	if _, err := nn.Build(net, []int{4}, rng); err != nil {
		return err
	}
	summary, err := nn.Summary(net, []int{4})
	if err != nil {
		return err
	}
	cfg, _ := json.Marshal(map[string]any{"model": "mlp", "epochs": n, "batch_size": 32, "optimizer": "adam", "lr": 0.01, "seed": 1})
	if err := os.WriteFile(filepath.Join(dir, configFile), cfg, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, summaryFile), []byte(summary), 0o644); err != nil {
		return err
	}
	opt, err := optim.ByName("adam", 0.01)
	if err != nil {
		return err
	}
	m, err := train.Compile(net, opt, losses.SparseCategoricalCrossentropy{}, metrics.NewAccuracy())
	if err != nil {
		return err
	}
	_, err = m.Fit(ctx, x, y, train.FitOptions{Epochs: n, BatchSize: 32, ValidationSplit: 0.2, Callbacks: []train.Callback{
		&train.JSONLogger{Path: filepath.Join(dir, metricsFile)}, pauser{pause},
	}})
	return err
}

// pauser sleeps after each epoch.
type pauser struct{ d time.Duration }

func (p pauser) OnTrainBegin(*train.Run) error           { return nil }
func (p pauser) OnEpochBegin(*train.Run) error           { return nil }
func (p pauser) OnBatchEnd(*train.Run, train.Logs) error { return nil }
func (p pauser) OnTrainEnd(*train.Run) error             { return nil }
func (p pauser) OnEpochEnd(r *train.Run, _ train.Logs) error {
	time.Sleep(p.d)
	return nil
}
