#!/usr/bin/env python3
"""Vectorised NumPy peer of meanfield's Langevin steps (benches/peers/README.md).

One step of each scheme on an (N, d) array of particles, written the way a careful NumPy
user would (whole-array operations, preallocated noise buffer, in-place updates where
that is natural), with the same parameters as the Rust side (`peer_timing`):

- mfld: plain MFLD on R^d for F(mu) = E|x|^2/2 + (kappa/2)|E x - b|^2:
  x -= eta * (x + kappa * (mean(x) - b)); x += sqrt(2 lam eta) * randn.
- projected: the same Euler step for the simplex moment functional
  F = |E x - q|^2 (q the centroid, gradient 2 (mean(x) - q)) followed by the sort-based
  Euclidean projection onto the simplex (Duchi et al. 2008), vectorised over rows.
- mirror: the paper's entropic MMFLD step, y = log x - eta g + sqrt(2 lam eta) xi / sqrt(x),
  x = softmax(y) with the row max subtracted (dual differences floored at -700, as in
  meanfield's `softmax_into`).
- adjusted_mirror: the Metropolis-adjusted mirror step of meanfield's
  `AdjustedMirrorMfld<SimplexMoment, Entropic>` (frozen mean field, per-particle
  accept/reject), vectorised.

Timing: per-step seconds = median over `--repeats` blocks of consecutive steps (block
length calibrated to about `--block-secs` after `--warmup` steps), measured with
time.perf_counter; CPU seconds per step (time.process_time) are reported too because
they are robust to other processes on a shared machine. Prints one JSON document.
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

LAMBDA = 0.1
ETA = 3e-3
KAPPA = 1.0
SIZES = [(50_000, 3), (10_000, 100)]
SCHEMES = ["mfld", "projected", "mirror", "adjusted_mirror"]
DUAL_FLOOR = 700.0


def softmax_rows(y, out):
    """Row-wise softmax with the max subtracted and differences floored at -700."""
    y -= y.max(axis=1, keepdims=True)
    np.maximum(y, -DUAL_FLOOR, out=y)
    np.exp(y, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def project_simplex_rows(z):
    """Euclidean projection of every row of z onto {x >= 0, sum x = 1}."""
    n, d = z.shape
    u = np.sort(z, axis=1)[:, ::-1]
    css = np.cumsum(u, axis=1) - 1.0
    ks = np.arange(1, d + 1, dtype=z.dtype)
    # The admissible indices form a prefix {1, ..., rho}.
    rho = np.count_nonzero(u - css / ks > 0.0, axis=1)
    tau = css[np.arange(n), rho - 1] / rho
    return np.maximum(z - tau[:, None], 0.0)


class Mfld:
    def __init__(self, n, d, rng):
        self.rng = rng
        self.x = rng.standard_normal((n, d))
        self.b = np.full(d, 0.5)
        self.xi = np.empty((n, d))
        self.sigma = np.sqrt(2.0 * LAMBDA * ETA)

    def step(self):
        x, xi = self.x, self.xi
        shift = KAPPA * (x.mean(axis=0) - self.b)
        self.rng.standard_normal(out=xi)
        x -= ETA * (x + shift)
        xi *= self.sigma
        x += xi

    def check(self):
        assert np.all(np.isfinite(self.x))


def simplex_start(n, d, rng):
    y = 0.5 * rng.standard_normal((n, d))
    return softmax_rows(y, np.empty((n, d)))


class SimplexScheme:
    def __init__(self, n, d, rng):
        self.rng = rng
        self.x = simplex_start(n, d, rng)
        self.q = np.full(d, 1.0 / d)
        self.xi = np.empty((n, d))
        self.sigma = np.sqrt(2.0 * LAMBDA * ETA)

    def grad(self):
        """Gradient of the first variation of |E x - q|^2: 2 (mean(x) - q), per particle."""
        return 2.0 * (self.x.mean(axis=0) - self.q)

    def check(self, closed):
        x = self.x
        assert np.all(np.isfinite(x))
        assert np.all(x >= 0.0) if closed else np.all(x > 0.0)
        assert np.max(np.abs(x.sum(axis=1) - 1.0)) < 1e-9


class Projected(SimplexScheme):
    def step(self):
        g = self.grad()
        self.rng.standard_normal(out=self.xi)
        z = self.x - ETA * g
        self.xi *= self.sigma
        z += self.xi
        self.x = project_simplex_rows(z)

    def check(self):
        super().check(closed=True)


class Mirror(SimplexScheme):
    def step(self):
        x, xi = self.x, self.xi
        g = self.grad()
        self.rng.standard_normal(out=xi)
        y = np.log(x)
        y -= ETA * g
        xi *= self.sigma
        xi /= np.sqrt(x)
        y += xi
        softmax_rows(y, out=x)

    def check(self):
        super().check(closed=False)


class AdjustedMirror(SimplexScheme):
    """Metropolis-adjusted entropic mirror step; V(x) = g.x under the frozen mean."""

    def __init__(self, n, d, rng):
        super().__init__(n, d, rng)
        self.acceptance = float("nan")

    def step(self):
        x, xi = self.x, self.xi
        g = self.grad()
        lam, eta = LAMBDA, ETA
        v = x @ g
        lx = np.log(x)
        self.rng.standard_normal(out=xi)
        log_u = np.log(self.rng.random(x.shape[0]))
        yp = lx - eta * g + self.sigma * xi / np.sqrt(x)
        xp = softmax_rows(yp, np.empty_like(x))
        vp = xp @ g
        lxp = np.log(xp)
        rf = lxp - lx + eta * g
        rb = lx - lxp + eta * g
        # r^T H^{-1} r = variance of r under the probability vector (rows of x).
        qf = np.einsum("ij,ij->i", x, (rf - np.einsum("ij,ij->i", x, rf)[:, None]) ** 2)
        qb = np.einsum("ij,ij->i", xp, (rb - np.einsum("ij,ij->i", xp, rb)[:, None]) ** 2)
        ld_x = -lx.sum(axis=1)
        ld_xp = -lxp.sum(axis=1)
        log_alpha = -(vp - v) / lam + 1.5 * (ld_x - ld_xp) - (qb - qf) / (4.0 * lam * eta)
        accept = log_u < log_alpha
        x[accept] = xp[accept]
        self.acceptance = float(accept.mean())

    def check(self):
        super().check(closed=False)


CLASSES = {
    "mfld": Mfld,
    "projected": Projected,
    "mirror": Mirror,
    "adjusted_mirror": AdjustedMirror,
}


def time_scheme(scheme, n, d, args):
    rng = np.random.default_rng(7)
    sim = CLASSES[scheme](n, d, rng)
    warmup = max(args.warmup, 1)
    t0 = time.perf_counter()
    for _ in range(warmup):
        sim.step()
    per_step = (time.perf_counter() - t0) / warmup
    block = int(min(max(np.ceil(args.block_secs / per_step), 1), 100_000))
    wall, cpu = [], []
    for _ in range(args.repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(block):
            sim.step()
        t1, c1 = time.perf_counter(), time.process_time()
        wall.append((t1 - t0) / block)
        cpu.append((c1 - c0) / block)
    sim.check()
    return float(np.median(wall)), float(np.median(cpu)), block


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--block-secs", type=float, default=0.2)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--schemes", default=",".join(SCHEMES))
    args = p.parse_args()
    results = []
    for scheme in args.schemes.split(","):
        for n, d in SIZES:
            wall, cpu, block = time_scheme(scheme, n, d, args)
            print(
                f"{scheme:>16} N={n:>6} d={d:>3}: {wall:.3e} s/step wall, {cpu:.3e} s/step CPU",
                file=sys.stderr,
            )
            results.append(
                {
                    "scheme": scheme,
                    "n": n,
                    "d": d,
                    "seconds_per_step": wall,
                    "cpu_seconds_per_step": cpu,
                    "steps_per_block": block,
                }
            )
    print(
        json.dumps(
            {
                "implementation": "numpy",
                "numpy": np.__version__,
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
                "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
                "repeats": args.repeats,
                "block_secs": args.block_secs,
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
