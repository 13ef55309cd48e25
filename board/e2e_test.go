package board

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// e2eTrainingRun writes the run that the browser test watches into dir, as a
// training run does: config.json first, then one metrics.jsonl line per
// epoch, appended while it trains. It returns the number of epoch lines it
// wrote, and must not write results.json. The test runs it in a goroutine
// while the page is open, then appends one more epoch line itself.
//
// It is a variable so that the fake writer below can be replaced by a real
// short training run (a few epochs of a small model with its metrics logged
// to dir) without changing the test.
var e2eTrainingRun = func(ctx context.Context, dir string) (epochs int, err error) {
	const n = 5
	return n, realTrainingRun(ctx, dir, n, 150*time.Millisecond)
}

// chromiumPath returns the browser for the test, or skips the test when there
// is none, unless STRATA_REQUIRE_BROWSER=1 asks it to fail.
func chromiumPath(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/usr/bin/chromium"); err == nil && !fi.IsDir() {
		return "/usr/bin/chromium"
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium: install it (Debian: apt-get install -y chromium) to run the browser test"
	if os.Getenv("STRATA_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (STRATA_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg + "; set STRATA_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// TestBrowserDashboard drives the page in headless Chromium: the runs are
// listed, the loss curve of a run being written has one point per epoch line
// and grows by one when a line is appended, without a reload. It saves
// screenshots of the three views to $STRATA_SCREENSHOT (and the same name with
// -run and -images before .png), or to a temporary directory.
func TestBrowserDashboard(t *testing.T) {
	browser := chromiumPath(t)
	start := time.Now()

	logdir := t.TempDir()
	writeFixtureRun(t, logdir, fixtureRun{Name: "cnn-adam", Model: "CNNNet", Epochs: 10, LR: 1e-3, Final: 0.991, Seed: 1, Images: true})
	writeFixtureRun(t, logdir, fixtureRun{Name: "mlp-sgd", Model: "SimpleNet", Epochs: 10, LR: 0.05, Final: 0.975, Seed: 2, Images: true})
	writeFixtureRun(t, logdir, fixtureRun{Name: "lenet5-lr3e-4", Model: "LeNet5", Epochs: 10, Written: 7, LR: 3e-4, Final: 0.986, Seed: 3, Images: true})

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// The server.
	urls := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		served <- Serve(ctx, logdir, "127.0.0.1:0", Options{
			PollInterval: 200 * time.Millisecond,
			Logf:         t.Logf,
			Ready:        func(u string) { urls <- u },
		})
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-served:
		t.Fatalf("Serve: %v", err)
	}
	defer func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()

	// The training run, while the page is open.
	const live = "live"
	liveDir := filepath.Join(logdir, live)
	type result struct {
		epochs int
		err    error
	}
	trained := make(chan result, 1)
	go func() {
		n, err := e2eTrainingRun(ctx, liveDir)
		trained <- result{n, err}
	}()

	// The browser: headless, no network but the loopback server.
	allocCtx, allocCancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(browser),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 900),
	)
	defer allocCancel()
	tab, tabCancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	defer tabCancel()

	// Collect what the page logs: an exception or an error (a refused
	// script, a failed image) fails the test.
	var consoleMu sync.Mutex
	var problems []string
	messages := chromedp.Console(tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				consoleMu.Lock()
				problems = append(problems, fmt.Sprintf("%s:%d %s", m.URL, m.Line+1, m))
				consoleMu.Unlock()
			}
		}
	}()

	if err := chromedp.Do(tab, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
	t.Logf("browser up and page loaded after %v", time.Since(start).Round(time.Millisecond))

	// waitFor polls a JavaScript expression until it is truthy.
	waitFor := func(what, expr string) {
		t.Helper()
		wctx, wcancel := context.WithTimeout(tab, 15*time.Second)
		defer wcancel()
		if _, err := chromedp.Run(wctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
			state, _ := chromedp.Run(tab, chromedp.Evaluate[string](pageState))
			t.Fatalf("waiting for %s: %v\npage: %s", what, err, state)
		}
	}
	points := func(run string) string {
		return fmt.Sprintf(`(() => { const p = document.querySelector('svg.chart path.series[data-run=%q][data-metric="loss"][data-axis="epoch"]'); return p ? Number(p.getAttribute('data-points')) : -1; })()`, run)
	}

	waitFor("the live run in the run list", fmt.Sprintf(`document.querySelector('.run-item[data-run=%q]') !== null`, live))
	for _, run := range []string{"cnn-adam", "mlp-sgd", "lenet5-lr3e-4"} {
		want := 10
		if run == "lenet5-lr3e-4" {
			want = 7
		}
		waitFor(run+" in the run list", fmt.Sprintf(`document.querySelector('.run-item[data-run=%q]') !== null`, run))
		waitFor(fmt.Sprintf("%d loss points of %s", want, run), fmt.Sprintf("%s === %d", points(run), want))
	}

	var res result
	select {
	case res = <-trained:
	case <-ctx.Done():
		t.Fatal("the training run did not finish")
	}
	if res.err != nil {
		t.Fatalf("training run: %v", res.err)
	}
	n := res.epochs
	waitFor(fmt.Sprintf("%d loss points of the live run", n), fmt.Sprintf("%s === %d", points(live), n))

	// One more epoch, appended while the page is open: the curve grows
	// without a reload (the mark on window survives only without one).
	if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](`window.__strataNoReload = true`)); err != nil {
		t.Fatal(err)
	}
	appendEpoch(t, filepath.Join(liveDir, metricsFile), n+1)
	waitFor(fmt.Sprintf("%d loss points after the append", n+1),
		fmt.Sprintf("window.__strataNoReload === true && %s === %d", points(live), n+1))
	t.Logf("curve updated live after %v", time.Since(start).Round(time.Millisecond))

	// Screenshots of the three views.
	shot := os.Getenv("STRATA_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(t.TempDir(), "board.png")
	}
	save := func(path string) {
		t.Helper()
		// Let the last images decode and the layout settle.
		waitFor("images to load", `[...document.images].every((i) => i.complete)`)
		png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	save(shot)
	base := strings.TrimSuffix(shot, filepath.Ext(shot))

	// Hovering a chart shows the values of every run at that epoch.
	hover := `(() => {
	  const hit = document.querySelector('.chart-card[data-chart="epoch|loss"] rect.hit');
	  const r = hit.getBoundingClientRect();
	  hit.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * 0.45, clientY: r.top + r.height / 2, bubbles: true}));
	  const tip = document.getElementById('tooltip');
	  return tip.hidden ? '' : tip.querySelector('.tt-head').textContent + ' / ' + tip.querySelectorAll('.tt-row').length;
	})()`
	tip, err := chromedp.Run(tab, chromedp.Evaluate[string](hover))
	if err != nil || !strings.HasPrefix(tip, "epoch 5 / ") || strings.HasSuffix(tip, " 0") {
		t.Errorf("tooltip %q, %v; want the rows of epoch 5", tip, err)
	}
	if os.Getenv("STRATA_SCREENSHOT") != "" {
		save(base + "-hover.png")
	}
	if hidden, err := chromedp.Run(tab, chromedp.Evaluate[bool](`document.querySelector('.chart-card[data-chart="epoch|loss"] rect.hit').dispatchEvent(new MouseEvent('mouseleave')) && document.getElementById('tooltip').hidden`)); err != nil || !hidden {
		t.Errorf("tooltip still shown after the mouse left: %v", err)
	}

	click := func(sel string) {
		t.Helper()
		if _, err := chromedp.Run(tab, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { document.querySelector(%q).click(); return true; })()`, sel))); err != nil {
			t.Fatalf("click %s: %v", sel, err)
		}
	}
	click(`.run-item[data-run="cnn-adam"] .run-name`)
	waitFor("the run view", `!document.getElementById('view-run').hidden && document.querySelector('#run-details .summary') !== null && document.getElementById('run-title').textContent === 'cnn-adam'`)
	save(base + "-run.png")

	click(`.tab[data-tab="images"]`)
	waitFor("the sample slider", `document.querySelectorAll('.seq-card input[type=range]').length > 0 && document.querySelectorAll('.figure img').length >= 6`)
	waitFor("the latest sample frame", `document.querySelector('.seq-frame').textContent === 'epoch 10 of 10'`)
	save(base + "-images.png")

	consoleMu.Lock()
	defer consoleMu.Unlock()
	for _, p := range problems {
		t.Errorf("page console: %s", p)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Logf("the browser test took %v; keep it under 30 s", d)
	}
}

// pageState describes the page for a failure message.
const pageState = `JSON.stringify({
  status: document.getElementById('status-text') && document.getElementById('status-text').textContent,
  runs: [...document.querySelectorAll('.run-item')].map((e) => e.dataset.run),
  series: [...document.querySelectorAll('path.series')].map((p) => p.dataset.run + '/' + p.dataset.metric + '/' + p.dataset.axis + '=' + p.dataset.points),
})`

// appendEpoch appends the line of one more epoch to the metrics file.
func appendEpoch(t *testing.T, path string, epoch int) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"epoch": epoch, "loss": 0.05, "accuracy": 0.99, "val_loss": 0.06, "val_accuracy": 0.985, "time_s": 11.9})
	if err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, string(b)+"\n")
}
