#!/usr/bin/env python3
"""The Python baseline for `strata serve`: the seed's CNN in PyTorch behind
the standard library's threaded HTTP server, answering the same Open
Inference Protocol v2 JSON (POST /v2/models/cnn/infer), as a Python user
would write it. Weights are PyTorch's default initialisation: the
benchmark measures throughput, not accuracy.

    python3 bench/serve_torch.py --port 18081 [--threads N]

--threads sets torch's intra-op threads (torch.set_num_threads; 0 keeps
torch's default). On the project's 2-core machine 1 thread served the
most images per second at 64 clients (see BENCHMARKS.md), so
bench/serve_compare.sh uses 1.
"""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import torch
import torch.nn as nn


class CNNNet(nn.Module):
    """conv 32 3x3 relu, max-pool 2, conv 64 3x3 relu, max-pool 2, dense 128
    relu, dense 10 softmax: Strata's zoo.CNNNet (225,034 parameters)."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.dense1 = nn.Linear(1600, 128)
        self.dense2 = nn.Linear(128, 10)

    def forward(self, x):  # x: NHWC, as the protocol's shape says
        x = x.permute(0, 3, 1, 2)
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.dense1(x.flatten(1)))
        return torch.softmax(self.dense2(x), dim=1)


MODEL = CNNNet().eval()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the load generator expects
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

    def do_POST(self):
        if self.path != "/v2/models/cnn/infer":
            return self.reply(404, {"error": "unknown model"})
        try:
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            inp = req["inputs"][0]
            x = torch.tensor(inp["data"], dtype=torch.float32).reshape(inp["shape"])
        except (ValueError, KeyError, IndexError, RuntimeError) as e:
            return self.reply(400, {"error": str(e)})
        with torch.inference_mode():
            y = MODEL(x)
        self.reply(200, {"model_name": "cnn", "model_version": "1", "outputs": [
            {"name": "probabilities", "datatype": "FP32", "shape": list(y.shape), "data": y.flatten().tolist()}]})

    def do_GET(self):
        self.reply(200, {}) if self.path.startswith("/v2/health") else self.reply(404, {"error": "not found"})

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # no per-request log line
        pass


class Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default listen backlog of 5 drops connections from 64 clients


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=18081)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    Server(("127.0.0.1", a.port), Handler).serve_forever()
