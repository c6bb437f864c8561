//! Consensus-based optimisation (CBO) — spec `cbo.md`.
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `cbo-benchmark` | [`benchmark`] | success rates on Rastrigin and Ackley (d = 20), isotropic vs anisotropic noise, beside CBXpy 1.0.4 |
//! | `cbo-gradient` | [`gradient`] | consensus hopping on a convex quadratic follows the proximal gradient path with step τ = ασ² |

pub mod benchmark;
pub mod gradient;

pub use benchmark::{CboBenchmark, CboBenchmarkConfig};
pub use gradient::{CboGradient, CboGradientConfig};
