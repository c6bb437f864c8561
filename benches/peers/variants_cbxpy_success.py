#!/usr/bin/env python3
"""CBXpy 1.0.4 success rates of the consensus variants on the CBO benchmark protocol.

d = 20, N = 50, X0 ~ U[-3, 3]^d, lambda = 1, dt = 0.01, alpha0 = 30 with
alpha <- min(1.05 alpha, 1e5) after each step, 5000 steps, M = --runs independent runs on
CBXpy's M axis, anisotropic noise sigma = 10.1 (the CBO benchmark's); success:
||v_alpha - x*||_inf < 0.25 for the final consensus point. Variants: `CBOMemory`
(lamda_memory = 0.4, sigma_memory = lamda_memory sigma), PSO (CBXpy's class with the
velocity update corrected, `CorrectedPSO` of pso_golden.py: CBXpy's own PSO diverges;
m = 0.001, gamma = 0.999) and CBO with the covariance noise in 'optimization' mode
(sigma = 1; the noise is sigma sqrt(2 dt) Cov^{1/2} xi). These are measurements for the
`cbo-variants` comparison (not yet written, docs/README.md item 18).

With --cells FILE (variants_cells.json) the cells of the `cbo-variants` experiment are run
instead, each with its own variant ('cbo' = plain anisotropic CBO), function, N, sigma and
step count (the covariance noise keeps its cell's sigma) and, where the cell has the key
`alpha_max`, that cap of the alpha schedule instead of 1e5.

Usage: variants_cbxpy_success.py [--runs 100] [--steps 5000] [--variants memory,pso,covariance]
       variants_cbxpy_success.py --cells variants_cells.json [--runs 100] [--only K,...]
Prints one JSON line per (variant, function) or per cell.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from cbx.dynamics import CBO, CBOMemory
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

sys.path.insert(0, os.path.dirname(__file__))
from pso_golden import CorrectedPSO  # noqa: E402


def run(variant, fname, n, d, runs, steps, seed, sigma=None, alpha_max=1e5):
    f = Rastrigin() if fname == "rastrigin" else Ackley()
    x0 = np.random.default_rng(seed).uniform(-3.0, 3.0, (runs, n, d))
    common = dict(x=x0, noise="anisotropic", sigma=10.1 if sigma is None else sigma, lamda=1.0,
                  dt=0.01, alpha=30.0, max_it=steps, verbosity=0, seed=seed, f_dim="3D")
    if variant == "cbo":
        dyn = CBO(f, **common)
    elif variant == "memory":
        dyn = CBOMemory(f, lamda_memory=0.4, **common)
    elif variant == "pso":
        dyn = CorrectedPSO(f, m=0.001, gamma=0.999, lamda_memory=0.4, **common)
    else:
        dyn = CBO(f, **{**common, "noise": "covariance",
                         "sigma": 1.0 if sigma is None else sigma})
        dyn.noise_callable.mode = "optimization"
    t0 = time.perf_counter()
    dyn.optimize(sched=multiply(factor=1.05, maximum=alpha_max))
    wall = time.perf_counter() - t0
    v = np.asarray(dyn.consensus).reshape(runs, d)
    ok = int((np.abs(v).max(axis=1) < 0.25).sum())
    return {"variant": variant, "function": fname, "n": n, "d": d, "runs": runs,
            "steps": steps, "sigma": common["sigma"] if variant != "covariance" else
            (1.0 if sigma is None else sigma), **({} if alpha_max == 1e5 else {"alpha_max": alpha_max}),
            "successes": ok, "rate": ok / runs, "wall_s": wall, "cbx": "1.0.4"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--n", type=int, default=50)
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--variants", default="memory,pso,covariance")
    p.add_argument("--cells", default=None, help="variants_cells.json: run its cells")
    p.add_argument("--only", default=None, help="comma-separated cell indices (with --cells)")
    a = p.parse_args()
    if a.cells:
        with open(a.cells) as fh:
            cells = json.load(fh)["cells"]
        only = None if a.only is None else {int(k) for k in a.only.split(",")}
        for k, c in enumerate(cells):
            if only is None or k in only:
                r = run(c["variant"], c["function"], c["n"], 20, a.runs, c["steps"], a.seed + k,
                        sigma=c["sigma"], alpha_max=c.get("alpha_max", 1e5))
                print(json.dumps({"cell": k, "seed": a.seed + k, **r}), flush=True)
        return
    for v in a.variants.split(","):
        for fname in ("rastrigin", "ackley"):
            print(json.dumps(run(v, fname, a.n, 20, a.runs, a.steps, a.seed)), flush=True)


if __name__ == "__main__":
    main()
