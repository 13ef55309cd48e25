package board_test

import (
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/strata-dl/strata/board"
)

// The handler can be mounted in any server; Serve runs one with timeouts.
func ExampleNew() {
	logdir, err := os.MkdirTemp("", "runs")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(logdir)
	run := filepath.Join(logdir, "mnist-mlp")
	os.Mkdir(run, 0o755)
	os.WriteFile(filepath.Join(run, "config.json"), []byte(`{"model":"SimpleNet","epochs":2}`), 0o644)
	os.WriteFile(filepath.Join(run, "metrics.jsonl"), []byte(`{"epoch":1,"loss":0.31,"accuracy":0.91}
{"epoch":2,"loss":0.18,"acc`), 0o644) // the second line is still being written

	s, err := board.New(logdir, board.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "http://localhost:6006/api/runs", nil))

	var ans struct {
		Runs []struct {
			Name  string
			Lines int
			Last  map[string]float64
		}
	}
	json.Unmarshal(rec.Body.Bytes(), &ans)
	for _, r := range ans.Runs {
		fmt.Printf("%s: %d complete line(s), last loss %.2f\n", r.Name, r.Lines, r.Last["loss"])
	}
	// Output:
	// mnist-mlp: 1 complete line(s), last loss 0.31
}
