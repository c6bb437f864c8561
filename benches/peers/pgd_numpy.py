#!/usr/bin/env python3
"""NumPy (and, if installed, JAX) peer of meanfield's PGD loop (benches/peers/README.md).

The PGD loop of `mpgd-blr`: Bayesian logistic regression on all 569 breast-cancer rows
(data/breast_cancer.csv: header `rows,cols,...`, then 30 features and the label per row),
features standardised with the full-data mean and sd (n - 1), prior N(theta 1, 5 I),
N = 100 particles from N(0, I), theta_0 = 0, h = 1e-2, K = 400 steps:

    A = X F^T;  R = sigmoid(A) - y;  gx = R F + (X - theta)/5;  g_theta = -mean_i sum_k (X_ik - theta)/5
    X <- X - h gx + sqrt(2h) xi;  theta <- theta - h g_theta

MPD (`mpgd-blr`'s settings: eta = 10, gamma = 0.3 for theta and for the particles), written
the same way, with the coefficients of meanfield_integrators::particle_em's module docs:

    look-ahead t~ = theta + ((1 - w)/g_t) m,  g = g_theta(t~) at the old X,
    theta <- t~ - (h - (1 - w)/(g_t e_t)) g / g_t,  m <- w m - ((1 - w)/(g_t e_t)) g,
    S = -gx(theta),  X <- X + ((1 - s) U + (h - (1 - s)/G) S)/g_x + l11 xi1,
    U <- s U + ((1 - s)/G) S + l21 xi1 + l22 xi2,  U_0 ~ N(0, I/e_x), m_0 = 0

(w = exp(-g_t e_t h), G = g_x e_x, s = exp(-G h), (l11, l21, l22) the Cholesky factor of the
per-coordinate covariance of (n_X, n_U)).

Seconds per loop = median over --repeats loops (time.perf_counter). JAX: the whole loop
jitted (lax.fori_loop), timed after a compile run, on the CPU. Prints one JSON document.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

N, STEPS, H, PRIOR_VAR = 100, 400, 1e-2, 5.0
ETA, GAMMA = 10.0, 0.3  # MPD's mass and damping, for theta and for the particles


def load(root):
    path = os.path.join(root, "data", "breast_cancer.csv")
    with open(path) as fh:
        next(fh)
        rows = [list(map(float, line.split(","))) for line in fh if line.strip()]
    a = np.array(rows)
    f, y = a[:, :30], a[:, 30]
    f = (f - f.mean(axis=0)) / f.std(axis=0, ddof=1)
    return f, y


def pgd_numpy(f, y, x0, seed):
    rng = np.random.default_rng(seed)
    x, theta = x0.copy(), 0.0
    noise = np.empty_like(x)
    s = np.sqrt(2 * H)
    for _ in range(STEPS):
        a = x @ f.T
        r = 1.0 / (1.0 + np.exp(-a)) - y
        prior = (x - theta) / PRIOR_VAR
        gx = r @ f + prior
        g_theta = -prior.sum(axis=1).mean()
        rng.standard_normal(out=noise)
        x -= H * gx
        x += s * noise
        theta -= H * g_theta
    return theta


def mpd_numpy(f, y, x0, seed):
    rng = np.random.default_rng(seed)
    x, theta, m = x0.copy(), 0.0, 0.0
    u = rng.standard_normal(x.shape) / np.sqrt(ETA)
    w = np.exp(-GAMMA * ETA * H)
    look, th_step, mom_step = (1 - w) / GAMMA, (H - (1 - w) / (GAMMA * ETA)) / GAMMA, (1 - w) / (GAMMA * ETA)
    g = GAMMA * ETA
    s_ = np.exp(-g * H)
    x_from_u, x_from_score, u_from_score = (1 - s_) / GAMMA, (H - (1 - s_) / g) / GAMMA, (1 - s_) / g
    var_x = (2 * H - s_ * s_ / g + 4 * s_ / g - 3 / g) / GAMMA
    var_u, cov = (1 - s_ * s_) / ETA, (1 - s_) ** 2 / g
    l11 = np.sqrt(var_x)
    l21 = cov / l11
    l22 = np.sqrt(var_u - l21 * l21)
    xi1, xi2 = np.empty_like(x), np.empty_like(x)
    for _ in range(STEPS):
        la = theta + look * m
        g_theta = -((x - la) / PRIOR_VAR).sum(axis=1).mean()
        theta = la - th_step * g_theta
        m = w * m - mom_step * g_theta
        a = x @ f.T
        r = 1.0 / (1.0 + np.exp(-a)) - y
        score = -(r @ f + (x - theta) / PRIOR_VAR)
        rng.standard_normal(out=xi1)
        rng.standard_normal(out=xi2)
        x += x_from_u * u + x_from_score * score + l11 * xi1
        u *= s_
        u += u_from_score * score + l21 * xi1 + l22 * xi2
    return theta


def time_it(fn, repeats):
    times, out = [], None
    for r in range(repeats):
        t0 = time.perf_counter()
        out = fn(r)
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2], out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = p.parse_args()
    f, y = load(args.root)
    x0 = np.random.default_rng(1).standard_normal((N, f.shape[1]))
    out = {"n": N, "steps": STEPS, "numpy": np.__version__}
    sec, theta = time_it(lambda r: pgd_numpy(f, y, x0, 100 + r), args.repeats)
    out["numpy_1_thread"] = {"seconds_per_loop": sec, "theta_final": float(theta)}
    sec, theta = time_it(lambda r: mpd_numpy(f, y, x0, 100 + r), args.repeats)
    out["mpd_numpy_1_thread"] = {"seconds_per_loop": sec, "theta_final": float(theta)}
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)

        @jax.jit
        def pgd_jax(key, x, fj, yj):
            def body(_, carry):
                x, theta, key = carry
                key, sub = jax.random.split(key)
                a = x @ fj.T
                r = jax.nn.sigmoid(a) - yj
                prior = (x - theta) / PRIOR_VAR
                gx = r @ fj + prior
                g_theta = -prior.sum(axis=1).mean()
                x = x - H * gx + jnp.sqrt(2 * H) * jax.random.normal(sub, x.shape)
                return x, theta - H * g_theta, key

            return jax.lax.fori_loop(0, STEPS, body, (x, 0.0, key))[1]

        fj, yj, xj = jnp.asarray(f), jnp.asarray(y), jnp.asarray(x0)
        pgd_jax(jax.random.PRNGKey(0), xj, fj, yj).block_until_ready()  # compile
        sec, theta = time_it(
            lambda r: pgd_jax(jax.random.PRNGKey(100 + r), xj, fj, yj).block_until_ready(),
            args.repeats,
        )
        out["jax"] = {"seconds_per_loop": sec, "theta_final": float(theta), "version": jax.__version__}
    except ImportError as e:
        out["jax"] = {"unavailable": str(e)}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
