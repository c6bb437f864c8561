//! Consensus-based optimisation (CBO) — spec `cbo.md`.
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `cbo-benchmark` | [`benchmark`] | success rates on Rastrigin and Ackley (d = 20), isotropic vs anisotropic noise, beside CBXpy 1.0.4 |
//! | `cbs-sampling` | [`cbs_sampling`] | consensus-based sampling reproduces the Gaussian targets N(m, A⁻¹) in d = 2, 10 within Monte-Carlo error; the Euler scheme's O(dt) bias |
//! | `polar-cbo` | [`polar`] | polarised CBO finds all four minimisers of Himmelblau's function in one run, beside CBXpy 1.0.4's `PolarCBO` |
//! | `cbo-variants` | [`variants`] | success rates of CBO with memory, PSO and covariance-noise CBO beside CBXpy 1.0.4; mirror and constrained CBO reach known constrained minimisers |
//! | `cbo-gradient` | [`gradient`] | consensus hopping on a convex quadratic follows the proximal gradient path with step τ = ασ² |

pub mod benchmark;
pub mod cbs_sampling;
pub mod gradient;
pub mod polar;
pub mod variants;

pub use benchmark::{CboBenchmark, CboBenchmarkConfig};
pub use cbs_sampling::{CbsSampling, CbsSamplingConfig};
pub use gradient::{CboGradient, CboGradientConfig};
pub use polar::{PolarCboConfig, PolarCboExperiment};
pub use variants::{CboVariants, CboVariantsConfig};
