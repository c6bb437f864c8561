//! Bayesian logistic regression with a learnt prior mean (ParEM's experiment): labels
//! y_j ∈ {0, 1}, features f_j ∈ R^K, latent weights x ∈ R^K with prior N(θ·1, σ²I), θ ∈ R
//! learnt by maximum likelihood. With a_j = f_j·x and dropping (K/2) log 2πσ²,
//!
//! $$ E(\theta, x) = \sum_j \big[\log(1 + e^{a_j}) - y_j a_j\big]
//!                   + \frac{|x - \theta\mathbf 1|^2}{2\sigma^2}, $$
//! $$ \nabla_x E = \sum_j (\sigma(a_j) - y_j) f_j + \frac{x - \theta\mathbf 1}{\sigma^2},
//!    \qquad \nabla_\theta E = -\frac{1}{\sigma^2}\sum_k (x_k - \theta). $$
//!
//! For particle quasi-Newton and marginal gradient descent: ∇²_θ E = K/σ² (constant) and
//! θ*(q) = argmin_θ ∫ E(θ, x) q(dx) = the mean of all particle coordinates
//! (1/(NK)) Σ_i Σ_k X^i_k (only the prior depends on θ).
//!
//! log(1 + e^a) is evaluated as max(a, 0) + ln(1 + e^{−|a|}) (no overflow for large |a|).
//! The posterior predictive of a particle cloud is p(y = 1 | f) ≈ (1/N) Σ_i σ(f·X^i)
//! ([`BayesianLogistic::predictive`]).

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use meanfield_measures::simd;

use crate::error::{EnergyError, Result, check_param};
use crate::fingerprint::Fingerprint;
use crate::latent::{LatentModel, check_finite_data, sigmoid, softplus};

/// Bayesian logistic regression on a fixed training set (module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct BayesianLogistic {
    features: Vec<f64>,
    labels: Vec<f64>,
    k: usize,
    prior_var: f64,
}

impl BayesianLogistic {
    /// The model for `features` (row-major M × K), `labels` (M values in {0, 1}) and prior
    /// variance σ² > 0 (ParEM: 5).
    pub fn new(features: Vec<f64>, labels: Vec<f64>, k: usize, prior_var: f64) -> Result<Self> {
        check_param("prior_var", prior_var, true)?;
        if k == 0 || labels.is_empty() || features.len() != labels.len() * k {
            return Err(EnergyError::DimensionMismatch {
                what: "features (M × K with M = #labels, K ≥ 1, M ≥ 1)",
                expected: labels.len() * k.max(1),
                got: features.len(),
            });
        }
        check_finite_data("features", &features)?;
        if let Some(&value) = labels.iter().find(|&&l| l != 0.0 && l != 1.0) {
            return Err(EnergyError::InvalidParameter {
                name: "label",
                value,
                reason: "labels must be 0 or 1",
            });
        }
        Ok(Self {
            features,
            labels,
            k,
            prior_var,
        })
    }

    /// Number of training examples M.
    pub fn n_data(&self) -> usize {
        self.labels.len()
    }

    /// Prior variance σ².
    pub fn prior_var(&self) -> f64 {
        self.prior_var
    }

    /// Posterior predictive p(y = 1 | f) = (1/N) Σ_i σ(f·X^i) of the particle weights
    /// `particles` (row-major N × K) at one feature row `f`.
    pub fn predictive(particles: &[f64], k: usize, f: &[f64]) -> f64 {
        let n = particles.len() / k;
        particles
            .chunks_exact(k)
            .map(|w| sigmoid(dot(w, f)))
            .sum::<f64>()
            / n as f64
    }
}

/// a·b with four interleaved partial sums (so the compiler can keep them in SIMD lanes;
/// a fixed summation order, hence the same bits on every run and thread count).
#[inline]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let (ac, bc) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut acc = [0.0; 4];
    for (x, y) in ac.zip(bc) {
        let (x, y): (&[f64; 4], &[f64; 4]) = (x.try_into().expect("4"), y.try_into().expect("4"));
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

impl LatentModel for BayesianLogistic {
    fn theta_dim(&self) -> usize {
        1
    }

    fn latent_dim(&self) -> usize {
        self.k
    }

    /// `bayesian-logistic(k=…,prior_var=…,features=…,labels=…)`.
    fn fingerprint(&self) -> String {
        Fingerprint::new("bayesian-logistic")
            .param("k", self.k)
            .param("prior_var", self.prior_var)
            .values("features", &self.features)
            .values("labels", &self.labels)
            .finish()
    }

    fn energy(&self, theta: &[f64], x: &[f64]) -> Result<f64> {
        let lik: f64 = self
            .features
            .chunks_exact(self.k)
            .zip(&self.labels)
            .map(|(f, y)| {
                let a = dot(f, x);
                softplus(a) - y * a
            })
            .sum();
        let prior: f64 = x.iter().map(|w| (w - theta[0]).powi(2)).sum::<f64>();
        Ok(lik + prior / (2.0 * self.prior_var))
    }

    fn grad_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = -x.iter().map(|w| w - theta[0]).sum::<f64>() / self.prior_var;
        Ok(())
    }

    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        for (g, w) in out.iter_mut().zip(x) {
            *g = (w - theta[0]) / self.prior_var;
        }
        for (f, y) in self.features.chunks_exact(self.k).zip(&self.labels) {
            let r = sigmoid(dot(f, x)) - y;
            for (g, fk) in out.iter_mut().zip(f) {
                *g += r * fk;
            }
        }
        Ok(())
    }

    /// ∇²_θ E = K/σ².
    fn hess_theta(&self, _theta: &[f64], _x: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = self.k as f64 / self.prior_var;
        Ok(())
    }

    /// θ* = (1/(NK)) Σ_i Σ_k X^i_k, summed in particle order.
    fn optimal_theta(&self, xs: &[f64], out: &mut [f64]) -> Result<()> {
        out[0] = crate::latent::mean_of_all(xs)?;
        Ok(())
    }

    /// 32 particles per matrix product: large enough for the GEMM kernel to reach its
    /// speed at K ≈ 30, small enough that N = 100 particles split over two threads.
    fn batch_size(&self) -> usize {
        32
    }

    /// Batched, as two matrix products (faer's GEMM, sequential) around an element-wise
    /// pass, with X the c × K particle block, F the M × K features and 1 the ones:
    ///
    /// $$ A = X F^\top, \quad R = \sigma(A) - \mathbf 1 y^\top, \quad
    ///    \nabla_X E = (X - \theta)/\sigma^2 + R F. $$
    ///
    /// The products sum in the kernel's order, not the per-particle dot's, so the result
    /// agrees with [`LatentModel::grad_x`] to rounding (not bitwise); it is a fixed
    /// function of (θ, xs) on a given machine, whatever the thread count, because the
    /// batches are fixed by [`LatentModel::batch_size`].
    fn grads_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        grad_theta: Option<&mut [f64]>,
        grad_x: Option<&mut [f64]>,
    ) -> Result<()> {
        let (k, m) = (self.k, self.labels.len());
        let c = xs.len() / k;
        if let Some(gt) = grad_theta {
            for (g, x) in gt.chunks_exact_mut(1).zip(xs.chunks_exact(k)) {
                self.grad_theta(theta, x, g)?;
            }
        }
        let Some(gx) = grad_x else {
            return Ok(());
        };
        // The matrix views below need exact shapes (a mismatch would panic inside faer).
        if xs.len() != c * k || gx.len() != xs.len() {
            return Err(EnergyError::DimensionMismatch {
                what: "batched particles and ∇_x output (c × K each)",
                expected: c * k,
                got: if xs.len() != c * k {
                    xs.len()
                } else {
                    gx.len()
                },
            });
        }
        for (g, w) in gx.iter_mut().zip(xs) {
            *g = (w - theta[0]) / self.prior_var;
        }
        let features = MatRef::from_row_major_slice(&self.features, m, k);
        LOGITS.with(|cell| {
            let mut logits = cell.borrow_mut();
            logits.clear();
            logits.resize(c * m, 0.0);
            matmul(
                MatMut::from_row_major_slice_mut(&mut logits, c, m),
                Accum::Replace,
                MatRef::from_row_major_slice(xs, c, k),
                features.transpose(),
                1.0,
                Par::Seq,
            );
            // σ(a) − y in SIMD lanes.
            simd::vectorised(
                #[inline(always)]
                || {
                    for row in logits.chunks_exact_mut(m) {
                        for (a, y) in row.iter_mut().zip(&self.labels) {
                            *a = simd::sigmoid(*a) - y;
                        }
                    }
                },
            );
            matmul(
                MatMut::from_row_major_slice_mut(gx, c, k),
                Accum::Add,
                MatRef::from_row_major_slice(&logits, c, m),
                features,
                1.0,
                Par::Seq,
            );
        });
        Ok(())
    }
}

thread_local! {
    /// The c × M logits / residuals of [`BayesianLogistic::grads_batch`], reused across
    /// calls on one thread (a fresh 150 kB buffer per batch would be an mmap per call).
    static LOGITS: std::cell::RefCell<Vec<f64>> = const { std::cell::RefCell::new(Vec::new()) };
}
