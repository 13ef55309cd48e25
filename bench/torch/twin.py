"""The PyTorch twin of `strata bench`: the same workloads, names and step counts.

usage: /usr/bin/python3 bench/torch/twin.py [--threads N] [--blas-threads N] [--channels-last]
                                            [--workload NAME ...] [--steps N] [--json] [--flops]

Each workload runs 10 warm-up steps, then 3 timed repetitions; the median is reported. The
repetition lengths follow bench/*.go exactly (--steps, divided per workload as there), and the
models are the ones defined there (Keras's channels-last layouts become PyTorch's NCHW; with
--channels-last the convolution workloads run in torch.channels_last, which oneDNN often prefers).

--json prints one JSON object per workload: {"workload", "samples_per_sec" | "gflops" | "p50_ms",
"threads", "blas_threads", "channels_last", "system": "torch"}. --flops instead counts, per
workload, the multiply-add FLOPs (2 per multiply-add) of every matrix product and convolution
PyTorch dispatches during one step, divided by the step's samples: "flops_per_sample". It is
counted from the model as it runs (forward, and the input and weight gradients that autograd
actually computes), not estimated.

Run it with the Debian interpreter that has torch (/usr/bin/python3), and without
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the environment (bench/torch/compare.py takes care of both).
"""
import argparse, ctypes, json, os, statistics, sys, time

p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
p.add_argument("--threads", type=int, default=2, help="PyTorch (OpenMP) threads")
p.add_argument("--blas-threads", type=int, default=None,
               help="OpenBLAS's own threads (default: --threads); 1 keeps two pools from fighting over the cores")
p.add_argument("--channels-last", action="store_true", help="convolution workloads in torch.channels_last")
p.add_argument("--workload", nargs="*", default=None)
p.add_argument("--steps", type=int, default=200)
p.add_argument("--json", action="store_true")
p.add_argument("--flops", action="store_true", help="count FLOPs per sample instead of timing")
p.add_argument("--info", action="store_true", help="print the versions and kernels PyTorch uses, as JSON, and exit")
p.add_argument("--export-onnx", metavar="FILE", help="write the seed's CNN (cnn_infer's model) as ONNX to FILE and exit")
a = p.parse_args()
blas_threads = a.blas_threads or a.threads
os.environ["OPENBLAS_NUM_THREADS"] = str(blas_threads)
os.environ["OMP_NUM_THREADS"] = str(a.threads)
import torch
import torch.nn as nn
import torch.nn.functional as F

from flops import count_flops  # bench/torch/flops.py, beside this script

torch.set_num_threads(a.threads)
torch.manual_seed(0)
CL = torch.channels_last if a.channels_last else torch.contiguous_format


def openblas():
    """The loaded OpenBLAS library (through ctypes), or None."""
    with open("/proc/self/maps") as f:
        for line in f:
            if "openblas" in line.lower() and ".so" in line:
                try:
                    return ctypes.CDLL(line.split()[-1])
                except OSError:
                    return None
    return None


def info():
    lib = openblas()
    core, cfg = "", ""
    if lib is not None:
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        core, cfg = lib.openblas_get_corename().decode(), lib.openblas_get_config().decode()
    cap = torch.__config__.show()
    ath = [l.split(":", 1)[1].strip() for l in cap.splitlines() if "CPU capability usage" in l]
    return {"torch": torch.__version__, "openblas_core": core, "openblas_config": cfg,
            "aten_cpu_capability": ath[0] if ath else "", "mkldnn": torch.backends.mkldnn.is_available(),
            "threads": a.threads, "blas_threads": blas_threads}


def timed(fn, steps, reps=3, warm=10):
    for _ in range(warm):
        fn()
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        out.append((time.perf_counter() - t) / steps)
    return statistics.median(out)


# ---- models: the same as bench/*.go and zoo/ ----

class CNN(nn.Module):  # zoo.CNNNet
    def __init__(s):
        super().__init__()
        s.conv1 = nn.Conv2d(1, 32, 3); s.conv2 = nn.Conv2d(32, 64, 3)
        s.dense1 = nn.Linear(1600, 128); s.dense2 = nn.Linear(128, 10)

    def forward(s, x):
        x = F.max_pool2d(F.relu(s.conv1(x)), 2)
        x = F.max_pool2d(F.relu(s.conv2(x)), 2)
        return s.dense2(F.relu(s.dense1(x.flatten(1))))


def vgg():  # bench.NewVGG
    def conv(i, o):
        return [nn.Conv2d(i, o, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*conv(3, 64), *conv(64, 64), nn.MaxPool2d(2), *conv(64, 128), *conv(128, 128),
                         nn.MaxPool2d(2), *conv(128, 256), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(4096, 256), nn.ReLU(), nn.Linear(256, 10))


class RNN(nn.Module):  # zoo's lstm/gru classifiers; bench's lstm512
    def __init__(s, cell, features, units):
        super().__init__()
        s.rnn = cell(features, units, batch_first=True); s.out = nn.Linear(units, 10)

    def forward(s, x):
        h, _ = s.rnn(x)
        return s.out(h[:, -1])


class VAE(nn.Module):  # zoo.NewVAE
    def __init__(s):
        super().__init__()
        s.fc1 = nn.Linear(784, 400); s.mu = nn.Linear(400, 20); s.lv = nn.Linear(400, 20)
        s.fc3 = nn.Linear(20, 400); s.fc4 = nn.Linear(400, 784)

    def forward(s, x):
        h = F.relu(s.fc1(x)); mu, lv = s.mu(h), s.lv(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * lv)
        return torch.sigmoid(s.fc4(F.relu(s.fc3(z)))), mu, lv


def vae_loss(out, x):
    r, mu, lv = out
    return F.binary_cross_entropy(r, x, reduction="sum") - 0.5 * torch.sum(1 + lv - mu.pow(2) - lv.exp())


# ---- workloads: each returns (step function, samples per step, steps per repetition, unit) ----

def train(model, batch, xshape, div=1, loss=F.cross_entropy, target="class", conv=False):
    x = torch.rand(batch, *xshape)
    if conv:
        model = model.to(memory_format=CL); x = x.contiguous(memory_format=CL)
    y = torch.randint(0, 10, (batch,)) if target == "class" else x
    opt = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss(model(x), y).backward()
        opt.step()
    return step, batch, max(5, a.steps // div), "samples_per_sec"


def infer(model, batch, xshape, div):
    model = model.eval().to(memory_format=CL)
    x = torch.rand(batch, *xshape).contiguous(memory_format=CL)

    def step():
        with torch.no_grad():
            model(x)
    return step, batch, max(5, a.steps // div), "samples_per_sec"


def dcgan():  # zoo.NewDCGAN and its trainer: one discriminator and one generator step
    G = nn.Sequential(nn.Linear(100, 7 * 7 * 128), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
                      nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh()).to(memory_format=CL)
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                      nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                      nn.Flatten(), nn.Linear(128 * 7 * 7, 1)).to(memory_format=CL)
    og = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = (torch.rand(64, 1, 28, 28) * 2 - 1).contiguous(memory_format=CL)
    ones, zeros = torch.ones(64, 1), torch.zeros(64, 1)

    def step():
        fake = G(torch.randn(64, 100))
        od.zero_grad(set_to_none=True)
        ld = F.binary_cross_entropy_with_logits(D(real), ones) + F.binary_cross_entropy_with_logits(D(fake.detach()), zeros)
        ld.backward(); od.step()
        og.zero_grad(set_to_none=True)
        F.binary_cross_entropy_with_logits(D(fake), ones).backward(); og.step()
    return step, 64, max(5, a.steps // 4), "samples_per_sec"


def gemm(m, k, n):
    x, w = torch.randn(m, k), torch.randn(k, n)
    return (lambda: x @ w), 2 * m * k * n / 1e9, max(5, int(2e9 / (2 * m * k * n))), "gflops"


def cnn_predict1():
    m = CNN().eval().to(memory_format=CL); x = torch.rand(1, 1, 28, 28).contiguous(memory_format=CL); lat = []
    with torch.no_grad():
        for _ in range(50):
            m(x)
        for _ in range(1000):
            t = time.perf_counter(); m(x); lat.append((time.perf_counter() - t) * 1e3)
    lat.sort()
    return {"p50_ms": lat[500], "p99_ms": lat[990]}


def predict1_step():
    m = CNN().eval(); x = torch.rand(1, 1, 28, 28)
    return (lambda: m(x)), 1, 0, "p50_ms"


W = {
    "gemm_1024": lambda: gemm(1024, 1024, 1024),
    "gemm_32x784x64": lambda: gemm(32, 784, 64),
    "gemm_128x784x400": lambda: gemm(128, 784, 400),
    "gemm_6272x288x64": lambda: gemm(6272, 288, 64),
    "mlp_train": lambda: train(nn.Sequential(nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), 32, (784,)),
    "cnn_train": lambda: train(CNN(), 32, (1, 28, 28), conv=True),
    "cnn_train_b128": lambda: train(CNN(), 128, (1, 28, 28), conv=True),
    "cnn_infer": lambda: infer(CNN(), 256, (1, 28, 28), 10),
    "cnn_predict1": predict1_step,
    "lstm_train": lambda: train(RNN(nn.LSTM, 28, 128), 64, (28, 28)),
    "gru_train": lambda: train(RNN(nn.GRU, 28, 128), 64, (28, 28)),
    "dcgan_step": dcgan,
    "vae_train": lambda: train(VAE(), 128, (784,), loss=vae_loss, target="self"),
    "vgg_train": lambda: train(vgg(), 64, (3, 32, 32), div=20, conv=True),
    "vgg_infer": lambda: infer(vgg(), 128, (3, 32, 32), 20),
    "mlp_wide_train": lambda: train(nn.Sequential(nn.Linear(3072, 2048), nn.ReLU(), nn.Linear(2048, 2048), nn.ReLU(), nn.Linear(2048, 10)), 256, (3072,), div=10),
    "lstm512_train": lambda: train(RNN(nn.LSTM, 64, 512), 64, (100, 64), div=20),
}


def run(name):
    if name == "cnn_predict1" and not a.flops:
        return cnn_predict1()
    step, per, steps, unit = W[name]()
    if a.flops:
        if name.startswith("gemm"):
            return {}
        step()  # build lazily allocated state outside the count
        return {"flops_per_sample": count_flops(step, per)}
    s = timed(step, steps)
    return {unit: per / s}


if a.info:
    print(json.dumps(info()))
    sys.exit(0)
if a.export_onnx:  # for ONNX Runtime's side of cnn_infer (bench/torch/ort/bench.js)
    torch.onnx.export(CNN().eval(), torch.rand(256, 1, 28, 28), a.export_onnx, input_names=["x"],
                      output_names=["logits"], dynamic_axes={"x": {0: "batch"}}, opset_version=13)
    sys.exit(0)
names = a.workload or list(W)
for name in names:
    if name not in W:
        sys.exit(f"unknown workload {name!r}; known: {', '.join(W)}")
for name in names:
    rec = {"workload": name, "threads": a.threads, "blas_threads": blas_threads,
           "channels_last": a.channels_last, "system": "torch", **run(name)}
    rec = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in rec.items()}
    print(json.dumps(rec) if a.json else "  ".join(f"{k}={v}" for k, v in rec.items()), flush=True)
