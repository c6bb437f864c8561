//! The mean-field two-layer neural network, the classic application of MFLD.
//!
//! A particle is one hidden unit θ = (a, w) ∈ R^{1+p}: output weight a, input weights
//! w ∈ R^p (a bias is an input coordinate fixed to 1). The network is the average of its
//! units under the measure μ,
//!
//! $$ f_\mu(z) = \mathbb{E}_\mu[a \tanh(w\cdot z)] = \sum_i W^i a_i \tanh(w_i\cdot z), $$
//!
//! (W^i = 1/N for an unweighted ensemble). With data (z_j, y_j), j = 1..M, and an optional
//! L2 penalty ρ ≥ 0 the energy is
//!
//! $$ F(\mu) = \frac{1}{2M}\sum_j (f_\mu(z_j) - y_j)^2 + \frac{\rho}{2}\,\mathbb{E}_\mu|\theta|^2 . $$
//!
//! With the residuals r_j = f_μ(z_j) − y_j and h_j(θ) = tanh(w·z_j), the first variation
//! (no additive constant) and its gradient are
//!
//! $$ \frac{\delta F}{\delta\mu}(\mu,\theta) = \frac1M \sum_j r_j\, a\, h_j + \frac\rho2|\theta|^2, $$
//! $$ \partial_a \frac{\delta F}{\delta\mu} = \frac1M\sum_j r_j h_j + \rho a, \qquad
//!    \nabla_w \frac{\delta F}{\delta\mu} = \frac1M\sum_j r_j\, a\,(1 - h_j^2)\, z_j + \rho w . $$
//!
//! **Cost.** Every ensemble-level call first forms the M residuals once (O(N M p)), then
//! each particle's value/gradient reads only them (O(M p) per particle). When the N × M
//! activation matrix tanh(w_i·z_j) is small (≤ 2²² entries) it is kept from the residual
//! pass for the gradient pass, which then evaluates no tanh; otherwise tanh is evaluated
//! again (same values, same bits). The loops go through
//! [`meanfield_measures::parallel::for_each_row_mut`] (activations and gradients over
//! particles, residuals over data points); each output entry is a fixed-order sum, so the
//! result is bit for bit the same with [`Parallelism::Sequential`] and
//! [`Parallelism::Rayon`] and any thread count (tested in `tests/two_layer.rs`).
//!
//! **Well-posedness.** δF/δμ is linear in a, so exp(−δF/δμ/λ) is not normalisable
//! unless ρ > 0 or the parameters are confined: MFLD on R^{1+p} needs ρ > 0 for the
//! minimiser of F + λ Ent to exist (the dynamics itself runs for any ρ ≥ 0).
//!
//! **Bounded parameters.** A network with parameters in a box [−B, B]^{1+p} (e.g. a
//! bounded output weight) is the *same functional* on an ensemble whose domain is
//! [`Domain::Box`](meanfield_measures::Domain::Box): F does not look at the domain, the
//! dynamics does (projected MFLD clamps, mirror MFLD with the log-barrier map stays in
//! the open box). Experiment `mfld-nn` runs both.
//!
//! **Metropolis-adjusted schemes.** `TwoLayerNet::freeze` (from [`FrozenFirstVariation`](crate::FrozenFirstVariation)) returns the first variation
//! under a frozen measure ([`FrozenTwoLayer`]), evaluable at arbitrary θ; at the
//! particles it agrees bit for bit with [`Functional::first_variation`] and
//! [`Functional::first_variation_grad`].

use meanfield_measures::compensated::NeumaierSum;
use meanfield_measures::parallel::for_each_row_mut;
use meanfield_measures::{Ensemble, Parallelism};
use serde::{Deserialize, Serialize};

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::functional::{Functional, check_shapes, check_single_process};

/// Mean-field two-layer tanh network with squared loss on a fixed data set and an
/// optional L2 penalty (module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TwoLayerNetData")]
pub struct TwoLayerNet {
    /// Inputs z_j, row-major M × p.
    inputs: Vec<f64>,
    /// Targets y_j (length M).
    targets: Vec<f64>,
    /// Input dimension p.
    input_dim: usize,
    /// L2 weight ρ ≥ 0.
    l2: f64,
    /// Particle/data loops on one thread or the rayon pool (results identical).
    parallelism: Parallelism,
}

/// Unvalidated serde form of [`TwoLayerNet`]; deserialising goes through
/// [`TwoLayerNet::new`].
#[derive(Deserialize)]
struct TwoLayerNetData {
    inputs: Vec<f64>,
    targets: Vec<f64>,
    input_dim: usize,
    l2: f64,
    #[serde(default)]
    parallelism: Parallelism,
}

impl TryFrom<TwoLayerNetData> for TwoLayerNet {
    type Error = EnergyError;
    fn try_from(d: TwoLayerNetData) -> Result<Self> {
        Ok(Self::new(d.inputs, d.input_dim, d.targets, d.l2)?.with_parallelism(d.parallelism))
    }
}

/// Checks a row-major data block of `rows` × `p` values: length and finiteness.
fn check_rows(what: &'static str, data: &[f64], p: usize) -> Result<usize> {
    if !data.len().is_multiple_of(p) {
        return Err(EnergyError::DimensionMismatch {
            what,
            expected: data.len().div_ceil(p) * p,
            got: data.len(),
        });
    }
    for &v in data {
        check_param(what, v, false)?;
    }
    Ok(data.len() / p)
}

impl TwoLayerNet {
    /// Network on the data set `inputs` (row-major M × `input_dim`) → `targets`
    /// (length M), with L2 weight `l2` = ρ ≥ 0.
    ///
    /// Errors: `input_dim` = 0, M = 0, a length mismatch
    /// ([`EnergyError::DimensionMismatch`]); a non-finite input or target, or ρ NaN, ∞ or
    /// negative ([`EnergyError::InvalidParameter`]).
    pub fn new(inputs: Vec<f64>, input_dim: usize, targets: Vec<f64>, l2: f64) -> Result<Self> {
        if input_dim == 0 {
            return Err(EnergyError::DimensionMismatch {
                what: "input dimension p",
                expected: 1,
                got: 0,
            });
        }
        if targets.is_empty() {
            return Err(EnergyError::DimensionMismatch {
                what: "number of data points M",
                expected: 1,
                got: 0,
            });
        }
        if inputs.len() != targets.len() * input_dim {
            return Err(EnergyError::DimensionMismatch {
                what: "inputs (M × p values)",
                expected: targets.len() * input_dim,
                got: inputs.len(),
            });
        }
        check_rows("inputs", &inputs, input_dim)?;
        for &y in &targets {
            check_param("targets", y, false)?;
        }
        check_param("l2", l2, false)?;
        if l2 < 0.0 {
            return Err(EnergyError::InvalidParameter {
                name: "l2",
                value: l2,
                reason: "must be ≥ 0",
            });
        }
        Ok(Self {
            inputs,
            targets,
            input_dim,
            l2,
            parallelism: Parallelism::Sequential,
        })
    }

    /// Runs the residual and particle loops on the rayon pool (results unchanged).
    pub fn with_parallelism(mut self, parallelism: Parallelism) -> Self {
        self.parallelism = parallelism;
        self
    }

    /// Input dimension p (particles have dimension 1 + p).
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Number of data points M.
    pub fn n_samples(&self) -> usize {
        self.targets.len()
    }

    /// Inputs z_j, row-major M × p.
    pub fn inputs(&self) -> &[f64] {
        &self.inputs
    }

    /// Targets y_j.
    pub fn targets(&self) -> &[f64] {
        &self.targets
    }

    /// L2 weight ρ.
    pub fn l2(&self) -> f64 {
        self.l2
    }

    /// The parallelism setting.
    pub fn parallelism(&self) -> Parallelism {
        self.parallelism
    }

    /// f_μ(z_k) for the query points `z` (row-major K × p), K = `z.len() / p`.
    ///
    /// Errors: the ensemble dimension is not 1 + p, `z.len()` is not a multiple of p, or
    /// a query coordinate is not finite.
    pub fn predict(&self, ens: &Ensemble, z: &[f64]) -> Result<Vec<f64>> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        check_single_process(ens, "TwoLayerNet")?;
        let k = check_rows("query points z", z, self.input_dim)?;
        let mut out = vec![0.0; k];
        self.forward_into(ens, z, &mut out);
        Ok(out)
    }

    /// Training loss (1/(2M)) Σ_j (f_μ(z_j) − y_j)², without the L2 term.
    pub fn loss(&self, ens: &Ensemble) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        check_single_process(ens, "TwoLayerNet")?;
        Ok(half_mean_square(&self.residuals_unchecked(ens)))
    }

    /// The same loss on another data set (e.g. a held-out test set): `inputs` row-major
    /// K × p, `targets` of length K ≥ 1.
    pub fn loss_on(&self, ens: &Ensemble, inputs: &[f64], targets: &[f64]) -> Result<f64> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        check_single_process(ens, "TwoLayerNet")?;
        let k = check_rows("inputs", inputs, self.input_dim)?;
        if k != targets.len() || k == 0 {
            return Err(EnergyError::DimensionMismatch {
                what: "targets (one per input row, at least one)",
                expected: k.max(1),
                got: targets.len(),
            });
        }
        for &y in targets {
            check_param("targets", y, false)?;
        }
        let mut r = vec![0.0; k];
        self.forward_into(ens, inputs, &mut r);
        for (r, y) in r.iter_mut().zip(targets) {
            *r -= y;
        }
        Ok(half_mean_square(&r))
    }

    /// The residuals r_j = f_μ(z_j) − y_j on the training data.
    pub fn residuals(&self, ens: &Ensemble) -> Result<Vec<f64>> {
        check_shapes(self.dim(), ens, ens.n(), 1)?;
        check_single_process(ens, "TwoLayerNet")?;
        Ok(self.residuals_unchecked(ens))
    }

    /// out[k] = Σ_i W^i a_i tanh(w_i·z_k), a fixed-order sum over particles per query
    /// point (shapes already checked).
    fn forward_into(&self, ens: &Ensemble, z: &[f64], out: &mut [f64]) {
        let p = self.input_dim;
        for_each_row_mut(self.parallelism, out, 1, z, p, |_, o, z| {
            let mut f = 0.0;
            for (i, theta) in ens.rows().enumerate() {
                f += ens.weight(i) * theta[0] * dot(&theta[1..], z).tanh();
            }
            o[0] = f;
        });
    }

    /// Residuals without keeping the activations (nothing reuses them here).
    fn residuals_unchecked(&self, ens: &Ensemble) -> Vec<f64> {
        self.forward_train(ens, 0).residuals
    }

    /// Residuals on the training data, keeping the N × M activation matrix
    /// h_ij = tanh(w_i·z_j) when it has at most `cache_limit` entries (so that the
    /// gradient pass does not evaluate tanh again). Both paths compute the same values
    /// with the same summation order: the results agree bit for bit.
    fn forward_train(&self, ens: &Ensemble, cache_limit: usize) -> Forward {
        let (n, m, p) = (ens.n(), self.targets.len(), self.input_dim);
        let len = n.checked_mul(m).filter(|len| *len <= cache_limit);
        let Some(len) = len else {
            return Forward {
                residuals: {
                    let mut r = vec![0.0; m];
                    self.forward_into(ens, &self.inputs, &mut r);
                    for (r, y) in r.iter_mut().zip(&self.targets) {
                        *r -= y;
                    }
                    r
                },
                activations: None,
            };
        };
        let mut h = vec![0.0; len];
        for_each_row_mut(
            self.parallelism,
            &mut h,
            m,
            ens.as_slice(),
            self.dim(),
            |_, h, theta| {
                for (h, z) in h.iter_mut().zip(self.inputs.chunks_exact(p)) {
                    *h = dot(&theta[1..], z).tanh();
                }
            },
        );
        let mut r = vec![0.0; m];
        for_each_row_mut(self.parallelism, &mut r, 1, &self.targets, 1, |j, r, y| {
            let mut f = 0.0;
            for (i, theta) in ens.rows().enumerate() {
                f += ens.weight(i) * theta[0] * h[i * m + j];
            }
            r[0] = f - y[0];
        });
        Forward {
            residuals: r,
            activations: Some(h),
        }
    }

    /// out[i·d..] = ∇V(θ_i) (`grad` = true, rows of length d) or out[i] = V(θ_i) for
    /// every particle, from the forward pass `fwd` of `ens`.
    fn per_particle(&self, ens: &Ensemble, fwd: &Forward, out: &mut [f64], grad: bool) {
        let (d, m) = (self.dim(), self.targets.len());
        let kernel = Kernel {
            inputs: &self.inputs,
            residuals: &fwd.residuals,
            input_dim: self.input_dim,
            l2: self.l2,
        };
        let cached = |i: usize| fwd.activations.as_deref().map(|h| &h[i * m..(i + 1) * m]);
        if grad {
            for_each_row_mut(
                self.parallelism,
                out,
                d,
                ens.as_slice(),
                d,
                |i, g, theta| {
                    kernel.value_and_grad(theta, cached(i), g);
                },
            );
        } else {
            for_each_row_mut(
                self.parallelism,
                out,
                1,
                ens.as_slice(),
                d,
                |i, v, theta| {
                    v[0] = with_scratch(d, |g| kernel.value_and_grad(theta, cached(i), g));
                },
            );
        }
    }
}

/// Activation matrices up to this many entries (32 MiB) are kept between the residual
/// and the gradient pass; larger problems evaluate tanh twice instead.
const ACTIVATION_CACHE_LIMIT: usize = 1 << 22;

/// The forward pass on the training data.
struct Forward {
    residuals: Vec<f64>,
    /// h_ij = tanh(w_i·z_j), row-major N × M, when small enough.
    activations: Option<Vec<f64>>,
}

/// Runs `f` with a scratch slice of length `len` (on the stack for small particle
/// dimensions), so per-particle work allocates nothing in the common case.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f64]) -> R) -> R {
    const SMALL: usize = 32;
    if len <= SMALL {
        let mut buf = [0.0; SMALL];
        f(&mut buf[..len])
    } else {
        f(&mut vec![0.0; len])
    }
}

impl Functional for TwoLayerNet {
    fn dim(&self) -> usize {
        1 + self.input_dim
    }

    /// `two-layer-net(input_dim=…,l2=…,inputs=…,targets=…)`: the data set (digests
    /// beyond [`crate::fingerprint::INLINE_MAX`] values) and ρ. The parallelism is left
    /// out: it does not change a single bit of the results.
    fn fingerprint(&self) -> String {
        Fingerprint::new("two-layer-net")
            .param("input_dim", self.input_dim)
            .param("l2", self.l2)
            .values("inputs", &self.inputs)
            .values("targets", &self.targets)
            .finish()
    }

    /// F(μ_N) = loss + (ρ/2) Σ_i W^i |θ_i|².
    fn value(&self, ens: &Ensemble) -> Result<f64> {
        let loss = self.loss(ens)?;
        if self.l2 == 0.0 {
            return Ok(loss);
        }
        let mut second = NeumaierSum::new();
        for (i, theta) in ens.rows().enumerate() {
            second.add(ens.weight(i) * dot(theta, theta));
        }
        Ok(loss + 0.5 * self.l2 * second.value())
    }

    fn first_variation_grad(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), self.dim())?;
        check_single_process(ens, "TwoLayerNet")?;
        let fwd = self.forward_train(ens, ACTIVATION_CACHE_LIMIT);
        self.per_particle(ens, &fwd, out, true);
        Ok(())
    }

    /// δF/δμ(μ_N, θ) = (1/M) Σ_j r_j a tanh(w·z_j) + (ρ/2)|θ|² (no additive constant).
    fn first_variation(&self, ens: &Ensemble, out: &mut [f64]) -> Result<()> {
        check_shapes(self.dim(), ens, out.len(), 1)?;
        check_single_process(ens, "TwoLayerNet")?;
        let fwd = self.forward_train(ens, ACTIVATION_CACHE_LIMIT);
        self.per_particle(ens, &fwd, out, false);
        Ok(())
    }
}

/// The first variation of [`TwoLayerNet`] under a frozen measure μ_N (its residuals):
/// V(θ) = (1/M) Σ_j r_j a tanh(w·z_j) + (ρ/2)|θ|², evaluable at any θ ∈ R^{1+p}.
#[derive(Debug, Clone, PartialEq)]
pub struct FrozenTwoLayer {
    inputs: Vec<f64>,
    residuals: Vec<f64>,
    input_dim: usize,
    l2: f64,
}

impl FrozenTwoLayer {
    /// The frozen residuals r_j = f_μN(z_j) − y_j.
    pub fn residuals(&self) -> &[f64] {
        &self.residuals
    }
}

impl crate::frozen::FrozenPotential for FrozenTwoLayer {
    /// Writes ∇V(θ) into `grad` and returns V(θ). `theta` and `grad` must have length
    /// 1 + p (shorter slices are read/written only as far as they go, never a panic;
    /// an empty `theta` gives V = 0).
    fn value_and_grad(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        Kernel {
            inputs: &self.inputs,
            residuals: &self.residuals,
            input_dim: self.input_dim,
            l2: self.l2,
        }
        .value_and_grad(theta, None, grad)
    }
}

/// The per-particle computation shared by the ensemble-level calls and the frozen
/// potential (so that they agree bit for bit).
struct Kernel<'a> {
    inputs: &'a [f64],
    residuals: &'a [f64],
    input_dim: usize,
    l2: f64,
}

impl Kernel<'_> {
    /// V(θ), writing ∇V(θ) into `grad`; `cached` holds tanh(w·z_j) for every j when the
    /// caller has it.
    fn value_and_grad(&self, theta: &[f64], cached: Option<&[f64]>, grad: &mut [f64]) -> f64 {
        let Some((&a, w)) = theta.split_first() else {
            return 0.0;
        };
        let m = self.residuals.len() as f64;
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut s_a = 0.0; // Σ_j r_j h_j
        let gw = grad.get_mut(1..).unwrap_or_default();
        for (j, (z, r)) in self
            .inputs
            .chunks_exact(self.input_dim)
            .zip(self.residuals)
            .enumerate()
        {
            let h = match cached {
                Some(h) => h[j],
                None => dot(w, z).tanh(),
            };
            s_a += r * h;
            let s = r * a * (1.0 - h * h);
            for (g, z) in gw.iter_mut().zip(z) {
                *g += s * z;
            }
        }
        for (g, w) in gw.iter_mut().zip(w) {
            *g = *g / m + self.l2 * w;
        }
        if let Some(g0) = grad.first_mut() {
            *g0 = s_a / m + self.l2 * a;
        }
        a * s_a / m + 0.5 * self.l2 * dot(theta, theta)
    }
}

#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// (1/(2K)) Σ r_k² with a compensated sum.
fn half_mean_square(r: &[f64]) -> f64 {
    let mut s = NeumaierSum::new();
    for v in r {
        s.add(v * v);
    }
    0.5 * s.value() / r.len() as f64
}

impl crate::frozen::FrozenFirstVariation for TwoLayerNet {
    type Frozen = FrozenTwoLayer;

    /// Freezes μ_N (its residuals): V(θ) = δF/δμ(μ_N, θ) and ∇V at arbitrary θ.
    fn freeze(&self, ens: &Ensemble) -> Result<FrozenTwoLayer> {
        Ok(FrozenTwoLayer {
            inputs: self.inputs.clone(),
            residuals: self.residuals(ens)?,
            input_dim: self.input_dim,
            l2: self.l2,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::Domain;

    /// The cached and the recomputing forward/gradient paths give the same bits.
    #[test]
    fn activation_cache_does_not_change_results() {
        let (m, p, n) = (13, 3, 7);
        let z: Vec<f64> = (0..m * p).map(|k| (k as f64 * 0.37).sin()).collect();
        let y: Vec<f64> = (0..m).map(|j| (j as f64 * 0.9).cos()).collect();
        let net = TwoLayerNet::new(z, p, y, 0.01).unwrap();
        let coords: Vec<f64> = (0..n * (p + 1))
            .map(|k| 1.7 * (k as f64 * 1.3).cos())
            .collect();
        let ens = Ensemble::new(n, p + 1, coords, Domain::Euclidean).unwrap();
        let cached = net.forward_train(&ens, usize::MAX);
        let plain = net.forward_train(&ens, 0);
        assert!(cached.activations.is_some() && plain.activations.is_none());
        assert_eq!(cached.residuals, plain.residuals);
        for grad in [true, false] {
            let len = if grad { n * (p + 1) } else { n };
            let (mut a, mut b) = (vec![0.0; len], vec![0.0; len]);
            net.per_particle(&ens, &cached, &mut a, grad);
            net.per_particle(&ens, &plain, &mut b, grad);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b));
        }
    }
}
