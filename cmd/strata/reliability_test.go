package main

// Reliability of the strata command as a process: interrupting it with
// SIGINT or SIGTERM, killing it with SIGKILL at random moments, resuming,
// and reproducing a run bit for bit. The commands run as child processes:
// the test binary re-executes itself as strata (see TestMain), with
// GOMAXPROCS=2 so that every run uses the same thread count.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/strata-dl/strata/checkpoint"
	runs "github.com/strata-dl/strata/run"
	"github.com/strata-dl/strata/tensor"
	"github.com/strata-dl/strata/train"
	"github.com/strata-dl/strata/zoo"
)

// execEnv, set to 1, makes the test binary run as the strata command.
const execEnv = "STRATA_TEST_EXEC_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// process is a strata command running as a child process.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	started        time.Time
}

// start runs strata with args in a child process with GOMAXPROCS=2. The
// process is killed when the test ends, if it still runs.
func start(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), execEnv+"=1", "GOMAXPROCS=2", "STRATA_DEBUG=")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.started = time.Now()
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits for the process to end and returns its exit status (-1 when
// a signal ended it).
func (p *process) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("strata %s still ran after %v; stderr:\n%s", strings.Join(p.cmd.Args[1:], " "), timeout, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// mustSucceed waits for the process and fails the test unless it exits 0.
func (p *process) mustSucceed(t *testing.T) {
	t.Helper()
	if code := p.wait(t, 3*time.Minute); code != 0 {
		t.Fatalf("strata %s: exit %d; stderr:\n%s", strings.Join(p.cmd.Args[1:], " "), code, p.stderr.String())
	}
}

// waitForFile waits until path exists, failing if the process ends first.
func (p *process) waitForFile(t *testing.T, path string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case <-p.done:
			if _, err := os.Stat(path); err == nil {
				return
			}
			t.Fatalf("strata ended (exit %d) before writing %s; stderr:\n%s", p.cmd.ProcessState.ExitCode(), path, p.stderr.String())
		case <-time.After(2 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", path, timeout)
		}
	}
}

// trainTiny trains model for one epoch on the MNIST-layout dataDir,
// in-process, into out and returns out.
func trainTiny(t *testing.T, model, dataDir, out string) string {
	t.Helper()
	_, stderr, code := strata(t, "train", "--model", model, "--data", "idx:"+dataDir, "--epochs", "1", "--batch-size", "10", "--out", out, "--quiet")
	if code != 0 {
		t.Fatalf("training the %s fixture: exit %d: %s", model, code, stderr)
	}
	return out
}

func writeBytes(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// stHeaderLen returns a safetensors file claiming a header of n bytes,
// followed by rest.
func stHeaderLen(n uint64, rest []byte) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

// stFile returns a safetensors file with the given JSON header and a byte
// buffer of n zero bytes.
func stFile(header string, n int) []byte {
	return append(stHeaderLen(uint64(len(header)), []byte(header)), make([]byte, n)...)
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeBytes(t, to, e.Name(), b)
	}
}

// tempFiles lists the temporary files of checkpoint.WriteFileAtomic under
// dir.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// noTempFiles fails the test if a half-written file is left under dir.
func noTempFiles(t *testing.T, dir string) {
	t.Helper()
	if tf := tempFiles(t, dir); len(tf) > 0 {
		t.Errorf("half-written files left behind: %v", tf)
	}
}

// sameWeights requires the safetensors files a and b to hold the same
// tensors, bit for bit.
func sameWeights(t *testing.T, a, b string) {
	t.Helper()
	fa, err := checkpoint.LoadSafetensors(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := checkpoint.LoadSafetensors(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fa.Names, fb.Names) {
		t.Fatalf("%s holds %v, %s holds %v", a, fa.Names, b, fb.Names)
	}
	for _, n := range fa.Names {
		da, db := fa.Tensors[n].Data(), fb.Tensors[n].Data()
		for i := range da {
			if math.Float32bits(da[i]) != math.Float32bits(db[i]) {
				t.Errorf("tensor %s differs first at element %d: %v and %v", n, i, da[i], db[i])
				break
			}
		}
	}
}

// metricsEpochs returns the epoch numbers of a run's metrics.jsonl lines
// and the lines without their wall-clock time.
func metricsEpochs(t *testing.T, dir string) ([]int, []map[string]any) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var epochs []int
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("metrics.jsonl line %d: %v", len(lines)+1, err)
		}
		delete(m, "time_s")
		epochs = append(epochs, int(m["epoch"].(float64)))
		lines = append(lines, m)
	}
	return epochs, lines
}

// wantEpochs requires metrics.jsonl to log epochs 1 to n once each, in
// order.
func wantEpochs(t *testing.T, dir string, n int) {
	t.Helper()
	got, _ := metricsEpochs(t, dir)
	want := make([]int, n)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(got, want) {
		t.Errorf("metrics.jsonl logs epochs %v, want 1 to %d once each", got, n)
	}
}

// TestInterruptAndResume stops a run with SIGINT (and SIGTERM) in its
// second epoch, requires a prompt exit 0 with a loadable checkpoint, and
// requires the resumed run to end with the weights of an uninterrupted
// run, bit for bit.
func TestInterruptAndResume(t *testing.T) {
	data := mnistDir(t, 800, mod10, nil)
	const epochs = 6
	base := []string{"train", "--model", "mlp", "--data", "idx:" + data, "--epochs", strconv.Itoa(epochs),
		"--batch-size", "8", "--test-limit", "50", "--seed", "7", "--quiet"}
	straight := filepath.Join(t.TempDir(), "straight")
	start(t, append(base, "--out", straight)...).mustSucceed(t)
	wantEpochs(t, straight, epochs)

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			state := filepath.Join(dir, "state.safetensors")
			p := start(t, append(base, "--out", dir)...)
			p.waitForFile(t, state, time.Minute) // epoch 1 is done
			time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			sent := time.Now()
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			code := p.wait(t, 30*time.Second)
			took := time.Since(sent)
			if code != 0 {
				t.Fatalf("exit %d after %v, want 0; stderr:\n%s", code, sig, p.stderr.String())
			}
			if took > 5*time.Second {
				t.Errorf("took %v to exit after %v, want a few seconds at most", took, sig)
			}
			ck, err := train.LoadCheckpoint(state)
			if err != nil {
				t.Fatalf("checkpoint after %v: %v", sig, err)
			}
			t.Logf("%v: exit 0 after %v; checkpoint at epoch %d, batch %d", sig, took.Round(time.Millisecond), ck.Epoch, ck.Batch)
			if ck.Epoch <= epochs && !strings.Contains(p.stderr.String(), "interrupted; checkpoint saved. Resume with: strata train --resume "+dir) {
				t.Errorf("stderr does not say how to resume:\n%s", p.stderr.String())
			}
			noTempFiles(t, dir)
			start(t, "train", "--resume", dir, "--quiet").mustSucceed(t)
			sameWeights(t, filepath.Join(straight, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
			wantEpochs(t, dir, epochs)
			// Every epoch logs the metrics of an uninterrupted run, the
			// interrupted one too: its running sums are in the checkpoint
			// (#19, class 3).
			_, want := metricsEpochs(t, straight)
			_, got := metricsEpochs(t, dir)
			for i := range min(len(got), len(want)) {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("epoch %d logs %v, uninterrupted %v (checkpoint at epoch %d, batch %d)", i+1, got[i], want[i], ck.Epoch, ck.Batch)
				}
			}
		})
	}
}

var resumingRE = regexp.MustCompile(`Resuming .* at epoch (\d+), batch (\d+)`)

// TestKillAtRandomMoments kills a training run with SIGKILL at random
// moments, resuming it each time, with epochs of two batches so that
// checkpoints are written many times a second and kills land inside
// checkpoint writes. After each kill state.safetensors is absent (before
// the first one) or loads, the resumed run starts from it, and the run
// finally ends with the weights of an uninterrupted run, bit for bit.
func TestKillAtRandomMoments(t *testing.T) {
	data := mnistDir(t, 64, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	state := filepath.Join(dir, "state.safetensors")
	// A constant learning rate: the run is extended with --epochs at the
	// end, which re-spreads a cosine schedule over the new length.
	common := []string{"--model", "mlp", "--data", "idx:" + data, "--batch-size", "32", "--test-limit", "20", "--seed", "5", "--lr-schedule", "constant"}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("kill delays from seed %d", seed)
	const kills = 8
	var last *train.Checkpoint
	leftovers := 0
	for i := range kills {
		args := append(append([]string{"train"}, common...), "--epochs", "1000000", "--out", dir)
		if last != nil {
			args = []string{"train", "--resume", dir} // progress on stdout says where it resumed
		}
		p := start(t, args...)
		delay := time.Duration(100+rng.IntN(500)) * time.Millisecond
		if i == 0 {
			delay = time.Duration(rng.IntN(150)) * time.Millisecond // maybe before the first checkpoint
		} else if last == nil {
			p.waitForFile(t, state, time.Minute) // however slow the machine, later kills find checkpoints
		}
		select {
		case <-p.done:
			t.Fatalf("run %d ended by itself (exit %d); stderr:\n%s", i, p.cmd.ProcessState.ExitCode(), p.stderr.String())
		case <-time.After(delay):
		}
		p.cmd.Process.Kill()
		p.wait(t, 30*time.Second)
		if n := len(tempFiles(t, dir)); n > 0 {
			leftovers++
		}
		if last != nil {
			if m := resumingRE.FindStringSubmatch(p.stdout.String()); m != nil {
				if m[1] != strconv.Itoa(last.Epoch) || m[2] != strconv.Itoa(last.Batch) {
					t.Errorf("run %d resumed at epoch %s, batch %s; the last checkpoint is at epoch %d, batch %d", i, m[1], m[2], last.Epoch, last.Batch)
				}
			}
		}
		ck, err := train.LoadCheckpoint(state)
		if errors.Is(err, os.ErrNotExist) && last == nil {
			t.Logf("kill %d after %v: no checkpoint yet", i, delay)
			continue
		}
		if err != nil {
			t.Fatalf("kill %d after %v left an unreadable checkpoint: %v", i, delay, err)
		}
		if ck.Batch != 0 || ck.Steps != 2*(ck.Epoch-1) || len(ck.History.Epochs) != ck.Epoch-1 {
			t.Fatalf("kill %d: checkpoint at epoch %d, batch %d after %d steps with %d epochs of history: inconsistent", i, ck.Epoch, ck.Batch, ck.Steps, len(ck.History.Epochs))
		}
		if last != nil && ck.Epoch < last.Epoch {
			t.Fatalf("kill %d: checkpoint went back from epoch %d to %d: the run did not resume", i, last.Epoch, ck.Epoch)
		}
		t.Logf("kill %d after %v: checkpoint at epoch %d", i, delay, ck.Epoch)
		last = ck
	}
	if last == nil {
		t.Fatalf("no checkpoint after %d runs", kills)
	}
	t.Logf("%d of %d kills left a temporary file behind", leftovers, kills)

	final := last.Epoch + 1
	start(t, "train", "--resume", dir, "--epochs", strconv.Itoa(final), "--quiet").mustSucceed(t)
	noTempFiles(t, dir)
	wantEpochs(t, dir, final)
	ref := filepath.Join(t.TempDir(), "ref")
	start(t, append(append([]string{"train"}, common...), "--epochs", strconv.Itoa(final), "--out", ref, "--quiet")...).mustSucceed(t)
	sameWeights(t, filepath.Join(ref, "model.safetensors"), filepath.Join(dir, "model.safetensors"))
}

// TestReproducible trains twice with the same seed, data and thread count
// and requires bit-identical weights and metrics, and a config.json that
// records what is needed to repeat the run.
func TestReproducible(t *testing.T) {
	data := mnistDir(t, 40, mod10, nil)
	for _, model := range []string{"cnn", "lstm"} {
		t.Run(model, func(t *testing.T) {
			if _, err := zoo.LookupClassifier(model); err != nil {
				t.Skipf("--model %s is not in the zoo yet (%v): the recurrent models add it", model, err)
			}
			var dirs [2]string
			var args []string
			for i := range dirs {
				dirs[i] = filepath.Join(t.TempDir(), "run")
				args = []string{"--model", model, "--data", "idx:" + data, "--epochs", "2", "--batch-size", "10",
					"--seed", "11", "--test-limit", "20", "--quiet", "--out", dirs[i]}
				start(t, append([]string{"train"}, args...)...).mustSucceed(t)
			}
			sameWeights(t, filepath.Join(dirs[0], "model.safetensors"), filepath.Join(dirs[1], "model.safetensors"))
			_, m0 := metricsEpochs(t, dirs[0])
			_, m1 := metricsEpochs(t, dirs[1])
			if !reflect.DeepEqual(m0, m1) {
				t.Errorf("metrics differ:\n%v\n%v", m0, m1)
			}
			checkConfig(t, dirs[1], args, model, data)
		})
	}
}

// checkConfig checks the config.json of a run started with args.
func checkConfig(t *testing.T, dir string, args []string, model, data string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	ds, err := loadDataset("idx:" + data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"model": model, "data": "idx:" + data, "data_source": data, "data_sha256": ds.SHA256,
		"seed": 11.0, "threads": 2.0, "epochs": 2.0, "batch_size": 10.0, "optimizer": "adam", "test_limit": 20.0,
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("config.json %s = %v, want %v", k, c[k], v)
		}
	}
	if v, _ := c["version"].(string); v == "" {
		t.Errorf("config.json has no version: %v", c["version"])
	}
	if got := fmt.Sprint(c["args"]); got != fmt.Sprint(args) {
		t.Errorf("config.json args = %v, want %v", got, args)
	}
	if len(ds.SHA256) != 64 {
		t.Errorf("data_sha256 %q is not a SHA-256", ds.SHA256)
	}
	// the checksum is the data's identity: one changed label changes it
	other := mnistDir(t, 40, func(i int) byte { return byte((i + boolInt(i == 3)) % 10) }, nil)
	if ods, err := loadDataset("idx:" + other); err != nil || ods.SHA256 == ds.SHA256 {
		t.Errorf("a changed label leaves data_sha256 at %s (%v)", ds.SHA256, err)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestNewRunInOldDirectory starts a run in the directory of a finished one:
// refused without --overwrite (#19, class 1); with it, the new run's
// metrics.jsonl must not carry the old run's epochs, and the old run's
// checkpoint must not survive to be resumed under the new config.json.
func TestNewRunInOldDirectory(t *testing.T) {
	data := mnistDir(t, 20, mod10, nil)
	dir := trainTiny(t, "mlp", data, filepath.Join(t.TempDir(), "run"))
	writeBytes(t, dir, ".state.safetensors.tmp-123", []byte("torn")) // as a killed process leaves it
	args := []string{"train", "--model", "mlp", "--data", "idx:" + data, "--epochs", "2", "--batch-size", "10", "--seed", "9", "--out", dir, "--quiet"}
	if _, stderr, code := strata(t, args...); code != 1 || !strings.Contains(stderr, dir+" already holds a run") {
		t.Fatalf("exit %d, %s: want a refusal to replace the finished run", code, stderr)
	}
	_, stderr, code := strata(t, append(args, "--overwrite")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantEpochs(t, dir, 2)
	noTempFiles(t, dir)
	ck, err := train.LoadCheckpoint(filepath.Join(dir, "state.safetensors"))
	if err != nil || ck.Epoch != 3 {
		t.Fatalf("checkpoint %+v, %v: want the new run's, after epoch 2", ck, err)
	}
}

// TestOneWriterPerRun starts a second training and a second resume in the
// directory of a run that is training: both are refused with the holder
// named, and the first run ends as if alone (#19, class 1).
func TestOneWriterPerRun(t *testing.T) {
	data := mnistDir(t, 400, mod10, nil)
	dir := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "--model", "mlp", "--data", "idx:" + data, "--epochs", "30", "--batch-size", "8", "--test-limit", "20", "--quiet", "--out", dir}
	p := start(t, args...)
	p.waitForFile(t, filepath.Join(dir, "state.safetensors"), time.Minute)
	for _, second := range [][]string{append(args, "--overwrite"), {"train", "--resume", dir, "--quiet"}} {
		_, stderr, code := strata(t, second...)
		if code != 1 || !strings.Contains(stderr, "is in use by process "+strconv.Itoa(p.cmd.Process.Pid)) || !strings.Contains(stderr, "strata train") {
			t.Errorf("strata %s: exit %d, %s: want a refusal naming the running process", strings.Join(second[:2], " "), code, stderr)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("the first run: exit %d; stderr:\n%s", code, p.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".lock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the run's lock outlived it: %v", err)
	}
	start(t, "train", "--resume", dir, "--quiet").mustSucceed(t)
}

// TestWritersOfAFinishedRun checks the other writers of a run directory:
// eval's plots and explain's maps wait for no one silently — with the
// directory locked (here by this process, as a training would), both are
// refused with the holder named, and both work once it is free.
func TestWritersOfAFinishedRun(t *testing.T) {
	data := mnistDir(t, 20, mod10, nil)
	dir := trainTiny(t, "mlp", data, filepath.Join(t.TempDir(), "run"))
	img := writeBytes(t, t.TempDir(), "x.npy", nil)
	if err := checkpoint.SaveNPY(img, tensor.Zeros(1, 28, 28, 1)); err != nil {
		t.Fatal(err)
	}
	lock, err := runs.LockDir(dir, "strata train")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"eval", "--run", dir, "--data", "idx:" + data},
		{"explain", "--run", dir, img},
	} {
		if _, stderr, code := strata(t, args...); code != 1 || !strings.Contains(stderr, "in use by process "+strconv.Itoa(os.Getpid())) {
			t.Errorf("strata %s while locked: exit %d, %s", args[0], code, stderr)
		}
	}
	lock.Unlock()
	for _, args := range [][]string{
		{"eval", "--run", dir, "--data", "idx:" + data},
		{"explain", "--run", dir, img},
	} {
		if _, stderr, code := strata(t, args...); code != 0 {
			t.Errorf("strata %s: exit %d, %s", args[0], code, stderr)
		}
	}
}
