// Package mpitest runs a package's tests as several MPI ranks: a test in
// the default build compiles the package's test binary with -tags mpi and
// launches it under mpirun, where worker tests (which skip unless
// WorkerEnv is set) do the distributed work. Tests skip with a message when
// mpirun, cgo or mpi.h is missing.
package mpitest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// WorkerEnv is set to "1" in the environment of the ranks.
const WorkerEnv = "STRATA_MPI_WORKER"

// Worker reports whether the test runs as a rank under mpirun.
func Worker() bool { return os.Getenv(WorkerEnv) == "1" }

// RequireEnv, set to 1 (as CI does), makes Require fail instead of skip.
const RequireEnv = "STRATA_REQUIRE_MPI"

// Require skips t when an MPI job cannot be built and launched here (fails
// it when RequireEnv is set).
func Require(t testing.TB) {
	t.Helper()
	skip := t.Skipf
	if os.Getenv(RequireEnv) == "1" {
		skip = t.Fatalf
	}
	if testing.Short() {
		t.Skip("MPI tests skipped in -short mode")
	}
	for _, tool := range []string{"mpirun", "pkg-config"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip("MPI tests need %s (Debian: apt-get install openmpi-bin libopenmpi-dev pkg-config): %v", tool, err)
		}
	}
	if err := exec.Command("pkg-config", "--exists", "mpi").Run(); err != nil {
		skip("MPI tests need mpi.h and pkg-config's mpi.pc (Debian: apt-get install libopenmpi-dev)")
	}
	if cc, err := exec.Command("go", "env", "CC").Output(); err == nil {
		if _, err := exec.LookPath(strings.TrimSpace(string(cc))); err != nil {
			skip("MPI tests need a C compiler for cgo (Debian: apt-get install gcc): %v", err)
		}
	}
	if os.Getenv("CGO_ENABLED") == "0" {
		skip("MPI tests need cgo (CGO_ENABLED=0)")
	}
}

// Build compiles the test binary of the package in the current directory
// with -tags mpi and returns its path.
func Build(t testing.TB) string {
	t.Helper()
	return build(t, "mpi.test", "test", "-tags", "mpi", "-c")
}

// BuildCommand compiles the command (package main) in the current
// directory with the given build tags ("mpi", or none) and returns the
// binary's path.
func BuildCommand(t testing.TB, tags string) string {
	t.Helper()
	return build(t, "cmd-"+tags, "build", "-tags", tags)
}

func build(t testing.TB, name string, args ...string) string {
	bin := filepath.Join(t.TempDir(), name)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", append(args, "-o", bin, ".")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	return bin
}

// Launch runs np ranks of the command bin with args under mpirun (with the
// environment of Run, but not WorkerEnv) and returns their combined
// output. It kills the job after limit.
func Launch(bin string, np int, limit time.Duration, args ...string) ([]byte, error) {
	return launch(append([]string{"-np", strconv.Itoa(np), "--oversubscribe", bin}, args...), limit, false)
}

// Run launches np ranks of bin running the tests that match run, with
// extra environment variables, and returns their combined output. It
// kills the job after limit.
func Run(bin string, np int, run string, limit time.Duration, env ...string) ([]byte, error) {
	args := []string{"-np", strconv.Itoa(np), "--oversubscribe", bin, "-test.run", "^(" + run + ")$", "-test.v"}
	return launch(args, limit, true, env...)
}

func launch(args []string, limit time.Duration, worker bool, env ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, "mpirun", args...)
	cmd.Env = os.Environ()
	if worker {
		cmd.Env = append(cmd.Env, WorkerEnv+"=1")
	}
	cmd.Env = append(cmd.Env,
		// CI runs as root; mpirun refuses that without these.
		"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
		// Containers often forbid the cross-memory attach of the
		// shared-memory transport's single-copy mode.
		"OMPI_MCA_btl_vader_single_copy_mechanism=none",
		// One thread per rank: the ranks share this machine's cores.
		"GOMAXPROCS=1")
	cmd.Env = append(cmd.Env, env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	if ctx.Err() != nil {
		return buf.Bytes(), ctx.Err()
	}
	return buf.Bytes(), err
}
