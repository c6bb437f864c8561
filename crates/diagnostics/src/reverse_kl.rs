//! Reverse KL and entropy along a deterministic transport (MGDM, MF-MGDM), tracked
//! exactly by change of variables.
//!
//! If x⁰ ~ q₀ and x^{k+1} = g_k(x^k) with smooth invertible g_k, the law q_k of x^k has
//! log q_k(x^k) = log q₀(x⁰) − Σ_{j<k} log|det ∇g_j(x^j)|, so with N paths (jointly pushed
//! when the paths are coupled, log|det| of the whole R^{NT} map)
//!
//! KL_k = (1/N) [ Σ_i log q₀(x_i⁰) − Σ_{steps ≤ k} logdet − Σ_i log p(x_i^k) ],
//! H_k = −(1/N) Σ_i log q₀(x_i⁰) + (1/N) Σ_{steps ≤ k} logdet
//!
//! (Monte-Carlo estimates of KL(q_k ‖ p) and of the entropy, in nats per path).
//! This module only does the bookkeeping of those three parts, so it needs no density:
//! the caller evaluates log q₀ and log p (e.g. `meanfield_energy::PathLaw`), which keeps
//! the dependency direction diagnostics ← measures. Sums are Neumaier-compensated.

use meanfield_measures::compensated::NeumaierSum;

use crate::error::{DiagnosticsError, Result};

/// The three parts of KL_k for k = 0, 1, …, K (see the module docs).
#[derive(Debug, Clone)]
pub struct ReverseKlTrace {
    n_paths: usize,
    latent: f64,
    cum_log_det: Vec<f64>,
    target: Vec<f64>,
    acc: NeumaierSum,
}

fn finite_or_neg_inf(what: &'static str, index: usize, value: f64) -> Result<f64> {
    if value.is_nan() || value == f64::INFINITY {
        Err(DiagnosticsError::NonFinite { what, index, value })
    } else {
        Ok(value)
    }
}

fn finite(what: &'static str, index: usize, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DiagnosticsError::NonFinite { what, index, value })
    }
}

impl ReverseKlTrace {
    /// Starts the trace at step 0 from Σ_i log q₀(x_i⁰) and Σ_i log p(x_i⁰) over `n_paths`
    /// paths. The target log-likelihood may be −∞ (a path outside p's support: KL = +∞).
    ///
    /// # Errors
    /// [`DiagnosticsError::InvalidParameter`] for no paths, [`DiagnosticsError::NonFinite`]
    /// for a non-finite latent sum or a NaN / +∞ target sum.
    pub fn new(n_paths: usize, latent_loglik_sum: f64, target_loglik_sum: f64) -> Result<Self> {
        if n_paths == 0 {
            return Err(DiagnosticsError::InvalidParameter {
                name: "n_paths",
                value: 0.0,
                reason: "need at least one path",
            });
        }
        let n = n_paths as f64;
        Ok(Self {
            n_paths,
            latent: finite("latent log-likelihood sum", 0, latent_loglik_sum)? / n,
            cum_log_det: vec![0.0],
            target: vec![finite_or_neg_inf("target log-likelihood sum", 0, target_loglik_sum)? / n],
            acc: NeumaierSum::new(),
        })
    }

    /// Appends one step: its log|det ∇g| (of the whole ensemble map) and Σ_i log p(x_i^{k+1}).
    ///
    /// # Errors
    /// [`DiagnosticsError::NonFinite`] for a non-finite log-det or a NaN / +∞ target sum.
    pub fn push(&mut self, log_det: f64, target_loglik_sum: f64) -> Result<()> {
        let k = self.target.len();
        let ld = finite("step log-determinant", k, log_det)?;
        let tl = finite_or_neg_inf("target log-likelihood sum", k, target_loglik_sum)?;
        self.acc.add(ld);
        self.cum_log_det
            .push(self.acc.value() / self.n_paths as f64);
        self.target.push(tl / self.n_paths as f64);
        Ok(())
    }

    /// Number of steps recorded (the trace has `steps() + 1` points).
    pub fn steps(&self) -> usize {
        self.target.len() - 1
    }

    /// (1/N) Σ_i log q₀(x_i⁰).
    pub fn latent_loglik(&self) -> f64 {
        self.latent
    }

    /// (1/N) Σ_{steps ≤ k} logdet, k = 0..=K.
    pub fn cumulative_log_det(&self) -> &[f64] {
        &self.cum_log_det
    }

    /// (1/N) Σ_i log p(x_i^k), k = 0..=K.
    pub fn target_loglik(&self) -> &[f64] {
        &self.target
    }

    /// KL_k, k = 0..=K (+∞ where a path left p's support).
    pub fn kl(&self) -> Vec<f64> {
        self.cum_log_det
            .iter()
            .zip(&self.target)
            .map(|(ld, tl)| self.latent - ld - tl)
            .collect()
    }

    /// KL_k for one k (None beyond the last step).
    pub fn kl_at(&self, k: usize) -> Option<f64> {
        Some(self.latent - self.cum_log_det.get(k)? - self.target.get(k)?)
    }

    /// Entropy estimate H_k = −(1/N) Σ log q₀(x_i⁰) + (1/N) Σ_{steps ≤ k} logdet.
    pub fn entropy(&self) -> Vec<f64> {
        self.cum_log_det.iter().map(|ld| ld - self.latent).collect()
    }

    /// (argmin_k KL_k, min_k KL_k); the first minimiser on ties.
    pub fn min(&self) -> (usize, f64) {
        self.kl()
            .into_iter()
            .enumerate()
            .fold(
                (0, f64::INFINITY),
                |best, (k, v)| if v < best.1 { (k, v) } else { best },
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bookkeeping() {
        // N = 2, latent sum −4 → −2; target sums −6, −3, −5; log-dets 2, −1
        let mut t = ReverseKlTrace::new(2, -4.0, -6.0).unwrap();
        t.push(2.0, -3.0).unwrap();
        t.push(-1.0, -5.0).unwrap();
        assert_eq!(t.steps(), 2);
        assert_eq!(t.cumulative_log_det(), &[0.0, 1.0, 0.5]);
        assert_eq!(t.target_loglik(), &[-3.0, -1.5, -2.5]);
        assert_eq!(t.kl(), vec![1.0, -1.5, 0.0]);
        assert_eq!(t.entropy(), vec![2.0, 3.0, 2.5]);
        assert_eq!(t.min(), (1, -1.5));
        assert_eq!(t.latent_loglik(), -2.0);
        assert_eq!(t.kl_at(1), Some(-1.5));
        assert_eq!(t.kl_at(3), None);
    }

    #[test]
    fn errors_and_infinities() {
        assert!(ReverseKlTrace::new(0, 0.0, 0.0).is_err());
        assert!(ReverseKlTrace::new(1, f64::NAN, 0.0).is_err());
        assert!(ReverseKlTrace::new(1, 0.0, f64::INFINITY).is_err());
        let mut t = ReverseKlTrace::new(1, 0.0, f64::NEG_INFINITY).unwrap();
        assert!(t.push(f64::NAN, 0.0).is_err());
        assert!(t.push(0.0, f64::NAN).is_err());
        t.push(0.5, -1.0).unwrap();
        assert_eq!(t.kl()[0], f64::INFINITY);
        assert_eq!(t.min(), (1, 0.5));
    }
}
