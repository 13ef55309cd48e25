package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConn: the raw client sends the pre-encoded request, reads answers
// by Content-Length on one connection, and reports non-200 answers.
func TestConn(t *testing.T) {
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		bodies = append(bodies, r.Method+" "+r.URL.Path+" "+string(b))
		if string(b) == "bad" {
			w.WriteHeader(http.StatusBadRequest)
		}
		io.WriteString(w, `{"outputs":[]}`)
	}))
	defer srv.Close()
	addr, reqs, err := encodeRequests(srv.URL+"/v2/models/cnn/infer", [][]byte{[]byte(`{"a":1}`), []byte("bad")})
	if err != nil {
		t.Fatal(err)
	}
	k := &conn{addr: addr}
	for i, want := range []bool{true, false, true} {
		ok, err := k.do(reqs[i%2])
		if err != nil || ok != want {
			t.Fatalf("request %d: ok %v, err %v; want ok %v", i, ok, err, want)
		}
	}
	if got := strings.Join(bodies, "; "); got != `POST /v2/models/cnn/infer {"a":1}; POST /v2/models/cnn/infer bad; POST /v2/models/cnn/infer {"a":1}` {
		t.Errorf("the server saw %s", got)
	}
	if _, _, err := encodeRequests("https://x/", nil); err == nil {
		t.Error("an https URL was accepted")
	}
}

func TestMedians(t *testing.T) {
	dir := t.TempDir()
	for i, tab := range []string{
		"| system | clients |\n|---|---:|\n| a | 64 | 10 | 100 | 1.5 | 3 | 2.0 | 0.1 | 0.2 | 0 |\n",
		"| a | 64 | 20 | 300 | 2.5 | 5 | 4.0 | 0.3 | 0.4 | 0 |\n| b | – | – | 7 | – | – | – | 0.5 | – | – |\n",
		"| a | 64 | 30 | 200 | 3.5 | 4 | 3.0 | 0.2 | 0.3 | 1 |\n",
	} {
		os.WriteFile(filepath.Join(dir, string(rune('0'+i))), []byte(tab), 0o644)
	}
	var sb strings.Builder
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if err := medians(&sb, files); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| a | 64 | 20 | 200 | 2.50 | 4.00 | 3.0 | 0.200 | 0.300 | 0 |", "| b | – | – | 7 | – | – | – | 0.500 | – | – |"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("medians:\n%s\nwant the row %s", sb.String(), want)
		}
	}
}
