#!/usr/bin/env bash
# Side by side: strata serve, Strata's in-process batched Predict (the
# ceiling) and the PyTorch baseline (bench/serve_torch.py, at 1 and 2
# torch threads: its best setting is the baseline), driven by
# bench/servebench with 1, 8 and 64 concurrent clients sending single
# MNIST images to the seed's CNN, the same pre-encoded bodies to every
# server. ROUNDS rounds (default 3), each running every system in turn
# (in-process, Strata, PyTorch), so that a noisy machine hits them alike;
# then the median of each row over the rounds. Loopback only; bounded.
#
#   bash bench/serve_compare.sh [servebench flags, e.g. -requests 2000]
#   ROUNDS=5 TORCH_THREADS="1" STRATA_SERVE_FLAGS="--max-batch 32" bash bench/serve_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"' EXIT
go build -o "$tmp/strata" ./cmd/strata
go build -o "$tmp/servebench" ./bench/servebench
"$tmp/servebench" -write-model "$tmp/cnn.safetensors"
"$tmp/strata" serve --quiet --model cnn="$tmp/cnn.safetensors" --addr 127.0.0.1:18080 ${STRATA_SERVE_FLAGS:-} >"$tmp/strata.log" 2>&1 &
pids+=($!)
targets=(-target "strata serve=http://127.0.0.1:18080/v2/models/cnn/infer@$!")
ports=(18080)
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  port=18081
  for th in ${TORCH_THREADS:-1 2}; do
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1000000000 \
      /usr/bin/python3 bench/serve_torch.py --port $port --threads "$th" >"$tmp/torch$th.log" 2>&1 &
    pids+=($!)
    targets+=(-target "PyTorch + http.server, $th thread(s)=http://127.0.0.1:$port/v2/models/cnn/infer@$!")
    ports+=($port)
    port=$((port + 1))
  done
else
  echo "no torch for /usr/bin/python3: the PyTorch baseline is left out" >&2
fi
for port in "${ports[@]}"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.2; done
done
for r in $(seq "${ROUNDS:-3}"); do
  echo "round $r, $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
  "$tmp/servebench" -inprocess 16,64 "${targets[@]}" "$@" | tee "$tmp/round$r.md"
done
echo "median of ${ROUNDS:-3} rounds, $(date -u +%H:%M:%S) UTC, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/servebench" -median "$tmp"/round*.md
