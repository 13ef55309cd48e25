package board

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestServer serves logdir with httptest, the limits of Serve included.
func newTestServer(t *testing.T, logdir string) (*Server, *httptest.Server) {
	t.Helper()
	s, err := New(logdir, Options{Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = s.newHTTPServer()
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("GET %s: content type %q", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

type testRuns struct {
	Logdir string `json:"logdir"`
	PollMS int    `json:"poll_ms"`
	Runs   []struct {
		Name     string          `json:"name"`
		Config   map[string]any  `json:"config"`
		Results  map[string]any  `json:"results"`
		Last     map[string]any  `json:"last"`
		Lines    int             `json:"lines"`
		Pending  bool            `json:"pending"`
		Skipped  int             `json:"skipped"`
		Summary  bool            `json:"summary"`
		Done     bool            `json:"done"`
		Modified time.Time       `json:"modified"`
		Raw      json.RawMessage `json:"-"`
	} `json:"runs"`
}

type testScalars struct {
	From    int              `json:"from"`
	Total   int              `json:"total"`
	More    bool             `json:"more"`
	Lines   []map[string]any `json:"lines"`
	Pending map[string]any   `json:"pending"`
}

func TestRunListing(t *testing.T) {
	logdir := t.TempDir()
	writeFixtureRun(t, logdir, fixtureRun{Name: "cnn-adam", Model: "CNNNet", Epochs: 4, LR: 1e-3, Final: 0.99, Seed: 1})
	writeFixtureRun(t, logdir, fixtureRun{Name: "mlp-sgd", Model: "SimpleNet", Epochs: 10, Written: 3, LR: 0.1, Final: 0.97, Seed: 2})
	// Not runs: a hidden directory, a plain file, a directory without run files.
	writeFixtureRun(t, logdir, fixtureRun{Name: ".trash", Model: "x", Epochs: 1, Seed: 3})
	mustWrite(t, filepath.Join(logdir, "notes.txt"), "hello")
	mustMkdir(t, filepath.Join(logdir, "empty"))
	// A run with only a metrics file, whose last line is being written.
	mustMkdir(t, filepath.Join(logdir, "bare"))
	mustWrite(t, filepath.Join(logdir, "bare", metricsFile), "{\"step\":10,\"loss\":0.9}\n{\"step\":20,\"lo")

	_, ts := newTestServer(t, logdir)
	var got testRuns
	getJSON(t, ts.URL+"/api/runs", &got)

	var names []string
	byName := map[string]int{}
	for i, r := range got.Runs {
		names = append(names, r.Name)
		byName[r.Name] = i
	}
	slices.Sort(names) // the listing is newest first (TestRunOrderAndPaging)
	if want := "bare,cnn-adam,mlp-sgd"; strings.Join(names, ",") != want {
		t.Fatalf("runs %v, want %s", names, want)
	}
	if got.PollMS != 2000 {
		t.Errorf("poll_ms %d, want 2000", got.PollMS)
	}
	bare, cnn, mlp := got.Runs[byName["bare"]], got.Runs[byName["cnn-adam"]], got.Runs[byName["mlp-sgd"]]
	if bare.Lines != 1 || bare.Last["step"] != 10.0 || bare.Config != nil || bare.Done {
		t.Errorf("bare run: %+v", bare)
	}
	if !cnn.Done || cnn.Results["test_accuracy"] == nil || cnn.Lines != 4 || cnn.Last["epoch"] != 4.0 || !cnn.Summary {
		t.Errorf("finished run: %+v", cnn)
	}
	if cnn.Config["model"] != "CNNNet" || cnn.Config["epochs"] != 4.0 {
		t.Errorf("config %v", cnn.Config)
	}
	if mlp.Done || mlp.Results != nil || mlp.Lines != 3 || mlp.Last["epoch"] != 3.0 {
		t.Errorf("running run: %+v", mlp)
	}
	if mlp.Modified.IsZero() || time.Since(mlp.Modified) > time.Hour {
		t.Errorf("modified %v", mlp.Modified)
	}

	// A run that appears later is listed on the next request.
	writeFixtureRun(t, logdir, fixtureRun{Name: "late", Model: "LeNet5", Epochs: 2, Written: 1, Final: 0.9, Seed: 4})
	getJSON(t, ts.URL+"/api/runs", &got)
	if len(got.Runs) != 4 || got.Runs[0].Name != "late" {
		t.Fatalf("after a new run: %d runs", len(got.Runs))
	}
}

func TestScalarsPartialLastLine(t *testing.T) {
	logdir := t.TempDir()
	dir := filepath.Join(logdir, "run")
	mustMkdir(t, dir)
	path := filepath.Join(dir, metricsFile)
	mustWrite(t, path, `{"epoch":1,"loss":0.5,"accuracy":0.8}
{"epoch":2,"loss":0.4,"accuracy":0.85}
not json at all
["an","array"]

{"step":300,"loss":0.35}
{"epoch":3,"loss":0.3,"accu`)
	_, ts := newTestServer(t, logdir)
	url := ts.URL + "/api/runs/run/scalars"

	var sc testScalars
	getJSON(t, url, &sc)
	if sc.Total != 3 || len(sc.Lines) != 3 || sc.Pending != nil || sc.More {
		t.Fatalf("got %+v, want 3 lines and no pending line", sc)
	}
	if sc.Lines[2]["step"] != 300.0 {
		t.Errorf("third line %v", sc.Lines[2])
	}
	var runs testRuns
	getJSON(t, ts.URL+"/api/runs", &runs)
	if r := runs.Runs[0]; r.Skipped != 2 || r.Lines != 3 || r.Last["epoch"] != 2.0 {
		t.Errorf("run info: skipped %d lines %d last %v", r.Skipped, r.Lines, r.Last)
	}

	// The writer finishes the object but not yet the newline: shown as
	// pending, not counted.
	appendFile(t, path, `racy":0.9}`)
	getJSON(t, url+"?from=3", &sc)
	if sc.Total != 3 || len(sc.Lines) != 0 || sc.Pending["epoch"] != 3.0 {
		t.Fatalf("with a whole unterminated line: %+v", sc)
	}
	getJSON(t, ts.URL+"/api/runs", &runs)
	if r := runs.Runs[0]; !r.Pending || r.Lines != 3 || r.Last["epoch"] != 3.0 {
		t.Errorf("run info with a whole unterminated line: pending %v lines %d last %v", r.Pending, r.Lines, r.Last)
	}
	appendFile(t, path, "\n{\"epoch\":4,")
	getJSON(t, url+"?from=3", &sc)
	if sc.Total != 4 || len(sc.Lines) != 1 || sc.Lines[0]["accuracy"] != 0.9 || sc.Pending != nil || sc.From != 3 {
		t.Fatalf("after the newline: %+v", sc)
	}

	// A rewritten (shorter) file is read again from the start.
	mustWrite(t, path, "{\"epoch\":1,\"loss\":9}\n")
	getJSON(t, url+"?from=4", &sc)
	if sc.Total != 1 || len(sc.Lines) != 0 || sc.From != 1 {
		t.Fatalf("after a rewrite, from=4: %+v", sc)
	}
	getJSON(t, url, &sc)
	if sc.Total != 1 || sc.Lines[0]["loss"] != 9.0 {
		t.Fatalf("after a rewrite: %+v", sc)
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestScalarsOverlongLine(t *testing.T) {
	logdir := t.TempDir()
	mustMkdir(t, filepath.Join(logdir, "run"))
	long := `{"epoch":2,"junk":"` + strings.Repeat("x", maxLineBytes) + `"}`
	mustWrite(t, filepath.Join(logdir, "run", metricsFile), "{\"epoch\":1,\"loss\":1}\n"+long+"\n{\"epoch\":3,\"loss\":0.5}\n")
	_, ts := newTestServer(t, logdir)
	var sc testScalars
	getJSON(t, ts.URL+"/api/runs/run/scalars", &sc)
	if sc.Total != 2 || sc.Lines[1]["epoch"] != 3.0 {
		t.Fatalf("got %d lines %v", sc.Total, sc.Lines)
	}
}

// TestScalarsWhileAppending reads the metrics while a writer appends them in
// small pieces, as a training run flushes them: every answer must hold whole
// lines in order, and the last one all of them.
func TestScalarsWhileAppending(t *testing.T) {
	logdir := t.TempDir()
	mustMkdir(t, filepath.Join(logdir, "run"))
	path := filepath.Join(logdir, "run", metricsFile)
	mustWrite(t, path, "")
	_, ts := newTestServer(t, logdir)

	const n = 300
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Error(err)
			return
		}
		defer f.Close()
		for i := 1; i <= n; i++ {
			line := fmt.Sprintf("{\"epoch\":%d,\"loss\":%g,\"val_loss\":%g}\n", i, 1/float64(i), 1.1/float64(i))
			for len(line) > 0 { // write in pieces of 1 to 7 bytes
				k := min(len(line), 1+i%7)
				if _, err := f.WriteString(line[:k]); err != nil {
					t.Error(err)
					return
				}
				line = line[k:]
			}
		}
	}()

	// Two readers: one that asks for everything, one that asks for what is new.
	var readers sync.WaitGroup
	for _, incremental := range []bool{false, true} {
		readers.Add(1)
		go func() {
			defer readers.Done()
			have := 0
			for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); {
				from := 0
				if incremental {
					from = have
				}
				var sc testScalars
				resp, err := http.Get(fmt.Sprintf("%s/api/runs/run/scalars?from=%d", ts.URL, from))
				if err != nil {
					t.Error(err)
					return
				}
				err = json.NewDecoder(resp.Body).Decode(&sc)
				resp.Body.Close()
				if err != nil {
					t.Error(err)
					return
				}
				for i, l := range sc.Lines {
					if want := float64(sc.From + i + 1); l["epoch"] != want || l["val_loss"] == nil {
						t.Errorf("line %d is %v, want epoch %v", sc.From+i, l, want)
						return
					}
				}
				if sc.Total < have {
					t.Errorf("total went back from %d to %d", have, sc.Total)
					return
				}
				have = sc.Total
				if have == n {
					return
				}
			}
			t.Errorf("saw %d of %d lines", have, n)
		}()
	}
	wg.Wait()
	readers.Wait()
}

func TestScalarsPaging(t *testing.T) {
	logdir := t.TempDir()
	mustMkdir(t, filepath.Join(logdir, "run"))
	var b strings.Builder
	total := maxLinesPage + 5
	for i := 1; i <= total; i++ {
		fmt.Fprintf(&b, "{\"step\":%d,\"loss\":1}\n", i)
	}
	mustWrite(t, filepath.Join(logdir, "run", metricsFile), b.String())
	_, ts := newTestServer(t, logdir)
	var sc testScalars
	getJSON(t, ts.URL+"/api/runs/run/scalars", &sc)
	if !sc.More || len(sc.Lines) != maxLinesPage || sc.Total != total {
		t.Fatalf("first page: more %v, %d lines of %d", sc.More, len(sc.Lines), sc.Total)
	}
	getJSON(t, fmt.Sprintf("%s/api/runs/run/scalars?from=%d", ts.URL, maxLinesPage), &sc)
	if sc.More || len(sc.Lines) != 5 || sc.Lines[4]["step"] != float64(total) {
		t.Fatalf("second page: more %v, %d lines", sc.More, len(sc.Lines))
	}
	for _, bad := range []string{"-1", "x", "1e3", "99999999999999999999"} {
		if code := status(t, ts.URL+"/api/runs/run/scalars?from="+bad); code != http.StatusBadRequest {
			t.Errorf("from=%s: status %d, want 400", bad, code)
		}
	}
}

func status(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestImagesAndSummary(t *testing.T) {
	logdir := t.TempDir()
	dir := writeFixtureRun(t, logdir, fixtureRun{Name: "gan", Model: "DCGAN", Epochs: 2, Final: 0.9, Seed: 5, Images: true})
	// More frames than the fixture, out of lexical order, and files that are no images.
	writePNG(t, filepath.Join(dir, "samples_epoch_010.png"), sampleGrid(1, 1))
	writePNG(t, filepath.Join(dir, "fakes-step-200.png"), sampleGrid(1, 1))
	writePNG(t, filepath.Join(dir, "fakes-step-1000.png"), sampleGrid(1, 1))
	mustWrite(t, filepath.Join(dir, "notes.txt"), "x")
	mustMkdir(t, filepath.Join(dir, ".cache"))
	writePNG(t, filepath.Join(dir, ".cache", "hidden.png"), sampleGrid(1, 1))

	_, ts := newTestServer(t, logdir)
	var got struct {
		Sequences []struct {
			Name   string `json:"name"`
			Axis   string `json:"axis"`
			Frames []struct {
				Path    string `json:"path"`
				Index   int    `json:"index"`
				Version string `json:"version"`
			} `json:"frames"`
		} `json:"sequences"`
		Groups []struct {
			Name   string `json:"name"`
			Images []struct {
				Path string `json:"path"`
			} `json:"images"`
		} `json:"groups"`
	}
	getJSON(t, ts.URL+"/api/runs/gan/images", &got)
	var seqs []string
	for _, sq := range got.Sequences {
		var frames []string
		for _, f := range sq.Frames {
			frames = append(frames, fmt.Sprint(f.Index))
			if f.Version == "" {
				t.Errorf("%s has no version", f.Path)
			}
		}
		seqs = append(seqs, sq.Name+"/"+sq.Axis+":"+strings.Join(frames, ","))
	}
	if want := "fakes/step:200,1000 samples/epoch:1,2,10"; strings.Join(seqs, " ") != want {
		t.Errorf("sequences %q, want %q", strings.Join(seqs, " "), want)
	}
	var groups []string
	for _, g := range got.Groups {
		var paths []string
		for _, im := range g.Images {
			paths = append(paths, im.Path)
		}
		groups = append(groups, g.Name+":"+strings.Join(paths, ","))
	}
	want := "plots:history.png,confusion.png,roc.png explain:explain/saliency_0.png,explain/saliency_1.png,explain/saliency_2.png"
	if strings.Join(groups, " ") != want {
		t.Errorf("groups %q, want %q", strings.Join(groups, " "), want)
	}

	// The listed files are served as PNG.
	resp, err := http.Get(ts.URL + "/files/gan/explain/saliency_1.png")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(string(body), "\x89PNG") {
		t.Errorf("image: %s %q", resp.Status, resp.Header.Get("Content-Type"))
	}

	var sum struct {
		Summary *string `json:"summary"`
	}
	getJSON(t, ts.URL+"/api/runs/gan/summary", &sum)
	if sum.Summary == nil || !strings.Contains(*sum.Summary, "Total params: 34,826") {
		t.Errorf("summary %v", sum.Summary)
	}
	os.Remove(filepath.Join(dir, summaryFile))
	getJSON(t, ts.URL+"/api/runs/gan/summary", &sum)
	if sum.Summary != nil {
		t.Errorf("summary of a run without one: %q", *sum.Summary)
	}
}

// rawGet sends the request target exactly as given, which an http.Client
// would normalise, and returns the status and the body.
func rawGet(t *testing.T, addr, target string, header ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n" + strings.Join(header, "") + "\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestFilesTraversal(t *testing.T) {
	base := t.TempDir()
	const secret = "TOP-SECRET-CONTENT"
	mustWrite(t, filepath.Join(base, "secret.txt"), secret)
	mustMkdir(t, filepath.Join(base, "outside"))
	mustWrite(t, filepath.Join(base, "outside", "secret.png"), secret)
	logdir := filepath.Join(base, "logs")
	dir := writeFixtureRun(t, logdir, fixtureRun{Name: "r", Model: "m", Epochs: 1, Final: 0.9, Seed: 1, Images: true})
	writeFixtureRun(t, logdir, fixtureRun{Name: "other", Model: "m", Epochs: 1, Final: 0.9, Seed: 2})
	mustWrite(t, filepath.Join(dir, ".env"), secret)
	mustMkdir(t, filepath.Join(dir, "sub"))
	// Links out of the log directory, and one that stays inside it.
	symlink(t, filepath.Join(base, "secret.txt"), filepath.Join(dir, "leak.png"))
	symlink(t, filepath.Join("..", "..", "..", "secret.txt"), filepath.Join(dir, "leakrel.png"))
	symlink(t, filepath.Join(base, "outside"), filepath.Join(dir, "leakdir"))
	symlink(t, filepath.Join(base, "outside"), filepath.Join(logdir, "evilrun"))
	symlink(t, filepath.Join("..", "other", configFile), filepath.Join(dir, "inside.json"))
	symlink(t, filepath.Join(logdir, "other", configFile), filepath.Join(dir, "absolute.json"))
	makeFIFO(t, filepath.Join(dir, "fifo.png"))

	_, ts := newTestServer(t, logdir)
	addr := ts.Listener.Addr().String()

	for _, target := range []string{
		"/files/r/../../secret.txt",
		"/files/r/../other/config.json",
		"/files/r/./history.png",
		"/files/r/%2e%2e/%2e%2e/secret.txt",
		"/files/r/%2E%2E/%2E%2E/secret.txt",
		"/files/r/..%2f..%2fsecret.txt",
		"/files/r/..%2F..%2Fsecret.txt",
		"/files/r/%2e%2e%2f%2e%2e%2fsecret.txt",
		"/files/r/%252e%252e/%252e%252e/secret.txt",
		"/files/r/%252e%252e%252f%252e%252e%252fsecret.txt",
		"/files/r/..%5c..%5csecret.txt",
		"/files/r/..\\..\\secret.txt",
		"/files/r/%2fetc%2fpasswd",
		"/files/r//etc/passwd",
		"/files/r/%2F" + strings.TrimPrefix(filepath.ToSlash(filepath.Join(base, "secret.txt")), "/"),
		"/files/..%2fsecret.txt/x",
		"/files/%2e%2e/secret.txt",
		"/files/%2e%2e/logs/r/config.json",
		"/files/r/%00",
		"/files/r/history.png%00.txt",
		"/files/r/.env",
		"/files/r/%2eenv",
		"/files/r/sub",
		"/files/r/sub/",
		"/files/r/",
		"/files/r/leak.png",
		"/files/r/leakrel.png",
		"/files/r/leakdir/secret.png",
		"/files/evilrun/secret.png",
		"/files/r/fifo.png",
		"/files/r/absolute.json", // os.Root refuses absolute links
		"/files/r/missing.png",
		"/files/nosuchrun/config.json",
		"/files/.trash/config.json",
		"/static/../files/r/../../secret.txt",
		"/static/%2e%2e/%2e%2e/secret.txt",
		"/api/runs/..%2f..%2fsecret.txt/scalars",
		"/api/runs/%2e%2e/scalars",
		"/api/runs/evilrun/images",
		"http://127.0.0.1/files/r/../../secret.txt",
	} {
		code, body := rawGet(t, addr, target)
		t.Logf("GET %s: %d", target, code)
		if code != http.StatusNotFound && code != http.StatusBadRequest {
			t.Errorf("GET %s: status %d, want 404 or 400", target, code)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s: the body holds the secret", target)
		}
	}

	for _, target := range []string{
		"/files/r/history.png",
		"/files/r/explain/saliency_0.png",
		"/files/r/samples_epoch_001.png",
		"/files/r/config.json",
		"/files/r/inside.json", // a relative link that stays in the log directory
		"/files/r/%68istory.png",
	} {
		if code, _ := rawGet(t, addr, target); code != http.StatusOK {
			t.Errorf("GET %s: status %d, want 200", target, code)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symbolic links: %v", err)
	}
}

func TestRequestLimits(t *testing.T) {
	logdir := t.TempDir()
	writeFixtureRun(t, logdir, fixtureRun{Name: "r", Model: "m", Epochs: 1, Final: 0.9, Seed: 1})
	s, ts := newTestServer(t, logdir)
	addr := ts.Listener.Addr().String()

	cases := []struct {
		name    string
		method  string
		target  string
		headers string
		body    string
		want    int
	}{
		{"GET with a body", "GET", "/api/runs", "Content-Length: 5\r\n", "hello", http.StatusRequestEntityTooLarge},
		{"GET with a chunked body", "GET", "/api/runs", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n", http.StatusRequestEntityTooLarge},
		{"POST", "POST", "/api/runs", "Content-Length: 2\r\n", "{}", http.StatusMethodNotAllowed},
		{"PUT", "PUT", "/files/r/x.png", "Content-Length: 1\r\n", "x", http.StatusMethodNotAllowed},
		{"DELETE", "DELETE", "/files/r/config.json", "", "", http.StatusMethodNotAllowed},
		{"long URL", "GET", "/api/runs?x=" + strings.Repeat("a", maxURLLength), "", "", http.StatusRequestURITooLong},
		{"long path", "GET", "/files/r/" + strings.Repeat("a/", maxURLLength/2) + "x.png", "", "", http.StatusRequestURITooLong},
		{"huge header", "GET", "/api/runs", "X-Big: " + strings.Repeat("b", 2*maxHeaderBytes) + "\r\n", "", http.StatusRequestHeaderFieldsTooLarge},
		{"foreign Host", "GET", "/api/runs", "Host: attacker.example\r\n", "", http.StatusForbidden},
		{"plain GET", "GET", "/api/runs", "", "", http.StatusOK},
		{"HEAD", "HEAD", "/api/runs", "", "", http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			host := "Host: 127.0.0.1\r\n"
			if strings.HasPrefix(c.headers, "Host:") {
				host = ""
			}
			fmt.Fprintf(conn, "%s %s HTTP/1.1\r\n%s%sConnection: close\r\n\r\n%s", c.method, c.target, host, c.headers, c.body)
			req, _ := http.NewRequest(c.method, "/", nil)
			resp, err := http.ReadResponse(bufio.NewReader(conn), req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.want {
				t.Errorf("status %d, want %d", resp.StatusCode, c.want)
			}
		})
	}

	hs := s.newHTTPServer()
	if hs.ReadHeaderTimeout <= 0 || hs.ReadTimeout <= 0 || hs.WriteTimeout <= 0 || hs.IdleTimeout <= 0 || hs.MaxHeaderBytes != maxHeaderBytes {
		t.Errorf("server limits not set: %+v", hs)
	}
}

func TestHostCheck(t *testing.T) {
	logdir := t.TempDir()
	for _, tc := range []struct {
		host    string
		anyHost bool
		want    int
	}{
		{"127.0.0.1:6006", false, 200},
		{"localhost:6006", false, 200},
		{"LOCALHOST", false, 200},
		{"board.localhost:6006", false, 200},
		{"[::1]:6006", false, 200},
		{"192.168.1.20:6006", false, 200},
		{"", false, 200},
		{"evil.example:6006", false, 403},
		{"localhost.evil.example", false, 403},
		{"evil.example:6006", true, 200},
	} {
		s, err := New(logdir, Options{AnyHost: tc.anyHost})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("GET", "/api/runs", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("Host %q (AnyHost %v): status %d, want %d", tc.host, tc.anyHost, rec.Code, tc.want)
		}
		s.Close()
	}
}

func TestPageAndAssets(t *testing.T) {
	_, ts := newTestServer(t, t.TempDir())
	for _, c := range []struct{ path, ctype, contains string }{
		{"/", "text/html", `<script src="/static/app.js"`},
		{"/static/app.js", "text/javascript", "data-points"},
		{"/static/style.css", "text/css", "--accent"},
		{"/static/favicon.svg", "image/svg+xml", "<svg"},
	} {
		resp, err := http.Get(ts.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.ctype) || !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: %s %q", c.path, resp.Status, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: CSP %q", c.path, csp)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff", c.path)
		}
	}
	for _, p := range []string{"/index.html/x", "/nope", "/api", "/api/runs/x/scalars", "/static/nope.js"} {
		if code := status(t, ts.URL+p); code != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", p, code)
		}
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("New with a missing directory: no error")
	}
	f := filepath.Join(t.TempDir(), "file")
	mustWrite(t, f, "x")
	if _, err := New(f, Options{}); err == nil {
		t.Error("New with a file: no error")
	}
}

func TestServe(t *testing.T) {
	logdir := t.TempDir()
	writeFixtureRun(t, logdir, fixtureRun{Name: "r", Model: "m", Epochs: 2, Final: 0.9, Seed: 1})
	ctx, cancel := context.WithCancel(context.Background())
	urls := make(chan string, 1)
	done := make(chan error, 1)
	var logged strings.Builder
	var mu sync.Mutex
	go func() {
		done <- Serve(ctx, logdir, "127.0.0.1:0", Options{
			Ready: func(u string) { urls <- u },
			Logf: func(format string, args ...any) {
				mu.Lock()
				fmt.Fprintf(&logged, format+"\n", args...)
				mu.Unlock()
			},
		})
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("Serve: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not become ready")
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Errorf("url %q", url)
	}
	var runs testRuns
	getJSON(t, url+"api/runs", &runs)
	if len(runs.Runs) != 1 {
		t.Errorf("%d runs", len(runs.Runs))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not stop")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logged.String(), url) || strings.Contains(logged.String(), "warning") {
		t.Errorf("log %q", logged.String())
	}
	if _, err := http.Get(url + "api/runs"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestServeErrors(t *testing.T) {
	if err := Serve(context.Background(), t.TempDir(), "256.0.0.1:-1", Options{Logf: t.Logf}); err == nil {
		t.Error("bad address: no error")
	}
	if err := Serve(context.Background(), filepath.Join(t.TempDir(), "no"), "", Options{Logf: t.Logf}); err == nil {
		t.Error("missing logdir: no error")
	}
}

func TestLoopbackAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:6006": true, "localhost:6006": true, "[::1]:6006": true, "127.1.2.3:80": true,
		":6006": false, "0.0.0.0:6006": false, "[::]:6006": false, "192.168.0.1:6006": false,
		"example.com:6006": false, "nonsense": false,
	} {
		if got := isLoopbackAddr(addr); got != want {
			t.Errorf("isLoopbackAddr(%q) = %v, want %v", addr, got, want)
		}
	}
}
