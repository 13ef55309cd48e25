//go:build !mpi

package dist

import "time"

// Available reports whether this binary was built with MPI support (the
// build tag mpi).
const Available = false

// initComm without MPI: Single, unless a launcher asked for several ranks.
func initComm(time.Duration) (Communicator, error) {
	if rank, size, ok := Launched(); ok && size > 1 {
		return nil, errNoMPI(rank, size)
	}
	return Single{}, nil
}
