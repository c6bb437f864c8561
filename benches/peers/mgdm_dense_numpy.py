#!/usr/bin/env python3
"""Dense peer of one MF-MGDM step with log|det| (the authors' approach: the T x T
Jacobian block of every path is formed densely and its log-determinant taken by LU).

Same arithmetic as meanfield's `Mgdm` (ACF(1) features, K = 2, one coupling group of N,
gamma = 10, alpha of AR(0.1)), but per path: A_i = I - s * H_i as a dense T x T matrix,
numpy.linalg.slogdet(A_i), A_i^{-1} J_i^T by numpy.linalg.solve, then the K x K
capacitance. Prints the wall time of one step (a few paths timed, scaled to N when
--paths < N) and the log-det, as JSON.

Usage: benches/peers/mgdm_dense_numpy.py [--n 128] [--t 1024] [--paths 8]
Compare with `cargo bench -p meanfield-benches --bench mgdm` (mf_mgdm_logdet).
"""
import argparse
import json
import time

import numpy as np


def features(x, t):
    phi1 = np.sum(x[:, 1:] * x[:, :-1], axis=1) / t
    phi2 = np.sum(x[:, 1:] ** 2, axis=1) / t
    return np.stack([phi1, phi2], axis=1)


def jacobian(xi, t):
    g1 = np.zeros(t)
    g1[1:] += xi[:-1]
    g1[:-1] += xi[1:]
    g2 = 2.0 * xi
    g2[0] = 0.0
    return np.stack([g1 / t, g2 / t])  # K x T


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--t", type=int, default=1024)
    ap.add_argument("--paths", type=int, default=8, help="paths actually factored (time scaled to N)")
    a = ap.parse_args()
    n, t = a.n, a.t
    rng = np.random.default_rng(1)
    x = rng.standard_normal((n, t))
    f = (t - 1) / t
    alpha = np.array([0.1 * f, f])
    s = 10.0 / np.dot(alpha, alpha)
    t0 = time.perf_counter()
    r = features(x, t).mean(axis=0) - alpha
    logdet = 0.0
    cap = np.zeros((2, 2))
    m = min(a.paths, n)
    for i in range(m):
        h = np.zeros((t, t))
        idx = np.arange(1, t)
        h[idx, idx] = 2.0 * r[1] / t
        h[idx, idx - 1] = r[0] / t
        h[idx - 1, idx] = r[0] / t
        ai = np.eye(t) - s * h
        _, ld = np.linalg.slogdet(ai)
        logdet += ld
        j = jacobian(x[i], t)
        w = np.linalg.solve(ai, j.T)
        cap += j @ w
    elapsed = (time.perf_counter() - t0) * n / m
    c = np.eye(2) - s / n * cap
    print(json.dumps({"n": n, "t": t, "paths_timed": m, "seconds_per_step": elapsed,
                      "partial_logdet": logdet + np.linalg.slogdet(c)[1]}))


if __name__ == "__main__":
    main()
