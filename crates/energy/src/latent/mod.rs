//! Latent-variable models for particle EM (PGD, MPD): the energy
//!
//! $$ E(\theta, x) = -\log p_\theta(x, y) $$
//!
//! of parameters θ ∈ R^p and latent variables x ∈ R^d given fixed observed data y, with its
//! analytic gradients ∇_θ E and ∇_x E. Maximum likelihood for θ is the minimisation of the
//! free energy F(θ, q) = ∫ E(θ, x) q(dx) + ∫ log q dq over θ and distributions q of x;
//! particle methods represent q by particles X^1..X^N and need only E's gradients.
//!
//! | model | θ | x | module |
//! |---|---|---|---|
//! | toy hierarchical Gaussian y_j ~ N(x_j, 1), x_j ~ N(θ, 1) | R | R^M | [`toy`] |
//! | Bayesian logistic regression, prior N(θ·1, σ²I) on the weights | R | R^K | [`logistic`] |
//! | one-hidden-layer decoder, z_j ~ N(0, I), Bernoulli/Gaussian pixels | weights | R^{M·d_z} | [`decoder`] |
//!
//! Every model's gradients are checked against central finite differences of E in
//! `tests/latent.rs` (helper [`grad_fd_check`]).

pub mod decoder;
pub mod logistic;
pub mod toy;

pub use decoder::{Decoder, DecoderShape, PixelLikelihood};
pub use logistic::BayesianLogistic;
pub use toy::HierarchicalGaussian;

use crate::error::{EnergyError, Result};

/// A latent-variable model through its energy E(θ, x) = −log p_θ(x, y) (module docs).
///
/// Methods take slices of the documented lengths; callers check the lengths once with
/// [`check_dims`] (the integrators do so before a run), so the per-particle methods may
/// assume them.
pub trait LatentModel: Send + Sync {
    /// p = dim θ.
    fn theta_dim(&self) -> usize;

    /// d = dim x.
    fn latent_dim(&self) -> usize;

    /// E(θ, x) (up to an additive constant independent of θ and x, stated by the model).
    fn energy(&self, theta: &[f64], x: &[f64]) -> Result<f64>;

    /// ∇_θ E(θ, x) into `out` (length p).
    fn grad_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()>;

    /// ∇_x E(θ, x) into `out` (length d).
    fn grad_x(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()>;

    /// Both gradients at once; models that share work between them (a decoder's forward
    /// pass) override this.
    fn grads(
        &self,
        theta: &[f64],
        x: &[f64],
        grad_theta: &mut [f64],
        grad_x: &mut [f64],
    ) -> Result<()> {
        self.grad_theta(theta, x, grad_theta)?;
        self.grad_x(theta, x, grad_x)
    }

    /// ∇²_θ E(θ, x) into `out` (p × p, row-major), for particle quasi-Newton's
    /// preconditioner H(θ, q) = ∫ ∇²_θ E(θ, x) q(dx). The default returns
    /// [`EnergyError::NotAvailable`].
    fn hess_theta(&self, theta: &[f64], x: &[f64], out: &mut [f64]) -> Result<()> {
        let _ = (theta, x, out);
        Err(EnergyError::NotAvailable {
            quantity: "the θ-Hessian ∇²_θ E (LatentModel::hess_theta)",
            model: std::any::type_name::<Self>(),
        })
    }

    /// ∇²_θ E(θ, x_i) for a batch of particles `xs` (row-major, c × d) into `out`
    /// (c × p × p, row i's Hessian at offset i p²): what PQN calls, in blocks of
    /// [`LatentModel::batch_size`] particles. The default calls
    /// [`LatentModel::hess_theta`] row by row; a model evaluated once per batch (a
    /// Python model) overrides it. Must be a deterministic function of (θ, xs).
    fn hess_theta_batch(&self, theta: &[f64], xs: &[f64], out: &mut [f64]) -> Result<()> {
        let (p, d) = (self.theta_dim(), self.latent_dim());
        for (x, h) in xs.chunks_exact(d).zip(out.chunks_exact_mut(p * p)) {
            self.hess_theta(theta, x, h)?;
        }
        Ok(())
    }

    /// θ*(q) = argmin_θ (1/N) Σ_i E(θ, x_i) into `out` (length p) for the particles `xs`
    /// (row-major N × d, N ≥ 1), where that minimiser has a closed form (particle marginal
    /// gradient descent). The default returns [`EnergyError::NotAvailable`].
    fn optimal_theta(&self, xs: &[f64], out: &mut [f64]) -> Result<()> {
        let _ = (xs, out);
        Err(EnergyError::NotAvailable {
            quantity: "the closed-form optimal θ*(q) (LatentModel::optimal_theta)",
            model: std::any::type_name::<Self>(),
        })
    }

    /// Identifies the model and every parameter or datum that changes its values (put
    /// into checkpoint fingerprints). The default is the type name: override it when the
    /// model has parameters or data.
    fn fingerprint(&self) -> String {
        std::any::type_name::<Self>().to_string()
    }

    /// The starting θ of a run when the caller gives none (the initial state of PGD and
    /// MPD in meanfield-integrators): zeros by default.
    fn initial_theta(&self) -> Vec<f64> {
        vec![0.0; self.theta_dim()]
    }

    /// Particles per [`LatentModel::grads_batch`] call the integrators use (a fixed
    /// property of the model, never of the thread count, so results stay bitwise
    /// reproducible). Default 1: per-particle work, spread particle by particle.
    fn batch_size(&self) -> usize {
        1
    }

    /// The gradients of a batch of particles `xs` (row-major, c × d): row i of
    /// `grad_theta` (c × p) is ∇_θ E(θ, x_i) and row i of `grad_x` (c × d) is ∇_x E(θ, x_i);
    /// a `None` output is not computed. The default calls the per-particle methods;
    /// models whose gradients are matrix products over the batch (logistic regression)
    /// override it. Must be a deterministic function of (θ, xs).
    fn grads_batch(
        &self,
        theta: &[f64],
        xs: &[f64],
        grad_theta: Option<&mut [f64]>,
        grad_x: Option<&mut [f64]>,
    ) -> Result<()> {
        let (p, d) = (self.theta_dim(), self.latent_dim());
        match (grad_theta, grad_x) {
            (Some(gt), Some(gx)) => {
                for ((x, gt), gx) in xs
                    .chunks_exact(d)
                    .zip(gt.chunks_exact_mut(p))
                    .zip(gx.chunks_exact_mut(d))
                {
                    self.grads(theta, x, gt, gx)?;
                }
            }
            (Some(gt), None) => {
                for (x, gt) in xs.chunks_exact(d).zip(gt.chunks_exact_mut(p)) {
                    self.grad_theta(theta, x, gt)?;
                }
            }
            (None, Some(gx)) => {
                for (x, gx) in xs.chunks_exact(d).zip(gx.chunks_exact_mut(d)) {
                    self.grad_x(theta, x, gx)?;
                }
            }
            (None, None) => {}
        }
        Ok(())
    }
}

/// Checks that θ has length p and x length d for `model`.
pub fn check_dims<M: LatentModel + ?Sized>(model: &M, theta: &[f64], x: &[f64]) -> Result<()> {
    if theta.len() != model.theta_dim() {
        return Err(EnergyError::DimensionMismatch {
            what: "parameter θ",
            expected: model.theta_dim(),
            got: theta.len(),
        });
    }
    if x.len() != model.latent_dim() {
        return Err(EnergyError::DimensionMismatch {
            what: "latent x",
            expected: model.latent_dim(),
            got: x.len(),
        });
    }
    Ok(())
}

/// The mean of every entry of a particle block (θ* of models whose only θ-dependent term
/// is a prior N(θ·1, σ²I)), summed in order; an empty block is an error.
pub(crate) fn mean_of_all(xs: &[f64]) -> Result<f64> {
    if xs.is_empty() {
        return Err(EnergyError::DimensionMismatch {
            what: "particles for the optimal θ (need at least one)",
            expected: 1,
            got: 0,
        });
    }
    Ok(xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Rejects a non-finite entry of a named data vector.
pub(crate) fn check_finite_data(name: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().find(|v| !v.is_finite()) {
        None => Ok(()),
        Some(&value) => Err(EnergyError::InvalidParameter {
            name,
            value,
            reason: "data must be finite",
        }),
    }
}

/// Worst disagreement of a model's analytic gradients with central finite differences.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GradCheck {
    /// max_k |fd_k − g_k| / (1 + |g_k|) over the θ coordinates.
    pub theta_rel_err: f64,
    /// The same over the x coordinates.
    pub x_rel_err: f64,
}

/// Compares ∇_θ E and ∇_x E at (θ, x) (from [`LatentModel::grads`], and the separate
/// methods, which must agree with it) with central differences of E of step `h` in
/// every coordinate. Cost: 2(p + d) energy evaluations.
pub fn grad_fd_check<M: LatentModel + ?Sized>(
    model: &M,
    theta: &[f64],
    x: &[f64],
    h: f64,
) -> Result<GradCheck> {
    check_dims(model, theta, x)?;
    let (p, d) = (theta.len(), x.len());
    let (mut gt, mut gx) = (vec![0.0; p], vec![0.0; d]);
    model.grads(theta, x, &mut gt, &mut gx)?;
    let (mut gt2, mut gx2) = (vec![0.0; p], vec![0.0; d]);
    model.grad_theta(theta, x, &mut gt2)?;
    model.grad_x(theta, x, &mut gx2)?;
    let mismatch = gt
        .iter()
        .zip(&gt2)
        .chain(gx.iter().zip(&gx2))
        .any(|(a, b)| a != b);
    if mismatch {
        return Err(EnergyError::InvalidParameter {
            name: "grads",
            value: f64::NAN,
            reason: "LatentModel::grads disagrees with grad_theta/grad_x",
        });
    }
    let rel = |fd: f64, g: f64| (fd - g).abs() / (1.0 + g.abs());
    let mut theta_rel_err: f64 = 0.0;
    let mut th = theta.to_vec();
    for k in 0..p {
        th[k] = theta[k] + h;
        let up = model.energy(&th, x)?;
        th[k] = theta[k] - h;
        let down = model.energy(&th, x)?;
        th[k] = theta[k];
        theta_rel_err = theta_rel_err.max(rel((up - down) / (2.0 * h), gt[k]));
    }
    let mut x_rel_err: f64 = 0.0;
    let mut xx = x.to_vec();
    for k in 0..d {
        xx[k] = x[k] + h;
        let up = model.energy(theta, &xx)?;
        xx[k] = x[k] - h;
        let down = model.energy(theta, &xx)?;
        xx[k] = x[k];
        x_rel_err = x_rel_err.max(rel((up - down) / (2.0 * h), gx[k]));
    }
    Ok(GradCheck {
        theta_rel_err,
        x_rel_err,
    })
}

/// Worst disagreement of [`LatentModel::hess_theta`] at (θ, x) with central differences
/// of step `h` of [`LatentModel::grad_theta`]: max_{jk} |fd_jk − H_jk| / (1 + |H_jk|).
/// Cost: 2p gradient evaluations.
pub fn hess_theta_fd_check<M: LatentModel + ?Sized>(
    model: &M,
    theta: &[f64],
    x: &[f64],
    h: f64,
) -> Result<f64> {
    check_dims(model, theta, x)?;
    let p = theta.len();
    let mut hess = vec![0.0; p * p];
    model.hess_theta(theta, x, &mut hess)?;
    let (mut up, mut down) = (vec![0.0; p], vec![0.0; p]);
    let mut th = theta.to_vec();
    let mut worst: f64 = 0.0;
    for k in 0..p {
        th[k] = theta[k] + h;
        model.grad_theta(&th, x, &mut up)?;
        th[k] = theta[k] - h;
        model.grad_theta(&th, x, &mut down)?;
        th[k] = theta[k];
        for j in 0..p {
            let fd = (up[j] - down[j]) / (2.0 * h);
            let a = hess[j * p + k];
            worst = worst.max((fd - a).abs() / (1.0 + a.abs()));
        }
    }
    Ok(worst)
}

/// log(1 + e^a) without overflow: max(a, 0) + ln(1 + e^{−|a|}).
#[inline]
pub fn softplus(a: f64) -> f64 {
    a.max(0.0) + (-a.abs()).exp().ln_1p()
}

/// The logistic function 1/(1 + e^{−a}), evaluated without overflow.
#[inline]
pub fn sigmoid(a: f64) -> f64 {
    if a >= 0.0 {
        1.0 / (1.0 + (-a).exp())
    } else {
        let e = a.exp();
        e / (1.0 + e)
    }
}
