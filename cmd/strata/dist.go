package main

import (
	"context"
	"fmt"
	"io"
	"os"

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
	if comm.Rank() != 0 {
		out = io.Discard // only rank 0 prints
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
