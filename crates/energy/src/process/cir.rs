//! Cox–Ingersoll–Ross process dx = κ(θ − x) dt + σ √x dW observed every Δ = dt, started
//! in its stationary law.
//!
//! With c = 2κ / (σ²(1 − e^{−κΔ})), q = 2κθ/σ² − 1, the exact transition is
//! 2c x_t | x_{t−1} ~ χ²'(df = 4κθ/σ², nc = 2c e^{−κΔ} x_{t−1}).
//! Writing the noncentral χ² as a Poisson mixture, N ~ Poisson(nc/2) and
//! 2c x_t ~ χ²(df + 2N), i.e. **x_t = G / c with G ~ Gamma(q + 1 + N, 1)**, which is how
//! [`CirProcess`] samples (exactly). The stationary law is Gamma(shape q + 1 = 2κθ/σ²,
//! rate β = 2κ/σ²): mean θ, variance θσ²/(2κ), lag-Δ autocorrelation e^{−κΔ}.
//!
//! Log transition density (u = c e^{−κΔ} x_{t−1}, v = c x_t, z = 2√(uv)):
//! ln p(x_t | x_{t−1}) = ln c − (u + v) + (q/2)(ln v − ln u) + ln I_q(z)
//!                     = ln c − (√v − √u)² + (q/2)(ln v − ln u) + ln(I_q(z) e^{−z}),
//!                     = ln c − u − v + q ln v − ln Γ(q + 1) + ln Σ_k t_k,
//! t_0 = 1, t_k = t_{k−1} uv / (k(k + q)) (the Bessel power series, whose (z/2)^q factor
//! cancels the (v/u)^{q/2}). For z ≥ 20 the second (scaled) form with the asymptotic
//! expansion of ln(I_q(z) e^{−z}) is used, otherwise the third, summed with a
//! precomputed table of 1/(k(k + q)) (no divisions; see `bessel.rs`). Nothing overflows.
//! The third form contains the limits: u = 0 (x_{t−1} = 0) gives the Gamma(q + 1,
//! rate c) density ln c − v + q ln v − ln Γ(q + 1); v = 0 with u > 0 gives ln c − u for
//! q = 0 and −∞ for q > 0 (0 · ln 0 = 0 when q = 0); x_t < 0 gives −∞.
//!
//! The path log-density is the stationary Gamma log-density of x_0 plus the sum of the
//! T − 1 transition log-densities. We require the Feller condition 2κθ ≥ σ² (q ≥ 0), under
//! which all these densities are bounded near 0.

use rand_distr::{Distribution, Gamma, Poisson};

use meanfield_measures::rng::ParticleRng;

use super::PathLaw;
use super::bessel::{
    ASYMPTOTIC_MIN_Z, ln_gamma_q_plus_1, ln_series_sum, log_i_scaled_asymptotic, series_reciprocals,
};
use crate::error::{EnergyError, Result, check_param};

/// The CIR process on paths of length T (see the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct CirProcess {
    kappa: f64,
    theta: f64,
    sigma: f64,
    dt: f64,
    len: usize,
    /// c = 2κ / (σ²(1 − e^{−κΔ})).
    c: f64,
    ln_c: f64,
    /// e^{−κΔ}.
    decay: f64,
    /// q = 2κθ/σ² − 1.
    q: f64,
    /// ln Γ(q + 1).
    ln_gamma_shape: f64,
    /// Stationary rate β = 2κ/σ².
    rate: f64,
    /// 1/(k(k+q)), k = 1..=64: the Bessel series ratios (see `bessel::ln_series_sum`).
    recip: Vec<f64>,
}

/// Gamma(shape, scale) sampler; shapes here are ≥ 1 and finite, so an error means an
/// input outside the sampler's range (reported with the shape).
fn gamma(shape: f64, scale: f64) -> Result<Gamma<f64>> {
    Gamma::new(shape, scale).map_err(|_| EnergyError::InvalidParameter {
        name: "CIR Gamma shape",
        value: shape,
        reason: "rejected by the Gamma sampler",
    })
}

impl CirProcess {
    /// CIR with mean-reversion rate κ, long-run mean θ, volatility σ, sampling step
    /// Δ = `dt`, on paths of length `len`.
    ///
    /// Errors ([`EnergyError::InvalidParameter`]): non-finite or non-positive κ, θ, σ, Δ;
    /// `len` = 0; Feller condition violated (2κθ < σ², i.e. q < 0).
    pub fn new(kappa: f64, theta: f64, sigma: f64, dt: f64, len: usize) -> Result<Self> {
        check_param("CIR mean reversion κ", kappa, true)?;
        check_param("CIR long-run mean θ", theta, true)?;
        check_param("CIR volatility σ", sigma, true)?;
        check_param("CIR time step dt", dt, true)?;
        check_param("path length T", len as f64, true)?;
        let s2 = sigma * sigma;
        // q within 1e-12 of an integer is taken as that integer (CIR1's κ = 2^{−1/2},
        // θ = 2^{1/2} give q = 1 + 4e-16 in f64), so integer orders use the exact ln q!.
        let mut q = 2.0 * kappa * theta / s2 - 1.0;
        if (q - q.round()).abs() < 1e-12 {
            q = q.round();
        }
        if q < 0.0 {
            return Err(EnergyError::InvalidParameter {
                name: "CIR order q = 2κθ/σ² − 1",
                value: q,
                reason: "Feller condition 2κθ ≥ σ² violated",
            });
        }
        let decay = (-kappa * dt).exp();
        // 1 − e^{−κΔ} via expm1 (accurate for small κΔ).
        let c = 2.0 * kappa / (s2 * -(-kappa * dt).exp_m1());
        check_param("CIR transition scale c", c, true)?;
        Ok(Self {
            kappa,
            theta,
            sigma,
            dt,
            len,
            c,
            ln_c: c.ln(),
            decay,
            q,
            ln_gamma_shape: ln_gamma_q_plus_1(q),
            rate: 2.0 * kappa / s2,
            recip: series_reciprocals(q, 64),
        })
    }

    /// CIR0 of the MF-MGDM paper: κ = 0.5, θ = 1, σ = 1, Δ = 1 (q = 0).
    pub fn cir0(len: usize) -> Result<Self> {
        Self::new(0.5, 1.0, 1.0, 1.0, len)
    }

    /// CIR1 of the MF-MGDM paper: κ = 2^{−1/2}, θ = 2^{1/2}, σ = 1, Δ = 1 (q = 1).
    pub fn cir1(len: usize) -> Result<Self> {
        Self::new(
            std::f64::consts::FRAC_1_SQRT_2,
            std::f64::consts::SQRT_2,
            1.0,
            1.0,
            len,
        )
    }

    /// Mean-reversion rate κ.
    pub fn kappa(&self) -> f64 {
        self.kappa
    }

    /// Long-run mean θ.
    pub fn theta(&self) -> f64 {
        self.theta
    }

    /// Volatility σ.
    pub fn sigma(&self) -> f64 {
        self.sigma
    }

    /// Sampling step Δ.
    pub fn dt(&self) -> f64 {
        self.dt
    }

    /// Bessel order q = 2κθ/σ² − 1 of the transition density.
    pub fn order(&self) -> f64 {
        self.q
    }

    /// Transition scale c = 2κ / (σ²(1 − e^{−κΔ})).
    pub fn transition_scale(&self) -> f64 {
        self.c
    }

    /// Stationary mean θ.
    pub fn stationary_mean(&self) -> f64 {
        self.theta
    }

    /// Stationary variance θσ²/(2κ).
    pub fn stationary_variance(&self) -> f64 {
        self.theta * self.sigma * self.sigma / (2.0 * self.kappa)
    }

    /// Lag-Δ autocorrelation e^{−κΔ} of the stationary process.
    pub fn lag1_autocorrelation(&self) -> f64 {
        self.decay
    }

    /// Stationary Gamma(shape q + 1, rate 2κ/σ²) log-density at x (−∞ for x < 0).
    ///
    /// Errors: non-finite x ([`EnergyError::InvalidParameter`]).
    pub fn log_stationary(&self, x: f64) -> Result<f64> {
        check_param("CIR state x", x, false)?;
        Ok(self.log_stationary_unchecked(x))
    }

    fn log_stationary_unchecked(&self, x: f64) -> f64 {
        if x < 0.0 {
            return f64::NEG_INFINITY;
        }
        let shape = self.q + 1.0;
        shape * self.rate.ln() - self.ln_gamma_shape + self.q_ln(x) - self.rate * x
    }

    /// q ln y with the convention 0 · ln 0 = 0 (q = 0) and q ln 0 = −∞ (q > 0).
    #[inline]
    fn q_ln(&self, y: f64) -> f64 {
        if self.q == 0.0 { 0.0 } else { self.q * y.ln() }
    }

    /// ln p(x_t = `x` | x_{t−1} = `prev`) (−∞ for x < 0 or prev < 0, i.e. outside the
    /// support; see the module docs for the edge cases u = 0, v = 0).
    ///
    /// Errors: non-finite `prev` or `x` ([`EnergyError::InvalidParameter`]).
    pub fn log_transition(&self, prev: f64, x: f64) -> Result<f64> {
        check_param("CIR previous state x_{t−1}", prev, false)?;
        check_param("CIR state x_t", x, false)?;
        Ok(self.log_transition_unchecked(prev, x))
    }

    fn log_transition_unchecked(&self, prev: f64, x: f64) -> f64 {
        if x < 0.0 || prev < 0.0 {
            return f64::NEG_INFINITY;
        }
        let u = self.c * self.decay * prev;
        let v = self.c * x;
        let y = u * v;
        let z = 2.0 * y.sqrt();
        if z >= ASYMPTOTIC_MIN_Z
            && let Some(scaled) = log_i_scaled_asymptotic(self.q, z)
        {
            let d = v.sqrt() - u.sqrt();
            return self.ln_c - d * d + 0.5 * self.q * (v.ln() - u.ln()) + scaled;
        }
        // Series form: (q/2)(ln v − ln u) + ln I_q(z) = q ln v − ln Γ(q+1) + ln Σ_k t_k
        // with t_k = t_{k−1} uv/(k(k+q)); at u = 0 this is the Gamma(q+1, rate c)
        // density, at v = 0 it is ln c − u (q = 0) or −∞ (q > 0).
        self.ln_c - u - v + self.q_ln(v) - self.ln_gamma_shape
            + ln_series_sum(self.q, y, &self.recip)
    }

    /// The SERIES_LANES transitions of the path window `w` (length SERIES_LANES + 1) into
    /// `out`, bit for bit equal to [`Self::log_transition_unchecked`] of each pair.
    ///
    /// When every pair takes the power-series branch (both states ≥ 0, z below
    /// [`ASYMPTOTIC_MIN_Z`], all terms inside the reciprocal table), the series run side
    /// by side: the scalar loop is latency-bound (t_k = t_{k−1}·ratio), independent lanes
    /// overlap. A lane that has converged keeps adding terms below 10^{−17} of its sum,
    /// which round away (they are under half an ulp), so the sums equal the scalar ones;
    /// with z < 20 the sum stays below I_0(20) ≈ 4·10^7, so no rescaling is needed.
    /// Any other window falls back to the scalar transition.
    fn log_transitions_block(&self, w: &[f64], out: &mut [f64; SERIES_LANES]) {
        let mut y = [0.0; SERIES_LANES];
        let mut eligible = true;
        for l in 0..SERIES_LANES {
            let (prev, x) = (w[l], w[l + 1]);
            let u = self.c * self.decay * prev;
            let v = self.c * x;
            y[l] = u * v;
            eligible &= prev >= 0.0 && x >= 0.0 && 2.0 * y[l].sqrt() < ASYMPTOTIC_MIN_Z;
        }
        let mut sums = [1.0_f64; SERIES_LANES];
        if eligible {
            let mut terms = [1.0_f64; SERIES_LANES];
            let mut converged = false;
            for r in &self.recip {
                let mut all = true;
                for l in 0..SERIES_LANES {
                    let ratio = y[l] * r;
                    terms[l] *= ratio;
                    sums[l] += terms[l];
                    all &= y[l] == 0.0 || (ratio < 0.5 && terms[l] < 1e-17 * sums[l]);
                }
                if all {
                    converged = true;
                    break;
                }
            }
            eligible = converged;
        }
        for l in 0..SERIES_LANES {
            let (prev, x) = (w[l], w[l + 1]);
            out[l] = if eligible {
                let u = self.c * self.decay * prev;
                let v = self.c * x;
                let ln_sum = if y[l] == 0.0 { 0.0 } else { sums[l].ln() };
                self.ln_c - u - v + self.q_ln(v) - self.ln_gamma_shape + ln_sum
            } else {
                self.log_transition_unchecked(prev, x)
            };
        }
    }

    /// Draws x_t given x_{t−1} = `prev` ≥ 0 exactly: G / c with
    /// G ~ Gamma(q + 1 + N, 1), N ~ Poisson(c e^{−κΔ} prev).
    ///
    /// Errors: `prev` negative or non-finite ([`EnergyError::InvalidParameter`]).
    pub fn sample_transition(&self, prev: f64, rng: &mut ParticleRng) -> Result<f64> {
        check_param("CIR previous state x_{t−1}", prev, false)?;
        if prev < 0.0 {
            return Err(EnergyError::InvalidParameter {
                name: "CIR previous state x_{t−1}",
                value: prev,
                reason: "must be ≥ 0",
            });
        }
        let lambda = self.c * self.decay * prev;
        let n = if lambda > 0.0 {
            Poisson::new(lambda)
                .map_err(|_| EnergyError::InvalidParameter {
                    name: "CIR Poisson mean c e^{−κΔ} x_{t−1}",
                    value: lambda,
                    reason: "outside the Poisson sampler's range",
                })?
                .sample(rng)
        } else {
            0.0
        };
        let g: f64 = gamma(self.q + 1.0 + n, 1.0)?.sample(rng);
        Ok(g / self.c)
    }
}

/// Transitions whose Bessel series [`CirProcess::log_density`] runs side by side.
const SERIES_LANES: usize = 4;

impl PathLaw for CirProcess {
    fn len(&self) -> usize {
        self.len
    }

    fn log_density(&self, x: &[f64]) -> Result<f64> {
        self.check_path(x)?;
        let mut lp = self.log_stationary_unchecked(x[0]);
        let mut block = [0.0; SERIES_LANES];
        let mut pairs = x.windows(SERIES_LANES + 1).step_by(SERIES_LANES);
        let mut done = 0;
        for w in pairs.by_ref() {
            if lp == f64::NEG_INFINITY {
                return Ok(lp);
            }
            self.log_transitions_block(w, &mut block);
            // Added in path order, as the scalar loop below does.
            for &b in &block {
                lp += b;
            }
            done += SERIES_LANES;
        }
        for w in x[done..].windows(2) {
            if lp == f64::NEG_INFINITY {
                break;
            }
            lp += self.log_transition_unchecked(w[0], w[1]);
        }
        Ok(lp)
    }

    fn sample(&self, rng: &mut ParticleRng, out: &mut [f64]) -> Result<()> {
        self.check_path_len(out.len())?;
        let g: f64 = gamma(self.q + 1.0, 1.0 / self.rate)?.sample(rng);
        out[0] = g;
        for t in 1..out.len() {
            out[t] = self.sample_transition(out[t - 1], rng)?;
        }
        Ok(())
    }

    fn non_negative(&self) -> bool {
        true
    }
}
