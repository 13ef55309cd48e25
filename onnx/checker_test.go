package onnx

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestExportPassesONNXChecker runs python3-onnx's onnx.checker (with shape
// inference) on every exported zoo model; it skips without python3-onnx.
func TestExportPassesONNXChecker(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import onnx.checker").Run(); err != nil {
		t.Skip("python3-onnx not installed (Debian's python3-onnx provides onnx.checker)")
	}
	tmp := t.TempDir()
	args := []string{"-c", `import sys, onnx
for p in sys.argv[1:]:
    onnx.checker.check_model(onnx.load(p), full_check=True)
`}
	for _, c := range zooCases(t) {
		p := filepath.Join(tmp, c.name+".onnx")
		if err := Save(p, c.net, c.in, ExportOptions{NoVerify: true}); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	if out, err := exec.Command(py, args...).CombinedOutput(); err != nil {
		t.Fatalf("onnx.checker: %v\n%s", err, out)
	}
}
