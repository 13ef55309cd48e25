//go:build mpi

package dist

/*
#cgo pkg-config: mpi
#include <mpi.h>
#include <stdlib.h>

// Helpers: MPI_COMM_WORLD, MPI_FLOAT … are macros (pointers in Open MPI,
// integers in MPICH) that cgo cannot use directly.
static int strata_init(int *provided) {
	int inited = 0;
	MPI_Initialized(&inited);
	if (inited) { *provided = MPI_THREAD_SERIALIZED; return MPI_SUCCESS; }
	int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int strata_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int strata_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int strata_allreduce_f32(float *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
}
static int strata_allreduce_f64(double *buf, int n) {
	return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}
static int strata_iallreduce_f32(float *buf, int n, MPI_Request *req) {
	return MPI_Iallreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, req);
}
static int strata_testall(int n, MPI_Request *reqs, int *done) {
	return MPI_Testall(n, reqs, done, MPI_STATUSES_IGNORE);
}
static int strata_waitall(int n, MPI_Request *reqs) {
	return MPI_Waitall(n, reqs, MPI_STATUSES_IGNORE);
}
static int strata_bcast_f32(float *buf, int n, int root) {
	return MPI_Bcast(buf, n, MPI_FLOAT, root, MPI_COMM_WORLD);
}
static int strata_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int strata_finalize(void) { return MPI_Finalize(); }
static int strata_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static void strata_error_string(int code, char *s) {
	int n = 0;
	MPI_Error_string(code, s, &n);
	s[n < MPI_MAX_ERROR_STRING ? n : MPI_MAX_ERROR_STRING - 1] = 0;
}
static int strata_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Available reports whether this binary was built with MPI support (the
// build tag mpi).
const Available = true

// maxPending is the most all-reduces that may be started before a Wait.
const maxPending = 256

// MPI is the communicator of MPI_COMM_WORLD. Its methods serialize their
// MPI calls (MPI_THREAD_SERIALIZED); it is still one communicator for one
// training loop.
type MPI struct {
	mu      sync.Mutex
	rank    int
	size    int
	timeout time.Duration
	closed  bool

	// Requests of started all-reduces, in C memory: Go memory holding
	// MPI_Request handles must not be written by C after the call returns.
	reqs    *C.MPI_Request
	pending int
	// Buffers of started all-reduces, pinned until Wait (MPI writes them
	// after StartAllReduce returns).
	pins runtime.Pinner

	// The watchdog: the deadline (Unix nanoseconds, 0 when idle) and the
	// name of the collective in progress.
	deadline atomic.Int64
	op       atomic.Pointer[string]
	stop     chan struct{}
}

var _ Communicator = (*MPI)(nil)

var initOnce struct {
	sync.Mutex
	c *MPI
}

func initComm(timeout time.Duration) (Communicator, error) {
	initOnce.Lock()
	defer initOnce.Unlock()
	if c := initOnce.c; c != nil {
		if c.closed {
			return nil, fmt.Errorf("dist: MPI was finalized by Close and cannot be initialized again in this process")
		}
		return c, nil
	}
	var provided C.int
	if rc := C.strata_init(&provided); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Init_thread", -1, rc)
	}
	var r, s C.int
	if rc := C.strata_rank(&r); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Comm_rank", -1, rc)
	}
	if rc := C.strata_size(&s); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Comm_size", int(r), rc)
	}
	c := &MPI{rank: int(r), size: int(s), timeout: timeout, stop: make(chan struct{})}
	c.reqs = (*C.MPI_Request)(C.malloc(C.size_t(maxPending) * C.size_t(unsafe.Sizeof(*c.reqs))))
	if timeout > 0 {
		go c.watchdog()
	}
	initOnce.c = c
	return c, nil
}

// watchdog ends the process when a collective outlives the timeout. It
// cannot interrupt the MPI call (MPI has no cancellation of collectives);
// exiting is what makes the launcher stop the other ranks.
func (c *MPI) watchdog() {
	tick := min(max(c.timeout/20, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case now := <-t.C:
			d := c.deadline.Load()
			if d != 0 && now.UnixNano() > d {
				op := "a collective"
				if p := c.op.Load(); p != nil {
					op = *p
				}
				fmt.Fprintf(os.Stderr, "dist: rank %d of %d: %s did not complete within %v: another rank died, "+
					"failed or hangs (see its output); exiting with status %d\n", c.rank, c.size, op, c.timeout, ExitTimeout)
				os.Exit(ExitTimeout)
			}
		}
	}
}

// begin starts the watchdog's clock for op; end stops it.
func (c *MPI) begin(op *string) {
	if c.timeout > 0 {
		c.op.Store(op)
		c.deadline.Store(time.Now().Add(c.timeout).UnixNano())
	}
}

func (c *MPI) end() {
	if c.timeout > 0 {
		c.deadline.Store(0)
	}
}

var (
	opAllReduce = "MPI_Allreduce"
	opWait      = "MPI_Waitall (bucketed all-reduce)"
	opBroadcast = "MPI_Bcast"
	opBarrier   = "MPI_Barrier"
	opFinalize  = "MPI_Finalize"
)

// Rank returns MPI_Comm_rank of MPI_COMM_WORLD.
func (c *MPI) Rank() int { return c.rank }

// Size returns MPI_Comm_size of MPI_COMM_WORLD.
func (c *MPI) Size() int { return c.size }

func (c *MPI) check(op string, n int) error {
	if c.closed {
		return fmt.Errorf("dist: %s after Close", op)
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("dist: %s of %d elements: more than MPI's int count allows", op, n)
	}
	return nil
}

// AllReduce sums buf over the ranks in place (MPI_Allreduce, MPI_IN_PLACE).
func (c *MPI) AllReduce(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check("all-reduce", len(buf)); err != nil || len(buf) == 0 {
		return err
	}
	c.begin(&opAllReduce)
	rc := C.strata_allreduce_f32((*C.float)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	c.end()
	return mpiError("MPI_Allreduce", c.rank, rc)
}

// AllReduce64 sums buf over the ranks in place.
func (c *MPI) AllReduce64(buf []float64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check("all-reduce", len(buf)); err != nil || len(buf) == 0 {
		return err
	}
	c.begin(&opAllReduce)
	rc := C.strata_allreduce_f64((*C.double)(unsafe.Pointer(&buf[0])), C.int(len(buf)))
	c.end()
	return mpiError("MPI_Allreduce", c.rank, rc)
}

// StartAllReduce begins MPI_Iallreduce of buf in place. buf is pinned
// (runtime.Pinner) until Wait, since MPI writes it after this call
// returns; the caller must not touch it until then.
func (c *MPI) StartAllReduce(buf []float32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check("all-reduce", len(buf)); err != nil || len(buf) == 0 {
		return err
	}
	if c.pending == maxPending {
		return fmt.Errorf("dist: more than %d all-reduces started before Wait", maxPending)
	}
	req := (*C.MPI_Request)(unsafe.Add(unsafe.Pointer(c.reqs), uintptr(c.pending)*unsafe.Sizeof(*c.reqs)))
	rc := C.strata_iallreduce_f32((*C.float)(unsafe.Pointer(&buf[0])), C.int(len(buf)), req)
	if rc != C.MPI_SUCCESS {
		return mpiError("MPI_Iallreduce", c.rank, rc)
	}
	c.pins.Pin(&buf[0])
	c.pending++
	return nil
}

// Progress calls MPI_Testall on the started all-reduces.
func (c *MPI) Progress() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == 0 {
		return nil
	}
	var done C.int
	rc := C.strata_testall(C.int(c.pending), c.reqs, &done)
	if rc != C.MPI_SUCCESS {
		return mpiError("MPI_Testall", c.rank, rc)
	}
	if done != 0 {
		c.pending = 0
		c.pins.Unpin()
	}
	return nil
}

// Wait completes every started all-reduce (MPI_Waitall) under the
// watchdog.
func (c *MPI) Wait() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == 0 {
		return nil
	}
	c.begin(&opWait)
	rc := C.strata_waitall(C.int(c.pending), c.reqs)
	c.end()
	c.pending = 0
	c.pins.Unpin()
	return mpiError("MPI_Waitall", c.rank, rc)
}

// Broadcast copies root's buf to every rank (MPI_Bcast).
func (c *MPI) Broadcast(buf []float32, root int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if root < 0 || root >= c.size {
		return fmt.Errorf("dist: broadcast from rank %d in a communicator of %d ranks", root, c.size)
	}
	if err := c.check("broadcast", len(buf)); err != nil || len(buf) == 0 {
		return err
	}
	c.begin(&opBroadcast)
	rc := C.strata_bcast_f32((*C.float)(unsafe.Pointer(&buf[0])), C.int(len(buf)), C.int(root))
	c.end()
	return mpiError("MPI_Bcast", c.rank, rc)
}

// Barrier waits for every rank (MPI_Barrier).
func (c *MPI) Barrier() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.check("barrier", 0); err != nil {
		return err
	}
	c.begin(&opBarrier)
	rc := C.strata_barrier()
	c.end()
	return mpiError("MPI_Barrier", c.rank, rc)
}

// Close calls MPI_Finalize (once; later calls do nothing). MPI cannot be
// initialized again in the same process.
func (c *MPI) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if c.pending > 0 {
		return fmt.Errorf("dist: Close with %d all-reduces started and not waited for", c.pending)
	}
	c.closed = true
	c.begin(&opFinalize)
	rc := C.strata_finalize()
	c.end()
	if c.timeout > 0 {
		close(c.stop)
	}
	C.free(unsafe.Pointer(c.reqs))
	c.reqs = nil
	return mpiError("MPI_Finalize", c.rank, rc)
}

// Abort calls MPI_Abort on MPI_COMM_WORLD, which ends every rank of the
// job with status code.
func (c *MPI) Abort(code int) error {
	return mpiError("MPI_Abort", c.rank, C.strata_abort(C.int(code)))
}

// mpiError turns an MPI return code into an error naming the call and the
// rank (nil for MPI_SUCCESS).
func mpiError(call string, rank int, rc C.int) error {
	if rc == C.MPI_SUCCESS {
		return nil
	}
	buf := (*C.char)(C.malloc(C.size_t(C.strata_max_error_string())))
	defer C.free(unsafe.Pointer(buf))
	C.strata_error_string(rc, buf)
	where := ""
	if rank >= 0 {
		where = fmt.Sprintf(" on rank %d", rank)
	}
	return fmt.Errorf("dist: %s failed%s: %s (MPI error %d)", call, where, C.GoString(buf), int(rc))
}
