// Package dist is the communicator of data-parallel training: the
// collectives that keep several processes (ranks) training one model in
// step. It holds an interface, Communicator, with two implementations:
//
//   - Single, the trivial communicator of one process (every collective is
//     a no-op), which is what the default, pure-Go build uses;
//   - an MPI communicator, compiled in with the build tag mpi (cgo against
//     mpi.h, found through pkg-config "mpi"): go build -tags mpi. Ranks and
//     the world size come from MPI itself (MPI_Comm_rank, MPI_Comm_size),
//     so mpirun, Slurm's srun --mpi=pmix and a Kubeflow MPIJob all work
//     unchanged.
//
// Init picks the implementation. A binary built without the tag that is
// started by a launcher with more than one rank (detected from the
// launcher's environment: OMPI_COMM_WORLD_SIZE, PMI_SIZE, …) returns an
// error saying that it lacks MPI support rather than training N
// independent copies.
//
// Failures are bounded: every blocking collective of the MPI communicator
// runs under a watchdog, and a collective that does not complete within
// Options.Timeout (default DefaultTimeout) makes the process print which
// operation stalled and exit with status ExitTimeout, after which the
// launcher (mpirun, srun) tears the other ranks down. A rank that dies
// outright is normally noticed sooner by the launcher itself, which kills
// the job. MPI errors are returned, not fatal (MPI_ERRORS_RETURN).
package dist

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// Communicator is a group of ranks that run the same program on different
// data. Collectives must be called by every rank in the same order with
// buffers of the same length; a Communicator is not safe for concurrent use
// by several goroutines.
type Communicator interface {
	// Rank returns this process's number in [0, Size()).
	Rank() int
	// Size returns the number of ranks.
	Size() int
	// AllReduce replaces buf, on every rank, with the element-wise sum of
	// the bufs of all ranks: buf[i] = Σ_r buf_r[i].
	AllReduce(buf []float32) error
	// AllReduce64 is AllReduce on float64 (for counts and metric sums).
	AllReduce64(buf []float64) error
	// StartAllReduce begins an AllReduce of buf in place and returns at
	// once; buf must not be read or written until Wait returns. It lets the
	// sum of a bucket of gradients run while the backward pass goes on.
	StartAllReduce(buf []float32) error
	// Progress lets started all-reduces advance without blocking (MPI
	// moves nonblocking collectives forward only inside MPI calls).
	Progress() error
	// Wait blocks until every started all-reduce has completed.
	Wait() error
	// Broadcast copies root's buf into buf on every other rank.
	Broadcast(buf []float32, root int) error
	// Barrier returns once every rank has called it.
	Barrier() error
	// Abort ends every rank of the job (MPI_Abort) with the given exit
	// status, for an error on one rank that the others cannot know about;
	// it does not return on success. Single returns nil and does nothing.
	Abort(code int) error
	// Close ends the communicator (MPI_Finalize). Call it once, at the end
	// of the program, on every rank: a rank that exits without it makes
	// mpirun report an error.
	Close() error
}

// DefaultTimeout is how long a collective may wait for the other ranks
// before the process gives up and exits (see Options.Timeout). It is
// generous enough for a rank that is loading a data set while the others
// wait at the first collective, and bounds the time a job hangs when a
// rank dies without the launcher noticing.
const DefaultTimeout = 5 * time.Minute

// ExitTimeout is the exit status of a process whose collective timed out.
const ExitTimeout = 70

// TimeoutEnv is the environment variable that overrides the default
// timeout of Init (a Go duration such as "30s"), for all ranks of a job
// started by a launcher.
const TimeoutEnv = "STRATA_DIST_TIMEOUT"

// Options configure Init. Zero values mean the defaults in brackets.
type Options struct {
	// Timeout bounds every blocking collective [$STRATA_DIST_TIMEOUT, else
	// DefaultTimeout]. A negative value disables the watchdog.
	Timeout time.Duration
}

func (o Options) timeout() (time.Duration, error) {
	if o.Timeout != 0 {
		return o.Timeout, nil
	}
	if s := os.Getenv(TimeoutEnv); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d == 0 {
			return 0, fmt.Errorf("dist: %s=%q is not a non-zero duration such as 30s", TimeoutEnv, s)
		}
		return d, nil
	}
	return DefaultTimeout, nil
}

// ErrNoMPI is returned (wrapped) by Init in a binary built without the mpi
// tag when a launcher started it as one of several ranks.
var ErrNoMPI = errors.New("dist: this binary was built without MPI support")

// Single is the communicator of one process: rank 0 of 1. Every collective
// leaves its buffer as it is (the sum over one rank). The zero value is
// ready to use.
type Single struct{}

var _ Communicator = Single{}

func (Single) Rank() int                      { return 0 }
func (Single) Size() int                      { return 1 }
func (Single) AllReduce([]float32) error      { return nil }
func (Single) AllReduce64([]float64) error    { return nil }
func (Single) StartAllReduce([]float32) error { return nil }
func (Single) Progress() error                { return nil }
func (Single) Wait() error                    { return nil }
func (Single) Barrier() error                 { return nil }
func (Single) Close() error                   { return nil }
func (Single) Abort(int) error                { return nil }
func (Single) Broadcast(_ []float32, root int) error {
	if root != 0 {
		return fmt.Errorf("dist: broadcast from rank %d in a communicator of 1 rank", root)
	}
	return nil
}

// Launched reports the rank and world size that an MPI launcher (mpirun of
// Open MPI or MPICH, Slurm's srun, MVAPICH) announced in this process's
// environment, and whether it found one. It reads no MPI library, so that
// a binary without MPI support can tell that it was started as one of
// several ranks.
func Launched() (rank, size int, ok bool) {
	pairs := [][2]string{
		{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"}, // Open MPI
		{"PMI_RANK", "PMI_SIZE"},                         // MPICH Hydra, Slurm PMI2
		{"MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"},   // MVAPICH
		{"PMIX_RANK", "SLURM_NTASKS"},                    // srun --mpi=pmix
	}
	for _, p := range pairs {
		s, err := strconv.Atoi(os.Getenv(p[1]))
		if err != nil {
			continue
		}
		r, _ := strconv.Atoi(os.Getenv(p[0]))
		return r, s, true
	}
	return 0, 1, false
}

// Describe returns "rank R of N" for messages.
func Describe(c Communicator) string {
	return fmt.Sprintf("rank %d of %d", c.Rank(), c.Size())
}

// Init returns the communicator of this process: the MPI world in a binary
// built with -tags mpi, else Single. Without MPI support it returns an
// error wrapping ErrNoMPI when a launcher started the process as one of
// several ranks. Call Close on the result before the program exits.
func Init(opts Options) (Communicator, error) {
	timeout, err := opts.timeout()
	if err != nil {
		return nil, err
	}
	return initComm(timeout)
}

// errNoMPI is Init's error without MPI support under a launcher.
func errNoMPI(rank, size int) error {
	return fmt.Errorf("%w, yet it was started as rank %d of %d ranks: rebuild with `go build -tags mpi` "+
		"(needs cgo and mpi.h, e.g. Debian's libopenmpi-dev), or run it without mpirun/srun", ErrNoMPI, rank, size)
}
