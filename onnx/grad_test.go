package onnx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/autograd"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// TestImportedGradients checks the gradients that flow through imported
// graphs against finite differences: to the initializers of PyTorch
// models, and to every input of ONNX's recurrent node tests (the fused
// ops with converted weights, and the step-by-step GRU).
func TestImportedGradients(t *testing.T) {
	// (models with ReLU are left to the fine-tuning test: finite
	// differences across its kink make this check flaky)
	for _, name := range []string{"lstm", "gru"} {
		dir := filepath.Join("testdata", "torch", name)
		m, err := Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		x, err := readPB(filepath.Join(dir, "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		var vars []*autograd.Var
		for _, w := range m.Weights() {
			vars = append(vars, w.Var)
		}
		f := func() *autograd.Var { return m.Forward(&nn.Ctx{}, x.v) }
		if err := autograd.CheckVarGradients(f, vars, autograd.CheckOptions{MaxProbes: 6, Eps: 1e-3, Tol: 3e-2}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, name := range []string{"test_gru_defaults", "test_gru_with_initial_bias", "test_lstm_with_initial_bias", "test_rnn_seq_length"} {
		dir := filepath.Join(nodeTestDir, name)
		if _, err := os.Stat(dir); err != nil {
			t.Logf("skipping %s: %v", name, err)
			continue
		}
		m, err := Load(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		var ins []*tensor.Tensor
		var dts []int32
		for i := range m.Inputs {
			v, err := readPB(filepath.Join(dir, "test_data_set_0", sprintf("input_%d.pb", i)))
			if err != nil {
				t.Fatal(err)
			}
			ins = append(ins, v.v.Value)
			dts = append(dts, v.dt)
		}
		f := func(xs []*autograd.Var) *autograd.Var {
			vals := map[string]*value{}
			for i, io := range m.Inputs {
				vals[io.Name] = &value{v: xs[i], dt: dts[i]}
			}
			outs, err := m.run(vals, m.Outputs[:1])
			if err != nil {
				t.Fatal(err)
			}
			return outs[0].v
		}
		if err := autograd.CheckGradients(f, ins, autograd.CheckOptions{MaxProbes: 8, Eps: 1e-3, Tol: 3e-2}); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
