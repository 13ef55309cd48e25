package onnx

import (
	"encoding/binary"
	"encoding/json"

	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
)

// ortJob is one model run by testdata/ort/run.js.
type ortJob struct {
	Model   string `json:"model"`
	Input   string `json:"input"`
	Shape   []int  `json:"shape"`
	Output  string `json:"output"`
	Threads int    `json:"threads"`
	Repeat  int    `json:"repeat"`
}

// ortDir returns the folder with run.js and onnxruntime-node, or skips.
func ortDir(t testing.TB) string {
	dir, _ := filepath.Abs(filepath.Join("testdata", "ort"))
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: install nodejs to compare with ONNX Runtime")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node")); err != nil {
		t.Skipf("onnxruntime-node not installed: run `npm install --ignore-scripts onnxruntime-node` in %s", dir)
	}
	return dir
}

func writeF32(path string, t *tensor.Tensor) error {
	b := make([]byte, 4*t.Len())
	for i, v := range t.Data() {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return os.WriteFile(path, b, 0o644)
}

// runORT runs the jobs and returns each output and its timing.
func runORT(t testing.TB, dir string, jobs []ortJob) ([]*tensor.Tensor, []float64) {
	tmp := t.TempDir()
	man := filepath.Join(tmp, "jobs.json")
	b, _ := json.Marshal(jobs)
	if err := os.WriteFile(man, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", filepath.Join(dir, "run.js"), man)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ONNX Runtime: %v\n%s", err, out)
	}
	var outs []*tensor.Tensor
	var ms []float64
	for _, j := range jobs {
		raw, err := os.ReadFile(j.Output)
		if err != nil {
			t.Fatal(err)
		}
		var info struct {
			Shape []int   `json:"shape"`
			Ms    float64 `json:"ms"`
		}
		jb, _ := os.ReadFile(j.Output + ".json")
		if err := json.Unmarshal(jb, &info); err != nil {
			t.Fatal(err)
		}
		d := make([]float32, len(raw)/4)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		outs = append(outs, tensor.New(info.Shape, d))
		ms = append(ms, info.Ms)
	}
	return outs, ms
}

// TestExportMatchesONNXRuntime runs every exported zoo model in ONNX
// Runtime and compares with Strata's Forward: |ort − strata| ≤
// 1e-4·max(|strata|, 1).
func TestExportMatchesONNXRuntime(t *testing.T) {
	dir := ortDir(t)
	tmp := t.TempDir()
	cases := zooCases(t)
	var jobs []ortJob
	var wants []*tensor.Tensor
	for i, c := range cases {
		model := filepath.Join(tmp, c.name+".onnx")
		if err := Save(model, c.net, c.in, ExportOptions{}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		x := sampleInput(mustFlatten(t, c.net, len(c.in)+1), c.in, 3)
		if c.name == "embedding" || c.name == "charlm" {
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			for k := range x.Data() {
				x.Data()[k] = float32(rng.IntN(11))
			}
		}
		in := filepath.Join(tmp, c.name+".in")
		if err := writeF32(in, x); err != nil {
			t.Fatal(err)
		}
		wants = append(wants, c.net.Forward(&nn.Ctx{}, autogradConst(x)).Value)
		jobs = append(jobs, ortJob{Model: model, Input: in, Shape: x.Shape(), Output: filepath.Join(tmp, c.name+".out"), Threads: 1})
	}
	outs, _ := runORT(t, dir, jobs)
	for i, c := range cases {
		if msg := closeTo(outs[i], wants[i], 1e-4); msg != "" {
			t.Errorf("%s: ONNX Runtime differs from Strata: %s", c.name, msg)
		} else {
			t.Logf("%s: max |ort − strata| = %.2g", c.name, maxAbsDiff(outs[i], wants[i]))
		}
	}
}

// maxAbsDiff returns max |a − b| over same-shaped a and b.
func maxAbsDiff(a, b *tensor.Tensor) float64 {
	m := 0.0
	for i, v := range b.Data() {
		m = math.Max(m, math.Abs(float64(a.Data()[i]-v)))
	}
	return m
}

func mustFlatten(t testing.TB, l nn.Layer, rank int) []nn.Layer {
	ls, err := flatten(l, rank)
	if err != nil {
		t.Fatal(err)
	}
	return ls
}
