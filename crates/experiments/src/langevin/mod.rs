//! Mean-field Langevin dynamics (MFLD) and its constrained variants — spec `mmfld.md`.
//!
//! | experiment | module | what it shows |
//! |---|---|---|
//! | `gaussian-oracle` | [`gaussian_oracle`] | plain MFLD converges to the exact Gaussian minimiser; 1/N propagation of chaos of the empirical mean |
//! | `mmfld-simplex` | [`simplex`] | the paper's Fig. 1: projected vs mirror (paper) vs Metropolis-adjusted mirror MFLD on the simplex Δ³, against the exact Dirichlet law |
//! | `mfld-bias` | [`bias`] | the O(η) time-step bias of Euler–Maruyama MFLD, absent for MALA |
//! | `mfld-chaos` | [`chaos`] | 1/N propagation of chaos for MFLD, projected MFLD on a box and mirror MFLD on the simplex |
//! | `mfld-nn` | [`nn`] | a mean-field two-layer network trained by MFLD, and inside a box by mirror and projected MFLD |
//!
//! The Gaussian oracle F(μ) = ∫|x|²/2 dμ + (κ/2)|E_μ x − b|² is shared by the first,
//! third and fourth ([`gaussian_oracle::gaussian_ensemble`] draws their starting
//! particles).

pub mod bias;
pub mod chaos;
pub mod gaussian_oracle;
pub mod nn;
pub mod simplex;

pub use bias::{MfldBias, MfldBiasConfig};
pub use chaos::{MfldChaos, MfldChaosConfig};
pub use gaussian_oracle::{GaussianOracle, GaussianOracleConfig};
pub use nn::{MfldNn, MfldNnConfig};
pub use simplex::{MmfldSimplex, MmfldSimplexConfig};
