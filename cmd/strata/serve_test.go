package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/modelfile"
	"github.com/strata-dl/strata/nn"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestServe starts strata serve on a weights file, asks it for metadata
// and a prediction, and stops it with SIGTERM: exit status 0.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	net := zoo.NewSimpleNet(10)
	if _, err := nn.Build(net, []int{28, 28, 1}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	weights := filepath.Join(dir, "mlp.safetensors")
	arch := `{"model":"mlp","classes":10,"input_shape":[28,28,1],"preprocessing":"x/255"}`
	if err := train.SaveWeights(weights, net, map[string]string{"strata.architecture": arch}); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token")
	os.WriteFile(token, []byte("t0ken\n"), 0o600)
	var out, errb lockedBuffer
	code := make(chan int, 1)
	go func() {
		code <- run([]string{"serve", "--model", "digits=" + weights, "--quiet", "--addr", "127.0.0.1:0", "--token-file", token}, &out, &errb)
	}()
	var url string
	for start := time.Now(); url == "" && time.Since(start) < 20*time.Second; time.Sleep(20 * time.Millisecond) {
		if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no listening line: %s %s", out.String(), errb.String())
	}
	get := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, b := get("GET", "/v2/models/digits", ""); c != 200 || !strings.Contains(b, `"shape":[-1,28,28,1]`) || !strings.Contains(b, `"preprocessing":"x/255 (by the client)"`) {
		t.Errorf("metadata: %d %s", c, b)
	}
	body := `{"inputs":[{"name":"input","shape":[1,28,28,1],"datatype":"FP32","data":[` + strings.Repeat("0.5,", 783) + `0.5]}]}`
	if c, b := get("POST", "/v2/models/digits/infer", body); c != 200 || !strings.Contains(b, `"name":"probabilities","datatype":"FP32","shape":[1,10]`) {
		t.Errorf("infer: %d %s", c, b)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 || !strings.Contains(out.String(), "strata serve: stopped") {
			t.Errorf("exit %d, stdout %s, stderr %s", c, out.String(), errb.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("strata serve did not stop on SIGTERM")
	}
}

func TestServeUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"serve"}, 2, "give at least one --model NAME=PATH"},
		{[]string{"serve", "--model", "nopath"}, 2, `want NAME=PATH`},
		{[]string{"serve", "--model", "a=b", "--max-batch", "0"}, 2, "--max-batch must be positive"},
		{[]string{"serve", "--model", "a=/nonexistent/run"}, 1, "model a:"},
		{[]string{"serve", "--model", "a=b", "extra"}, 2, `unexpected argument "extra"`},
	} {
		_, stderr, code := strata(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, %s; want %d with %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}

// TestLoadServeModel loads a model file of a user's Sequential whose
// output is logits, with class names and a standardizer: the server
// applies the softmax and the standardizer.
func TestLoadServeModel(t *testing.T) {
	net := &nn.Sequential{Layers: []nn.Layer{&nn.Dense{Units: 3}}}
	if _, err := nn.Build(net, []int{2}, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "user.safetensors")
	std := &data.Standardizer{Mean: []float32{10, 20}, Std: []float32{2, 4}}
	if err := modelfile.Save(path, net, modelfile.Meta{InputShape: []int{2}, Classes: []string{"a", "b", "c"}, Standardizer: std}); err != nil {
		t.Fatal(err)
	}
	m, err := loadServeModel("user", path)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Logits || m.Preprocess == nil || m.Datatype != "" || fmt.Sprint(m.Classes) != "[a b c]" || m.Parameters["preprocessing"] != "standardized by the server" {
		t.Errorf("model %+v", m)
	}
	x := tensor.New([]int{1, 2}, []float32{12, 28})
	if err := m.Preprocess(x); err != nil || fmt.Sprint(x.Data()) != "[1 2]" {
		t.Errorf("preprocess: %v %v", x.Data(), err)
	}
	if _, err := loadServeModel("x", filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "0.0.0.0:8080": false, "10.1.2.3:80": false} {
		a, err := net.ResolveTCPAddr("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := isLoopback(a); got != want {
			t.Errorf("%s: %v, want %v", addr, got, want)
		}
	}
}
