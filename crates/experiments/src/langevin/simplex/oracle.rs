//! The exact stationary law of `mmfld-simplex`: Dirichlet(a, a, a), its boundary mass
//! B_ε (see the parent module's docs for the inclusion–exclusion formula) and the
//! CDF of its Beta(a, 2a) marginal.

use statrs::distribution::{Beta, ContinuousCDF};
use statrs::function::beta::{checked_beta_reg, checked_ln_beta};

use crate::ExperimentError;

/// Exact P(min_i x_i < ε) under Dirichlet(a, a, a) on Δ³ (formula in the
/// [`simplex`](super) module docs), for a > 0 and 0 < ε < 1/3.
pub fn dirichlet_boundary_mass(a: f64, eps: f64) -> Result<f64, ExperimentError> {
    if !(a > 0.0 && a.is_finite() && eps > 0.0 && eps < 1.0 / 3.0) {
        return Err(ExperimentError::Config(format!(
            "exact boundary mass needs a > 0 and 0 < ε < 1/3 (a = {a}, ε = {eps})"
        )));
    }
    let err = |e: statrs::function::beta::BetaFuncError| ExperimentError::Config(e.to_string());
    let marginal = checked_beta_reg(a, 2.0 * a, eps).map_err(err)?;
    // ln of the Beta(a, 2a) normalising constant 1/B(a, 2a).
    let ln_c = -checked_ln_beta(a, 2.0 * a).map_err(err)?;
    let integrand = |s: f64| -> Result<f64, ExperimentError> {
        let x = eps * s.powf(1.0 / a);
        let cond = checked_beta_reg(a, a, (eps / (1.0 - x)).min(1.0)).map_err(err)?;
        Ok((ln_c + a * eps.ln() - a.ln() + (2.0 * a - 1.0) * (-x).ln_1p()).exp() * cond)
    };
    let m = 4000; // even number of Simpson intervals
    let h = 1.0 / m as f64;
    let mut acc = integrand(0.0)? + integrand(1.0)?;
    for k in 1..m {
        let w = if k % 2 == 1 { 4.0 } else { 2.0 };
        acc += w * integrand(k as f64 * h)?;
    }
    let pair = acc * h / 3.0;
    Ok(3.0 * marginal - 3.0 * pair)
}

/// The CDF of Beta(a, 2a), the x_1-marginal of Dirichlet(a, a, a) (clamped to [0, 1]).
pub(super) fn beta_cdf(a: f64) -> Result<impl Fn(f64) -> f64, ExperimentError> {
    let beta = Beta::new(a, 2.0 * a).map_err(|e| ExperimentError::Config(e.to_string()))?;
    Ok(move |x: f64| beta.cdf(x.clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meanfield_measures::{InitialLaw, streams};

    #[test]
    fn exact_boundary_mass_matches_closed_forms() {
        for eps in [1e-3, 1e-2, 0.1] {
            // a = 1: 1 − (1 − 3ε)².
            let uniform = dirichlet_boundary_mass(1.0, eps).unwrap();
            let closed = 1.0 - (1.0 - 3.0 * eps).powi(2);
            assert!(
                (uniform - closed).abs() < 1e-12 * closed.max(1e-3),
                "{uniform} {closed}"
            );
            // a = 2: density 120 x1 x2 x3; P(x1<ε) = 1 − (1−ε)^5 − 5ε(1−ε)^4,
            // P(x1<ε, x2<ε) = 30ε⁴ − 40ε⁵.
            let marginal = 1.0 - (1.0 - eps).powi(5) - 5.0 * eps * (1.0 - eps).powi(4);
            let pair = 30.0 * eps.powi(4) - 40.0 * eps.powi(5);
            let closed = 3.0 * marginal - 3.0 * pair;
            let got = dirichlet_boundary_mass(2.0, eps).unwrap();
            assert!((got - closed).abs() < 1e-8 * closed, "{got} {closed}");
        }
        assert!(dirichlet_boundary_mass(1.0, 0.4).is_err());
        assert!(dirichlet_boundary_mass(0.0, 0.1).is_err());
    }

    #[test]
    fn dirichlet_ensemble_moments() {
        let n = 20_000;
        let ens = InitialLaw::Dirichlet {
            alpha: vec![1.0, 2.0, 5.0],
        }
        .sample(n, 3, streams::INITIAL_POSITIONS)
        .unwrap();
        let m = ens.mean();
        for (mk, ek) in m.iter().zip([0.125, 0.25, 0.625]) {
            assert!((mk - ek).abs() < 0.01, "{m:?}");
        }
        assert!(
            InitialLaw::Dirichlet {
                alpha: vec![0.3, 1.0]
            }
            .sample(2, 1, 0)
            .is_err()
        );
    }
}
