#!/usr/bin/env bash
# throughput.sh [rounds]: the CNN's and the LSTM's training throughput with
# 2 ranks × 1 thread (mpirun -np 2, GOMAXPROCS=1) against 1 process × 2
# threads (GOMAXPROCS=2) at the same global batch of 64, on a 2-core
# machine: the cost of data parallelism where compute cannot grow. The
# configurations run in turn, rounds times (default 3); each one's best
# throughput is kept. Extra mpirun options come from $MPIRUN_OPTS (e.g.
# "--mca mpi_yield_when_idle 1" on a loaded machine).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
go build -tags mpi -o "$tmp/thr" ./dist/bench/throughput
for r in $(seq "$rounds"); do
	for m in cnn lstm; do
		# shellcheck disable=SC2086
		mpirun -np 2 ${MPIRUN_OPTS:-} -x GOMAXPROCS=1 "$tmp/thr" -model $m | tee -a "$tmp/out.txt"
		GOMAXPROCS=2 "$tmp/thr" -model $m | tee -a "$tmp/out.txt"
	done
done
echo "best of $rounds:"
awk '{ k = $1 " " $2 " ranks"; v = $(NF-3); if (v > b[k]) b[k] = v } END { for (k in b) print k, b[k], "samples/s" }' "$tmp/out.txt" | sort
