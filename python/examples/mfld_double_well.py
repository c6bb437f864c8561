"""MFLD on a Python functional (mirrors crates/meanfield/examples/mfld_double_well.rs):
the double well V(x) = (x² − 1)² plus the attraction (κ/2) Var_μ(x), drift
V'(x) + κ(x − E x). All particles start in the right well; the noise carries half over
the barrier; checks E x ≈ 0 and E x² against the symmetric state ρ₀ ∝ exp(−(V + κx²/2)/λ)
by quadrature (5 Monte-Carlo standard errors, plus 0.02 for the O(η) Euler bias).

Run: python python/examples/mfld_double_well.py
"""
import sys

import numpy as np

import meanfield as mf

KAPPA, LAM, N = 0.2, 0.5, 4000


class DoubleWell:
    """F(μ) = ∫ (x² − 1)² dμ + (κ/2) Var_μ(x); each method sees the whole (N, 1) array."""

    def first_variation(self, x):
        m = x[:, 0].mean()
        return (x[:, 0] ** 2 - 1) ** 2 + 0.5 * KAPPA * (x[:, 0] - m) ** 2

    def value(self, x):
        return float(self.first_variation(x).mean())

    def grad(self, x):
        m = x[:, 0].mean()
        return 4 * x * (x * x - 1) + KAPPA * (x - m)


def main():
    mfld = mf.MFLD(DoubleWell(), lam=LAM, eta=0.005, d=1)
    run = mfld.start(np.ones((N, 1)), seed=1)
    mfld.run(run, 6000)
    x = run.x[:, 0]
    mean, m2 = x.mean(), (x * x).mean()
    se1, se2 = np.sqrt(m2 / N), np.sqrt(((x * x - m2) ** 2).mean() / N)
    g = np.linspace(-4, 4, 8001)
    rho = np.exp(-((g * g - 1) ** 2 + 0.5 * KAPPA * g * g) / LAM)
    exact = (g * g * rho).sum() / rho.sum()
    print(f"E x = {mean:+.4f} (0 ± {se1:.4f}), E x² = {m2:.4f} (exact {exact:.4f} ± {se2:.4f})")
    return 0 if abs(mean) <= 5 * se1 and abs(m2 - exact) <= 5 * se2 + 0.02 else 1


if __name__ == "__main__":
    sys.exit(main())
