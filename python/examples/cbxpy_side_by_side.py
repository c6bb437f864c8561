"""A CBXpy tutorial problem through both packages side by side: CBXpy's "Rastrigin in
d = 2 with anisotropic noise" quick start (N = 50, σ = 10.1 ... here 20 runs of each),
the same NumPy objective given unchanged (f_dim='2D') to cbx.dynamics.CBO and to
meanfield.CBO; prints each package's success rate and mean error and checks that both
find the minimiser in most runs. Exits 0 with "skipped" when cbx is not installed.

Run: pip install cbx==1.0.4 && python python/examples/cbxpy_side_by_side.py
"""
import sys

import numpy as np

import meanfield as mf

try:
    from cbx.dynamics import CBO as CbxCBO
    from cbx.scheduler import multiply
except ImportError:
    print("skipped: cbx (CBXpy) is not installed")
    sys.exit(0)

D, N, RUNS, STEPS = 2, 50, 20, 1000


def rastrigin(x):
    """CBXpy's Rastrigin, vectorised over the last axis: (..., d) -> (...)."""
    return 10 * x.shape[-1] + (x * x - 10 * np.cos(2 * np.pi * x)).sum(axis=-1)


def main():
    rng = np.random.default_rng(0)
    starts = rng.uniform(-3, 3, (RUNS, N, D))
    errs = {"cbxpy": [], "meanfield": []}
    for r in range(RUNS):
        dyn = CbxCBO(rastrigin, x=starts[r][None].copy(), f_dim="2D", noise="anisotropic",
                     sigma=10.1, lamda=1.0, dt=0.01, alpha=30.0, max_it=STEPS, verbosity=0,
                     seed=r)
        dyn.optimize(sched=multiply(factor=1.05, maximum=1e5))
        errs["cbxpy"].append(np.abs(np.asarray(dyn.best_particle).reshape(-1)[:D]).max())
        opt = mf.CBO(rastrigin, D, lam=1.0, sigma=10.1, dt=0.01, alpha=30.0,
                     schedule="multiply")
        run = opt.start(starts[r], seed=r)
        opt.run(run, STEPS)
        errs["meanfield"].append(np.abs(run.consensus).max())
    ok = True
    for name, e in errs.items():
        rate = np.mean(np.array(e) < 0.25)
        print(f"{name:9s}: success {rate:.2f}, mean |x − 0|∞ = {np.mean(e):.2e}")
        ok &= rate >= 0.8
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
