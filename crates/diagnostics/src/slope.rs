//! Ordinary least squares for convergence-rate estimation.
//!
//! Fit y_k = a + b x_k + e_k by least squares:
//!
//! x̄ = Σx/n, ȳ = Σy/n, S_xx = Σ(x − x̄)², S_xy = Σ(x − x̄)(y − ȳ), S_yy = Σ(y − ȳ)²,
//! b = S_xy / S_xx, a = ȳ − b x̄, RSS = Σ (y − a − b x)², s² = RSS / (n − 2),
//! se(b) = sqrt(s² / S_xx), se(a) = sqrt(s² (1/n + x̄² / S_xx)), R² = 1 − RSS / S_yy.
//!
//! Under i.i.d. Gaussian errors (b − β)/se(b) ~ t_{n−2}, which gives
//! [`LinearFit::t_interval`]. A convergence order p in error ≈ C h^p is the slope of the
//! log–log fit [`loglog_slope`]: ln error = ln C + p ln h.

use meanfield_measures::compensated::NeumaierSum;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::error::{DiagnosticsError, Result};
use crate::validate;

/// Result of an ordinary least-squares fit y ≈ intercept + slope · x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    /// b = S_xy / S_xx.
    pub slope: f64,
    /// a = ȳ − b x̄.
    pub intercept: f64,
    /// se(b) = sqrt(s² / S_xx) with s² = RSS / (n − 2).
    pub slope_se: f64,
    /// se(a) = sqrt(s² (1/n + x̄² / S_xx)).
    pub intercept_se: f64,
    /// R² = 1 − RSS / S_yy (1 when y is constant and fitted exactly).
    pub r_squared: f64,
    /// Number of points n (≥ 3).
    pub n: usize,
}

impl LinearFit {
    /// Two-sided quantile t_{(1+level)/2, n−2} of Student's t with n − 2 degrees of
    /// freedom, for `level` ∈ (0, 1).
    pub fn t_quantile(&self, level: f64) -> Result<f64> {
        if !(level > 0.0 && level < 1.0) {
            return Err(DiagnosticsError::InvalidParameter {
                name: "level",
                value: level,
                reason: "the confidence level must lie strictly between 0 and 1",
            });
        }
        let dof = self.n.saturating_sub(2) as f64;
        let t = StudentsT::new(0.0, 1.0, dof).map_err(|_| DiagnosticsError::TooFewPoints {
            what: "linear fit (degrees of freedom n − 2)",
            needed: 3,
            got: self.n,
        })?;
        Ok(t.inverse_cdf(0.5 * (1.0 + level)))
    }

    /// Confidence interval for the slope, (b − t se(b), b + t se(b)) with
    /// t = t_{(1+level)/2, n−2}; `level` ∈ (0, 1), e.g. 0.95. Returns (lower, upper).
    pub fn t_interval(&self, level: f64) -> Result<(f64, f64)> {
        let t = self.t_quantile(level)?;
        Ok((
            self.slope - t * self.slope_se,
            self.slope + t * self.slope_se,
        ))
    }

    /// Confidence interval for the intercept, (a − t se(a), a + t se(a)) with
    /// t = t_{(1+level)/2, n−2}. Returns (lower, upper).
    pub fn intercept_t_interval(&self, level: f64) -> Result<(f64, f64)> {
        let t = self.t_quantile(level)?;
        Ok((
            self.intercept - t * self.intercept_se,
            self.intercept + t * self.intercept_se,
        ))
    }
}

/// Least-squares line y ≈ a + b x with classical standard errors (module docs).
/// Requires equal lengths, n ≥ 3 finite points and non-constant x.
pub fn linear_fit(x: &[f64], y: &[f64]) -> Result<LinearFit> {
    validate::same_len("y", x.len(), y.len())?;
    validate::finite_nonempty("x", x)?;
    validate::finite_nonempty("y", y)?;
    validate::at_least("linear fit", 3, x.len())?;
    let n = x.len() as f64;
    let xbar = meanfield_measures::compensated::compensated_sum(x) / n;
    let ybar = meanfield_measures::compensated::compensated_sum(y) / n;
    let (mut sxx, mut sxy, mut syy) = (NeumaierSum::new(), NeumaierSum::new(), NeumaierSum::new());
    for (&xi, &yi) in x.iter().zip(y) {
        let (dx, dy) = (xi - xbar, yi - ybar);
        sxx.add(dx * dx);
        sxy.add(dx * dy);
        syy.add(dy * dy);
    }
    let (sxx, sxy, syy) = (sxx.value(), sxy.value(), syy.value());
    if !(sxx > 0.0 && sxx.is_finite()) {
        return Err(DiagnosticsError::Degenerate {
            what: "x",
            reason: "the abscissae must not all be equal (S_xx = 0)",
        });
    }
    let slope = sxy / sxx;
    let intercept = ybar - slope * xbar;
    // RSS from the residuals directly (not S_yy − b S_xy, which cancels catastrophically
    // for near-perfect fits).
    let mut rss = NeumaierSum::new();
    for (&xi, &yi) in x.iter().zip(y) {
        let r = yi - ybar - slope * (xi - xbar);
        rss.add(r * r);
    }
    let rss = rss.value().max(0.0);
    let s2 = rss / (n - 2.0);
    let r_squared = if syy > 0.0 {
        (1.0 - rss / syy).clamp(0.0, 1.0)
    } else {
        1.0
    };
    Ok(LinearFit {
        slope,
        intercept,
        slope_se: (s2 / sxx).sqrt(),
        intercept_se: (s2 * (1.0 / n + xbar * xbar / sxx)).sqrt(),
        r_squared,
        n: x.len(),
    })
}

/// Log–log fit ln y ≈ a + b ln x (so y ≈ e^a x^b): the slope b is the empirical order of
/// a power law. Every x and y must be finite and > 0.
pub fn loglog_slope(x: &[f64], y: &[f64]) -> Result<LinearFit> {
    validate::same_len("y", x.len(), y.len())?;
    let logs = |v: &[f64], what: &'static str| -> Result<Vec<f64>> {
        validate::finite_nonempty(what, v)?;
        v.iter()
            .enumerate()
            .map(|(index, &value)| {
                if value > 0.0 {
                    Ok(value.ln())
                } else {
                    Err(DiagnosticsError::InvalidValue {
                        what,
                        index,
                        value,
                        reason: "a log–log fit needs strictly positive values",
                    })
                }
            })
            .collect()
    };
    linear_fit(&logs(x, "x")?, &logs(y, "y")?)
}

/// A weighted log–log fit with known standard errors of the ordinates
/// ([`weighted_loglog_slope`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedFit {
    /// b = Σ w (u − ū)(v − v̄) / Σ w (u − ū)², u = ln x, v = ln y, w = (y / se)².
    pub slope: f64,
    /// a = v̄ − b ū (weighted means).
    pub intercept: f64,
    /// se(b) = (Σ w (u − ū)²)^{−1/2}: from the given standard errors, not the residuals.
    pub slope_se: f64,
    /// χ² = Σ w (v − a − b u)², ≈ χ²_{n−2} when the model and the standard errors hold.
    pub chi2: f64,
    /// Number of points n (≥ 3).
    pub n: usize,
}

/// Weighted least squares for ln y ≈ a + b ln x when each y_k is an estimate with known
/// (Monte-Carlo) standard error se_k: by the delta method Var(ln y_k) ≈ (se_k / y_k)², so
/// the weights are w_k = (y_k / se_k)² and (b − β) / se(b) is ≈ N(0, 1) — the basis of a
/// slope check whose false-alarm rate is its stated level. Every x, y, se must be finite
/// and > 0, n ≥ 3 with non-constant x.
pub fn weighted_loglog_slope(x: &[f64], y: &[f64], y_se: &[f64]) -> Result<WeightedFit> {
    validate::same_len("y", x.len(), y.len())?;
    validate::same_len("y_se", x.len(), y_se.len())?;
    validate::at_least("weighted log–log fit", 3, x.len())?;
    for (what, v) in [("x", x), ("y", y), ("y_se", y_se)] {
        validate::finite_nonempty(what, v)?;
        if let Some((index, &value)) = v.iter().enumerate().find(|(_, v)| **v <= 0.0) {
            return Err(DiagnosticsError::InvalidValue {
                what,
                index,
                value,
                reason: "a weighted log–log fit needs strictly positive values",
            });
        }
    }
    let u: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let v: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let w: Vec<f64> = y.iter().zip(y_se).map(|(y, s)| (y / s) * (y / s)).collect();
    let sw = meanfield_measures::compensated::compensated_sum(&w);
    let mean = |z: &[f64]| {
        let mut s = NeumaierSum::new();
        for (wi, zi) in w.iter().zip(z) {
            s.add(wi * zi);
        }
        s.value() / sw
    };
    let (ubar, vbar) = (mean(&u), mean(&v));
    let (mut suu, mut suv) = (NeumaierSum::new(), NeumaierSum::new());
    for ((wi, ui), vi) in w.iter().zip(&u).zip(&v) {
        suu.add(wi * (ui - ubar) * (ui - ubar));
        suv.add(wi * (ui - ubar) * (vi - vbar));
    }
    let (suu, suv) = (suu.value(), suv.value());
    if !(suu > 0.0 && suu.is_finite()) {
        return Err(DiagnosticsError::Degenerate {
            what: "x",
            reason: "the abscissae must not all be equal (S_xx = 0)",
        });
    }
    let slope = suv / suu;
    let intercept = vbar - slope * ubar;
    let mut chi2 = NeumaierSum::new();
    for ((wi, ui), vi) in w.iter().zip(&u).zip(&v) {
        let r = vi - intercept - slope * ui;
        chi2.add(wi * r * r);
    }
    Ok(WeightedFit {
        slope,
        intercept,
        slope_se: suu.sqrt().recip(),
        chi2: chi2.value(),
        n: x.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_fit_by_hand() {
        // Exact power law: slope −1, χ² = 0; equal relative errors 0.1 give w = 100 and
        // se(b) = 1/sqrt(Σ w (u − ū)²) with u = (0, ln 2, 2 ln 2), ū = ln 2.
        let x = [1.0, 2.0, 4.0];
        let y: Vec<f64> = x.iter().map(|v| 3.0 / v).collect();
        let se: Vec<f64> = y.iter().map(|v| 0.1 * v).collect();
        let f = weighted_loglog_slope(&x, &y, &se).unwrap();
        assert!(close(f.slope, -1.0, 1e-14) && f.chi2 < 1e-24, "{f:?}");
        let l2 = 2f64.ln();
        let suu = 100.0 * (l2 * l2 + 0.0 + l2 * l2);
        assert!(close(f.slope_se, 1.0 / suu.sqrt(), 1e-13), "{f:?}");
        // A point with a huge error barely moves the fit.
        let y2 = [3.0, 1.5, 100.0];
        let se2 = [0.3, 0.15, 1e6];
        let g = weighted_loglog_slope(&x, &y2, &se2).unwrap();
        assert!(close(g.slope, -1.0, 1e-6), "{g:?}");
        assert!(weighted_loglog_slope(&x, &y, &[0.1, 0.0, 0.1]).is_err());
        assert!(weighted_loglog_slope(&x[..2], &y[..2], &se[..2]).is_err());
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + b.abs())
    }

    #[test]
    fn exact_line_is_recovered() {
        let x = [0.5, 1.0, 2.0, 4.0, 8.0];
        let y: Vec<f64> = x.iter().map(|v| 3.0 - 1.5 * v).collect();
        let f = linear_fit(&x, &y).unwrap();
        assert!(close(f.slope, -1.5, 1e-14) && close(f.intercept, 3.0, 1e-14));
        assert!(f.slope_se < 1e-14 && f.intercept_se < 1e-14);
        assert_eq!(f.r_squared, 1.0);
        assert_eq!(f.n, 5);
    }

    #[test]
    fn hand_computed_standard_errors() {
        // x̄ = ȳ = 3, S_xx = 10, S_xy = 8, b = 0.8, a = 0.6,
        // residuals (−0.4, 0.8, −1, 1.2, −0.6), RSS = 3.6, s² = 1.2, se(b) = sqrt(0.12),
        // se(a) = sqrt(1.2 (1/5 + 9/10)) = sqrt(1.32), R² = 1 − 3.6/10 = 0.64.
        let f = linear_fit(&[1., 2., 3., 4., 5.], &[1., 3., 2., 5., 4.]).unwrap();
        assert!(close(f.slope, 0.8, 1e-14));
        assert!(close(f.intercept, 0.6, 1e-14));
        assert!(close(f.slope_se, (3.6f64 / 3.0 / 10.0).sqrt(), 1e-14));
        assert!(close(f.intercept_se, 1.32f64.sqrt(), 1e-14));
        assert!(close(f.r_squared, 0.64, 1e-14));
        // t_{0.975, 3} = 3.182446305284263.
        let (lo, hi) = f.t_interval(0.95).unwrap();
        let half = 3.182446305284263 * 0.12f64.sqrt();
        assert!(close(lo, 0.8 - half, 1e-9) && close(hi, 0.8 + half, 1e-9));
        let (alo, ahi) = f.intercept_t_interval(0.95).unwrap();
        assert!(close(
            ahi - alo,
            2.0 * 3.182446305284263 * 1.32f64.sqrt(),
            1e-9
        ));
    }

    #[test]
    fn loglog_recovers_power() {
        let h = [0.1, 0.05, 0.025, 0.0125];
        let e: Vec<f64> = h.iter().map(|v: &f64| 7.0 * v.powi(2)).collect();
        let f = loglog_slope(&h, &e).unwrap();
        assert!(close(f.slope, 2.0, 1e-12) && close(f.intercept, 7.0f64.ln(), 1e-12));
    }

    #[test]
    fn errors() {
        assert!(matches!(
            linear_fit(&[], &[]),
            Err(DiagnosticsError::Empty { .. })
        ));
        assert!(matches!(
            linear_fit(&[1., 2.], &[1., 2.]),
            Err(DiagnosticsError::TooFewPoints { .. })
        ));
        assert!(matches!(
            linear_fit(&[1., 2., 3.], &[1., 2.]),
            Err(DiagnosticsError::DimensionMismatch { .. })
        ));
        assert!(matches!(
            linear_fit(&[1., f64::NAN, 3.], &[1., 2., 3.]),
            Err(DiagnosticsError::NonFinite { .. })
        ));
        assert!(matches!(
            linear_fit(&[2., 2., 2.], &[1., 2., 3.]),
            Err(DiagnosticsError::Degenerate { .. })
        ));
        assert!(matches!(
            loglog_slope(&[1., 0., 3.], &[1., 2., 3.]),
            Err(DiagnosticsError::InvalidValue { index: 1, .. })
        ));
        assert!(loglog_slope(&[1., 2., 3.], &[1., -2., 3.]).is_err());
        assert!(loglog_slope(&[1., 2., 3.], &[1., 2.]).is_err());
        let f = linear_fit(&[1., 2., 3.], &[1., 2., 4.]).unwrap();
        for level in [0.0, 1.0, -0.5, f64::NAN] {
            assert!(matches!(
                f.t_interval(level),
                Err(DiagnosticsError::InvalidParameter { .. })
            ));
        }
    }
}
