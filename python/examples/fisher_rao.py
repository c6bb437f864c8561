"""Fisher–Rao on particle weights (mirrors crates/meanfield/examples/fisher_rao.rs): the
density-ratio flow for F = ∫ c·x from an i.i.d. π = N(0, I) sample has the exact
discrete solution W_k ∝ exp(−s_k c·x/σ), s_k = 1 − (1 − hσ)^k; checks the weights to
1e-12 and the weighted mean against its limit −c/σ within Monte-Carlo error.

Run: python python/examples/fisher_rao.py
"""
import sys

import numpy as np

import meanfield as mf
from meanfield import diagnostics as dg

SIGMA, H, K = 1.0, 0.2, 60


def main():
    c = np.array([0.5, -0.3])
    x = np.random.default_rng(3).normal(size=(20000, 2))
    fr = mf.FisherRao(mf.Functional.linear(c), sigma=SIGMA, h=H)
    run = fr.start(x, seed=1)
    fr.run(run, K)
    s = 1 - (1 - H * SIGMA) ** K
    logw = -s * (x @ c) / SIGMA
    want = np.exp(logw - logw.max())
    want /= want.sum()
    err = np.max(np.abs(run.w - want) / want)
    m = dg.mean(run.x, run.w)
    se = np.sqrt(1 / run.ess)
    print(f"max relative weight error {err:.1e}; weighted mean {m} (limit {-c / SIGMA}, "
          f"ESS {run.ess:.0f})")
    return 0 if err < 1e-12 and np.all(np.abs(m + s * c / SIGMA) < 5 * se) else 1


if __name__ == "__main__":
    sys.exit(main())
