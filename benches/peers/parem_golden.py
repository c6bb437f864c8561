#!/usr/bin/env python3
"""Golden values for ParEM's particle quasi-Newton (PQN) and particle marginal gradient
descent (PMGD): an independent NumPy implementation, written from the equations of
Kuntz, Lim & Johansen (2023) in the notation of their notebooks (log-density
l = -E, gradient ascent), with its own normals recorded.

Models (theta scalar):
  toy:      l(th, x) = -sum_j (y_j - x_j)^2/2 - (x_j - th)^2/2          (D = len(y))
  logistic: l(th, x) = sum_j [lab_j a_j - log(1 + e^{a_j})] - |x - th 1|^2/(2 s2),
            a_j = f_j . x, s2 = 5
PQN:  th <- th + h_th * Hbar^{-1} * mean_i d/dth l(th, X^i),  Hbar = mean_i -d2/dth2 l
      (toy: Hbar = D; logistic: Hbar = D/s2), X^i <- X^i + h_x grad_x l(th_old, X^i)
      + sqrt(2 h_x) xi^i.
PMGD: th_0 = theta_opt(X_0) = mean of all particle coordinates;
      X^i <- X^i + h_x grad_x l(th_k, X^i) + sqrt(2 h_x) xi^i;  th_{k+1} = theta_opt(X).

Writes crates/integrators/tests/data/parem_golden.json: per run the model data, steps,
X_0, th_0, every step's normals (N x D, particle-major like meanfield's rows), theta after
every step and X after the last step. `tests/particle_em.rs` replays the normals through
`Pqn::step_with_noise` / `Pmgd::step_with_noise` and must match to 1e-10.

Usage: python benches/peers/parem_golden.py [out.json]   (any Python with NumPy)
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PRIOR_VAR = 5.0


def toy_grad_x(y, th, X):
    # X: N x D particles (rows); d/dx l = (y - x) + (th - x).
    return y[None, :] + th - 2.0 * X


def toy_ave_grad_th(th, X):
    return (X - th).sum(axis=1).mean()


def logistic_grad_x(f, lab, th, X):
    s = 1.0 / (1.0 + np.exp(-(X @ f.T)))  # N x M
    return (lab[None, :] - s) @ f - (X - th) / PRIOR_VAR


def logistic_ave_grad_th(th, X):
    return ((X - th).sum(axis=1) / PRIOR_VAR).mean()


def theta_opt(X):
    return X.mean()


def run(method, model, data, h_th, h_x, X0, th0, steps, rng):
    X, th = X0.copy(), th0
    n, d = X.shape
    if model == "toy":
        grad_x = lambda th, X: toy_grad_x(data["y"], th, X)
        ave_grad_th, neg_hess = toy_ave_grad_th, float(d)
    else:
        f, lab = data["features"], data["labels"]
        grad_x = lambda th, X: logistic_grad_x(f, lab, th, X)
        ave_grad_th, neg_hess = logistic_ave_grad_th, d / PRIOR_VAR
    if method == "pmgd":
        th = theta_opt(X)
    theta0, noises, thetas = th, [], []
    for _ in range(steps):
        xi = rng.standard_normal((n, d))
        noises.append(xi.tolist())
        X_new = X + h_x * grad_x(th, X) + np.sqrt(2.0 * h_x) * xi
        if method == "pqn":
            th = th + h_th * ave_grad_th(th, X) / neg_hess
        else:
            th = theta_opt(X_new)
        X = X_new
        thetas.append(float(th))
    return {
        "method": method,
        "model": model,
        "h_theta": h_th,
        "h_x": h_x,
        "x0": X0.tolist(),
        "theta0": float(theta0),
        "noise": noises,
        "theta": thetas,
        "x_final": X.tolist(),
    }


def load_logistic(rows, cols):
    path = os.path.join(ROOT, "data", "breast_cancer.csv")
    with open(path) as fh:
        next(fh)
        a = np.array([list(map(float, l.split(","))) for l in fh if l.strip()])
    f = a[:rows, :cols]
    f = (f - f.mean(axis=0)) / f.std(axis=0, ddof=1)
    return f, a[:rows, 30]


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        ROOT, "crates", "integrators", "tests", "data", "parem_golden.json")
    rng = np.random.default_rng(20261203)
    y = 1.0 + rng.standard_normal(5) + rng.standard_normal(5)
    f, lab = load_logistic(40, 4)
    runs = []
    n = 4
    for method in ["pqn", "pmgd"]:
        # ParEM's toy step sizes (PQN h = 2/3, PMGD h = 1) and a small one.
        for h_th, h_x in [(2.0 / 3.0, 2.0 / 3.0), (0.3, 0.05)] if method == "pqn" else [(0.0, 1.0), (0.0, 0.05)]:
            X0 = rng.standard_normal((n, 5))
            runs.append(run(method, "toy", {"y": y}, h_th, h_x, X0, 0.25, 20, rng))
        X0 = rng.standard_normal((n, 4))
        runs.append(run(method, "logistic", {"features": f, "labels": lab}, 1e-2 if method == "pqn" else 0.0, 1e-2, X0, 0.25, 15, rng))
    doc = {
        "numpy": np.__version__,
        "prior_var": PRIOR_VAR,
        "y": y.tolist(),
        "features": f.tolist(),
        "labels": lab.tolist(),
        "runs": runs,
    }
    with open(out_path, "w") as fh:
        json.dump(doc, fh, indent=None, separators=(",", ":"))
        fh.write("\n")
    print(f"wrote {out_path}: {len(runs)} runs", file=sys.stderr)


if __name__ == "__main__":
    main()
