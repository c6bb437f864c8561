#!/usr/bin/env python3
"""CBXpy 1.0.4's MirrorCBO on the constrained cases of `cbo-variants` whose mirror map CBXpy
has (spec: docs/cbo.md §16): the entropic simplex face, the log-barrier box (interior
minimiser, minimiser on faces), the ball projection (minimiser on the boundary sphere) and
the elastic net (sparse minimiser).

Objective (crates/experiments/src/cbo/variants.rs `WellsAroundProjection`):
f(x) = |x - c|^2 + mu |x|_1 + a sum_k (1 - cos 2 pi (x_k - x*_k)), a = 0.05, with x* the
projection of c onto the constraint set (mu = 0) or, for the elastic net, the soft threshold
of c at mu / 2 (mu = 1). Same c, x*, d, N, sigma, dt, alpha (constant), steps and initial
laws as the experiment's defaults; lambda = 1, anisotropic noise; M = --runs independent
runs on CBXpy's M axis, stepped with `dyn.step()` (no alpha schedule). Per case: the median
and max over runs of ||v - x*||_inf of the final consensus, the runs within the case's
tolerance, and for the box with faces the median face gap (largest |v_k - x*_k| over the
coordinates with |x*_k| = 1) at the end and at a quarter of the run; for the elastic net
the runs whose consensus is exactly 0 on the zeros of x* and only there.

Usage: mirror_cbxpy_cases.py [--runs 40] [--cases simplex_face,box_interior,box_faces,ball,elastic]
Prints one JSON line per case.
"""
import argparse
import json
import time

import numpy as np
from cbx.dynamics import MirrorCBO

A_WELLS = 0.05


def case(name, d):
    """(c, x*, mu, mirrormap, x0 sampler, N, sigma, dt, alpha, steps, tolerance)."""
    k = np.arange(d)
    if name == "simplex_face":
        c = np.array([0.7, 0.5, 0.0] + [-0.2 - 0.1 * ((j - 3) % 3) for j in range(3, d)])
        xs = np.array([0.6, 0.4] + [0.0] * (d - 2))
        return c, xs, 0.0, "EntropySimplex", lambda rng, m, n: rng.dirichlet(np.ones(d), (m, n)), \
            50, 5.0, 0.05, 1e4, 2000, 0.02
    if name in ("box_interior", "box_faces"):
        pat = [0.6, -0.3, -0.7, 0.4] if name == "box_interior" else [1.5, -0.3, -2.0, 0.5]
        c = np.array([pat[j % 4] for j in k])
        xs = np.clip(c, -1.0, 1.0)
        dt, tol = (0.01, 0.05) if name == "box_interior" else (0.05, 0.2)
        return c, xs, 0.0, "LogBarrierBox", lambda rng, m, n: rng.uniform(-1.0, 1.0, (m, n, d)), \
            200, 5.0, dt, 1e4, 2000, tol
    if name == "ball":
        c = np.array([(1.0 if j % 2 == 0 else -1.0) * (1.0 + j % 3) for j in k])
        xs = c / np.linalg.norm(c)
        h = 1.0 / np.sqrt(d)
        ball = {"name": "ProjectionBall", "radius": 1.0, "center": np.zeros(d)}
        return c, xs, 0.0, ball, lambda rng, m, n: rng.uniform(-h, h, (m, n, d)), \
            50, 5.0, 0.01, 1e4, 2000, 0.01
    if name == "elastic":
        mu = 1.0
        c = np.array([[1.2, 0.3, -0.2, -1.0, 0.1][j % 5] for j in k])
        xs = np.sign(c) * np.maximum(np.abs(c) - 0.5 * mu, 0.0)
        net = {"name": "ElasticNet", "delta": 1.0, "lamda": 1.0}
        return c, xs, mu, net, lambda rng, m, n: rng.uniform(-2.0, 2.0, (m, n, d)), \
            50, 5.0, 0.01, 1e4, 2000, 0.01
    raise ValueError(name)


def run(name, runs, seed):
    d = 6 if name == "simplex_face" else 10
    c, xs, mu, mirrormap, x0, n, sigma, dt, alpha, steps, tol = case(name, d)

    def f(x):
        return (((x - c) ** 2).sum(-1) + mu * np.abs(x).sum(-1)
                + A_WELLS * (1.0 - np.cos(2 * np.pi * (x - xs))).sum(-1))

    rng = np.random.default_rng(seed)
    dyn = MirrorCBO(f, f_dim="3D", x=x0(rng, runs, n), mirrormap=mirrormap, noise="anisotropic",
                    sigma=sigma, lamda=1.0, dt=dt, alpha=alpha, max_it=steps, verbosity=0,
                    seed=seed)
    face = np.abs(xs) == 1.0
    quarter = None
    t0 = time.perf_counter()
    for s in range(1, steps + 1):
        dyn.step()
        if 4 * s >= steps and quarter is None:
            quarter = np.asarray(dyn.consensus).reshape(runs, d).copy()
    wall = time.perf_counter() - t0
    v = np.asarray(dyn.consensus).reshape(runs, d)
    dist = np.abs(v - xs).max(axis=1)
    row = {"case": name, "d": d, "n": n, "sigma": sigma, "dt": dt, "alpha": alpha,
           "steps": steps, "runs": runs, "seed": seed, "median_dist": float(np.median(dist)),
           "max_dist": float(dist.max()), "tolerance": tol,
           "within_tolerance": int((dist <= tol).sum())}
    if face.any():
        gap = lambda u: np.abs(u - xs)[:, face].max(axis=1)
        row["median_face_gap"] = float(np.median(gap(v)))
        row["median_face_gap_quarter"] = float(np.median(gap(quarter)))
        row["median_interior_dist"] = float(np.median(np.abs(v - xs)[:, ~face].max(axis=1)))
        row["face_gap_within_tolerance"] = int((gap(v) <= tol).sum())
    if mu > 0:
        row["support_recovered"] = int(((v == 0.0) == (xs == 0.0)).all(axis=1).sum())
    row.update({"wall_s": wall, "cbx": "1.0.4"})
    return row


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=40)
    p.add_argument("--seed", type=int, default=20261204)
    p.add_argument("--cases", default="simplex_face,box_interior,box_faces,ball,elastic")
    a = p.parse_args()
    for k, name in enumerate(a.cases.split(",")):
        print(json.dumps(run(name, a.runs, a.seed + k)), flush=True)


if __name__ == "__main__":
    main()
