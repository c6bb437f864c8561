#!/usr/bin/env python3
"""CBXpy 1.0.4 success rates on the CBO benchmark protocol (spec cbo.md).

d = 20, N in {50, 100, 200}, X0 ~ U[-3, 3]^d, lambda = 1, dt = 0.01, alpha0 = 30 with
alpha <- min(1.05 alpha, 1e5) after each step, 5000 steps, M independent runs vectorised
by CBXpy's M axis. sigma = 10.1 (anisotropic) / 0.8 (isotropic). Success:
||v_alpha - x*||_inf < 0.25 for the final consensus point.

Usage: cbo_cbxpy_success.py [--runs 100] [--steps 5000] [--sizes 50,100,200]
       [--functions rastrigin,ackley] [--noises anisotropic,isotropic] [--out rates.json]
Prints one JSON line per configuration and writes all of them to --out.
"""
import argparse
import json
import time

import numpy as np
from cbx.dynamics import CBO
from cbx.objectives import Ackley, Rastrigin
from cbx.scheduler import multiply

SIGMA = {"anisotropic": 10.1, "isotropic": 0.8}


def run(fname, noise, n, d, runs, steps, seed):
    f = Rastrigin() if fname == "rastrigin" else Ackley()
    rng = np.random.default_rng(seed)
    x0 = rng.uniform(-3.0, 3.0, (runs, n, d))
    dyn = CBO(
        f, x=x0, noise=noise, sigma=SIGMA[noise], lamda=1.0, dt=0.01, alpha=30.0,
        max_it=steps, verbosity=0, seed=seed, f_dim="3D",
    )
    t0 = time.perf_counter()
    dyn.optimize(sched=multiply(factor=1.05, maximum=1e5))
    wall = time.perf_counter() - t0
    v = np.asarray(dyn.consensus).reshape(runs, d)
    err = np.abs(v).max(axis=1)
    ok = int((err < 0.25).sum())
    return {"function": fname, "noise": noise, "n": n, "d": d, "runs": runs, "steps": steps,
            "successes": ok, "rate": ok / runs, "wall_s": wall}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--seed", type=int, default=20261123)
    p.add_argument("--sizes", default="50,100,200")
    p.add_argument("--functions", default="rastrigin,ackley")
    p.add_argument("--noises", default="anisotropic,isotropic")
    p.add_argument("--out", default=None)
    a = p.parse_args()
    rows = []
    for fname in a.functions.split(","):
        for noise in a.noises.split(","):
            for n in [int(s) for s in a.sizes.split(",")]:
                r = run(fname, noise, n, a.d, a.runs, a.steps, a.seed)
                print(json.dumps(r), flush=True)
                rows.append(r)
    if a.out:
        with open(a.out, "w") as fh:
            json.dump({"cbx": "1.0.4", "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
