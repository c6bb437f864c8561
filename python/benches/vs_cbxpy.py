#!/usr/bin/env python3
"""meanfield (from Python) against CBXpy 1.0.4, side by side in one process.

Anisotropic CBO on Rastrigin in R^d, X0 ~ U[-3, 3]^d, lambda = 1, sigma = 10.1, dt = 0.01,
alpha0 = 30 with x1.05 up to 1e5, one run, one thread, at each --sizes N x d. Per size
the contenders are timed alternately, block after block (each block about --block-secs of
consecutive steps, the run never reset), and the per-step seconds are the median over
--repeats blocks:

- cbxpy:    CBXpy's CBO with the NumPy Rastrigin below, f_dim='2D' (vectorised);
- mf-numpy: meanfield.CBO with the same NumPy function as a callback;
- mf-built: meanfield.CBO with the built-in Rastrigin, one `run` call per block;
- mf-1call: the built-in, one `run` call per step (the Python boundary crossed per step).

mf-1call / mf-built is the per-step overhead of the Python boundary over the Rust loop.
Prints a Markdown table (ratios cbxpy / ours) and a JSON document with --json PATH.

Usage (from the repository root, after `pip install ./python cbx==1.0.4`):
    python python/benches/vs_cbxpy.py [--sizes 50x20,10000x100] [--repeats 7]
                                      [--block-secs 0.2] [--warmup 10] [--json out.json]
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import cbx  # noqa: E402
from cbx.dynamics import CBO as CbxCBO  # noqa: E402
from cbx.scheduler import multiply  # noqa: E402

import meanfield as mf  # noqa: E402


def np_rastrigin(x):
    """CBXpy's Rastrigin, (N, d) -> (N,): 10 d + sum(x^2 - 10 cos(2 pi x))."""
    return 10.0 * x.shape[-1] + np.sum(x * x - 10.0 * np.cos(2.0 * np.pi * x), axis=-1)


def contenders(n, d):
    """name -> steps(k) closure advancing that contender's run by k steps."""
    x0 = np.random.default_rng(1).uniform(-3.0, 3.0, (n, d))
    out = {}

    dyn = CbxCBO(np_rastrigin, x=x0[None].copy(), f_dim="2D", noise="anisotropic", sigma=10.1,
                 lamda=1.0, dt=0.01, alpha=30.0, max_it=10**9, verbosity=0, seed=7)
    sched = multiply(factor=1.05, maximum=1e5)

    def cbx_steps(k):
        for _ in range(k):
            dyn.step()
            sched.update(dyn)

    out["cbxpy"] = cbx_steps
    kw = dict(lam=1.0, sigma=10.1, dt=0.01, alpha=30.0, schedule="multiply", threads=1)
    for name, f in (("mf-numpy", np_rastrigin), ("mf-built", "rastrigin"), ("mf-1call", "rastrigin")):
        opt = mf.CBO(f, d, **kw)
        run = opt.start(x0, seed=7)
        if name == "mf-1call":
            def steps(k, opt=opt, run=run):
                for _ in range(k):
                    opt.run(run, run.step + 1)
        else:
            def steps(k, opt=opt, run=run):
                opt.run(run, run.step + k)
        out[name] = steps
    return out


def time_size(n, d, repeats, block_secs, warmup):
    cs = contenders(n, d)
    blocks = {}
    for name, steps in cs.items():
        t0 = time.perf_counter()
        steps(warmup)
        per = (time.perf_counter() - t0) / warmup
        blocks[name] = max(1, min(1_000_000, math.ceil(block_secs / per)))
    times = {name: [] for name in cs}
    for _ in range(repeats):
        for name, steps in cs.items():  # alternately: every contender once per round
            t = time.perf_counter()
            steps(blocks[name])
            times[name].append((time.perf_counter() - t) / blocks[name])
    return {name: statistics.median(v) for name, v in times.items()}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="50x20,10000x100")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--block-secs", type=float, default=0.2)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--json")
    a = p.parse_args()
    rows = []
    for s in a.sizes.split(","):
        n, d = (int(v) for v in s.split("x"))
        r = time_size(n, d, a.repeats, a.block_secs, a.warmup)
        rows.append({"n": n, "d": d, **r})
    print(f"CBXpy {getattr(cbx, '__version__', '1.0.4')}, NumPy {np.__version__}, meanfield "
          f"{mf.__version__}; seconds per step (median of {a.repeats} alternating blocks), one thread\n")
    print("| N × d | CBXpy | ours, NumPy callback | ours, built-in | CBXpy / ours (NumPy) "
          "| CBXpy / ours (built-in) | boundary: 1 call/step vs block |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['n']} × {r['d']} | {r['cbxpy']:.3e} | {r['mf-numpy']:.3e} | {r['mf-built']:.3e} "
              f"| {r['cbxpy'] / r['mf-numpy']:.1f}× | {r['cbxpy'] / r['mf-built']:.1f}× "
              f"| {r['mf-1call']:.3e} vs {r['mf-built']:.3e} (+{(r['mf-1call'] - r['mf-built']) * 1e6:.1f} µs) |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"cbxpy": getattr(cbx, "__version__", "1.0.4"), "numpy": np.__version__,
                       "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
