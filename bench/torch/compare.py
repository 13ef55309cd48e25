"""Strata against its PyTorch twin (and ONNX Runtime for cnn_infer), interleaved in rounds.

usage (from the repository root):
    python3 bench/torch/compare.py [--rounds 5] [--workload NAME ...] [--steps 200]
                                   [--no-ort] [--write BENCHMARKS.md] [--out FILE.json]

What it does, in order:
 1. Builds ./cmd/strata and records the machine: CPU model, family/model, vector flags, kernel,
    load average, and the kernels each side runs (Strata's ISA; PyTorch's OpenBLAS core, ATen
    capability and oneDNN ISA).
    The PyTorch twins are bench/torch/twin.py and, for the Transformer workloads (gpt_train,
    gpt_generate, vit_train, attention_*), bench/torch_transformer.py.
 2. PyTorch's environment: unsets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (which pin OpenBLAS to
    its AVX2 kernel on AVX-512 CPUs) once a probe shows its GEMM still correct without them, and
    sets MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1e11 MALLOC_TOP_PAD_=1e9 (without them glibc
    maps and unmaps PyTorch's large tensors every step, and page faults are expensive on VMs;
    a PyTorch user would set them or preload jemalloc). Strata's environment is left as it is.
 3. Counts each workload's FLOPs per sample from the model (twin.py --flops,
    torch_transformer.py --flops) and measures the
    FMA peak at every round (strata bench --workload fma_peak).
 4. A calibration round (steps/4, not reported) picks each side's best setting per workload:
    Strata at 2 and 1 threads; PyTorch at 2 threads with OpenBLAS at 2 and at 1, at 1 thread,
    and, for convolutions, channels_last.
 5. --rounds rounds; in each, every side runs every workload once at its chosen setting (one
    process per setting), the side that goes first alternating between rounds.
 6. Prints (and with --write, puts into the file between the compare.py markers) a Markdown
    table: per side the median over rounds and the spread (max − min over the median), the ratio
    of medians (for latency, PyTorch's over Strata's), FLOPs per sample, achieved GFLOP/s and
    the fraction of the measured FMA peak. --out keeps every raw measurement as JSON.

Wall time: about 2 minutes per round for every workload on a 2-core machine, plus one
calibration round; --workload and --rounds bound it.
"""
import argparse, datetime, json, os, platform, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
TORCH_PY = "/usr/bin/python3"  # Debian's interpreter, the one that has python3-torch
# Workloads whose PyTorch twin is bench/torch_transformer.py rather than twin.py.
TRANSFORMER = ("gpt_train", "gpt_generate", "vit_train", "attention_256", "attention_1024", "attention_4096")
CONV = {"cnn_train", "cnn_train_b128", "cnn_infer", "cnn_predict1", "dcgan_step", "vgg_train", "vgg_infer"}
MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "100000000000", "MALLOC_TOP_PAD_": "1000000000"}
PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def parse_args():
    p = argparse.ArgumentParser(description="Strata vs PyTorch, interleaved rounds (see the module doc)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--workload", nargs="*", default=[], help="subset (default: every workload both sides know)")
    p.add_argument("--steps", type=int, default=200, help="steps per timed repetition, divided per workload as in bench/")
    p.add_argument("--no-ort", action="store_true", help="leave out ONNX Runtime (cnn_infer)")
    p.add_argument("--no-calibrate", action="store_true",
                   help="skip calibration: Strata at its default threads, PyTorch at 2 threads with OpenBLAS at 1 (2 for gemm_*)")
    p.add_argument("--peak", type=float, metavar="GFLOPS",
                   help="the machine's FMA peak to divide by, instead of the best fma_peak measured in the rounds")
    p.add_argument("--write", metavar="FILE", help="replace the table between the compare.py markers in FILE")
    p.add_argument("--out", metavar="FILE", help="write every raw measurement as JSON")
    return p.parse_args()


def log(*msg):
    print(f"[{time.strftime('%H:%M:%S')}]", *msg, file=sys.stderr, flush=True)


def records(cmd, env=None, cwd=ROOT):
    """Runs cmd and returns the JSON objects it printed, one per line. A failing command is
    reported and gives what it printed before failing, so that one broken workload costs its
    cells of the table, not the run."""
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if r.returncode != 0:
        log(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    out = []
    for line in r.stdout.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def value(rec):
    """(unit, value) of a bench record; latency is lower-is-better."""
    for k in ("p50_ms", "gflops", "samples_per_sec"):
        if rec.get(k):
            return k, rec[k]
    return None, None


def better(unit, x, y):
    return x < y if unit == "p50_ms" else x > y


# ---- the machine and the environments ----

def machine():
    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "kernel": platform.release(), "cpus": os.cpu_count(), "node": platform.node()}
    try:
        with open("/proc/cpuinfo") as f:
            lines = f.read().splitlines()
        field = lambda k: next((l.split(":", 1)[1].strip() for l in lines if l.split(":")[0].strip() == k), "")
        info["cpu"] = field("model name")
        info["family_model"] = f"{field('cpu family')}/{field('model')}"
        flags = field("flags").split()
        info["flags"] = " ".join(sorted(f for f in flags if f.startswith(("avx", "fma", "amx"))))
    except OSError:
        info["cpu"] = platform.processor()
    info["loadavg_start"] = os.getloadavg()[0]
    return info


def torch_env():
    env = {k: v for k, v in os.environ.items() if k not in PINS}
    env.update(MALLOC)
    note = "set here and unset for PyTorch" if any(k in os.environ for k in PINS) else "not set here"
    probe = ("import torch; torch.manual_seed(0); a, b = torch.randn(512, 700), torch.randn(700, 300); "
             "e = ((a @ b).double() - a.double() @ b.double()).abs().max().item(); print(e); assert e < 1e-3")
    if any(k in os.environ for k in PINS):
        r = subprocess.run([TORCH_PY, "-c", probe], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            log("PyTorch's GEMM is wrong without OPENBLAS_CORETYPE here; keeping the pinning")
            env = dict(os.environ, **MALLOC)
            note = "kept (GEMM probe failed without it)"
    return env, note


def torch_info(env):
    e = dict(env, DNNL_VERBOSE="1")
    code = ("import torch, torch.nn.functional as F; F.conv2d(torch.rand(8, 16, 32, 32), torch.rand(32, 16, 3, 3))")
    r = subprocess.run([TORCH_PY, "-c", code], env=e, capture_output=True, text=True)
    isa = next((l.split("isa:", 1)[1].strip() for l in r.stdout.splitlines() if ",isa:" in l), "unknown")
    info = (records([TORCH_PY, os.path.join(HERE, "twin.py"), "--info"], env=env) or [{}])[0]
    info.setdefault("torch", "?")
    info.setdefault("openblas_core", "")
    info.setdefault("aten_cpu_capability", "?")
    info["onednn_isa"] = isa
    return info


# ---- the three sides ----

class Strata:
    name = "strata"

    def __init__(self, binary):
        self.binary = binary

    def settings(self, w):
        return [("2",), ("1",)] if w != "fma_peak" else [("2",)]

    def default(self, w):
        return ("2",)

    def run(self, setting, names, steps):
        args = [self.binary, "bench", "--json", "--threads", setting[0], "--steps", str(steps)]
        for n in names:
            args += ["--workload", n]
        return records(args)

    def known(self):
        r = subprocess.run([self.binary, "bench", "--help"], capture_output=True, text=True)
        text = r.stdout + r.stderr
        return set(text.split("(repeatable; default all): ", 1)[1].split("\n", 1)[0].replace(",", " ").split())


class Torch:
    name = "torch"

    def __init__(self, env):
        self.env = env

    def settings(self, w):
        s = [("2", "2", False), ("2", "1", False), ("1", "1", False)]
        return s + [("2", "1", True)] if w in CONV else s

    def default(self, w):
        return ("2", "2", False) if w.startswith("gemm") else ("2", "1", False)

    def run(self, setting, names, steps):
        threads, blas, cl = setting
        twin = [w for w in names if w not in TRANSFORMER]
        xf = [w for w in names if w in TRANSFORMER]
        recs = []
        if twin:
            args = [TORCH_PY, os.path.join(HERE, "twin.py"), "--json", "--threads", threads, "--blas-threads", blas,
                    "--steps", str(steps), *(["--channels-last"] if cl else []), "--workload", *twin]
            recs += records(args, env=self.env)
        if xf:  # its own step counts; the thread pools are set the way twin.py sets them
            env = dict(self.env, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=blas)
            recs += records([TORCH_PY, os.path.join(ROOT, "bench", "torch_transformer.py"), "--json",
                             "--threads", threads, *xf], env=env)
        return recs

    def known(self):
        out = subprocess.run([TORCH_PY, os.path.join(HERE, "twin.py"), "--workload", "?"], capture_output=True,
                             text=True, env=self.env).stderr
        known = set(out.split("known: ", 1)[1].replace(",", " ").split()) if "known: " in out else set()
        return known | set(TRANSFORMER)


class ORT:
    """ONNX Runtime (onnxruntime-node, 2 intra-op threads) on the seed's CNN exported from PyTorch."""
    name = "ort"

    def __init__(self, env):
        self.env, self.ok = env, False
        self.dir = os.path.join(HERE, "ort")
        self.model = os.path.join(tempfile.mkdtemp(), "cnn.onnx")
        if not os.path.isdir(os.path.join(self.dir, "node_modules", "onnxruntime-node")):
            log("installing onnxruntime-node into bench/torch/ort (npm)")
            r = subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=self.dir, capture_output=True, text=True)
            if r.returncode != 0:
                log("npm install failed; leaving ONNX Runtime out:", r.stderr[-500:])
                return
        r = subprocess.run([TORCH_PY, os.path.join(HERE, "twin.py"), "--export-onnx", self.model], env=env,
                           capture_output=True, text=True)
        if r.returncode != 0:
            log("exporting the CNN to ONNX failed; leaving ONNX Runtime out:", r.stderr[-500:])
            return
        self.ok = True

    def settings(self, w):
        return [("2",)]

    def default(self, w):
        return ("2",)

    def run(self, setting, names, steps):
        if "cnn_infer" not in names:
            return []
        return records(["node", os.path.join(self.dir, "bench.js"), self.model, setting[0], str(max(5, steps // 10))],
                       env=self.env)

    def known(self):
        return {"cnn_infer"} if self.ok else set()


# ---- rounds ----

def calibrate(side, names, steps):
    """Each workload's best setting after one short run of every setting."""
    best = {}
    by_setting = {}
    for w in names:
        for s in side.settings(w):
            by_setting.setdefault(s, []).append(w)
    for s, ws in by_setting.items():
        for rec in side.run(s, ws, steps):
            unit, v = value(rec)
            w = rec["workload"]
            if unit and (w not in best or better(unit, v, best[w][1])):
                best[w] = (s, v)
    return {w: best[w][0] if w in best else side.default(w) for w in names}


def one_round(side, chosen, steps):
    groups = {}
    for w, s in chosen.items():
        groups.setdefault(s, []).append(w)
    recs = []
    for s, ws in groups.items():
        recs += side.run(s, ws, steps)
    return recs


def main():
    a = parse_args()
    t0 = time.time()
    binary = os.path.join(tempfile.mkdtemp(), "strata")
    subprocess.run(["go", "build", "-o", binary, "./cmd/strata"], check=True, cwd=ROOT)
    env, pin_note = torch_env()
    info = {"machine": machine(), "openblas_pinning": pin_note, "malloc": " ".join(f"{k}={v}" for k, v in MALLOC.items())}
    info["torch"] = torch_info(env)
    strata, torch = Strata(binary), Torch(env)
    both = strata.known() & torch.known()  # each call starts a process: once
    names = a.workload or sorted(both - {"fma_peak"})
    unknown = [w for w in names if w not in both]
    if unknown:
        sys.exit(f"unknown workload(s) {unknown}; both sides know {sorted(both)}")
    sides = [strata, torch]
    if not a.no_ort and "cnn_infer" in names:
        ort = ORT(env)
        if ort.ok:
            sides.append(ort)
    flops = {r["workload"]: r["flops_per_sample"] for r in records(
        [TORCH_PY, os.path.join(HERE, "twin.py"), "--json", "--flops", "--workload",
         *[w for w in names if w not in TRANSFORMER]], env=env)
        if "flops_per_sample" in r}
    if any(w in TRANSFORMER for w in names):
        flops.update({r["workload"]: r["flops_per_sample"] for r in records(
            [TORCH_PY, os.path.join(ROOT, "bench", "torch_transformer.py"), "--flops",
             *[w for w in names if w in TRANSFORMER]], env=env) if "flops_per_sample" in r})

    chosen = {}
    for side in sides:
        known = side.known()
        ws = [w for w in names if w in known]
        if a.no_calibrate:
            chosen[side.name] = {w: side.default(w) for w in ws}
        else:
            log(f"calibrating {side.name} ({len(ws)} workloads)")
            chosen[side.name] = calibrate(side, ws, max(8, a.steps // 4))
    raw = {s.name: {} for s in sides}
    peaks = []
    for r in range(a.rounds):
        order = sides if r % 2 == 0 else sides[::-1]
        for side in order:
            log(f"round {r + 1}/{a.rounds}: {side.name}")
            for rec in one_round(side, chosen[side.name], a.steps):
                raw[side.name].setdefault(rec["workload"], []).append(rec)
        peaks += [value(rec)[1] for rec in records([binary, "bench", "--json", "--workload", "fma_peak"])]
        if a.out:  # what the rounds so far measured, in case a later one is cut short
            with open(a.out, "w") as f:
                json.dump({"flops": flops, "raw": raw, "peaks": peaks}, f)
    peaks = peaks or [float("nan")]
    info["machine"]["loadavg_end"] = os.getloadavg()[0]
    # The peak is what the machine can do: the best round, since other load only lowers it.
    info["fma_peak_gflops"] = a.peak or max(peaks)
    info["fma_peak_spread"] = (max(peaks) - min(peaks)) / max(peaks)
    info["fma_peak_note"] = (f"given (--peak; the rounds measured {max(peaks):.0f})" if a.peak else
                             f"measured (`strata bench --workload fma_peak`, best of the rounds, rounds within "
                             f"{info['fma_peak_spread']:.0%})")
    info["calibrated"] = not a.no_calibrate
    info["strata_isa"] = next((rec.get("isa") for v in raw["strata"].values() for rec in v), "")
    info["rounds"], info["steps"], info["minutes"] = a.rounds, a.steps, round((time.time() - t0) / 60, 1)
    info["command"] = "python3 bench/torch/compare.py " + " ".join(sys.argv[1:])
    table = render(names, raw, chosen, flops, info)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"info": info, "flops": flops, "chosen": {k: {w: list(s) for w, s in v.items()} for k, v in chosen.items()},
                       "raw": raw}, f, indent=1)
    if a.write:
        write(a.write, table)


# ---- the table ----

def summary(recs):
    unit, _ = value(recs[0])
    vals = [value(r)[1] for r in recs]
    med = statistics.median(vals)
    return unit, med, (max(vals) - min(vals)) / med if med else 0, recs[0]


def fmt(v):
    return f"{v:,.0f}" if v >= 100 else f"{v:.3g}"


def setting_note(side, s):
    if side == "strata":
        return f"{s[0]}t"
    if side == "torch":
        return f"{s[0]}t/blas{s[1]}" + (" CL" if s[2] else "")
    return f"{s[0]}t"


def render(names, raw, chosen, flops, info):
    m, t = info["machine"], info["torch"]
    peak = info["fma_peak_gflops"]
    out = [f"Measured {m['date']} by `{info['command']}` ({info['rounds']} interleaved rounds, "
           f"{info['minutes']} min) on {m['cpus']} CPUs of an {m['cpu']} (family/model {m['family_model']}), "
           f"Linux {m['kernel']}, load average {m['loadavg_start']:.2f} at the start and {m['loadavg_end']:.2f} at the end.",
           "",
           f"- CPU flags: {m['flags']}.",
           f"- Strata: kernels `{info['strata_isa']}`. PyTorch {t['torch']}: OpenBLAS core {t['openblas_core'] or '?'}"
           f" (OPENBLAS_CORETYPE/L2_SIZE {info['openblas_pinning']}), ATen {t['aten_cpu_capability']}, "
           f"oneDNN ISA {t['onednn_isa']}; {info['malloc']}.",
           f"- FMA peak, {info['fma_peak_note']}: {peak:.0f} GFLOP/s at 2 threads, i.e. a clock of "
           f"{peak / (2 * 2 * 16 * 2):.2f} GHz at 2 cores × 2 AVX-512 FMA units × 16 lanes × 2 FLOPs.",
           "- Each cell: median over the rounds (spread = (max − min) / median), each round's figure itself the "
           "median of 3 repetitions; setting: threads (t), OpenBLAS threads, channels_last (CL), "
           + ("chosen per workload by a calibration round" if info["calibrated"] else "fixed (--no-calibrate)")
           + ". Ratio: Strata's median over PyTorch's (latency: PyTorch's over "
           "Strata's); > 1 means Strata is faster. GFLOP/s and % of peak are Strata's, from the FLOPs per "
           "sample counted from the model (twin.py / torch_transformer.py --flops; per token for gpt_train).",
           "",
           "| workload | unit | Strata (spread, setting) | PyTorch (spread, setting) | ratio | ONNX Runtime | MFLOP/sample | Strata GFLOP/s | % peak | PyTorch % peak |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for w in names:
        s, tt = raw["strata"].get(w), raw["torch"].get(w)
        if not s or not tt:
            out.append(f"| {w} | | {'missing' if not s else ''} | {'missing' if not tt else ''} | | | | | | |")
            continue
        unit, sm, ssp, _ = summary(s)
        _, tm, tsp, _ = summary(tt)
        ratio = tm / sm if unit == "p50_ms" else sm / tm
        ort = ""
        if raw.get("ort", {}).get(w):
            _, om, osp, _ = summary(raw["ort"][w])
            ort = f"{fmt(om)} ({osp:.0%}; Strata/ORT {sm / om:.2f})"
        fl, g, pct, tpct = "", "", "", ""
        if unit == "gflops":
            g, pct, tpct = f"{sm:.0f}", f"{sm / peak:.0%}", f"{tm / peak:.0%}"
        elif w in flops and unit == "samples_per_sec":
            fl = f"{flops[w] / 1e6:.1f}"
            g = f"{sm * flops[w] / 1e9:.0f}"
            pct, tpct = f"{sm * flops[w] / 1e9 / peak:.0%}", f"{tm * flops[w] / 1e9 / peak:.0%}"
        elif w in flops:
            fl = f"{flops[w] / 1e6:.1f}"
        unit_s = unit if unit != "p50_ms" else "p50 ms"
        if unit == "p50_ms" and any(r.get("peak_mb") for r in s):
            unit_s = (f"ms (peak MB: Strata {statistics.median(r.get('peak_mb', 0) for r in s):,.0f}, "
                      f"PyTorch {statistics.median(r.get('peak_mb', 0) for r in tt):,.0f})")
        elif unit == "p50_ms":
            p99s = statistics.median(r.get("p99_ms", 0) for r in s)
            unit_s = f"p50 ms (Strata p99 {p99s:.3g})"
        out.append(f"| {w} | {unit_s} | {fmt(sm)} ({ssp:.0%}, {setting_note('strata', chosen['strata'][w])}) | "
                   f"{fmt(tm)} ({tsp:.0%}, {setting_note('torch', chosen['torch'][w])}) | {ratio:.2f} | {ort} | "
                   f"{fl} | {g} | {pct} | {tpct} |")
    return "\n".join(out)


BEGIN, END = "<!-- compare.py:begin -->", "<!-- compare.py:end -->"


def write(path, table):
    with open(path) as f:
        text = f.read()
    if BEGIN not in text or END not in text:
        sys.exit(f"{path}: no {BEGIN} … {END} markers to put the table between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    log(f"wrote the table into {path}")


if __name__ == "__main__":
    main()
