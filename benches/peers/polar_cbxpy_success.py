#!/usr/bin/env python3
"""CBXpy 1.0.4's PolarCBO on the `polar-cbo` protocol: fraction of runs that find all four
minimisers of Himmelblau's function, or (--function wells) all three wells of the
Rastrigin with shifted wells (spec: docs/cbo.md, "Polarised CBO").

Protocol (the defaults of crates/experiments/src/cbo/polar.rs): d = 2, N = 100,
X0 ~ U[-5, 5]^2, Gaussian kernel with kappa = 0.5 and kernel_factor_mode 'const' (the paper's
kernel), alpha = 10 constant, lambda = 1, sigma = 1, anisotropic noise, dt = 0.01, 500
steps, M independent runs vectorised by CBXpy's M axis. The final consensus points c_i are
clustered greedily (the same rule as `meanfield_integrators::cbo::cluster_points`: take the
unassigned point of smallest f, assign every unassigned point within `radius` = 0.25, centre
= members' mean; keep clusters with >= 5 % of the points). A run succeeds when each of the
four minimisers has a kept cluster centre within 0.1 of it.

--function wells: f(x) = prod_i V(x - z_i), V CBXpy's Rastrigin, z = (-2, -2), (2.5, 0.5),
(-0.5, 3) (CBXpy's `Rastrigin_multimodal` with alpha = [1, 1, 1]; its constructor cannot take
a multi-row z -- `if z` on an array raises -- so z is set after construction), alpha = 0.01
(--alpha), the rest as above; success = all three wells found.

Usage: polar_cbxpy_success.py [--function himmelblau|wells] [--runs 100] [--steps 500]
       [--alpha A] [--out polar_cbxpy_rates.jsonl]
Prints one JSON line and appends it to --out.
"""
import argparse
import json
import time

import numpy as np
from cbx.dynamics import PolarCBO
from cbx.objectives import Himmelblau, Rastrigin_multimodal

WELLS = np.array([[-2.0, -2.0], [2.5, 0.5], [-0.5, 3.0]])


def wells():
    f = Rastrigin_multimodal(alpha=[1.0] * len(WELLS))
    f.z = WELLS.copy()
    f.minima = f.z
    return f


def clusters(points, f, radius, min_size):
    values = f(points[None, ...])[0]
    order = np.argsort(values, kind="stable")
    assigned = np.zeros(len(points), dtype=bool)
    out = []
    for s in order:
        if assigned[s]:
            continue
        near = (~assigned) & (((points - points[s]) ** 2).sum(axis=1) <= radius * radius)
        assigned |= near
        if near.sum() >= min_size:
            out.append(points[near].mean(axis=0))
    return np.array(out).reshape(-1, points.shape[1])


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--kappa", type=float, default=0.5)
    p.add_argument("--function", choices=["himmelblau", "wells"], default="himmelblau")
    p.add_argument("--alpha", type=float, default=None, help="10 (himmelblau), 0.01 (wells)")
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=20261203)
    p.add_argument("--out", default=None)
    a = p.parse_args()
    f = Himmelblau() if a.function == "himmelblau" else wells()
    if a.alpha is None:
        a.alpha = 10.0 if a.function == "himmelblau" else 0.01
    m = len(f.minima)
    rng = np.random.default_rng(a.seed)
    x0 = rng.uniform(-5.0, 5.0, (a.runs, a.n, 2))
    dyn = PolarCBO(f, x=x0, noise="anisotropic", sigma=a.sigma, lamda=1.0, dt=0.01,
                   alpha=a.alpha, kappa=a.kappa, kernel="Gaussian", kernel_factor_mode="const",
                   max_it=a.steps, verbosity=0, seed=a.seed)
    t0 = time.perf_counter()
    for _ in range(a.steps):
        dyn.step()
    wall = time.perf_counter() - t0
    c = np.asarray(dyn.consensus).reshape(a.runs, a.n, 2)
    min_size = int(np.ceil(0.05 * a.n))
    found = []
    for r in range(a.runs):
        centres = clusters(c[r], f, 0.25, min_size)
        if len(centres) == 0:
            found.append(0)
            continue
        d = np.linalg.norm(centres[:, None, :] - f.minima[None, :, :], axis=-1)
        found.append(int((d.min(axis=0) < 0.1).sum()))
    found = np.array(found)
    row = {"experiment": "polar-cbo", "function": a.function, "n": a.n, "runs": a.runs,
           "steps": a.steps, "kappa": a.kappa, "alpha": a.alpha, "sigma": a.sigma,
           "successes": int((found == m).sum()),
           "found_histogram": np.bincount(found, minlength=m + 1).tolist(), "wall_s": wall,
           "cbx": "1.0.4"}
    print(json.dumps(row), flush=True)
    if a.out:
        with open(a.out, "a") as fh:
            fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
