#!/usr/bin/env python3
"""Times one step of CBXpy 1.0.4's anisotropic CBO, like `cbo_timing` times ours.

Rastrigin in R^d (CBXpy's `Rastrigin`, evaluated vectorised: f_dim='3D'), X0 ~ U[-3, 3]^d,
lambda = 1, sigma = 10.1, dt = 0.01, alpha0 = 30 with `multiply(factor=1.05,
maximum=1e5)`, one run (M = 1). A step is what `CBO.optimize` does per iteration:
`dyn.step()` then `sched.update(dyn)`. Per-step seconds = median over --repeats blocks
of consecutive steps (each about --block-secs long) after --warmup steps; the run is
never reset. Prints one JSON document on stdout.

Usage: cbo_cbxpy.py [--sizes 50x20,200x20,1000x100,10000x100] [--repeats 7]
                    [--block-secs 0.2] [--warmup 20]
"""
import argparse
import json
import math
import statistics
import time

import numpy as np
import cbx
from cbx.dynamics import CBO
from cbx.objectives import Rastrigin
from cbx.scheduler import multiply


def time_size(n, d, repeats, block_secs, warmup):
    x0 = np.random.default_rng(1).uniform(-3.0, 3.0, (1, n, d))
    dyn = CBO(Rastrigin(), x=x0, f_dim="3D", noise="anisotropic", sigma=10.1, lamda=1.0,
              dt=0.01, alpha=30.0, max_it=10**9, verbosity=0, seed=7)
    sched = multiply(factor=1.05, maximum=1e5)

    def steps(k):
        for _ in range(k):
            dyn.step()
            sched.update(dyn)

    t0 = time.perf_counter()
    steps(max(warmup, 1))
    per = (time.perf_counter() - t0) / max(warmup, 1)
    block = max(1, min(1_000_000, math.ceil(block_secs / per)))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        steps(block)
        times.append((time.perf_counter() - t) / block)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="50x20,200x20,1000x100,10000x100")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--block-secs", type=float, default=0.2)
    p.add_argument("--warmup", type=int, default=20)
    a = p.parse_args()
    rows = []
    for s in a.sizes.split(","):
        n, d = (int(v) for v in s.split("x"))
        sec = time_size(n, d, a.repeats, a.block_secs, a.warmup)
        print(f"cbxpy N={n:>6} d={d:>3}: {sec:.3e} s/step", file=__import__("sys").stderr)
        rows.append({"n": n, "d": d, "seconds_per_step": sec})
    print(json.dumps({"implementation": "CBXpy", "version": getattr(cbx, "__version__", "1.0.4"),
                      "numpy": np.__version__, "results": rows}, indent=1))


if __name__ == "__main__":
    main()
