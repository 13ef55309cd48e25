#!/usr/bin/env bash
# Side by side, in one run: strata serve, Strata's in-process batched
# Predict (the ceiling) and the PyTorch baseline (bench/serve_torch.py),
# driven by bench/servebench with 1, 8 and 64 concurrent clients sending
# single MNIST images to the seed's CNN. Loopback only; bounded.
#
#   bash bench/serve_compare.sh [servebench flags, e.g. -requests 2000]
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
if /usr/bin/python3 -c "import torch" 2>/dev/null; then
  /usr/bin/python3 bench/serve_torch.py --port 18081 >"$tmp/torch.log" 2>&1 &
  pids+=($!)
  targets+=(-target "PyTorch + http.server=http://127.0.0.1:18081/v2/models/cnn/infer@$!")
else
  echo "no torch for /usr/bin/python3: the PyTorch baseline is left out" >&2
fi
for port in 18080 18081; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null && break; sleep 0.2; done
done
"$tmp/servebench" -inprocess 16,64 "${targets[@]}" "$@"
