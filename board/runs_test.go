package board

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testPage struct {
	Runs []struct {
		Name    string `json:"name"`
		Display string `json:"display"`
		Lines   int    `json:"lines"`
		Error   string `json:"error"`
	} `json:"runs"`
	Total  int `json:"total"`
	Offset int `json:"offset"`
	More   int `json:"more"`
}

// Names that JSON or a URL cannot carry as they are (not UTF-8, a tab) get
// an id the page can use; their data is served under it, and the other
// runs are unaffected.
func TestRunNamesNotUTF8(t *testing.T) {
	logdir := t.TempDir()
	odd := []string{"bad\xff\xfename", "tab\there", "~tilde"}
	for _, n := range odd {
		if err := os.Mkdir(filepath.Join(logdir, n), 0o755); err != nil {
			t.Skipf("file system refuses %q: %v", n, err)
		}
		mustWrite(t, filepath.Join(logdir, n, metricsFile), `{"epoch":1,"loss":0.5}`+"\n")
	}
	writeFixtureRun(t, logdir, fixtureRun{Name: "plain", Model: "CNNNet", Epochs: 2, Final: 0.9, Seed: 1})
	_, ts := newTestServer(t, logdir)
	var got testPage
	getJSON(t, ts.URL+"/api/runs", &got)
	if len(got.Runs) != 4 {
		t.Fatalf("%d runs", len(got.Runs))
	}
	shown := map[string]string{}
	for _, r := range got.Runs {
		shown[r.Display] = r.Name
		var sc testScalars
		getJSON(t, ts.URL+"/api/runs/"+url.PathEscape(r.Name)+"/scalars", &sc)
		if sc.Total == 0 {
			t.Errorf("run %q (id %q): no scalars", r.Display, r.Name)
		}
	}
	for display, wantID := range map[string]string{"bad\ufffd\ufffdname": "~626164fffe6e616d65", `tab\there`: "~746162096865726", "~tilde": "~7e74696c6465", "plain": "plain"} {
		id, ok := shown[display]
		if !ok || !strings.HasPrefix(id, wantID[:min(len(wantID), 14)]) {
			t.Errorf("display %q: id %q, want %q (shown: %v)", display, id, wantID, shown)
		}
	}
	resp, err := http.Get(ts.URL + "/api/runs/~zz/scalars")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bad id: %s", resp.Status)
	}
}

func TestRunOrderAndPaging(t *testing.T) {
	logdir := t.TempDir()
	base := time.Now().Add(-time.Hour)
	const n = 1005
	for i := range n {
		dir := filepath.Join(logdir, fmt.Sprintf("run-%04d", i))
		mustMkdir(t, dir)
		p := filepath.Join(dir, metricsFile)
		mustWrite(t, p, `{"epoch":1}`+"\n")
		// Names sort opposite to age: run-0000 is the newest.
		tm := base.Add(-time.Duration(i) * time.Second)
		os.Chtimes(p, tm, tm)
	}
	_, ts := newTestServer(t, logdir)
	var got testPage
	getJSON(t, ts.URL+"/api/runs", &got)
	if len(got.Runs) != maxRuns || got.Total != n || got.More != n-maxRuns || got.Runs[0].Name != "run-0000" {
		t.Fatalf("first page: %d runs, total %d, more %d, first %q", len(got.Runs), got.Total, got.More, got.Runs[0].Name)
	}
	getJSON(t, ts.URL+"/api/runs?offset=1000", &got)
	if len(got.Runs) != 5 || got.More != 0 || got.Offset != 1000 || got.Runs[4].Name != "run-1004" {
		t.Fatalf("second page: %d runs, more %d, offset %d", len(got.Runs), got.More, got.Offset)
	}
	getJSON(t, ts.URL+"/api/runs?offset=3&limit=2", &got)
	if len(got.Runs) != 2 || got.Runs[0].Name != "run-0003" || got.More != n-5 {
		t.Fatalf("limit: %+v", got)
	}
	resp, _ := http.Get(ts.URL + "/api/runs?offset=-1")
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("negative offset: %s", resp.Status)
	}
}

// A run whose metrics cannot be read is listed with the reason; the others
// are listed as usual.
func TestBrokenRunListed(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads unreadable files")
	}
	logdir := t.TempDir()
	writeFixtureRun(t, logdir, fixtureRun{Name: "good", Model: "CNNNet", Epochs: 2, Final: 0.9, Seed: 1})
	mustMkdir(t, filepath.Join(logdir, "locked"))
	p := filepath.Join(logdir, "locked", metricsFile)
	mustWrite(t, p, `{"epoch":1}`+"\n")
	os.Chmod(p, 0)
	_, ts := newTestServer(t, logdir)
	var got testPage
	getJSON(t, ts.URL+"/api/runs", &got)
	errs := map[string]string{}
	for _, r := range got.Runs {
		errs[r.Name] = r.Error
	}
	if errs["good"] != "" || !strings.Contains(errs["locked"], "permission denied") {
		t.Errorf("errors %v", errs)
	}
}

// Large metrics files are served a page of bytes at a time, read from the
// file: the server keeps where the lines are, not the lines.
func TestScalarsPageBytes(t *testing.T) {
	logdir := t.TempDir()
	mustMkdir(t, filepath.Join(logdir, "big"))
	line := `{"epoch":1,"pad":"` + strings.Repeat("x", 600<<10) + `"}` + "\n"
	mustWrite(t, filepath.Join(logdir, "big", metricsFile), strings.Repeat(line, 20))
	s, ts := newTestServer(t, logdir)
	var sc testScalars
	getJSON(t, ts.URL+"/api/runs/big/scalars", &sc)
	if sc.Total != 20 || !sc.More || len(sc.Lines) == 0 || len(sc.Lines)*len(line) > maxPageBytes {
		t.Fatalf("total %d, more %v, %d lines", sc.Total, sc.More, len(sc.Lines))
	}
	got := len(sc.Lines)
	for sc.More {
		getJSON(t, fmt.Sprintf("%s/api/runs/big/scalars?from=%d", ts.URL, got), &sc)
		got += len(sc.Lines)
	}
	if got != 20 {
		t.Errorf("paged %d lines, want 20", got)
	}
	c := s.cache("big")
	if cached := len(c.metrics.lastEpoch) + len(c.metrics.lastLine); cached > 2*len(line) {
		t.Errorf("cache holds %d bytes of lines", cached)
	}
}
