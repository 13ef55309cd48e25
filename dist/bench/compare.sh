#!/usr/bin/env bash
# compare.sh [rounds]: the all-reduce bandwidth of the dist communicator
# (blocking AllReduce and DDP's StartAllReduce+Wait) against Open MPI's
# MPI_Allreduce called from C, 2 ranks on this machine. The three programs
# run in turn, rounds times (default 3); the table keeps each one's best
# time per size (the least disturbed by other load) and the ratio of the
# Go bandwidth to C's.
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}
mpicc -O2 -o "$tmp/c" dist/bench/allreduce.c
go build -tags mpi -o "$tmp/go" ./dist/bench/allreduce
for r in $(seq "$rounds"); do
	mpirun -np 2 "$tmp/c" | grep -v '^#' >>"$tmp/c.txt"
	mpirun -np 2 "$tmp/go" | grep -v '^#' >>"$tmp/go.txt"
	mpirun -np 2 "$tmp/go" -started | grep -v '^#' >>"$tmp/gos.txt"
done
best() { awk '{ if (!($1 in t) || $2 < t[$1]) t[$1] = $2 } END { for (b in t) print b, t[b] }' "$1" | sort -n; }
best "$tmp/c.txt" >"$tmp/c.best"
best "$tmp/go.txt" >"$tmp/go.best"
best "$tmp/gos.txt" >"$tmp/gos.best"
echo "bytes      C us    C MB/s   Go us   Go MB/s  ratio   Go-started us  MB/s  ratio"
join "$tmp/c.best" "$tmp/go.best" | join - "$tmp/gos.best" |
	awk '{ c = $1/$2; g = $1/$3; s = $1/$4; printf "%-9d %7.1f %8.0f %7.1f %8.0f %5.0f%% %9.1f %8.0f %5.0f%%\n", $1, $2, c, $3, g, 100*g/c, $4, s, 100*s/c }'
