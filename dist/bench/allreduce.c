/* allreduce.c: Open MPI's own MPI_Allreduce (float, sum, in place) timed
 * from C, the reference for the Go communicator's benchmark
 * (dist/bench/allreduce). Build and run:
 *
 *   mpicc -O2 -o /tmp/allreduce dist/bench/allreduce.c
 *   mpirun -np 2 /tmp/allreduce
 *
 * It prints, for message sizes of 1 KB to 64 MB, the mean time of one
 * all-reduce and the algorithm bandwidth (bytes of the buffer / time),
 * in the same format as the Go program.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
	MPI_Init(&argc, &argv);
	int rank, size;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	const long maxBytes = 64L << 20;
	float *buf = malloc(maxBytes);
	for (long i = 0; i < maxBytes / 4; i++) buf[i] = 1e-6f * (float)(i % 1000);
	if (rank == 0) printf("# C MPI_Allreduce, %d ranks\n# bytes\tusec\tMB/s\n", size);
	for (long bytes = 1024; bytes <= maxBytes; bytes *= 4) {
		int n = (int)(bytes / 4);
		long iters = (64L << 20) / bytes;
		if (iters > 1000) iters = 1000;
		if (iters < 3) iters = 3;
		for (int i = 0; i < 3; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		MPI_Barrier(MPI_COMM_WORLD);
		double t0 = MPI_Wtime();
		for (long i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
		double t = (MPI_Wtime() - t0) / (double)iters;
		double tmax; /* the mean over the ranks, as the Go program reports */
		MPI_Reduce(&t, &tmax, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
		tmax /= size;
		if (rank == 0) printf("%ld\t%.1f\t%.1f\n", bytes, tmax * 1e6, (double)bytes / tmax / 1e6);
	}
	free(buf);
	MPI_Finalize();
	return 0;
}
