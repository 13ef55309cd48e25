package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/strata-dl/strata/data"
	"github.com/strata-dl/strata/dist"
)

// commKey is the context key of the train commands' communicator.
type commKey struct{}

// commOf returns the communicator cmdTrainDist put in ctx (one process
// when there is none).
func commOf(ctx context.Context) dist.Communicator {
	if c, ok := ctx.Value(commKey{}).(dist.Communicator); ok {
		return c
	}
	return dist.Single{}
}

// cmdTrainDist is strata train: the same command in one process or as one
// rank of an MPI job (mpirun, srun, an MPIJob) in a binary built with
// -tags mpi. It starts the communicator, trains, and ends it; an error on
// one of several ranks is printed with the rank and ends the whole job
// (MPI_Abort), so that the other ranks do not wait for it.
func cmdTrainDist(ctx context.Context, args []string, out io.Writer) error {
	comm, err := dist.Init(dist.Options{})
	if err != nil {
		return err
	}
	err = cmdTrain(context.WithValue(ctx, commKey{}, comm), args, out)
	if err != nil && comm.Size() > 1 {
		fmt.Fprintf(os.Stderr, "strata train: %s: %v\n", dist.Describe(comm), err)
		comm.Abort(1)
	}
	if cerr := comm.Close(); err == nil {
		err = cerr
	}
	return err
}

// rankOutput returns where rank's output goes: out on rank 0, nowhere on
// the others (only rank 0 prints), and whether this rank writes files.
func rankOutput(comm dist.Communicator, out io.Writer) (io.Writer, bool) {
	if comm.Rank() == 0 {
		return out, true
	}
	return io.Discard, false
}

// stepsPerEpoch returns the optimizer steps of an epoch of loader whose
// batch size is the global batch, split over comm's ranks.
func stepsPerEpoch(loader *data.Loader, comm dist.Communicator) int {
	if comm.Size() == 1 {
		return loader.Len()
	}
	n, err := loader.ShardLen(data.Shard{Rank: comm.Rank(), Ranks: comm.Size(), GlobalBatch: loader.Options().BatchSize})
	if err != nil {
		return loader.Len()
	}
	return n
}
