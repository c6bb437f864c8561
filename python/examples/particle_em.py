"""Particle EM with a Python latent model (mirrors crates/meanfield/examples/particle_em.rs):
the toy hierarchical Gaussian x_j ~ N(θ, 1), y_j ~ N(x_j, 1) written as NumPy callables
(energy and both gradients on all particles at once); PGD's θ reaches the MLE mean(y)
within 4 Monte-Carlo standard deviations sqrt(2/(N M)).

Run: python python/examples/particle_em.py
"""
import sys

import numpy as np

import meanfield as mf

M, N = 4, 4000


class Toy:
    def __init__(self, y):
        self.y = y

    def energy(self, theta, x):  # (N,)
        return 0.5 * ((self.y - x) ** 2 + (x - theta[0]) ** 2).sum(axis=1)

    def grad_theta(self, theta, x):  # (N, 1)
        return (theta[0] - x).sum(axis=1, keepdims=True)

    def grad_x(self, theta, x):  # (N, M)
        return (x - self.y) + (x - theta[0])


def main():
    y = np.random.default_rng(1).normal(1.5, 1.4, M)
    pgd = mf.PGD(Toy(y), h_theta=5e-3, h_x=5e-3, p=1, d=M)
    run = pgd.start(np.zeros((N, M)), seed=11)
    pgd.run(run, 1600)
    tol = 4 * np.sqrt(2 / (N * M))
    print(f"θ = {run.theta[0]:.4f}, MLE mean(y) = {y.mean():.4f} (tolerance {tol:.4f})")
    return 0 if abs(run.theta[0] - y.mean()) < tol else 1


if __name__ == "__main__":
    sys.exit(main())
