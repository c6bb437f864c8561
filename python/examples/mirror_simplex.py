"""Mirror MFLD on the simplex (mirrors crates/meanfield/examples/mirror_simplex.rs): the
Metropolis-adjusted mirror scheme with the entropic map samples the uniform law on Δ²
(F = ‖E x − q‖², q the centroid, β = 0): checks the boundary mass within 1e-3 of a face
against the exact 1 − (1 − 3ε)² and the x_1-marginal Beta(1, 2) by a KS test, and shows the
paper's (unadjusted) scheme at the same step for comparison.

Run: python python/examples/mirror_simplex.py
"""
import sys

import numpy as np

import meanfield as mf
from meanfield import diagnostics as dg

N, LAM, ETA, EPS = 2000, 0.1, 0.03, 1e-3


def main():
    f = mf.Functional.simplex_moment(np.full(3, 1 / 3), 0.0)
    x0 = np.random.default_rng(12).dirichlet(np.full(3, 4.0), size=N)
    out = {}
    for scheme in ("mirror", "adjusted"):
        dyn = mf.MFLD(f, lam=LAM, eta=ETA, scheme=scheme, domain="simplex", threads=2)
        run = dyn.start(x0, seed=77)
        masses = []
        summary = dyn.run(run, 800, observers=[(20, lambda o: o["step"] >= 400 and masses.append(
            dg.boundary_mass(o["state"]["x"], EPS)))])
        out[scheme] = (run.x, float(np.mean(masses)), summary["mean_acceptance"], len(masses))
    exact = 1 - (1 - 3 * EPS) ** 2
    x, mass, acc, k = out["adjusted"]
    _, p = dg.ks_test(np.ascontiguousarray(x[:, 0]), lambda t: 1 - (1 - t) ** 2)
    print(f"boundary mass (ε = {EPS}): exact {exact:.4f}, adjusted {mass:.4f} "
          f"(acceptance {acc:.3f}), paper scheme {out['mirror'][1]:.4f}; KS p = {p:.3f}")
    # successive observations are correlated: count half of them as independent
    se = np.sqrt(exact * (1 - exact) / (N * k / 2))
    return 0 if abs(mass - exact) < 5 * se and p > 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
