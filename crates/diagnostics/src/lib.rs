//! # meanfield-diagnostics
//!
//! Statistics that compare particle approximations μ_N = Σ_i W^i δ_{X^i} of a mean-field
//! gradient flow with their targets and measure convergence rates. Every function is
//! deterministic (random projections come from keyed [`meanfield_measures::NoiseStreams`]),
//! respects ensemble weights where an [`Ensemble`](meanfield_measures::Ensemble) is
//! weighted, and reports bad input as a typed [`DiagnosticsError`] instead of panicking.
//!
//! | module | concept |
//! |---|---|
//! | [`moments`] | mean, covariance, marginals of μ_N; sample mean, variance, standard error |
//! | [`wasserstein`] | exact 1-D W_p (quantile coupling), W_2 to a quantile function, sliced W_2 |
//! | [`mmd`] | Gaussian-kernel MMD² (V- and U-statistics), median bandwidth |
//! | [`ess`] | Kish effective sample size (Σw)²/Σw² |
//! | [`boundary`] | weighted mass within ε of the domain boundary |
//! | [`slope`] | OLS line with standard errors, t intervals, log–log order fits |
//! | [`ks`] | one-sample Kolmogorov–Smirnov statistic and asymptotic p-value |
//! | [`autocorrelation`] | biased sample autocorrelation function |
//! | [`reverse_kl`] | reverse KL and entropy along a deterministic transport (MGDM): latent log-likelihood, accumulated log-det, target log-likelihood |
//! | [`error`] | [`DiagnosticsError`] |

pub mod autocorrelation;
pub mod boundary;
pub mod error;
pub mod ess;
pub mod ks;
pub mod mmd;
pub mod moments;
pub mod reverse_kl;
pub mod slope;
pub mod wasserstein;

mod validate;

pub use autocorrelation::acf;
pub use boundary::boundary_mass;
pub use error::{DiagnosticsError, Result};
pub use ess::{effective_sample_size, ensemble_ess, relative_ess};
pub use ks::{KsTest, kolmogorov_survival, ks_p_value, ks_statistic, ks_test};
pub use mmd::{median_bandwidth, mmd2_biased, mmd2_unbiased};
pub use moments::{covariance, marginal, mean, sample_mean_var, standard_error};
pub use reverse_kl::ReverseKlTrace;
pub use slope::{LinearFit, WeightedFit, linear_fit, loglog_slope, weighted_loglog_slope};
pub use wasserstein::{
    sliced_w2, w1_1d, w2_1d, w2_1d_to_quantile, w2_1d_to_quantile_refined, wp_1d, wp_1d_weighted,
};
