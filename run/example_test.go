package run_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/run"
)

func ExampleParseSource() {
	for _, spec := range []string{"mnist", "csv:iris.csv", "images:photos/", "s3:bucket"} {
		s, err := run.ParseSource(spec)
		fmt.Printf("%q %q %v\n", s.Kind, s.Path, err)
	}
	// Output:
	// "mnist" "" <nil>
	// "csv" "iris.csv" <nil>
	// "images" "photos/" <nil>
	// "s3" "bucket" unknown --data "s3:bucket" (want mnist, idx:DIR or csv:FILE)
}

// A run directory is created and locked by its writer; a second writer is
// told who holds it, and a new run does not replace a finished one
// unless asked to.
func ExampleNew() {
	tmp, _ := os.MkdirTemp("", "runs")
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, "mlp")
	d, err := run.New(dir, "mlp", "strata train", false)
	if err != nil {
		panic(err)
	}
	_ = run.WriteJSON(d.File(run.ConfigFile), map[string]any{"model": "mlp"})
	_ = os.WriteFile(d.File(run.StateFile), []byte("a checkpoint"), 0o644)
	_, err = run.Open(dir, "strata eval")
	var locked *run.LockedError
	fmt.Println(errors.As(err, &locked), locked.Holder.Command)
	d.Close()
	_, err = run.New(dir, "mlp", "strata train", false)
	fmt.Println(err != nil, run.ReadModel(dir))
	// Output:
	// true strata train
	// true mlp
}

// TrainClassifier is what strata train does: a config, one call, a run
// directory whose model.safetensors loads in another program.
func ExampleTrainClassifier() {
	tmp, _ := os.MkdirTemp("", "runs")
	defer os.RemoveAll(tmp)
	csv := filepath.Join(tmp, "xor.csv") // two features, label last
	_ = os.WriteFile(csv, []byte("0,0,0\n0,1,1\n1,0,1\n1,1,0\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n0,0,0\n1,1,0\n"), 0o644)
	c := run.ClassifierConfig{Model: "mlp", Data: "csv:" + csv, Epochs: 2, BatchSize: 4, Optimizer: "adam", Seed: 1}
	res, err := run.TrainClassifier(context.Background(), c, "example", run.Options{Dir: filepath.Join(tmp, "xor")})
	if err != nil {
		panic(err)
	}
	m, err := modelfile.Load(filepath.Join(res.Dir, run.ModelFile))
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Summary["epochs"], m.Meta.Family, m.Meta.InputShape, m.Meta.Classes)
	// Output: 2 mlp [2] [0 1]
}

// Evaluation reads only the test split: for a CSV file, the last fifth.
func ExampleLoadTestSet() {
	dir, _ := os.MkdirTemp("", "testset")
	defer os.RemoveAll(dir)
	csv := "x,label\n"
	for i := range 10 {
		csv += fmt.Sprintf("%d,%d\n", i, i%2)
	}
	path := filepath.Join(dir, "d.csv")
	os.WriteFile(path, []byte(csv), 0o644)
	ds, err := run.LoadTestSet(context.Background(), "csv:"+path)
	if err != nil {
		panic(err)
	}
	fmt.Println(ds.Train.Len(), ds.Test.Len(), ds.Classes)
	// Output: 0 2 2
}
