package dist

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/strata-dl/strata/internal/mpitest"
)

func TestSingle(t *testing.T) {
	var c Communicator = Single{}
	buf := []float32{1, 2, 3}
	if err := c.AllReduce(buf); err != nil || buf[0] != 1 || buf[2] != 3 {
		t.Fatalf("AllReduce changed %v (%v)", buf, err)
	}
	if err := c.StartAllReduce(buf); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if c.Rank() != 0 || c.Size() != 1 || Describe(c) != "rank 0 of 1" {
		t.Fatalf("rank %d size %d", c.Rank(), c.Size())
	}
	if err := c.Broadcast(buf, 1); err == nil {
		t.Fatal("broadcast from rank 1 of 1 did not fail")
	}
}

func TestLaunched(t *testing.T) {
	for _, k := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE", "SLURM_NTASKS"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	if _, _, ok := Launched(); ok {
		t.Fatal("Launched found a launcher in a clean environment")
	}
	t.Setenv("PMI_RANK", "3")
	t.Setenv("PMI_SIZE", "4")
	if r, s, ok := Launched(); !ok || r != 3 || s != 4 {
		t.Fatalf("Launched = %d, %d, %v; want 3, 4, true", r, s, ok)
	}
	if !Available {
		_, err := Init(Options{})
		if !errors.Is(err, ErrNoMPI) || !strings.Contains(err.Error(), "-tags mpi") || !strings.Contains(err.Error(), "rank 3 of 4") {
			t.Fatalf("Init under a launcher without MPI: %v", err)
		}
	}
}

func TestTimeoutOption(t *testing.T) {
	t.Setenv(TimeoutEnv, "1.5s")
	if d, err := (Options{}).timeout(); err != nil || d != 1500*time.Millisecond {
		t.Fatalf("timeout %v, %v", d, err)
	}
	t.Setenv(TimeoutEnv, "soon")
	if _, err := (Options{}).timeout(); err == nil || !strings.Contains(err.Error(), TimeoutEnv) {
		t.Fatalf("bad %s accepted: %v", TimeoutEnv, err)
	}
	if d, _ := (Options{Timeout: time.Second}).timeout(); d != time.Second {
		t.Fatalf("explicit timeout ignored: %v", d)
	}
}

// TestMPI runs TestMPIWorker as 2 ranks under mpirun.
func TestMPI(t *testing.T) {
	if mpitest.Worker() {
		t.Skip("launcher test")
	}
	mpitest.Require(t)
	bin := mpitest.Build(t)
	out, err := mpitest.Run(bin, 2, "TestMPIWorker", 2*time.Minute)
	if err != nil {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "--- PASS: TestMPIWorker"); n != 2 {
		t.Fatalf("%d ranks passed, want 2:\n%s", n, out)
	}
}

// TestMPIWorker checks the collectives on every rank.
func TestMPIWorker(t *testing.T) {
	if !mpitest.Worker() {
		t.Skip("runs under mpirun (see TestMPI)")
	}
	c, err := Init(Options{Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r, n := c.Rank(), c.Size()
	if n != 2 {
		t.Fatalf("size %d, want 2", n)
	}
	buf := []float32{float32(r), 1, float32(10 * r)}
	if err := c.AllReduce(buf); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(buf) != "[1 2 10]" {
		t.Fatalf("rank %d: all-reduce gave %v", r, buf)
	}
	d := []float64{0.5, float64(r)}
	if err := c.AllReduce64(d); err != nil || d[0] != 1 || d[1] != 1 {
		t.Fatalf("rank %d: all-reduce64 gave %v, %v", r, d, err)
	}
	a, b := make([]float32, 1000), make([]float32, 7)
	for i := range a {
		a[i] = float32(i * (r + 1))
	}
	b[6] = 1
	if err := c.StartAllReduce(a); err != nil {
		t.Fatal(err)
	}
	if err := c.StartAllReduce(b); err != nil {
		t.Fatal(err)
	}
	if err := c.Progress(); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(); err != nil {
		t.Fatal(err)
	}
	if a[999] != 999*3 || b[6] != 2 {
		t.Fatalf("rank %d: started all-reduces gave %v, %v", r, a[999], b[6])
	}
	x := []float32{float32(r + 5), float32(r + 6)}
	if err := c.Broadcast(x, 1); err != nil || x[0] != 6 || x[1] != 7 {
		t.Fatalf("rank %d: broadcast gave %v, %v", r, x, err)
	}
	if err := c.Broadcast(x, 2); err == nil {
		t.Fatal("broadcast from rank 2 of 2 did not fail")
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}
